//! The human output of the operator commands: the daemon's JSON as tables and lines.
//!
//! Owns: layout. Pure: the time of day comes in as `now_ms`. Must not: fail on a missing or
//! null field (the API grows; an older or newer daemon answers with other fields): such a field
//! shows as `-`. Only a document of the wrong kind altogether is an `Err` (the caller exits 3).

use std::fmt::Write as _;
use std::time::{Duration, UNIX_EPOCH};

use serde_json::Value;

/// `GET /v1/status` as header lines, one row per RM, this daemon, then problems as `! ...`.
pub fn status(doc: &Value, now_ms: u64) -> Result<String, String> {
    if !doc.is_object() {
        return Err("a status object".into());
    }
    let mut out = String::new();
    let budget = match doc["failover_budget_remaining"].as_u64() {
        Some(n) => format!("{n} automatic failover(s) left"),
        None => "-".into(),
    };
    let worst = match doc["worst_case_failover_seconds"].as_f64() {
        Some(s) if s.is_finite() && s >= 0.0 => millis((s * 1000.0).round() as u64),
        _ => "-".into(),
    };
    let header = [
        ("cluster", text(&doc["cluster"]).unwrap_or_else(|| "-".into())),
        ("leader", text(&doc["leader"]).unwrap_or_else(|| "none".into())),
        ("active RM", text(&doc["active_rm"]).unwrap_or_else(|| "none recorded".into())),
        ("epoch", text(&doc["epoch"]).unwrap_or_else(|| "-".into())),
        ("paused", pause(&doc["paused"], now_ms)),
        ("pending switchover", switchover(&doc["pending_switchover"])),
        ("failover budget", budget),
        ("worst-case failover", worst),
    ];
    let width = header.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
    for (key, value) in header {
        let _ = writeln!(out, "{:<width$} {value}", format!("{key}:"));
    }
    out.push('\n');
    let rows: Vec<Vec<String>> = doc["rms"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|rm| {
            let health = match (text(&rm["health"]), rm["health_age_ms"].as_u64()) {
                (Some(h), Some(age)) => format!("{h} ({} ago)", millis(age)),
                (Some(h), None) => h,
                (None, _) => "no report".into(),
            };
            vec![
                text(&rm["id"]).unwrap_or_else(|| "?".into()),
                text(&rm["ha_state"]).unwrap_or_else(|| "-".into()),
                health,
                yes_no(&rm["candidate"]),
                if rm["leader"] == Value::Bool(true) { "*".into() } else { String::new() },
            ]
        })
        .collect();
    if rows.is_empty() {
        out.push_str("no RMs listed\n");
    } else {
        out.push_str(&table(&["RM", "HA STATE (probed)", "HEALTH (reported)", "CANDIDATE", "LEADER"], &rows));
    }
    out.push('\n');
    out.push_str(&this_daemon(doc));
    problems(&mut out, &doc["problems"]);
    Ok(out)
}

/// `this daemon: rm1, role active, session connected, local RM healthy (active)`.
fn this_daemon(doc: &Value) -> String {
    let d = &doc["this_daemon"];
    let rm = text(&doc["this_rm"]).unwrap_or_else(|| "?".into());
    if !d.is_object() {
        return format!("this daemon: {rm}\n");
    }
    let mut role = format!("role {}", text(&d["role"]).unwrap_or_else(|| "?".into()));
    if let Some(detail) = text(&d["role_detail"]) {
        let _ = write!(role, " ({detail})");
    }
    let session = match d["session_connected"].as_bool() {
        Some(true) => "session connected",
        Some(false) => "session LOST",
        None => "session ?",
    };
    let mut local = format!("local RM {}", text(&d["health"]).unwrap_or_else(|| "?".into()));
    if let Some(state) = text(&d["rm_state"]) {
        let _ = write!(local, " ({state})");
    }
    format!("this daemon: {rm}, {role}, {session}, {local}\n")
}

/// `GET /v1/history` newest first, at most `limit` rows.
pub fn history(doc: &Value, limit: usize) -> Result<String, String> {
    let Some(entries) = doc["history"].as_array() else {
        return Err("a journal (`history` array)".into());
    };
    let mut out = String::new();
    let rows: Vec<Vec<String>> = entries.iter().rev().take(limit).map(history_row).collect();
    if entries.is_empty() {
        out.push_str("no transitions recorded\n");
    } else {
        let header = ["TIME (UTC)", "EPOCH", "TRIGGER", "FROM → TO", "FENCED BY", "FENCE", "PROMOTE", "OUTCOME"];
        out.push_str(&table(&header, &rows));
        if rows.len() < entries.len() {
            let _ = writeln!(out, "(the newest {} of {}; see --limit)", rows.len(), entries.len());
        }
    }
    problems(&mut out, &doc["problems"]);
    Ok(out)
}

