//! The torture test's checker and report: from the RMs' journals (what each RM did, with wall
//! times), the driver's record (faults with inject/heal times, when an RM process was dead or
//! frozen, operator calls) and the controllers' history journal, computes split-brain, epoch and
//! availability figures; prints them as a table and serialises them as JSON.
//!
//! Owns: the definitions of the figures (below). Must not: touch processes or the network
//! (pure functions over what the driver collected; the write-overlap definition itself is
//! `rmfc::sim::checker`'s).
//!
//! Definitions (all times are wall-clock milliseconds on this one machine):
//! - an RM is *ACTIVE* from its journal's `state ... to: active` until its next state change, its
//!   process's end (a restart's `started` line), or the end of the run; never while its process is
//!   dead (killed, not yet restarted). *Serving* ACTIVE is ACTIVE minus the time its process was
//!   SIGSTOPped (a frozen RM serves nobody).
//! - *double ACTIVE*: times at which two or more RMs were ACTIVE (reported both ways).
//! - *without an active RM*: times, from the first activation until the end, at which no RM was
//!   serving ACTIVE.
//! - *recovery after a heal*: from the heal to the first moment an RM is serving ACTIVE (0 when
//!   one already is).

use std::collections::BTreeMap;

use rmfc::sim::checker::{active_spans, double_active, intersect, normalize, overlapping_writes, write_intervals};
use rmfc::sim::events::{SimEvent, SimEventKind};
use serde_json::{json, Value};

/// A half-open interval [from, to) in wall ms (the checker's `Span`).
pub type Iv = rmfc::sim::checker::Span;

/// `a` minus `b` (both normalized).
pub fn subtract(a: &[Iv], b: &[Iv]) -> Vec<Iv> {
    let mut out = Vec::new();
    for &(mut s, e) in a {
        for &(bs, be) in b {
            if be <= s || bs >= e {
                continue;
            }
            if bs > s {
                out.push((s, bs));
            }
            s = s.max(be);
            if s >= e {
                break;
            }
        }
        if s < e {
            out.push((s, e));
        }
    }
    normalize(out)
}

pub fn total(v: &[Iv]) -> u64 {
    v.iter().map(|(a, b)| b - a).sum()
}

/// Nearest-rank percentile of `sorted` (ascending); 0 when empty.
pub use crate::support::stats::percentile;

/// Promotions (`outcome == "active"`) in the order they were journaled, whose epoch is not
/// greater than the one before: each is a violation of "epochs strictly increase".
pub fn epoch_violations(history: &[Value]) -> Vec<String> {
    let mut promos: Vec<&Value> = history.iter().filter(|h| h["outcome"] == "active").collect();
    promos.sort_by_key(|h| h["at_ms"].as_u64().unwrap_or(0));
    let mut out = Vec::new();
    let mut last: Option<(u64, &Value)> = None;
    for h in promos {
        let epoch = h["epoch"].as_u64().unwrap_or(0);
        if let Some((prev, prev_h)) = last {
            if epoch <= prev {
                out.push(format!("epoch {epoch} promoted after epoch {prev}: {prev_h} then {h}"));
            }
        }
        last = Some((epoch, h));
    }
    out
}

/// Activations an RM accepted (its journal's `transitionToActive` call with result `ok`) that no
/// promotion of that RM in the history (`outcome == "active"`, journaled after the call) accounts
/// for within `window_ms`: the sign of an RM made ACTIVE by a controller that no longer led (or of
/// a journal write lost to a ZooKeeper outage). Returns (rm, wall ms) of each.
pub fn unjournaled_activations(events: &[SimEvent], history: &[Value], window_ms: u64) -> Vec<(String, u64)> {
    let promotions: Vec<(&str, u64)> = history
        .iter()
        .filter(|h| h["outcome"] == "active")
        .filter_map(|h| Some((h["to"].as_str()?, h["at_ms"].as_u64()?)))
        .collect();
    events
        .iter()
        .filter(|e| {
            matches!(&e.kind, SimEventKind::Call { method, result, .. } if method == "transitionToActive" && result == "ok")
        })
        .filter(|e| !promotions.iter().any(|&(to, at)| to == e.rm && at >= e.ts_ms && at <= e.ts_ms + window_ms))
        .map(|e| (e.rm.clone(), e.ts_ms))
        .collect()
}

