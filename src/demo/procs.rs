//! The demo's child processes: spawned into one process group of their own, watched for
//! unexpected exits, stopped with SIGTERM then SIGKILL.
//!
//! Why a process group of their own: Ctrl-C in a terminal signals the whole foreground group;
//! the children must not get it, so that the demo alone decides the order in which they stop
//! (controllers first, then the RMs, then ZooKeeper).
//!
//! Why a watchdog: if the demo itself is killed (SIGKILL, a crash), nothing of it runs to stop
//! its children. The group leader is therefore a tiny `/bin/sh` script whose stdin is a pipe
//! from the demo. On a normal exit the demo writes `done` into it; if the pipe closes without
//! that, the script SIGTERMs the group, waits a little, removes the demo's temporary directory
//! and SIGKILLs whatever is left (itself included).

use std::fs::File;
use std::io::Write;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

/// How long a child may take to stop after SIGTERM before it gets SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// `$1`: a directory to remove if the demo vanishes without saying `done` (empty: none).
const WATCHDOG_SCRIPT: &str = r#"trap '' INT TERM HUP
read line
[ "$line" = done ] && exit 0
kill -TERM -$$ 2>/dev/null
sleep 3
[ -n "$1" ] && rm -rf -- "$1"
kill -KILL -$$
"#;

/// The process group every child joins, led by the watchdog.
pub struct Group {
    watchdog: Child,
    stdin: Option<ChildStdin>,
}

impl Group {
    /// Starts the watchdog. `cleanup_dir`: removed by the watchdog if the demo dies abruptly.
    pub fn start(cleanup_dir: Option<&Path>) -> anyhow::Result<Group> {
        let mut watchdog = Command::new("/bin/sh")
            .arg("-c")
            .arg(WATCHDOG_SCRIPT)
            .arg("rmfc-demo-watchdog")
            .arg(cleanup_dir.map(|d| d.as_os_str().to_owned()).unwrap_or_default())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .context("cannot run /bin/sh (the demo's watchdog)")?;
        let stdin = watchdog.stdin.take();
        Ok(Group { watchdog, stdin })
    }

    pub fn pgid(&self) -> u32 {
        self.watchdog.id()
    }

    /// Spawns `cmd` into the group with stdin from /dev/null and stdout/stderr to files.
    pub fn spawn(&self, name: &str, mut cmd: Command, stdout: &Path, stderr: &Path) -> anyhow::Result<Proc> {
        let out = File::create(stdout).with_context(|| format!("cannot create {}", stdout.display()))?;
        let err = if stdout == stderr {
            out.try_clone()?
        } else {
            File::create(stderr).with_context(|| format!("cannot create {}", stderr.display()))?
        };
        let pgid = i32::try_from(self.pgid()).context("process group id out of range")?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(pgid)
            .spawn()
            .with_context(|| format!("cannot start {name} ({:?})", cmd.get_program()))?;
        Ok(Proc { name: name.to_string(), pid: child.id(), child, exited: None, log: stderr.to_owned() })
    }

    /// Every child has been stopped: tells the watchdog to exit quietly and reaps it.
    pub fn finish(mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.write_all(b"done\n");
        }
        let _ = self.watchdog.wait();
    }
}

/// One child process of the demo.
pub struct Proc {
    /// What it is, for messages ("sim-rm rm1").
    pub name: String,
    pub pid: u32,
    child: Child,
    exited: Option<ExitStatus>,
    /// Its diagnostics (stderr).
    pub log: PathBuf,
}

impl Proc {
    /// `Some(status)` the first time the process is found to have exited (it is then reaped).
    pub fn newly_exited(&mut self) -> Option<ExitStatus> {
        if self.exited.is_some() {
            return None;
        }
        match self.child.try_wait() {
            Ok(Some(status)) => {
                self.exited = Some(status);
                Some(status)
            }
            _ => None,
        }
    }

    pub fn running(&mut self) -> bool {
        self.newly_exited();
        self.exited.is_none()
    }

    /// Sends `sig` ("TERM", "KILL", ...) unless the process was already reaped (its pid could
    /// then belong to someone else).
    fn signal(&mut self, sig: &str) {
        if self.running() {
            let _ = Command::new("/bin/sh")
                .arg("-c")
                .arg(format!("kill -{sig} {} 2>/dev/null", self.pid))
                .stdin(Stdio::null())
                .status();
        }
    }

    /// The last `lines` lines of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read(&self.log).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

/// Stops `procs` together: SIGTERM (SIGCONT too, in case one was left stopped), then SIGKILL
/// for those still running after [`STOP_GRACE`]; every one is reaped on return.
pub fn stop_all(procs: &mut [Proc]) {
    for p in procs.iter_mut() {
        p.signal("TERM");
        p.signal("CONT");
    }
    let deadline = Instant::now() + STOP_GRACE;
    while procs.iter_mut().any(Proc::running) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    for p in procs.iter_mut() {
        if p.running() {
            let _ = p.child.kill();
            let _ = p.child.wait();
            p.exited = Some(ExitStatus::from_raw(9));
        }
    }
}

/// "exit status 1", "killed by SIGKILL", ...
pub fn describe_exit(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exit status {code}");
    }
    match status.signal() {
        Some(sig) => format!("killed by {}", signal_name(sig)),
        None => status.to_string(),
    }
}

fn signal_name(sig: i32) -> String {
    match sig {
        1 => "SIGHUP".into(),
        2 => "SIGINT".into(),
        6 => "SIGABRT".into(),
        9 => "SIGKILL".into(),
        11 => "SIGSEGV".into(),
        15 => "SIGTERM".into(),
        n => format!("signal {n}"),
    }
}