fn history_row(e: &Value) -> Vec<String> {
    let at = match e["at_ms"].as_u64() {
        Some(ms) if ms > 0 => utc(ms),
        _ => "-".into(),
    };
    let trigger = match &e["trigger"] {
        Value::Object(t) => {
            let mut s = t.get("kind").and_then(text).unwrap_or_else(|| "?".into());
            if let Some(previous) = t.get("previous").and_then(text) {
                let _ = write!(s, " ({previous} gone)");
            }
            if let Some(by) = t.get("by").and_then(text) {
                let _ = write!(s, " by {by}");
            }
            if let Some(reason) = t.get("reason").and_then(text) {
                let _ = write!(s, ": {reason}");
            }
            s
        }
        other => text(other).unwrap_or_else(|| "-".into()),
    };
    let ms = |v: &Value| v.as_u64().map(millis).unwrap_or_else(|| "-".into());
    vec![
        at,
        text(&e["epoch"]).unwrap_or_else(|| "-".into()),
        trigger,
        format!(
            "{} → {}",
            text(&e["from"]).unwrap_or_else(|| "-".into()),
            text(&e["to"]).unwrap_or_else(|| "-".into())
        ),
        text(&e["fenced_by"]).unwrap_or_else(|| "-".into()),
        ms(&e["fence_ms"]),
        ms(&e["promote_ms"]),
        text(&e["outcome"]).unwrap_or_else(|| "-".into()),
    ]
}

/// The answer of `POST /v1/pause` or `/v1/resume`: `{"paused": {...} | null}`.
pub fn pause_answer(doc: &Value, now_ms: u64) -> Result<String, String> {
    match doc.get("paused") {
        Some(Value::Null) => Ok("automatic failover resumed (not paused)\n".into()),
        Some(p) => Ok(format!("automatic failover paused: {}\n", pause_detail(p, now_ms))),
        None => Err("a pause answer (`paused` field)".into()),
    }
}

/// The `paused` field of the status: `no`, or `yes: REASON (by .., since .., until ..)`.
pub fn pause(p: &Value, now_ms: u64) -> String {
    match p {
        Value::Null | Value::Bool(false) => "no".into(),
        p => format!("yes: {}", pause_detail(p, now_ms)),
    }
}

fn pause_detail(p: &Value, now_ms: u64) -> String {
    let Value::Object(_) = p else { return compact(p) };
    let reason = text(&p["reason"]).unwrap_or_else(|| "(no reason given)".into());
    let mut parts = Vec::new();
    if let Some(by) = text(&p["by"]) {
        parts.push(format!("by {by}"));
    }
    if let Some(since) = p["since_ms"].as_u64() {
        parts.push(format!("since {} UTC", utc(since)));
    }
    parts.push(match p["until_ms"].as_u64() {
        Some(until) if until > now_ms => {
            format!("until {} UTC, in {}", utc(until), humantime::format_duration(secs(until - now_ms)))
        }
        Some(until) => format!("expired at {} UTC", utc(until)),
        None => "until resumed".into(),
    });
    format!("{reason} ({})", parts.join(", "))
}

/// The `pending_switchover` field: its target, id, phase, reason and author when present.
fn switchover(s: &Value) -> String {
    let Value::Object(o) = s else {
        return text(s).unwrap_or_else(|| "none".into());
    };
    let mut parts = Vec::new();
    if let Some(to) = o.get("target").or_else(|| o.get("to")).and_then(text) {
        parts.push(format!("to {to}"));
    }
    for key in ["id", "phase", "state", "by", "reason"] {
        if let Some(v) = o.get(key).and_then(text) {
            parts.push(format!("{key} {v}"));
        }
    }
    if parts.is_empty() {
        compact(s)
    } else {
        parts.join(", ")
    }
}

/// `! problem` lines, if any.
fn problems(out: &mut String, list: &Value) {
    for p in list.as_array().map(Vec::as_slice).unwrap_or_default() {
        let _ = writeln!(out, "! {}", text(p).unwrap_or_else(|| "?".into()));
    }
}

/// Columns padded to their widest cell, two spaces apart, no trailing blanks.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (cell, w) in row.iter().zip(&widths) {
            let pad = w.saturating_sub(cell.chars().count());
            let _ = write!(line, "{cell}{:pad$}  ", "");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A scalar as text (`None` for null or missing); arrays and objects as compact JSON.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(if *b { "yes" } else { "no" }.into()),
        Value::Number(n) => Some(n.to_string()),
        other => Some(compact(other)),
    }
}

fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn yes_no(v: &Value) -> String {
    match v.as_bool() {
        Some(true) => "yes".into(),
        Some(false) => "no".into(),
        None => "-".into(),
    }
}

/// `850ms`, `1.2s`, `3m 5s`.
pub fn millis(ms: u64) -> String {
    match ms {
        0..1000 => format!("{ms}ms"),
        1000..60_000 => format!("{:.1}s", ms as f64 / 1000.0),
        _ => humantime::format_duration(secs(ms)).to_string(),
    }
}

fn secs(ms: u64) -> Duration {
    Duration::from_secs(ms / 1000)
}

/// `2024-05-01 12:00:03` (UTC) for a wall time in ms since the Unix epoch; a value past year
/// 9999 (which humantime cannot format) is shown raw.
pub fn utc(ms: u64) -> String {
    const YEAR_10000: u64 = 253_402_300_800;
    let secs = ms / 1000;
    if secs >= YEAR_10000 {
        return format!("{ms}ms after 1970");
    }
    let t = UNIX_EPOCH + Duration::from_secs(secs);
    humantime::format_rfc3339_seconds(t).to_string().replace('T', " ").trim_end_matches('Z').to_string()
}

#[cfg(test)]
mod tests;