/// A `transitionToActive` a controller started under `epoch` after a newer epoch had already been
/// written to the state znode (by any controller): an action by a deposed leader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LateAction {
    pub controller: String,
    pub epoch: u64,
    pub at_ms: u64,
    pub newer_epoch: u64,
    /// How long before the action the newer epoch was written.
    pub late_by_ms: u64,
}

fn log_ts_ms(line: &str) -> Option<u64> {
    let ts = line.split_whitespace().next()?;
    let t = humantime::parse_rfc3339(ts).ok()?;
    Some(t.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis() as u64)
}

fn field_u64(line: &str, key: &str) -> Option<u64> {
    let rest = line.split(&format!(" {key}=")).nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

/// Reads the controllers' text logs (`(controller, log text)`, every run of each): the times each
/// epoch was first written to the state znode (`controller state written ... epoch=E`), and every
/// `transition started ... epoch=E ... call="transitionToActive"`; returns the activations started
/// under an epoch older than one already written, and how many activations it parsed (so a
/// change of the log wording cannot make the check pass on nothing).
pub fn late_actions(logs: &[(String, String)]) -> (Vec<LateAction>, usize) {
    let mut first_written: BTreeMap<u64, u64> = BTreeMap::new();
    let mut activations = Vec::new();
    for (ctl, text) in logs {
        for line in text.lines() {
            let (Some(at), Some(epoch)) = (log_ts_ms(line), field_u64(line, "epoch")) else { continue };
            if line.contains("controller state written") {
                let e = first_written.entry(epoch).or_insert(at);
                *e = (*e).min(at);
            } else if line.contains("transition started") && line.contains("call=\"transitionToActive\"") {
                activations.push((ctl.clone(), epoch, at));
            }
        }
    }
    let parsed = activations.len();
    let late = activations
        .into_iter()
        .filter_map(|(controller, epoch, at_ms)| {
            let (&newer_epoch, &written) =
                first_written.range(epoch + 1..).filter(|(_, &w)| w < at_ms).min_by_key(|(_, &w)| w)?;
            Some(LateAction { controller, epoch, at_ms, newer_epoch, late_by_ms: at_ms - written })
        })
        .collect();
    (late, parsed)
}

/// One injected fault as the driver recorded it.
#[derive(Clone, Debug)]
pub struct FaultRecord {
    pub kind: &'static str,
    pub what: String,
    pub injected_ms: u64,
    pub healed_ms: u64,
}

/// When an RM's process was dead or frozen.
#[derive(Clone, Debug)]
pub struct Span {
    pub rm: String,
    pub from_ms: u64,
    pub to_ms: u64,
}

/// Everything the driver collected in one run.
#[derive(Debug, Default)]
pub struct RunRecord {
    pub seed: u64,
    pub fault_secs: u64,
    pub netns: bool,
    pub started_ms: u64,
    pub ended_ms: u64,
    pub faults: Vec<FaultRecord>,
    pub dead: Vec<Span>,
    pub frozen: Vec<Span>,
    /// Operator calls: (call, outcome class) -> count; classes are accepted, refused, not found
    /// (404: endpoint not there), failed (5xx, no answer).
    pub ops: BTreeMap<(String, String), u64>,
    /// From the final heal to an RM answering ACTIVE.
    pub final_recovery_ms: u64,
}

fn spans_of(spans: &[Span], rm: &str) -> Vec<Iv> {
    normalize(spans.iter().filter(|s| s.rm == rm).map(|s| (s.from_ms, s.to_ms)).collect())
}

fn stats(v: &[u64]) -> Value {
    let mut s = v.to_vec();
    s.sort_unstable();
    json!({ "n": s.len(), "p50_ms": percentile(&s, 50.0), "p99_ms": percentile(&s, 99.0), "max_ms": s.last().copied().unwrap_or(0) })
}

/// The report as JSON (the same figures [`print_table`] prints).
pub fn build(run: &RunRecord, events: &[SimEvent], history: &[Value], controller_logs: &[(String, String)]) -> Value {
    let (late, activations_in_logs) = late_actions(controller_logs);
    let overlaps = overlapping_writes(events);
    let journal_active = active_spans(events, run.ended_ms);
    let mut alive_active = BTreeMap::new();
    let mut serving_active = BTreeMap::new();
    for (rm, ivs) in &journal_active {
        let alive = subtract(ivs, &spans_of(&run.dead, rm));
        serving_active.insert(rm.clone(), subtract(&alive, &spans_of(&run.frozen, rm)));
        alive_active.insert(rm.clone(), alive);
    }
    let double = double_active(&alive_active);
    let double_serving = double_active(&serving_active);
    let any_serving = normalize(serving_active.values().flatten().copied().collect());
    let window = [(run.started_ms, run.ended_ms)];
    let without_active = subtract(&window, &any_serving);
    let recoveries: Vec<Option<u64>> = run
        .faults
        .iter()
        .map(|f| {
            if any_serving.iter().any(|&(a, b)| a <= f.healed_ms && f.healed_ms < b) {
                Some(0)
            } else {
                any_serving.iter().find(|&&(a, _)| a > f.healed_ms).map(|&(a, _)| a - f.healed_ms)
            }
        })
        .collect();
    // The time without a serving ACTIVE RM from a fault's injection to the next one's (or the
    // end): what that fault (and any operator call made during it) cost.
    let outages: Vec<u64> = run
        .faults
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let until = run.faults.get(i + 1).map_or(run.ended_ms, |n| n.injected_ms);
            total(&intersect(&without_active, &[(f.injected_ms, until)]))
        })
        .collect();
    let recovered: Vec<u64> = recoveries.iter().flatten().copied().collect();
    let mut by_kind: BTreeMap<&str, (u64, Vec<u64>, Vec<u64>)> = BTreeMap::new();
    for ((f, r), o) in run.faults.iter().zip(&recoveries).zip(&outages) {
        let e = by_kind.entry(f.kind).or_default();
        e.0 += 1;
        e.1.extend(r);
        e.2.push(*o);
    }
    let epoch_problems = epoch_violations(history);
    let promotions = history.iter().filter(|h| h["outcome"] == "active").count();
    let activations = events
        .iter()
        .filter(|e| matches!(&e.kind, SimEventKind::Call { method, result, .. } if method == "transitionToActive" && result == "ok"))
        .count();
    let unjournaled = unjournaled_activations(events, history, 10_000);
    let max_len = |v: &[Iv]| v.iter().map(|(a, b)| b - a).max().unwrap_or(0);
    json!({
        "seed": run.seed,
        "fault_secs": run.fault_secs,
        "network_namespaces": run.netns,
        "observed_secs": (run.ended_ms.saturating_sub(run.started_ms)) as f64 / 1000.0,
        "faults_total": run.faults.len(),
        "started_ms": run.started_ms,
        "faults": run.faults.iter().zip(&recoveries).zip(&outages).map(|((f, r), o)| json!({
            "fault": f.what,
            "at_s": f.injected_ms.saturating_sub(run.started_ms) as f64 / 1000.0,
            "held_ms": f.healed_ms.saturating_sub(f.injected_ms),
            "recovery_after_heal_ms": r,
            "without_active_ms": o,
        })).collect::<Vec<_>>(),
        "faults_by_kind": by_kind.iter().map(|(k, (n, r, o))| (k.to_string(), json!({
            "count": n,
            "recovery_after_heal": stats(r),
            "without_active": stats(o),
            "without_active_total_ms": o.iter().sum::<u64>(),
        }))).collect::<serde_json::Map<_, _>>(),
        "operator_calls": run.ops.iter().map(|((call, class), n)| json!({"call": call, "outcome": class, "count": n})).collect::<Vec<_>>(),
        "split_brain": {
            "overlapping_store_writes": overlaps.len(),
            "overlaps": overlaps.iter().map(|o| o.to_string()).collect::<Vec<_>>(),
            "write_intervals": write_intervals(events).len(),
            "double_active_intervals": double.len(),
            "double_active_max_ms": max_len(&double),
            "double_active_total_ms": total(&double),
            "double_active_serving_intervals": double_serving.len(),
            "double_active_serving_max_ms": max_len(&double_serving),
            "double_active_list": double.iter().map(|(a, b)| json!({"from_ms": a, "len_ms": b - a})).collect::<Vec<_>>(),
        },
        "epochs": {
            "promotions_in_history": promotions,
            "history_entries": history.len(),
            "violations": epoch_problems,
            "activations_in_controller_logs": activations_in_logs,
            "activations_by_deposed_leaders": late.len(),
            "activations_by_deposed_leaders_max_late_ms": late.iter().map(|l| l.late_by_ms).max().unwrap_or(0),
            "activations_by_deposed_leaders_list": late.iter().map(|l| format!("{l:?}")).collect::<Vec<_>>(),
            "activations_accepted_by_rms": activations,
            "activations_without_journaled_promotion": unjournaled.iter().map(|(rm, ts)| json!({"rm": rm, "at_s": ts.saturating_sub(run.started_ms) as f64 / 1000.0})).collect::<Vec<_>>(),
        },
        "availability": {
            "recovery_after_heal": stats(&recovered),
            "faults_not_recovered": recoveries.iter().filter(|r| r.is_none()).count(),
            "without_active_total_ms": total(&without_active),
            "without_active_intervals": without_active.len(),
            "without_active_max_ms": max_len(&without_active),
            "final_recovery_ms": run.final_recovery_ms,
        },
    })
}

