//! `rmfc switchover [--to RM] --reason TEXT [--dry-run] [--within DUR] [--no-wait]`: asks a
//! daemon for a graceful switchover (`POST /v1/switchover`) and, unless `--no-wait`, follows it
//! (`GET /v1/switchover/{id}`) until it succeeded or failed, printing each phase as it is
//! reached. `--dry-run` prints every RM's eligibility and whether the request would be accepted.
//!
//! Exit codes: 0 succeeded (or, dry run: would be accepted; `--no-wait`: accepted); 1 refused
//! (4xx; dry run: would be refused); 3 no usable answer; 4 accepted but it failed, or was still
//! in progress when the wait ended (see `rmfc status`).
//!
//! Owns: the command's flow and output. Must not: retry the request (a second switchover would
//! be refused while the first is pending anyway) or decide anything.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use super::client::{self, Reply};
use super::render::{table, utc};
use super::{emit, positive_duration, ApiArgs, EXIT_FAILED, EXIT_REFUSED, EXIT_USAGE};

/// Exit code: the switchover was accepted but did not succeed (or the wait ended first).
pub const EXIT_NOT_COMPLETED: i32 = 4;

const HELP: &str = "\
Exit codes:
  0  the switchover succeeded (--dry-run: it would be accepted; --no-wait: it was accepted)
  1  refused: the daemon answered 4xx and said why (--dry-run: it would be refused)
  2  usage: bad flags, or an unreadable config or token file; nothing was sent
  3  failed: cannot connect, timeout, a 5xx, or an answer that is not the expected JSON
  4  accepted, but it failed or was still in progress when the wait ended (see `rmfc status`)";

#[derive(Debug, Clone, clap::Args)]
#[command(after_help = HELP)]
pub struct SwitchoverArgs {
    /// The RM to make active [default: the eligible RM next in the election].
    #[arg(long, value_name = "RM")]
    pub to: Option<String>,
    /// Why (recorded in the journal with who asked).
    #[arg(long, value_name = "TEXT", required_unless_present = "dry_run")]
    pub reason: Option<String>,
    /// Change nothing: show each RM's eligibility and whether the request would be accepted.
    #[arg(long)]
    pub dry_run: bool,
    /// How long the cluster may take before the switchover is abandoned (5s to 30m).
    #[arg(long, value_name = "DUR", value_parser = positive_duration, default_value = "60s")]
    pub within: Duration,
    /// Return once the request is accepted instead of following it to its outcome.
    #[arg(long)]
    pub no_wait: bool,
    #[command(flatten)]
    pub api: ApiArgs,
}

/// `rmfc switchover`; returns the exit code.
pub async fn switchover(args: SwitchoverArgs) -> i32 {
    let target = match client::target(&args.api, true) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("rmfc switchover: {e}");
            return EXIT_USAGE;
        }
    };
    let mut body = json!({ "dry_run": args.dry_run, "timeout": humantime::format_duration(args.within).to_string() });
    if let Some(to) = &args.to {
        body["target"] = json!(to);
    }
    if let Some(reason) = &args.reason {
        body["reason"] = json!(reason);
    }
    let reply = client::call(&target, Method::POST, "/v1/switchover", Some(&body)).await;
    if args.api.json {
        if let Some(text) = reply.json_text() {
            emit(&super::pretty::pretty(text));
        }
    }
    let doc = match reply {
        Reply::Done { json, .. } => json,
        Reply::Refused { status, message, text } => {
            eprintln!("rmfc switchover: refused ({status}): {message}");
            if !args.api.json {
                if let Ok(doc) = serde_json::from_str::<Value>(&text) {
                    emit(&candidates(&doc["candidates"]));
                }
            }
            return EXIT_REFUSED;
        }
        Reply::Failed { message, .. } => {
            eprintln!("rmfc switchover: failed: {message}");
            return EXIT_FAILED;
        }
    };
    if args.dry_run {
        return dry_run(&doc, args.api.json);
    }
    let Some(id) = doc["id"].as_str().map(str::to_string) else {
        eprintln!("rmfc switchover: failed: the answer carries no operation id");
        return EXIT_FAILED;
    };
    if !args.api.json {
        let to = doc["switchover"]["target"].as_str().unwrap_or("?");
        emit(&format!("switchover {id} to {to} accepted\n"));
    }
    if args.no_wait {
        return 0;
    }
    follow(&target, &id, args.within + Duration::from_secs(10), args.api.json).await
}

