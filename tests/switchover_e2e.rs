//! Graceful switchover end to end, against real daemons and simulated RMs: a hand-over with
//! three RMs to a named target that is not next in the election (the RM in between stands
//! aside), never two RMs ACTIVE or writing at once; the dry run; refusals an operator can act
//! on; a switchover while automatic failover is paused; and the `rmfc switchover` command.

mod support;

use std::time::Duration;

use rmfc::sim::checker::{active_spans, double_active};
use serde_json::Value;
use support::cluster::{Cluster, ClusterOptions};
use support::procs::{get_json, http, http_get, post, rmfc};
use support::wait::{wait_for, wait_until};

const DEADLINE: Duration = Duration::from_secs(60);

/// An RM of `/v1/status` that is in the election with a published `healthy` report.
fn stands_healthy(rm: &Value) -> bool {
    rm["election_rank"].is_u64() && rm["health"] == "healthy"
}

fn rm_index(id: &str) -> usize {
    id.trim_start_matches("rm").parse::<usize>().expect("rm id") - 1
}

/// Waits until switchover `id` finished; returns its progress document.
fn wait_finished(admin: &str, id: &str) -> Value {
    wait_for(&format!("switchover {id} to finish"), DEADLINE, || {
        let doc = get_json(admin, &format!("/v1/switchover/{id}"));
        (doc["state"] != "in_progress" && doc["state"].is_string()).then_some(doc)
    })
}

fn assert_never_two_active(c: &Cluster) {
    let events = c.all_events();
    let end = events.iter().map(|e| e.ts_ms).max().unwrap_or(0);
    let both = double_active(&active_spans(&events, end));
    assert!(both.is_empty(), "two RMs ACTIVE at once: {both:?}\n{}", c.dump_logs());
    c.assert_no_split_brain();
}

