//! One ZooKeeper JVM under its guard: spawn, kill, signals, liveness, its log, and waiting for a
//! set of nodes to serve. Must not: choose configuration (config.rs) or ports (ports.rs).

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use super::security::JvmExtras;
use super::{install, probe_mode, Mode, ZkHost, LOG_TAIL_LINES, PROBE_TIMEOUT};

/// The guard around each JVM: prints the JVM's pid, then waits for its stdin (a pipe from the
/// test process) to close, then SIGKILLs and reaps the JVM. `$1` is the log file, the rest is
/// the JVM command line.
const GUARD_SCRIPT: &str = r#"log="$1"; shift
"$@" </dev/null >>"$log" 2>&1 &
echo $!
read _ignored
kill -9 $! 2>/dev/null
wait
"#;

pub(super) struct Running {
    pub(super) guard: Child,
    pub(super) guard_stdin: ChildStdin,
    pub(super) pid: u32,
    pub(super) started: Instant,
}

pub(super) struct Node {
    /// `myid` in an ensemble (1-based), 0 for a standalone server.
    pub(super) myid: usize,
    /// Where the node listens and, when set, the network namespace it runs in.
    pub(super) host: ZkHost,
    pub(super) dir: PathBuf,
    pub(super) client_port: u16,
    /// JVM options and jars beyond the defaults (JAAS, Kerberos, netty for TLS).
    pub(super) jvm: JvmExtras,
    pub(super) running: Option<Running>,
}

impl Node {
    pub(super) fn config_path(&self) -> PathBuf {
        self.dir.join("zoo.cfg")
    }

    pub(super) fn log_path(&self) -> PathBuf {
        self.dir.join("zookeeper.log")
    }

    pub(super) fn client_addr(&self) -> SocketAddr {
        SocketAddr::from((self.host.ip, self.client_port))
    }

    pub(super) fn name(&self) -> String {
        if self.myid == 0 {
            format!("ZooKeeper standalone at {}", self.client_addr())
        } else {
            format!("ZooKeeper node {} (myid {}) at {}", self.myid - 1, self.myid, self.client_addr())
        }
    }

    pub(super) fn spawn(&mut self) {
        assert!(self.running.is_none(), "{} is already running", self.name());
        let install = install();
        let log = self.log_path();
        let mut log_file = fs::OpenOptions::new().create(true).append(true).open(&log).expect("open ZooKeeper log");
        writeln!(log_file, "===== rmfc test support: starting {} =====", self.name()).expect("write ZooKeeper log");
        let mut guard = Command::new("/bin/sh")
            .arg("-c")
            .arg(GUARD_SCRIPT)
            .arg("rmfc-zk-guard")
            .arg(&log)
            .args(self.host.netns.iter().flat_map(|ns| ["ip", "netns", "exec", ns.as_str()]))
            .arg(&install.java)
            .args(install.server_args_with(&self.config_path(), &self.jvm.options, &self.jvm.classpath))
            .current_dir(&self.dir) // a JVM crash file (hs_err_pid*.log) lands in the temp dir
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run /bin/sh to start {}: {e}", self.name()));
        let guard_stdin = guard.stdin.take().expect("guard stdin");
        let mut line = String::new();
        BufReader::new(guard.stdout.take().expect("guard stdout"))
            .read_line(&mut line)
            .expect("read JVM pid from guard");
        let pid = line.trim().parse().unwrap_or_else(|_| {
            panic!("guard for {} printed {line:?} instead of a pid\n{}", self.name(), self.log_tail(LOG_TAIL_LINES))
        });
        self.running = Some(Running { guard, guard_stdin, pid, started: Instant::now() });
    }

    /// SIGKILL the JVM and reap it (and its guard). No-op when not running.
    pub(super) fn kill(&mut self) {
        if let Some(Running { mut guard, guard_stdin, .. }) = self.running.take() {
            // Closing the pipe makes the guard SIGKILL the JVM (stopped or not) and reap it.
            drop(guard_stdin);
            let _ = guard.wait();
        }
    }

