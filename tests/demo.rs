//! `rmfc demo` end to end, as an operator runs it: it starts ZooKeeper, two simulated RMs and
//! two controllers, prints them, reports a failover when the active RM is killed, and leaves
//! nothing behind (no process, no directory) after SIGTERM, Ctrl-C, or even its own SIGKILL.

mod support;

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::procs::{http_get, signal};
use support::wait::wait_until;

const START_DEADLINE: Duration = Duration::from_secs(90);
const FAILOVER_DEADLINE: Duration = Duration::from_secs(60);
/// Stopping takes at most 3 × 5 s (controllers, RMs, ZooKeeper, each SIGTERM then SIGKILL).
const STOP_DEADLINE: Duration = Duration::from_secs(30);

/// A running `rmfc demo` with its stdout and stderr collected line by line.
struct Demo {
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    /// Readers that reached end of stream.
    drained: Arc<std::sync::atomic::AtomicUsize>,
}

fn collect(
    stream: impl Read + Send + 'static,
    drained: Arc<std::sync::atomic::AtomicUsize>,
) -> Arc<Mutex<Vec<String>>> {
    let lines: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            sink.lock().unwrap().push(line);
        }
        drained.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
    lines
}

/// A base port in 20000..30000, different on every run.
fn random_base_port() -> u16 {
    let mut h = RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    20_000 + (h.finish() % 9_900) as u16
}

impl Demo {
    fn start(extra: &[&str]) -> Demo {
        let base = random_base_port().to_string();
        let mut child = Command::new(env!("CARGO_BIN_EXE_rmfc"))
            .args(["demo", "--base-port", &base])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn rmfc demo");
        let drained: Arc<std::sync::atomic::AtomicUsize> = Arc::default();
        let stdout = collect(child.stdout.take().expect("stdout"), drained.clone());
        let stderr = collect(child.stderr.take().expect("stderr"), drained.clone());
        let mut demo = Demo { child, stdout, stderr, drained };
        demo.wait_line("the demo to report the active RM and start watching", START_DEADLINE, |l| {
            l.starts_with("Watching the active RM").then_some(())
        });
        demo
    }

    fn output(&self) -> String {
        self.stdout.lock().unwrap().join("\n")
    }

    fn dump(&self) -> String {
        format!(
            "--- demo stdout ---\n{}\n--- demo stderr ---\n{}",
            self.output(),
            self.stderr.lock().unwrap().join("\n")
        )
    }

    /// Waits for the first stdout line `probe` accepts; fails early if the demo exits.
    fn wait_line<T>(&mut self, what: &str, deadline: Duration, mut probe: impl FnMut(&str) -> Option<T>) -> T {
        let start = Instant::now();
        loop {
            if let Some(v) = self.stdout.lock().unwrap().iter().find_map(|l| probe(l)) {
                return v;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                self.wait_drained();
                panic!("rmfc demo exited ({status}) while waiting for {what}\n{}", self.dump());
            }
            assert!(start.elapsed() < deadline, "timed out after {deadline:?} waiting for {what}\n{}", self.dump());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The pid printed for `name` ("sim-rm rm1", "ZooKeeper", "watchdog", ...).
    fn pid(&self, name: &str) -> u32 {
        let out = self.output();
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with(name) && l.contains(" pid "))
            .unwrap_or_else(|| panic!("no pid line for {name}\n{}", self.dump()));
        line.split(" pid ").nth(1).and_then(|r| r.split_whitespace().next()).and_then(|p| p.parse().ok()).expect("pid")
    }

    /// Every pid the demo printed.
    fn all_pids(&self) -> Vec<u32> {
        ["ZooKeeper", "sim-rm rm1", "sim-rm rm2", "controller rm1", "controller rm2", "watchdog"]
            .iter()
            .map(|n| self.pid(n))
            .collect()
    }

    fn directory(&self) -> PathBuf {
        let out = self.output();
        let line = out.lines().find_map(|l| l.strip_prefix("directory: ")).expect("a directory line");
        PathBuf::from(line.trim_end_matches(" (removed on exit)"))
    }

    /// `http://127.0.0.1:PORT` of controller rm1's admin API, from its printed status URL.
    fn admin_url(&self) -> String {
        let out = self.output();
        let url = out
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix("rm1: "))
            .find_map(|rest| rest.split_whitespace().find(|w| w.ends_with("/v1/status")))
            .unwrap_or_else(|| panic!("no status URL printed\n{}", self.dump()));
        url.trim_end_matches("/v1/status").to_string()
    }

    /// After the demo exited: wait (bounded) until both output readers saw end of stream, so
    /// every line it printed is in `stdout`/`stderr`.
    fn wait_drained(&self) {
        let start = Instant::now();
        while self.drained.load(std::sync::atomic::Ordering::SeqCst) < 2 && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn wait_exit(&mut self, deadline: Duration) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                self.wait_drained();
                return status;
            }
            assert!(
                start.elapsed() < deadline,
                "rmfc demo still running {deadline:?} after the signal\n{}",
                self.dump()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // A failed test: stop the demo the normal way so it cleans up after itself.
            let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
            let start = Instant::now();
            while start.elapsed() < STOP_DEADLINE && matches!(self.child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!("{}", self.dump());
        }
    }
}

