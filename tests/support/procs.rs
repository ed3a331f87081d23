//! Child processes under test: the `rmfc` binary, POSIX signals for fault injection, and a tiny
//! HTTP/1.1 client (std only) for probing REST endpoints without following redirects.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{ChildStdout, Command};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The `rmfc` binary cargo built for this test run.
pub fn rmfc_bin() -> &'static str {
    env!("CARGO_BIN_EXE_rmfc")
}

/// A `Command` for `rmfc ARGS...`.
pub fn rmfc(args: &[&str]) -> Command {
    let mut c = Command::new(rmfc_bin());
    c.args(args);
    c
}

/// A `Command` for `rmfc ARGS...` run inside network namespace `netns` (`ip netns exec`, which
/// execs rmfc: the child's pid is rmfc's own), or like [`rmfc`] when `None`.
pub fn rmfc_in(netns: Option<&str>, args: &[&str]) -> Command {
    let Some(ns) = netns else { return rmfc(args) };
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns, rmfc_bin()]).args(args);
    c
}

/// Sends `sig` (e.g. "STOP", "CONT", "KILL") to `pid`. For STOP, returns only once every
/// thread of the process is stopped (the signal takes effect asynchronously).
pub fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill").arg(format!("-{sig}")).arg(pid.to_string()).status();
    match status {
        Ok(s) if s.success() => {}
        other => panic!("kill -{sig} {pid} failed: {other:?}"),
    }
    if sig == "STOP" {
        wait_stopped(pid);
    }
}

/// Waits until every thread of `pid` is in state T (stopped).
pub fn wait_stopped(pid: u32) {
    super::wait::wait_until(&format!("every thread of {pid} to be stopped"), Duration::from_secs(5), || {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return false };
        tasks.flatten().all(|t| {
            let stat = std::fs::read_to_string(t.path().join("stat")).unwrap_or_default();
            // The state follows the parenthesised command name.
            stat.rsplit_once(") ").and_then(|(_, rest)| rest.chars().next()) == Some('T')
        })
    });
}

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct HttpReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request with `Connection: close`; never follows redirects.
pub fn http(method: &str, addr: &str, path: &str, body: Option<&str>) -> std::io::Result<HttpReply> {
    http_with_headers(method, addr, path, body, &[])
}

/// [`http`] with extra request headers.
pub fn http_with_headers(
    method: &str,
    addr: &str,
    path: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> std::io::Result<HttpReply> {
    let addr = addr.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let body = body.unwrap_or("");
    let extra: String = headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAccept: application/json\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line in {head:?}")))?;
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))).collect();
    let chunked = headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked { dechunk(rest) } else { rest.to_string() };
    Ok(HttpReply { status, headers, body })
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else { break };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

pub fn http_get(addr: &str, path: &str) -> std::io::Result<HttpReply> {
    http("GET", addr, path, None)
}

/// Reads a child's stdout line by line on a thread, keeping what `parse` makes of each line (it
/// panics on a line that must not appear). The list grows as the child writes.
pub fn collect_lines<T: Send + 'static>(
    stdout: ChildStdout,
    parse: impl Fn(String) -> T + Send + 'static,
) -> Arc<Mutex<Vec<T>>> {
    let lines: Arc<Mutex<Vec<T>>> = Arc::default();
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let item = parse(line);
            sink.lock().unwrap_or_else(|p| p.into_inner()).push(item);
        }
    });
    lines
}

/// POST `body` (JSON); panics when the daemon cannot be reached.
pub fn post(addr: &str, path: &str, body: &str) -> HttpReply {
    http("POST", addr, path, Some(body)).unwrap_or_else(|e| panic!("POST {addr}{path}: {e}"))
}

/// GET `path` as JSON; panics when the daemon cannot be reached or the body is not JSON.
pub fn get_json(addr: &str, path: &str) -> serde_json::Value {
    let r = http_get(addr, path).unwrap_or_else(|e| panic!("GET {addr}{path}: {e}"));
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("GET {addr}{path}: {e}: {}", r.body))
}
