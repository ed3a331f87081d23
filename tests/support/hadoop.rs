//! Hadoop's own Java implementation as a test peer: the Hadoop 3.5.0 client jars (fetched by
//! `.ci/fetch-hadoop-jars`), the conformance programs in `tests/java/` compiled once per test
//! process, a `HaTestServer` JVM hosting HAServiceProtocol through Hadoop's `RPC.Builder`, and
//! Hadoop's client side (`HaTestClient`, YARN's `RMAdminCLI`).
//!
//! Missing jars or JDK fail loudly with the command that installs them; nothing is skipped.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::wait::wait_for;

const HINT: &str = "run `.ci/fetch-hadoop-jars` (or `.ci/run`, which installs every test peer)";

/// The directory holding Hadoop's jars.
pub fn jars_dir() -> PathBuf {
    let dir = std::env::var_os("RMFC_HADOOP_JARS").map(PathBuf::from).unwrap_or_else(|| {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/root"));
        home.join(".cache/rmfc/hadoop-jars")
    });
    for jar in ["hadoop-client-api-3.5.0.jar", "hadoop-client-runtime-3.5.0.jar"] {
        assert!(dir.join(jar).is_file(), "Hadoop's jars are missing ({} has no {jar}): {HINT}", dir.display());
    }
    dir
}

/// The compiled conformance programs (compiled on first use in this test process).
pub fn classes_dir() -> &'static Path {
    static CLASSES: OnceLock<PathBuf> = OnceLock::new();
    CLASSES.get_or_init(|| {
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("java-classes-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        std::fs::create_dir_all(&out).expect("create classes dir");
        let sources: Vec<PathBuf> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/java"))
            .expect("tests/java exists")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "java"))
            .collect();
        let status = Command::new("javac")
            .arg("-cp")
            .arg(format!("{}/*", jars_dir().display()))
            .arg("-d")
            .arg(&out)
            .args(&sources)
            .status()
            .unwrap_or_else(|e| {
                panic!("javac not found ({e}): install a JDK, e.g. `apt-get install -y openjdk-17-jdk-headless`")
            });
        assert!(status.success(), "javac failed on tests/java");
        out
    })
}

fn classpath() -> String {
    format!("{}/*:{}", jars_dir().display(), classes_dir().display())
}

/// A `java` command with Hadoop on the classpath.
pub fn java(main: &str) -> Command {
    let mut c = Command::new("java");
    c.arg("-Xmx256m").arg("-XX:+UseSerialGC").arg("-cp").arg(classpath()).arg(main);
    c
}

/// A JVM running `HaTestServer`: one Hadoop RPC server per behaviour.
pub struct JavaHaServer {
    child: Child,
    ports: HashMap<String, u16>,
    calls: Arc<Mutex<Vec<String>>>,
}

impl JavaHaServer {
    pub fn start(behaviours: &[&str]) -> Self {
        let mut child = java("HaTestServer")
            .args(behaviours)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start java HaTestServer");
        let stdout = child.stdout.take().expect("stdout");
        let lines: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push(line);
            }
        });
        wait_for("HaTestServer to be READY", Duration::from_secs(60), || {
            lines.lock().unwrap().iter().any(|l| l == "READY").then_some(())
        });
        let ports = lines
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.len() == 3 && f[0] == "LISTEN").then(|| (f[1].to_string(), f[2].parse().expect("port")))
            })
            .collect();
        JavaHaServer { child, ports, calls: lines }
    }

    /// `127.0.0.1:PORT` of the server for `behaviour`.
    pub fn addr(&self, behaviour: &str) -> String {
        format!("127.0.0.1:{}", self.ports.get(behaviour).unwrap_or_else(|| panic!("no server for {behaviour}")))
    }

    /// The `CALL` lines of `behaviour` once at least `n` have arrived (the server prints them
    /// as it handles calls; our reader may see them a moment after the client got its answer).
    pub fn wait_calls(&self, behaviour: &str, n: usize) -> Vec<String> {
        wait_for(&format!("{n} calls logged by the {behaviour} server"), Duration::from_secs(30), || {
            let calls = self.calls(behaviour);
            (calls.len() >= n).then_some(calls)
        })
    }

    /// `CALL <behaviour> <method> <source>` lines seen so far for `behaviour`.
    pub fn calls(&self, behaviour: &str) -> Vec<String> {
        let prefix = format!("CALL {behaviour} ");
        self.calls.lock().unwrap().iter().filter(|l| l.starts_with(&prefix)).cloned().collect()
    }
}

impl Drop for JavaHaServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Exit code, stdout and stderr of a finished command.
#[derive(Debug)]
pub struct Ran {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `cmd` with `input` on stdin, output capped at 100 kB per stream and killed after
/// `limit` (RMAdminCLI loops forever on a closed stdin when it wants confirmation).
pub fn run_capped(mut cmd: Command, input: &str, limit: Duration) -> Ran {
    let mut child =
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn java");
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.as_bytes());
    }
    let capture = |r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.take(100_000).read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).to_string()
        })
    };
    let out = capture(Box::new(child.stdout.take().expect("stdout")));
    let err = capture(Box::new(child.stderr.take().expect("stderr")));
    let start = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status.code();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ran { code, stdout: out.join().unwrap_or_default(), stderr: err.join().unwrap_or_default() }
}

/// `HaTestClient ADDR CMD...` (Hadoop's `HAServiceProtocolClientSideTranslatorPB`): one output
/// line per command, `OK ...` or `ERR <cmd> <exception class> <message>`.
pub fn java_ha_client(addr: &str, cmds: &[&str]) -> Vec<String> {
    let mut cmd = java("HaTestClient");
    cmd.arg(addr).args(cmds);
    let ran = run_capped(cmd, "", Duration::from_secs(120));
    assert_eq!(ran.code, Some(0), "HaTestClient failed: {}", ran.stderr);
    ran.stdout.lines().map(str::to_string).collect()
}

/// YARN's real `yarn rmadmin` (`RMAdminCLI`) for a cluster of two RMs, with `Y` answered to
/// every confirmation.
pub fn rm_admin_cli(rm1: &str, rm2: &str, extra_conf: &[&str], args: &[&str]) -> Ran {
    let mut cmd = java("org.apache.hadoop.yarn.client.cli.RMAdminCLI");
    cmd.arg("-Dyarn.resourcemanager.ha.enabled=true")
        .arg("-Dyarn.resourcemanager.ha.rm-ids=rm1,rm2")
        .arg(format!("-Dyarn.resourcemanager.admin.address.rm1={rm1}"))
        .arg(format!("-Dyarn.resourcemanager.admin.address.rm2={rm2}"))
        .arg("-Dha.failover-controller.cli-check.rpc-timeout.ms=10000")
        .args(extra_conf)
        .args(args);
    run_capped(cmd, "Y\nY\nY\n", Duration::from_secs(120))
}