fn dry_run(doc: &Value, json: bool) -> i32 {
    let accepted = doc["accepted"].as_bool().unwrap_or(false);
    if !json {
        let mut out = candidates(&doc["candidates"]);
        match (accepted, doc["target"].as_str()) {
            (true, Some(t)) => out.push_str(&format!("dry run: a switchover to {t} would be accepted\n")),
            _ => out.push_str(&format!(
                "dry run: it would be refused: {}\n",
                doc["refusal"].as_str().unwrap_or("no reason given")
            )),
        }
        emit(&out);
    }
    if accepted {
        0
    } else {
        EXIT_REFUSED
    }
}

/// The eligibility table: RM, eligible, why not.
fn candidates(list: &Value) -> String {
    let rows: Vec<Vec<String>> = list
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|e| {
            let reasons: Vec<&str> = e["reasons"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .filter_map(Value::as_str)
                .collect();
            vec![
                e["rm_id"].as_str().unwrap_or("?").to_string(),
                if e["eligible"].as_bool() == Some(true) { "yes" } else { "no" }.to_string(),
                if reasons.is_empty() { "-".to_string() } else { reasons.join("; ") },
            ]
        })
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    table(&["RM", "ELIGIBLE", "WHY NOT"], &rows)
}

/// Polls the operation until it finished or `wait` passed, printing each new phase.
async fn follow(target: &client::Target, id: &str, wait: Duration, json: bool) -> i32 {
    let path = format!("/v1/switchover/{id}");
    let until = Instant::now() + wait;
    let mut last_phase = String::new();
    loop {
        match client::call(target, Method::GET, &path, None).await {
            Reply::Done { json: doc, text } => {
                let state = doc["state"].as_str().unwrap_or("?").to_string();
                if state != "in_progress" {
                    if json {
                        emit(&super::pretty::pretty(&text));
                    }
                    return finished(&doc, json);
                }
                let phase = doc["phase"].as_str().unwrap_or("?").to_string();
                if phase != last_phase && !json {
                    emit(&format!("  {phase}\n"));
                }
                last_phase = phase;
            }
            // Not journaled yet, a restarting daemon, ZooKeeper away: keep asking until the wait ends.
            Reply::Refused { message, .. } | Reply::Failed { message, .. } => {
                tracing::debug!(%message, "switchover progress not readable yet")
            }
        }
        if Instant::now() >= until {
            eprintln!(
                "rmfc switchover: {id} was still in progress after {}; follow it with `rmfc status`",
                humantime::format_duration(wait)
            );
            return EXIT_NOT_COMPLETED;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn finished(doc: &Value, json: bool) -> i32 {
    let ok = doc["state"].as_str() == Some("succeeded");
    if !json {
        let id = doc["id"].as_str().unwrap_or("?");
        let to = doc["target"].as_str().unwrap_or("?");
        let outcome = doc["outcome"].as_str().unwrap_or("?");
        let at = doc["finished_at_ms"].as_u64().map(|ms| format!(" at {} UTC", utc(ms))).unwrap_or_default();
        if ok {
            let epoch = doc["epoch"].as_u64().map(|e| format!(", epoch {e}")).unwrap_or_default();
            emit(&format!("switchover {id}: {to} is ACTIVE{epoch}{at}\n"));
        } else {
            eprintln!("rmfc switchover: {id} to {to} did not succeed{at}: {outcome}");
        }
    }
    if ok {
        0
    } else {
        EXIT_NOT_COMPLETED
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eligibility_table_names_each_rm_and_why_not() {
        let list = json!([
            {"rm_id": "rm1", "eligible": false, "reasons": ["it is the active RM already"]},
            {"rm_id": "rm2", "eligible": true, "reasons": []},
        ]);
        let t = candidates(&list);
        assert!(t.starts_with("RM   ELIGIBLE  WHY NOT\n"), "{t}");
        assert!(t.contains("rm1  no        it is the active RM already\n"), "{t}");
        assert!(t.contains("rm2  yes       -\n"), "{t}");
    }

    #[test]
    fn outcomes_map_to_exit_codes() {
        assert_eq!(finished(&json!({"state": "succeeded", "id": "sw-1", "target": "rm2", "epoch": 4}), true), 0);
        assert_eq!(finished(&json!({"state": "failed", "outcome": "failed: deadline"}), true), EXIT_NOT_COMPLETED);
        assert_eq!(dry_run(&json!({"accepted": true, "target": "rm2"}), true), 0);
        assert_eq!(dry_run(&json!({"accepted": false, "refusal": "no"}), true), EXIT_REFUSED);
    }
}
