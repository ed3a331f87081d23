//! The HTTP side of the operator commands: where the admin API is, the bearer token, one request
//! with a deadline, and what the answer means ([`Reply`]).
//!
//! Owns: turning an HTTP exchange into a `Reply`. Must not: follow redirects (a request, and its
//! token, must reach the daemon the operator named and nothing else), retry (a pause that timed
//! out may have been recorded; the operator checks and decides), or panic on what comes back.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use serde_json::Value;

use super::ApiArgs;
use crate::config::{Config, DEFAULT_ADMIN_LISTEN};
use crate::rm::{describe_error, excerpt, read_capped};

/// How much of an answer is read; a status of a few dozen RMs is a few kilobytes.
const BODY_MAX: usize = 4 * 1024 * 1024;

/// Where to send requests, resolved from the flags.
#[derive(Debug, Clone)]
pub struct Target {
    /// `http://HOST:PORT` (no trailing slash).
    pub base: String,
    pub token: Option<String>,
    pub timeout: Duration,
    /// Extra trusted CA certificate (PEM) for https.
    pub ca_pem: Option<Vec<u8>>,
}

/// What came of one request.
#[derive(Debug)]
pub enum Reply {
    /// 2xx with a JSON body.
    Done { json: Value, text: String },
    /// 4xx: the daemon refused; `message` is its `{"error": ...}` (or the body's start).
    Refused { status: StatusCode, message: String, text: String },
    /// No usable answer; `text` is the body when one came.
    Failed { message: String, text: Option<String> },
}

impl Reply {
    /// The body, when it is JSON (for `--json`).
    pub fn json_text(&self) -> Option<&str> {
        let text = match self {
            Reply::Done { text, .. } => return Some(text),
            Reply::Refused { text, .. } => text.as_str(),
            Reply::Failed { text, .. } => text.as_deref()?,
        };
        serde_json::from_str::<Value>(text).is_ok().then_some(text)
    }
}

/// Resolves `--admin` / `-c` / `--token-file`. The config's token file is read only for
/// `mutating` calls (reads are open, and the file is often readable by root only); an explicit
/// `--token-file` is always sent. `Err` is a usage error: nothing was sent.
pub fn target(args: &ApiArgs, mutating: bool) -> Result<Target, String> {
    let config = match &args.config {
        Some(path) => Some(Config::load(path).map_err(|e| e.to_string())?),
        None => None,
    };
    let base = match (&args.admin, &config) {
        (Some(url), _) => base_url(url)?,
        (None, Some(c)) => {
            listen_url(c.admin.listen, c.admin.tls.is_some()).map_err(|e| format!("admin.listen of the config: {e}"))?
        }
        (None, None) => {
            let default: SocketAddr = DEFAULT_ADMIN_LISTEN.parse().map_err(|e| format!("{e}"))?;
            listen_url(default, false)?
        }
    };
    let token = match (&args.token_file, &config) {
        (Some(file), _) => Some(read_token(file).map_err(|e| format!("--token-file {e}"))?),
        (None, Some(c)) if mutating => match &c.admin.token_file {
            Some(file) => Some(
                read_token(file)
                    .map_err(|e| format!("admin.token_file {e} (pass --token-file FILE to use another one)"))?,
            ),
            None => None,
        },
        _ => None,
    };
    let ca_pem = match &args.ca_file {
        Some(file) => {
            let pem = std::fs::read(file).map_err(|e| format!("--ca-file {}: {e}", file.display()))?;
            reqwest::Certificate::from_pem(&pem)
                .map_err(|e| format!("--ca-file {}: not a PEM certificate: {e}", file.display()))?;
            Some(pem)
        }
        None => None,
    };
    Ok(Target { base, token, timeout: args.timeout, ca_pem })
}

/// `--admin`: `http(s)://HOST:PORT[/prefix]`, or a bare `HOST:PORT` meaning http.
pub fn base_url(given: &str) -> Result<String, String> {
    let given = given.trim();
    let with_scheme = if given.contains("://") { given.to_string() } else { format!("http://{given}") };
    let url = Url::parse(&with_scheme).map_err(|e| format!("--admin {given:?}: {e} (e.g. http://127.0.0.1:9123)"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("--admin {given:?}: expected http://HOST:PORT or https://HOST:PORT"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("--admin {given:?}: no query or fragment, please"));
    }
    Ok(with_scheme.trim_end_matches('/').to_string())
}

/// The URL a local client uses for a daemon bound to `listen`: an unspecified address (every
/// interface) is reached on loopback.
pub fn listen_url(listen: SocketAddr, tls: bool) -> Result<String, String> {
    if listen.port() == 0 {
        return Err(format!("{listen} has port 0 (any free port): pass --admin URL"));
    }
    let ip = if listen.ip().is_unspecified() { IpAddr::V4(Ipv4Addr::LOCALHOST) } else { listen.ip() };
    let scheme = if tls { "https" } else { "http" };
    Ok(format!("{scheme}://{}", SocketAddr::new(ip, listen.port())))
}

/// The token: the file's content, trimmed, not empty (as the daemon reads it).
fn read_token(file: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(format!("{}: the file is empty", file.display()));
    }
    Ok(token.to_string())
}

