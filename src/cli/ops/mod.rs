//! The operator commands over a daemon's admin API, like `patronictl` over Patroni's REST API:
//!
//! - `rmfc status`: `GET /v1/status` as a table (the cluster, each RM, this daemon, problems);
//! - `rmfc history [--limit N]`: `GET /v1/history`, newest first;
//! - `rmfc pause --reason TEXT [--for DUR]`: `POST /v1/pause`;
//! - `rmfc resume`: `POST /v1/resume`;
//! - `rmfc switchover [--to RM] --reason TEXT [--dry-run]`: `POST /v1/switchover`, then follows
//!   it (see `switchover`, which adds exit code 4: accepted but not completed).
//!
//! Each finds the API with `--admin URL`, or from `admin.listen` of `-c FILE` (0.0.0.0 and [::]
//! mean 127.0.0.1; https when the config sets TLS), else the default `http://127.0.0.1:9123`. `--json` prints the daemon's JSON
//! itself (re-indented, keys in its order) instead of the table.
//!
//! Exit codes, the same for every command (scripts rely on them, so they MUST stay distinct):
//! - 0: done;
//! - 1 ([`EXIT_REFUSED`]): the daemon answered 4xx and said why (bad request, no or wrong
//!   token, a conflict); nothing changed;
//! - 2 ([`EXIT_USAGE`]): bad flags (clap), or an unreadable config or token file; nothing was
//!   sent;
//! - 3 ([`EXIT_FAILED`]): no answer (cannot connect, timeout), a 5xx, or an answer that is not
//!   the JSON expected. A mutating call may or may not have been applied: check `rmfc status`.
//!
//! Owns: the commands, their output and exit codes. Must not: retry or follow redirects (see
//! `client`), or decide anything (the daemons do; this only asks and shows).

mod client;
mod pretty;
mod render;
mod switchover;

pub use switchover::{switchover, SwitchoverArgs};

use std::path::PathBuf;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use client::Reply;

use crate::wall_clock::now_ms;

/// Exit code: the daemon answered 4xx (its reason is printed).
pub const EXIT_REFUSED: i32 = super::EXIT_REFUSED;
/// Exit code: bad command line or local file; nothing was sent.
pub const EXIT_USAGE: i32 = 2;
/// Exit code: no usable answer (connection, timeout, 5xx, not the JSON expected).
pub const EXIT_FAILED: i32 = super::EXIT_UNREACHABLE;

const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  done
  1  refused: the daemon answered 4xx (bad request, missing or wrong token, conflict); its reason is printed
  2  usage: bad flags, or an unreadable config or token file; nothing was sent
  3  failed: cannot connect, timeout, a 5xx, or an answer that is not the expected JSON
     (a pause or resume may then have been applied or not: check `rmfc status`)";

/// Where the admin API is and how to talk to it (shared by every operator command).
#[derive(Debug, Clone, clap::Args)]
pub struct ApiArgs {
    /// The daemon's admin API, e.g. http://127.0.0.1:9123 [default: from -c, else
    /// http://127.0.0.1:9123].
    #[arg(long, value_name = "URL")]
    pub admin: Option<String>,
    /// An rmfc config file: the API address comes from its admin.listen (0.0.0.0 and [::] mean
    /// 127.0.0.1), the token of pause and resume from its admin.token_file.
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print the daemon's JSON answer (pretty, as sent) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// A file holding the bearer token for pause and resume [default: admin.token_file of -c].
    /// When given, read calls send it too.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// A PEM file of the certificate authority that signed the daemon's admin TLS certificate
    /// (for https:// URLs; the system's roots are trusted too).
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Deadline of the whole request (connect included), e.g. 500ms, 10s.
    #[arg(long, value_name = "DUR", value_parser = positive_duration, default_value = "10s")]
    pub timeout: Duration,
}

#[derive(Debug, Clone, clap::Args)]
#[command(after_help = EXIT_CODES_HELP)]
pub struct StatusArgs {
    #[command(flatten)]
    pub api: ApiArgs,
}

#[derive(Debug, Clone, clap::Args)]
#[command(after_help = EXIT_CODES_HELP)]
pub struct HistoryArgs {
    /// Show at most this many transitions, newest first (the table only; --json prints the
    /// whole journal as sent).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub limit: usize,
    #[command(flatten)]
    pub api: ApiArgs,
}

