//! Hadoop's own Java implementation as a test peer: the Hadoop 3.5.0 client jars (fetched by
//! `.ci/fetch-hadoop-jars`), the conformance programs in `tests/java/` compiled once per test
//! process, a `HaTestServer` JVM hosting HAServiceProtocol through Hadoop's `RPC.Builder`, and
//! Hadoop's client side (`HaTestClient`, YARN's `RMAdminCLI`), and [`ElectorRm`]: an RM
//! stand-in running Hadoop's own `ActiveStandbyElector` the way YARN's embedded elector does
//! (`tests/java/EmbeddedElectorRm.java`), the baseline rmfc is benchmarked against.
//!
//! Missing jars or JDK fail loudly with the command that installs them; nothing is skipped.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::procs::collect_lines;
use super::wait::wait_for;

const HINT: &str = "run `.ci/fetch-hadoop-jars` (or `.ci/run`, which installs every test peer)";

/// The directory holding Hadoop's jars.
pub fn jars_dir() -> PathBuf {
    let dir = std::env::var_os("RMFC_HADOOP_JARS").map(PathBuf::from).unwrap_or_else(|| {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/root"));
        home.join(".cache/rmfc/hadoop-jars")
    });
    // The relocated ZooKeeper and netty are needed to compile EmbeddedElectorRm (compiled with
    // every other program in tests/java) and to run Hadoop's ActiveStandbyElector.
    for jar in [
        "hadoop-client-api-3.5.0.jar",
        "hadoop-client-runtime-3.5.0.jar",
        "zookeeper-3.9.5-hadoop-shaded.jar",
        "zookeeper-jute-3.9.5-hadoop-shaded.jar",
        "netty-handler-4.2.13.Final.jar",
    ] {
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

/// The arguments of `java` running `main` with Hadoop on the classpath.
pub fn java_args(main: &str) -> Vec<String> {
    ["-Xmx256m", "-XX:+UseSerialGC", "-cp", &classpath(), main].map(str::to_string).to_vec()
}

/// A `java` command with Hadoop on the classpath.
pub fn java(main: &str) -> Command {
    let mut c = Command::new("java");
    c.args(java_args(main));
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
        let lines = collect_lines(child.stdout.take().expect("stdout"), |line| line);
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

/// One line of an [`ElectorRm`]'s output: an HA state change (`state`) or another event
/// (`event`: `started`, `neutral` when the elector lost ZooKeeper, `fatal`).
#[derive(Clone, Debug)]
pub struct ElectorEvent {
    pub ts_ms: u64,
    pub state: Option<String>,
    pub event: Option<String>,
    /// The JVM's pid, on the `started` event.
    pub pid: Option<u32>,
    /// The elector's settings, on the `started` event: ZooKeeper session timeout, retries of a
    /// ZooKeeper operation, and the parent znode of its lock.
    pub zk_session_timeout_ms: Option<u64>,
    pub zk_retries: Option<u64>,
    pub znode: Option<String>,
}

/// A JVM running `EmbeddedElectorRm`: an RM stand-in whose HA state is decided by Hadoop's
/// `ActiveStandbyElector` with YARN's defaults (10 s session, 3 retries), on the parent znode
/// `/yarn-leader-election/CLUSTER`. The JVM is the whole "RM": signals to [`ElectorRm::pid`]
/// freeze or kill the elector with it, as they would inside a real RM.
pub struct ElectorRm {
    pub id: String,
    pub pid: u32,
    child: Child,
    events: Arc<Mutex<Vec<ElectorEvent>>>,
    stderr: tempfile::NamedTempFile,
}

impl ElectorRm {
    /// Starts `EmbeddedElectorRm ID ZK CLUSTER` and waits until it joined the election.
    pub fn start(id: &str, zk_connect: &str, cluster: &str) -> Self {
        Self::start_via(Command::new("java"), id, zk_connect, cluster)
    }

    /// Like [`ElectorRm::start`] with `java` launched through `java_cmd` (e.g. a command that
    /// runs inside a network namespace); `java_args(...)` are appended to it.
    pub fn start_via(mut java_cmd: Command, id: &str, zk_connect: &str, cluster: &str) -> Self {
        let stderr = tempfile::NamedTempFile::new().expect("temp file for stderr");
        // stdin stays a pipe held by `child`: the stand-in exits when it closes, so it never
        // outlives this process even when no Drop runs.
        let mut child = java_cmd
            .args(java_args("EmbeddedElectorRm"))
            .args([id, zk_connect, cluster])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr.reopen().expect("reopen stderr file"))
            .spawn()
            .unwrap_or_else(|e| panic!("start java EmbeddedElectorRm: {e}: install a JDK ({HINT})"));
        let events = collect_lines(child.stdout.take().expect("stdout"), |line| {
            let v: serde_json::Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("EmbeddedElectorRm wrote a non-JSON line ({e}): {line}"));
            let field = |k: &str| v[k].as_str().map(str::to_string);
            ElectorEvent {
                ts_ms: v["ts_ms"].as_u64().unwrap_or(0),
                state: field("state"),
                event: field("event"),
                pid: v["pid"].as_u64().map(|p| p as u32),
                zk_session_timeout_ms: v["zk_session_timeout_ms"].as_u64(),
                zk_retries: v["zk_retries"].as_u64(),
                znode: field("znode"),
            }
        });
        // Signals go to the JVM's own pid, which the stand-in reports: with a wrapper command
        // the child's pid may be the wrapper's.
        let mut me = ElectorRm { id: id.to_string(), pid: child.id(), child, events, stderr };
        me.pid = wait_for(&format!("EmbeddedElectorRm {id} to join the election"), Duration::from_secs(60), || {
            if let Ok(Some(status)) = me.child.try_wait() {
                panic!("EmbeddedElectorRm {id} exited early ({status}): {}", me.stderr_text());
            }
            me.started_pid()
        });
        me
    }

    /// The pid the stand-in reported when it joined the election.
    fn started_pid(&self) -> Option<u32> {
        self.events().iter().find(|e| e.event.as_deref() == Some("started"))?.pid
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<ElectorEvent> {
        self.events.lock().unwrap().clone()
    }

    /// `(ts_ms, state)` of every HA state change so far.
    pub fn states(&self) -> Vec<(u64, String)> {
        self.events().into_iter().filter_map(|e| Some((e.ts_ms, e.state?))).collect()
    }

    /// The current HA state ("standby" or "active").
    pub fn state(&self) -> Option<String> {
        self.states().pop().map(|(_, s)| s)
    }

    /// Time of the first change to `state` at or after `since_ms`.
    pub fn first_state_since(&self, state: &str, since_ms: u64) -> Option<u64> {
        self.states().into_iter().find(|(t, s)| *t >= since_ms && s == state).map(|(t, _)| t)
    }

    /// Waits until the stand-in reports `state`.
    pub fn wait_state(&self, state: &str, deadline: Duration) {
        wait_for(&format!("EmbeddedElectorRm {} to be {state}", self.id), deadline, || {
            (self.state().as_deref() == Some(state)).then_some(())
        })
    }

    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(self.stderr.path()).unwrap_or_default()
    }

    /// SIGSTOP: the RM and its elector freeze (returns once every thread is stopped).
    pub fn stop(&self) {
        super::procs::signal(self.pid, "STOP");
    }

    pub fn cont(&self) {
        super::procs::signal(self.pid, "CONT");
    }

    /// SIGKILL, reaped.
    pub fn kill(&mut self) {
        super::procs::signal(self.pid, "KILL");
        let _ = self.child.wait();
    }
}

impl Drop for ElectorRm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