/// One request to `target.base` + `path`, JSON `body` if any, within `target.timeout`.
pub async fn call(target: &Target, method: Method, path: &str, body: Option<&Value>) -> Reply {
    let url = format!("{}{path}", target.base);
    let failed = |message: String| Reply::Failed { message, text: None };
    let mut builder = reqwest::Client::builder();
    if let Some(pem) = &target.ca_pem {
        match reqwest::Certificate::from_pem(pem) {
            Ok(cert) => builder = builder.add_root_certificate(cert),
            Err(e) => return failed(format!("--ca-file: {}", describe_error(&e))),
        }
    }
    let client = match builder
        .redirect(reqwest::redirect::Policy::none())
        // Straight to the daemon: an HTTP_PROXY from the environment must not see the token.
        .no_proxy()
        .timeout(target.timeout)
        .connect_timeout(target.timeout)
        .user_agent(concat!("rmfc/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(c) => c,
        Err(e) => return failed(format!("cannot set up an HTTP client: {}", describe_error(&e))),
    };
    let mut request = client.request(method, &url).header(reqwest::header::ACCEPT, "application/json");
    if let Some(token) = &target.token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let timeout = humantime::format_duration(target.timeout);
    let mut resp = match request.send().await {
        Ok(r) => r,
        Err(e) if e.is_timeout() => return failed(format!("{url}: no answer within {timeout} (--timeout)")),
        Err(e) if e.is_connect() => return failed(format!("cannot connect to {url}: {}", root_cause(&e))),
        Err(e) => return failed(format!("{url}: {}", describe_error(&e))),
    };
    let status = resp.status();
    match read_capped(&mut resp, BODY_MAX).await {
        Ok(bytes) => classify(&url, status, &bytes),
        Err(e) => failed(format!("{url} answered {status} but {e}")),
    }
}

/// The innermost error (for a refused connection: the OS's own words, without reqwest's
/// layers of "error sending request", "client error (Connect)", "tcp connect error").
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}

/// What an answer means: 2xx JSON is done, 4xx refused, anything else failed.
pub fn classify(url: &str, status: StatusCode, body: &[u8]) -> Reply {
    let text = String::from_utf8_lossy(body).into_owned();
    let json = serde_json::from_slice::<Value>(body).ok();
    let said = || match json.as_ref().and_then(|j| j.get("error")).and_then(Value::as_str) {
        Some(msg) => msg.to_string(),
        None if body.iter().all(u8::is_ascii_whitespace) => "(no message)".to_string(),
        None => excerpt(body),
    };
    if status.is_success() {
        return match json {
            Some(json) => Reply::Done { json, text },
            None => Reply::Failed {
                message: format!("{url} answered {status} but not JSON: {}", excerpt(body)),
                text: None,
            },
        };
    }
    if status.is_client_error() {
        return Reply::Refused { status, message: said(), text };
    }
    let message = if status.is_redirection() {
        let hint = "redirects are not followed: is this the daemon's admin API?";
        format!("{url} answered {status} ({hint})")
    } else {
        format!("{url} answered {status}: {}", said())
    };
    Reply::Failed { message, text: Some(text) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_urls_get_a_scheme_and_lose_the_trailing_slash() {
        assert_eq!(base_url("127.0.0.1:9123").unwrap(), "http://127.0.0.1:9123");
        assert_eq!(base_url(" http://rm1.example.com:9123/ ").unwrap(), "http://rm1.example.com:9123");
        assert_eq!(base_url("https://[::1]:9000").unwrap(), "https://[::1]:9000");
        for bad in ["ftp://x:1", "http://", "http://h:1/?a=b", "::::"] {
            assert!(base_url(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn every_interface_is_reached_on_loopback() {
        let url = |s: &str| listen_url(s.parse().unwrap(), false);
        assert_eq!(url("0.0.0.0:9123").unwrap(), "http://127.0.0.1:9123");
        assert_eq!(url("[::]:9123").unwrap(), "http://127.0.0.1:9123");
        assert_eq!(url("[::1]:9000").unwrap(), "http://[::1]:9000");
        assert_eq!(url("10.1.2.3:9123").unwrap(), "http://10.1.2.3:9123");
        assert!(url("127.0.0.1:0").is_err());
        assert_eq!(listen_url("0.0.0.0:9123".parse().unwrap(), true).unwrap(), "https://127.0.0.1:9123");
    }

    #[test]
    fn answers_are_done_refused_or_failed() {
        let u = "http://h:1/v1/pause";
        assert!(matches!(classify(u, StatusCode::OK, br#"{"paused":null}"#), Reply::Done { .. }));
        match classify(u, StatusCode::BAD_REQUEST, br#"{"error":"reason is required"}"#) {
            Reply::Refused { message, .. } => assert_eq!(message, "reason is required"),
            other => panic!("{other:?}"),
        }
        match classify(u, StatusCode::CONFLICT, b"") {
            Reply::Refused { message, .. } => assert_eq!(message, "(no message)"),
            other => panic!("{other:?}"),
        }
        match classify(u, StatusCode::SERVICE_UNAVAILABLE, br#"{"error":"no ZooKeeper"}"#) {
            Reply::Failed { message, text } => {
                assert!(message.contains("503") && message.contains("no ZooKeeper"), "{message}");
                assert!(text.is_some());
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(classify(u, StatusCode::OK, b"<html>"), Reply::Failed { .. }));
        assert!(matches!(classify(u, StatusCode::FOUND, b""), Reply::Failed { .. }));
        assert!(matches!(classify(u, StatusCode::OK, &[0xff, 0xfe]), Reply::Failed { .. }));
    }
}
