//! The `shell` fencing method: `/bin/sh -c <command>` with the target in its environment (rmfc's
//! `RMFC_*` names and Hadoop ShellCommandFencer's `target_*` names, so scripts written for HDFS
//! ZKFC keep working), stdin closed, stdout and stderr captured (bounded) and logged, and the
//! whole process group killed at the deadline. Exit 0 means fenced.
//!
//! Owns: the child process and its group. Must not: interpret the command or its output beyond
//! the exit status, or leave a process group running past the deadline.

use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::task::JoinHandle;

use crate::rm::RmEndpointCfg;

/// Each stream keeps its last this many bytes.
const CAPTURE_MAX: usize = 64 * 1024;
/// How much of stderr goes into the failure reason.
const REASON_TAIL: usize = 512;
/// After the shell exits, how long its output may still take to drain (a background child that
/// kept the pipe open must not hold the step up).
const DRAIN_GRACE: Duration = Duration::from_secs(1);

/// `host:port` split; `[v6]:port` loses its brackets; no port gives an empty one.
pub(super) fn split_host_port(addr: &str) -> (String, String) {
    if let Some(rest) = addr.strip_prefix('[') {
        if let Some((host, tail)) = rest.split_once(']') {
            return (host.to_string(), tail.strip_prefix(':').unwrap_or("").to_string());
        }
    }
    match addr.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => (host.to_string(), port.to_string()),
        _ => (addr.to_string(), String::new()),
    }
}

/// The variables the command gets on top of rmfc's own environment.
pub(super) fn env(cluster_id: &str, epoch: u64, target: &str, ep: &RmEndpointCfg) -> Vec<(String, String)> {
    let (host, port) = split_host_port(&ep.admin_address);
    [
        ("RMFC_CLUSTER_ID", cluster_id.to_string()),
        ("RMFC_EPOCH", epoch.to_string()),
        ("RMFC_TARGET_RM_ID", target.to_string()),
        ("RMFC_TARGET_ADMIN_ADDRESS", ep.admin_address.clone()),
        ("RMFC_TARGET_WEB_ADDRESS", ep.web_address.clone()),
        ("RMFC_TARGET_HOST", host.clone()),
        ("RMFC_TARGET_PORT", port.clone()),
        // Hadoop's ShellCommandFencer names (target_host, target_port, target_address).
        ("target_host", host),
        ("target_port", port),
        ("target_address", ep.admin_address.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Runs `command` within `timeout`; `Err` says why it did not fence.
pub(super) async fn run(command: &str, env: &[(String, String)], timeout: Duration) -> Result<(), String> {
    let mut child = tokio::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(command)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so the deadline can kill everything it started.
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start /bin/sh: {e}"))?;
    let pgid = child.id();
    let stdout = Capture::start(child.stdout.take());
    let stderr = Capture::start(child.stderr.take());
    tracing::info!(command, pid = pgid, ?timeout, "fencing command started");

    let status = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) => Ok(status),
        Ok(Err(e)) => Err(format!("waiting for the command: {e}")),
        Err(_) => {
            if let Some(pgid) = pgid {
                kill_group(pgid).await;
            }
            let _ = child.kill().await;
            Err(format!("timed out after {}", humantime::format_duration(timeout)))
        }
    };
    let out = stdout.finish().await;
    let err = stderr.finish().await;
    log_output("stdout", &out);
    log_output("stderr", &err);
    let reason_tail = tail(&err);
    match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) if reason_tail.is_empty() => Err(describe(s)),
        Ok(s) => Err(format!("{}: {reason_tail}", describe(s))),
        Err(e) if reason_tail.is_empty() => Err(format!("{e} (process group killed)")),
        Err(e) => Err(format!("{e} (process group killed); stderr: {reason_tail}")),
    }
}