#[derive(Debug, Clone, clap::Args)]
#[command(after_help = EXIT_CODES_HELP)]
pub struct PauseArgs {
    /// Why automatic failover is paused (recorded, shown by `rmfc status`).
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// End the pause by itself after this long, e.g. 30m, 2h [default: until `rmfc resume`].
    #[arg(long = "for", value_name = "DUR", value_parser = duration_text)]
    pub duration: Option<String>,
    #[command(flatten)]
    pub api: ApiArgs,
}

#[derive(Debug, Clone, clap::Args)]
#[command(after_help = EXIT_CODES_HELP)]
pub struct ResumeArgs {
    #[command(flatten)]
    pub api: ApiArgs,
}

/// `rmfc status`; returns the exit code.
pub async fn status(args: StatusArgs) -> i32 {
    let now = now_ms();
    exchange("status", &args.api, Method::GET, "/v1/status", None, |doc| render::status(doc, now)).await
}

/// `rmfc history`; returns the exit code.
pub async fn history(args: HistoryArgs) -> i32 {
    let limit = args.limit;
    exchange("history", &args.api, Method::GET, "/v1/history", None, |doc| render::history(doc, limit)).await
}

/// `rmfc pause`; returns the exit code.
pub async fn pause(args: PauseArgs) -> i32 {
    let mut body = json!({ "reason": args.reason });
    if let Some(d) = &args.duration {
        body["for"] = json!(d);
    }
    let now = now_ms();
    exchange("pause", &args.api, Method::POST, "/v1/pause", Some(body), |doc| render::pause_answer(doc, now)).await
}

/// `rmfc resume`; returns the exit code.
pub async fn resume(args: ResumeArgs) -> i32 {
    let now = now_ms();
    exchange("resume", &args.api, Method::POST, "/v1/resume", Some(json!({})), |doc| render::pause_answer(doc, now))
        .await
}

/// One request and its output: the table (or the JSON) on stdout, refusals and failures on
/// stderr as `rmfc CMD: ...`. A POST is mutating: it carries the token from the config too.
async fn exchange(
    cmd: &str,
    api: &ApiArgs,
    method: Method,
    path: &str,
    body: Option<Value>,
    render: impl FnOnce(&Value) -> Result<String, String>,
) -> i32 {
    let mutating = method != Method::GET;
    let target = match client::target(api, mutating) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("rmfc {cmd}: {e}");
            return EXIT_USAGE;
        }
    };
    let reply = client::call(&target, method, path, body.as_ref()).await;
    if api.json {
        // Refusals and 5xx with a JSON body are printed too: a script sees the daemon's words.
        if let Some(text) = reply.json_text() {
            emit(&pretty::pretty(text));
        }
    }
    match reply {
        Reply::Done { json, .. } => match render(&json) {
            Ok(text) => {
                if !api.json {
                    emit(&text);
                }
                0
            }
            Err(e) => {
                eprintln!("rmfc {cmd}: failed: {}{path} answered JSON that is not {e}", target.base);
                EXIT_FAILED
            }
        },
        Reply::Refused { status, message, .. } => {
            eprintln!("rmfc {cmd}: refused ({status}): {message}");
            EXIT_REFUSED
        }
        Reply::Failed { message, .. } => {
            eprintln!("rmfc {cmd}: failed: {message}");
            EXIT_FAILED
        }
    }
}

/// Writes to stdout; a closed pipe (`| head`) is not worth a panic.
fn emit(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

fn positive_duration(s: &str) -> Result<Duration, String> {
    match humantime::parse_duration(s) {
        Ok(d) if d.is_zero() => Err("must be longer than zero".into()),
        Ok(d) => Ok(d),
        Err(e) => Err(format!("{e} (e.g. 500ms, 10s)")),
    }
}

/// Checks a `--for` duration here (a typo is a usage error, exit 2) but sends the operator's
/// own text: the daemon parses it the same way.
fn duration_text(s: &str) -> Result<String, String> {
    match humantime::parse_duration(s) {
        Ok(d) if d.is_zero() => Err("must be longer than zero".into()),
        Ok(_) => Ok(s.trim().to_string()),
        Err(e) => Err(format!("{e} (e.g. 30m, 2h)")),
    }
}