/// Whether `pid` is still one of ours: alive (not a zombie) and running rmfc, ZooKeeper or the
/// watchdog shell (a recycled pid belongs to something else).
fn ours_alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
    if matches!(stat.rsplit_once(')').and_then(|(_, r)| r.trim_start().chars().next()), Some('Z' | 'X')) {
        return false;
    }
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let cmdline = String::from_utf8_lossy(&cmdline);
    cmdline.contains("rmfc") || cmdline.contains("zookeeper")
}

fn assert_nothing_left(pids: &[u32], dir: &Path, deadline: Duration) {
    wait_until(&format!("every process the demo started ({pids:?}) to be gone"), deadline, || {
        pids.iter().all(|p| !ours_alive(*p))
    });
    wait_until(&format!("{} to be removed", dir.display()), deadline, || !dir.exists());
}

fn status_json(admin: &str) -> serde_json::Value {
    let reply = http_get(admin, "/v1/status").expect("GET /v1/status");
    assert_eq!(reply.status, 200, "{}", reply.body);
    serde_json::from_str(&reply.body).expect("status JSON")
}

#[test]
fn demo_reports_a_failover_and_sigterm_leaves_nothing_behind() {
    let mut demo = Demo::start(&[]);
    let active = demo.wait_line("the first active RM", Duration::from_secs(1), |l| {
        let (_, rest) = l.split_once("] active RM: ")?;
        (!rest.contains(' ')).then(|| rest.to_string())
    });
    let pids = demo.all_pids();
    let dir = demo.directory();
    assert!(dir.join("controller-rm1.yaml").is_file(), "{} has no controller config", dir.display());

    // The admin API the demo printed answers, and agrees on the one active RM.
    let status = status_json(&demo.admin_url());
    let rms = status["rms"].as_array().expect("rms");
    let actives: Vec<&str> =
        rms.iter().filter(|r| r["ha_state"] == "active").map(|r| r["id"].as_str().expect("id")).collect();
    assert_eq!(actives, [active.as_str()], "{status:#}");
    assert_eq!(status["active_rm"], active.as_str(), "{status:#}");

    // Kill the active RM: the demo reports the death and the new active RM.
    let victim = demo.pid(&format!("sim-rm {active}"));
    signal(victim, "KILL");
    let (new, was) = demo.wait_line("the demo to report the failover", FAILOVER_DEADLINE, |l| {
        let (_, rest) = l.split_once("] active RM: ")?;
        let (new, was) = rest.split_once(" (was ")?;
        // Not "none (was rm1) — ...": the line that names the new active RM.
        (new != "none").then(|| (new.to_string(), was.trim_end_matches(')').to_string()))
    });
    assert_eq!(was, active);
    assert_ne!(new, active);
    demo.wait_line("the demo to report the killed RM", Duration::from_secs(5), |l| {
        l.contains(&format!("sim-rm {active} (pid {victim}) exited: killed by SIGKILL")).then_some(())
    });

    signal(demo.child.id(), "TERM");
    let status = demo.wait_exit(STOP_DEADLINE);
    assert!(status.success(), "rmfc demo exited with {status}\n{}", demo.dump());
    assert!(demo.output().contains(&format!("removed {}", dir.display())), "{}", demo.dump());
    // The demo reaped its children before exiting: nothing to wait for.
    assert_nothing_left(&pids, &dir, Duration::ZERO);
}

#[test]
fn ctrl_c_with_dir_keeps_the_files_and_stops_every_process() {
    let keep = tempfile::Builder::new().prefix("rmfc-demo-test-").tempdir().expect("temp dir");
    let dir = keep.path().join("run");
    let mut demo = Demo::start(&["--dir", dir.to_str().expect("utf-8")]);
    let pids = demo.all_pids();
    assert_eq!(demo.directory(), std::fs::canonicalize(&dir).expect("dir exists"));

    signal(demo.child.id(), "INT");
    let status = demo.wait_exit(STOP_DEADLINE);
    assert!(status.success(), "rmfc demo exited with {status}\n{}", demo.dump());
    wait_until("every process the demo started to be gone", Duration::ZERO, || pids.iter().all(|p| !ours_alive(*p)));
    for file in ["controller-rm1.yaml", "controller-rm2.log", "rm1.journal.jsonl", "rm2.log", "zookeeper.log"] {
        assert!(dir.join(file).is_file(), "--dir: {file} was not kept\n{}", demo.dump());
    }
}

#[test]
fn a_killed_demo_is_cleaned_up_by_its_watchdog() {
    let mut demo = Demo::start(&[]);
    let pids = demo.all_pids();
    let dir = demo.directory();
    // No chance to clean up: the watchdog stops the children and removes the directory.
    demo.child.kill().expect("SIGKILL the demo");
    demo.child.wait().expect("reap the demo");
    assert_nothing_left(&pids, &dir, Duration::from_secs(20));
}