/// A JSON value as table text (strings without quotes).
fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The report as a readable table.
pub fn print_table(r: &Value) {
    let sb = &r["split_brain"];
    let av = &r["availability"];
    let line = "-".repeat(78);
    println!(
        "{line}\nrmfc torture report   seed={}   faults for {} s   network namespaces: {}",
        r["seed"], r["fault_secs"], r["network_namespaces"]
    );
    println!(
        "{line}\n{:<30} {:>5} {:>9} {:>9} {:>9} {:>10}",
        "fault", "count", "rec p50", "rec p99", "rec max", "no-active"
    );
    println!("{:<30} {:>5} {:>29} {:>10}", "", "", "(recovery after the heal)", "max");
    if let Some(kinds) = r["faults_by_kind"].as_object() {
        for (k, v) in kinds {
            let s = &v["recovery_after_heal"];
            let ms = |key: &str| format!("{}ms", cell(&s[key]));
            let outage = format!("{}ms", cell(&v["without_active"]["max_ms"]));
            println!(
                "{k:<30} {:>5} {:>9} {:>9} {:>9} {:>10}",
                cell(&v["count"]),
                ms("p50_ms"),
                ms("p99_ms"),
                ms("max_ms"),
                outage
            );
        }
    }
    println!("{:<34} {:>6}", "total", cell(&r["faults_total"]));
    println!("{line}\n{:<20} {:<24} {:>8}", "operator call", "outcome", "count");
    for op in r["operator_calls"].as_array().into_iter().flatten() {
        println!("{:<20} {:<24} {:>8}", cell(&op["call"]), cell(&op["outcome"]), cell(&op["count"]));
    }
    println!("{line}");
    let row = |name: &str, v: &Value| println!("{name:<62} {:>12}", cell(v));
    row("store writes by two RMs at once (overlaps; must be 0)", &sb["overlapping_store_writes"]);
    row("double ACTIVE intervals (journal)", &sb["double_active_intervals"]);
    row("double ACTIVE max ms (journal)", &sb["double_active_max_ms"]);
    row("double ACTIVE total ms (journal)", &sb["double_active_total_ms"]);
    row("double ACTIVE max ms (neither process frozen)", &sb["double_active_serving_max_ms"]);
    row("promotions in history", &r["epochs"]["promotions_in_history"]);
    row("epoch violations (must be 0)", &json!(r["epochs"]["violations"].as_array().map_or(0, Vec::len)));
    row("transitionToActive started under a superseded epoch", &r["epochs"]["activations_by_deposed_leaders"]);
    row("  max ms after the newer epoch was written", &r["epochs"]["activations_by_deposed_leaders_max_late_ms"]);
    row("activations accepted by RMs", &r["epochs"]["activations_accepted_by_rms"]);
    row(
        "  of which without a journaled promotion (<=10 s)",
        &json!(r["epochs"]["activations_without_journaled_promotion"].as_array().map_or(0, Vec::len)),
    );
    row("recovery after heal p50 ms", &av["recovery_after_heal"]["p50_ms"]);
    row("recovery after heal p99 ms", &av["recovery_after_heal"]["p99_ms"]);
    row("recovery after heal max ms", &av["recovery_after_heal"]["max_ms"]);
    row("faults after whose heal no RM became ACTIVE", &av["faults_not_recovered"]);
    row("time without a serving ACTIVE RM, total ms", &av["without_active_total_ms"]);
    row("longest time without a serving ACTIVE RM, ms", &av["without_active_max_ms"]);
    row("observed s", &r["observed_secs"]);
    row("final heal -> one RM ACTIVE, ms", &av["final_recovery_ms"]);
    println!("{line}");
}