/// SIGKILL to the whole group (`kill -s KILL -- -PGID`, the shell's builtin: no libc needed).
async fn kill_group(pgid: u32) {
    let r = tokio::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(format!("kill -s KILL -- -{pgid}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await;
    if let Err(e) = r {
        tracing::warn!(pgid, error = %e, "could not kill the fencing command's process group");
    }
}

fn describe(s: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (s.code(), s.signal()) {
        (Some(code), _) => format!("exit {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        (None, None) => s.to_string(),
    }
}

/// The last `REASON_TAIL` bytes, trimmed, as text.
fn tail(bytes: &[u8]) -> String {
    let start = bytes.len().saturating_sub(REASON_TAIL);
    String::from_utf8_lossy(&bytes[start..]).trim().to_string()
}

fn log_output(stream: &'static str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    if !text.is_empty() {
        tracing::info!(stream, output = %text, "fencing command output");
    }
}

/// One output stream drained in the background, keeping its last `CAPTURE_MAX` bytes.
struct Capture {
    buf: Arc<Mutex<Vec<u8>>>,
    task: Option<JoinHandle<()>>,
}

impl Capture {
    fn start(stream: Option<impl AsyncRead + Unpin + Send + 'static>) -> Self {
        let buf: Arc<Mutex<Vec<u8>>> = Arc::default();
        let task = stream.map(|mut stream| {
            let buf = buf.clone();
            tokio::spawn(async move {
                let mut chunk = [0u8; 8192];
                while let Ok(n @ 1..) = stream.read(&mut chunk).await {
                    let mut b = buf.lock().unwrap_or_else(|p| p.into_inner());
                    b.extend_from_slice(&chunk[..n]);
                    if b.len() > CAPTURE_MAX {
                        let cut = b.len() - CAPTURE_MAX;
                        b.drain(..cut);
                    }
                }
            })
        });
        Capture { buf, task }
    }

    /// What was read, waiting at most `DRAIN_GRACE` for the rest.
    async fn finish(mut self) -> Vec<u8> {
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(DRAIN_GRACE, &mut task).await.is_err() {
                task.abort();
            }
        }
        std::mem::take(&mut *self.buf.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_split_into_host_and_port() {
        assert_eq!(split_host_port("rm1.example.com:8033"), ("rm1.example.com".into(), "8033".into()));
        assert_eq!(split_host_port("[::1]:8033"), ("::1".into(), "8033".into()));
        assert_eq!(split_host_port("rm1"), ("rm1".into(), String::new()));
        assert_eq!(split_host_port("::1"), ("::1".into(), String::new()));
    }

    #[test]
    fn the_environment_names_the_target_both_ways() {
        let ep = RmEndpointCfg { admin_address: "rm2.example.com:8033".into(), web_address: "http://rm2:8088".into() };
        let env: std::collections::BTreeMap<String, String> = env("yarn-prod", 7, "rm2", &ep).into_iter().collect();
        let want = [
            ("RMFC_CLUSTER_ID", "yarn-prod"),
            ("RMFC_EPOCH", "7"),
            ("RMFC_TARGET_RM_ID", "rm2"),
            ("RMFC_TARGET_ADMIN_ADDRESS", "rm2.example.com:8033"),
            ("RMFC_TARGET_WEB_ADDRESS", "http://rm2:8088"),
            ("RMFC_TARGET_HOST", "rm2.example.com"),
            ("RMFC_TARGET_PORT", "8033"),
            ("target_host", "rm2.example.com"),
            ("target_port", "8033"),
            ("target_address", "rm2.example.com:8033"),
        ];
        assert_eq!(env.len(), want.len());
        for (k, v) in want {
            assert_eq!(env.get(k).map(String::as_str), Some(v), "{k}");
        }
    }

    #[test]
    fn the_reason_carries_the_end_of_stderr() {
        let mut long = vec![b'a'; 2000];
        long.extend_from_slice(b"the actual error\n");
        let t = tail(&long);
        assert!(t.ends_with("the actual error") && t.len() <= REASON_TAIL, "{t}");
    }
}