    pub(super) fn pid(&self) -> Option<u32> {
        self.running.as_ref().map(|r| r.pid)
    }

    /// Whether the JVM process is alive (possibly stopped). A JVM that exited stays an unreaped
    /// zombie under its guard until [`Node::kill`], so its pid cannot have been reused.
    pub(super) fn alive(&self) -> bool {
        let Some(pid) = self.pid() else { return false };
        match fs::read_to_string(format!("/proc/{pid}/stat")) {
            // The state follows the parenthesised command name.
            Ok(stat) => {
                !matches!(stat.rsplit_once(')').and_then(|(_, rest)| rest.trim_start().chars().next()), Some('Z' | 'X'))
            }
            Err(_) => false,
        }
    }

    pub(super) fn signal(&self, signal: &str) {
        let pid = self.pid().unwrap_or_else(|| panic!("{} is not running; cannot send SIG{signal}", self.name()));
        crate::support::procs::signal(pid, signal);
    }

    pub(super) fn mode(&self, timeout: Duration) -> Option<Mode> {
        probe_mode(self.client_addr(), timeout)
    }

    pub(super) fn log_tail(&self, lines: usize) -> String {
        let text = fs::read(self.log_path()).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        let tail = all[all.len().saturating_sub(lines)..].join("\n");
        format!(
            "--- last {lines} lines of {} ({}) ---\n{tail}\n--- end of log ---",
            self.log_path().display(),
            self.name()
        )
    }

    /// The log of the current run says a port could not be bound.
    pub(super) fn failed_to_bind(&self) -> bool {
        let text = fs::read(self.log_path()).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
        let current_run = text.rsplit("===== rmfc test support: starting").next().unwrap_or("");
        current_run.contains("Address already in use") || current_run.contains("BindException")
    }
}

/// Outcome of waiting for nodes to come up.
pub(super) enum StartOutcome {
    Up,
    /// A port was taken by someone else: retry on fresh ports.
    PortClash,
    /// Anything else: the message to panic with.
    Failed(String),
}

pub(super) fn write_file(path: &Path, text: &str) {
    fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

pub(super) fn probe_all(nodes: &[Node], timeout: Duration) -> Vec<Option<Mode>> {
    std::thread::scope(|s| {
        let probes: Vec<_> = nodes.iter().map(|n| s.spawn(move || n.mode(timeout))).collect();
        probes.into_iter().map(|p| p.join().expect("srvr probe thread")).collect()
    })
}

/// Polls `srvr` on every node until `done(modes)`, a node's process dies, or `deadline`.
pub(super) fn wait_nodes_up(
    nodes: &[Node],
    deadline: Duration,
    done: impl Fn(&[Option<Mode>]) -> bool,
) -> StartOutcome {
    let start = Instant::now();
    let mut last_log_check = Instant::now();
    loop {
        let modes = probe_all(nodes, PROBE_TIMEOUT);
        if done(&modes) {
            return StartOutcome::Up;
        }
        // A port clash shows up as a dead process (client port) or only in the log while the
        // process lives on (a leader that cannot bind its quorum port keeps re-electing).
        let check_log = last_log_check.elapsed() > Duration::from_secs(1);
        if check_log {
            last_log_check = Instant::now();
        }
        for node in nodes {
            let dead = node.running.is_some() && !node.alive();
            if (dead || check_log) && node.failed_to_bind() {
                return StartOutcome::PortClash;
            }
            if dead {
                let ran = node.running.as_ref().map_or(Duration::ZERO, |r| r.started.elapsed());
                return StartOutcome::Failed(format!(
                    "{} exited {ran:?} after it was started\n{}",
                    node.name(),
                    node.log_tail(LOG_TAIL_LINES)
                ));
            }
        }
        if start.elapsed() > deadline {
            let tails: Vec<String> = nodes.iter().map(|n| n.log_tail(LOG_TAIL_LINES)).collect();
            return StartOutcome::Failed(format!(
                "ZooKeeper did not serve within {deadline:?} (modes {modes:?})\n{}",
                tails.join("\n")
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
