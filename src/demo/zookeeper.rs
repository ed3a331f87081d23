//! A standalone ZooKeeper for the demo, from Debian's `zookeeper` package: finding Java and the
//! jars, writing `zoo.cfg`, and knowing when the server serves (`srvr` answers with a `Mode:`
//! line; `ruok` answers `imok` earlier, before the server accepts sessions).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The command that installs what the demo needs (the package depends on a Java runtime).
pub const INSTALL_COMMAND: &str = "apt-get install -y --no-install-recommends zookeeper";

const ZOOKEEPER_JAR: &str = "/usr/share/java/zookeeper.jar";
/// slf4j bindings in order of preference: simple logs to the server's log file; nop is silent.
const SLF4J_BINDINGS: [&str; 2] = ["/usr/share/java/slf4j-simple.jar", "/usr/share/java/slf4j-nop.jar"];
const MAIN_CLASS: &str = "org.apache.zookeeper.server.quorum.QuorumPeerMain";

/// Java and the classpath of Debian's ZooKeeper.
pub struct Install {
    pub java: PathBuf,
    pub classpath: String,
}

impl Install {
    /// The arguments after `java` that run one ZooKeeper server on `config`: a small heap and a
    /// quick start (test-peers.md), logs with times.
    pub fn server_args(&self, config: &Path) -> Vec<std::ffi::OsString> {
        self.server_args_with(config, &[], &[])
    }

    /// [`Install::server_args`] with more JVM options (`-Dkey=value`: JAAS, Kerberos) and jars
    /// appended to the classpath (the TLS port's netty codec).
    pub fn server_args_with(
        &self,
        config: &Path,
        jvm_options: &[String],
        extra_classpath: &[String],
    ) -> Vec<std::ffi::OsString> {
        let flags = [
            "-Xmx256m",
            "-XX:+UseSerialGC",
            "-XX:-UsePerfData",
            "-XX:TieredStopAtLevel=1",
            "-Dzookeeper.jmx.log4j.disable=true",
            "-Dorg.slf4j.simpleLogger.showDateTime=true",
            "-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS",
        ];
        let mut classpath = vec![self.classpath.as_str()];
        classpath.extend(extra_classpath.iter().map(String::as_str));
        let mut args: Vec<std::ffi::OsString> = flags.iter().map(Into::into).collect();
        args.extend(jvm_options.iter().map(Into::into));
        args.extend(["-cp".into(), classpath.join(":").into(), MAIN_CLASS.into(), config.as_os_str().to_owned()]);
        args
    }
}

/// Finds Java and ZooKeeper, or says how to install them.
pub fn find_install() -> anyhow::Result<Install> {
    if !Path::new(ZOOKEEPER_JAR).is_file() {
        bail!(
            "ZooKeeper is not installed ({ZOOKEEPER_JAR} is missing). Install Debian's package with:\n\n    \
             {INSTALL_COMMAND}\n\n(as root, after apt-get update), or run deploy/demo.sh, which installs it and \
             builds rmfc."
        );
    }
    let Some(java) = find_java() else {
        bail!(
            "Java is not installed (no `java` in JAVA_HOME or on PATH). Debian's ZooKeeper package brings a Java \
             runtime:\n\n    {INSTALL_COMMAND}\n\n(as root, after apt-get update), or run deploy/demo.sh."
        );
    };
    let mut classpath = ZOOKEEPER_JAR.to_string();
    if let Some(binding) = SLF4J_BINDINGS.iter().find(|p| Path::new(p).is_file()) {
        classpath.push(':');
        classpath.push_str(binding);
    }
    Ok(Install { java, classpath })
}

fn find_java() -> Option<PathBuf> {
    let from_home = std::env::var_os("JAVA_HOME").map(|h| PathBuf::from(h).join("bin/java"));
    let from_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("java"));
    from_home.into_iter().chain(from_path).find(|p| p.is_file())
}

/// Writes `zoo.cfg` for a standalone server on 127.0.0.1:`port` with its data under `dir`
/// (emptied first), and returns the command that runs the server.
pub fn prepare(install: &Install, dir: &Path, port: u16) -> anyhow::Result<Command> {
    let data = dir.join("data");
    if data.exists() {
        std::fs::remove_dir_all(&data).with_context(|| format!("cannot empty {}", data.display()))?;
    }
    std::fs::create_dir_all(&data).with_context(|| format!("cannot create {}", data.display()))?;
    let config = dir.join("zoo.cfg");
    let text = format!(
        "# Written by `rmfc demo`: a standalone server on loopback, for the demo only.\n\
         tickTime=500\n\
         maxSessionTimeout=20000\n\
         dataDir={}\n\
         clientPort={port}\n\
         clientPortAddress=127.0.0.1\n\
         # Otherwise the server binds 0.0.0.0:8080.\n\
         admin.enableServer=false\n\
         4lw.commands.whitelist=*\n\
         # Demo data need not survive a machine crash.\n\
         forceSync=no\n",
        data.display()
    );
    std::fs::write(&config, text).with_context(|| format!("cannot write {}", config.display()))?;
    let mut cmd = Command::new(&install.java);
    cmd.args(install.server_args(&config))
        // A JVM crash file (hs_err_pid*.log) lands in the demo's directory.
        .current_dir(dir);
    Ok(cmd)
}

/// The `Mode:` a server at `addr` reports (`standalone`, `leader`, ...), `None` when it does
/// not serve or does not answer within `timeout`.
pub async fn mode(addr: SocketAddr, timeout: Duration) -> Option<String> {
    let answer = tokio::time::timeout(timeout, async {
        let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
        s.write_all(b"srvr").await.ok()?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.ok()?;
        Some(String::from_utf8_lossy(&buf).into_owned())
    })
    .await
    .ok()??;
    answer.lines().find_map(|l| l.trim().strip_prefix("Mode:")).map(|m| m.trim().to_string())
}