#[test]
fn a_switchover_with_three_rms_reaches_the_named_target_past_the_next_in_line() {
    let c = Cluster::start(ClusterOptions { rms: 3, ..ClusterOptions::default() });
    let first = c.wait_one_active(DEADLINE, None);
    let admin = c.admin_url((first + 1) % 3);
    // Every controller stands in the election and has published its RM healthy (both are what
    // eligibility looks at): pick the one last in line as the target.
    let s = wait_for("all three RMs to stand in the election, healthy", DEADLINE, || {
        let s = get_json(&admin, "/v1/status");
        s["rms"].as_array().is_some_and(|r| r.iter().all(stands_healthy)).then_some(s)
    });
    let ranks: Vec<(u64, String)> = s["rms"]
        .as_array()
        .expect("rms")
        .iter()
        .map(|rm| (rm["election_rank"].as_u64().expect("rank"), rm["id"].as_str().expect("id").to_string()))
        .collect();
    let target = ranks.iter().max().expect("ranks").1.clone();
    let between = ranks.iter().find(|(r, _)| *r == 1).expect("next in line").1.clone();
    assert_eq!(rm_index(&ranks.iter().min().expect("ranks").1), first, "the leader's RM is the active one");

    // The dry run explains each RM and changes nothing.
    let dry = post(&admin, "/v1/switchover", &format!(r#"{{"target": "{target}", "dry_run": true}}"#));
    assert_eq!(dry.status, 200, "{}", dry.body);
    let dry: Value = serde_json::from_str(&dry.body).expect("dry-run JSON");
    assert_eq!(dry["accepted"], true, "{dry}");
    let active_entry = &dry["candidates"][first];
    assert_eq!(active_entry["eligible"], false, "{dry}");
    assert!(active_entry["reasons"][0].as_str().unwrap_or("").contains("active RM already"), "{dry}");
    assert!(get_json(&admin, "/v1/switchover")["pending"].is_null(), "a dry run records nothing");

    let r = post(&admin, "/v1/switchover", &format!(r#"{{"target": "{target}", "reason": "kernel upgrade"}}"#));
    assert_eq!(r.status, 202, "{}", r.body);
    let id = serde_json::from_str::<Value>(&r.body).expect("JSON")["id"].as_str().expect("id").to_string();
    let done = wait_finished(&admin, &id);
    assert_eq!(done["state"], "succeeded", "{done}\n{}", c.dump_logs());
    assert_eq!(done["target"], target.as_str());
    assert_eq!(done["reason"], "kernel upgrade");

    assert_eq!(c.wait_one_active(DEADLINE, Some(first)), rm_index(&target));
    assert!(
        c.controller_log(rm_index(&between)).contains(&format!("standing aside for {target}")),
        "the RM next in line stood aside:\n{}",
        c.controller_log(rm_index(&between))
    );
    let history = get_json(&admin, "/v1/history");
    let entry = history["history"]
        .as_array()
        .expect("history")
        .iter()
        .rev()
        .find(|e| e["trigger"]["kind"] == "switchover")
        .expect("journaled");
    assert_eq!(entry["trigger"]["id"], id.as_str());
    assert_eq!((entry["to"].as_str(), entry["outcome"].as_str()), (Some(target.as_str()), Some("active")));
    let metrics = http_get(&c.admin_url(rm_index(&target)), "/metrics").expect("metrics").body;
    assert!(
        metrics.lines().any(|l| l.starts_with("rmfc_failovers_total{")
            && l.contains(r#"trigger="switchover""#)
            && l.contains(r#"result="success""#)
            && l.ends_with(" 1")),
        "{metrics}"
    );
    // Everyone is back in the election, the target first.
    wait_until("the old leader and the one that stood aside to rejoin", DEADLINE, || {
        let s = get_json(&admin, "/v1/status");
        s["rms"].as_array().is_some_and(|r| {
            r.iter().all(|rm| rm["election_rank"].is_u64())
                && r.iter().any(|rm| rm["id"] == target.as_str() && rm["election_rank"] == 0)
        })
    });
    assert_never_two_active(&c);
}

#[test]
fn refusals_say_why_and_a_switchover_works_while_paused_and_from_the_cli() {
    let c = Cluster::start(ClusterOptions::default());
    let first = c.wait_one_active(DEADLINE, None);
    let other = 1 - first;
    let admin = c.admin_url(first);
    wait_until("the standby to stand in the election, healthy", DEADLINE, || {
        stands_healthy(&get_json(&admin, "/v1/status")["rms"][other])
    });
    let (active_id, other_id) = (format!("rm{}", first + 1), format!("rm{}", other + 1));
    for (body, code, needle) in [
        (r#"{"target": "rm9", "reason": "x"}"#.to_string(), 400, "unknown target"),
        (format!(r#"{{"target": "{other_id}"}}"#), 400, "needs a reason"),
        (format!(r#"{{"target": "{other_id}", "reason": "x", "when": "now"}}"#), 400, "unknown field"),
        (format!(r#"{{"target": "{other_id}", "reason": "x", "timeout": "1s"}}"#), 400, "between 5s and 30m"),
        ("{not json".to_string(), 400, "bad JSON"),
        (format!(r#"{{"target": "{active_id}", "reason": "x"}}"#), 409, "active RM already"),
    ] {
        let r = post(&admin, "/v1/switchover", &body);
        assert_eq!(r.status, code, "{body}: {}", r.body);
        assert!(r.body.contains(needle), "{body}: {}", r.body);
    }
    assert_eq!(http("PUT", &admin, "/v1/switchover", Some("{}")).expect("PUT").status, 405);
    assert_eq!(http_get(&admin, "/v1/switchover/sw-nope").expect("GET").status, 404);
    assert_eq!(c.active_rms(), vec![first], "refusals change nothing");

    // Paused: no automatic failover, but a manual switchover still works.
    let r = post(&admin, "/v1/pause", r#"{"reason": "maintenance window"}"#);
    assert_eq!(r.status, 200, "{}", r.body);
    let dry = rmfc(&["switchover", "--dry-run", "--admin", &admin]).output().expect("rmfc switchover --dry-run");
    let out = String::from_utf8_lossy(&dry.stdout);
    assert_eq!(dry.status.code(), Some(0), "{out}{}", String::from_utf8_lossy(&dry.stderr));
    assert!(out.contains(&format!("a switchover to {other_id} would be accepted")), "{out}");
    assert!(out.contains("ELIGIBLE"), "{out}");
    let run = rmfc(&["switchover", "--reason", "patching", "--admin", &admin]).output().expect("rmfc switchover");
    let out = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(0), "{out}{}\n{}", String::from_utf8_lossy(&run.stderr), c.dump_logs());
    assert!(out.contains(&format!("{other_id} is ACTIVE")), "{out}");
    assert_eq!(c.wait_one_active(DEADLINE, Some(first)), other);
    assert_eq!(get_json(&admin, "/v1/status")["paused"]["reason"], "maintenance window", "the pause stays");

    // Refused from the CLI: exit 1 and the reason.
    let again = rmfc(&["switchover", "--to", &other_id, "--reason", "x", "--admin", &admin]).output().expect("rmfc");
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("active RM already"));
    assert_never_two_active(&c);

    // A state znode that does not decode is reported, never acted on.
    c.write_znode("/rmfc/e2e/state", b"{ this is not json");
    let r = post(&admin, "/v1/switchover", &format!(r#"{{"target": "{active_id}", "reason": "x"}}"#));
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("cannot be trusted") && r.body.contains("/rmfc/e2e/state"), "{}", r.body);
}
