//! Operator requests end to end, against real daemons: pause and resume (recorded in the state
//! znode, honoured by the leader, surviving restarts), access control of mutating calls, and
//! bad requests.

mod support;

use std::time::Duration;

use support::cluster::{Cluster, ClusterOptions};
use support::procs::{get_json, http_get, post};
use support::wait::{wait_for, wait_until};

const DEADLINE: Duration = Duration::from_secs(60);

fn status(url: &str) -> serde_json::Value {
    get_json(url, "/v1/status")
}

#[test]
fn while_paused_a_dead_active_is_not_replaced_until_resume() {
    let mut c = Cluster::start(ClusterOptions::default());
    let first = c.wait_one_active(DEADLINE, None);
    let other = 1 - first;
    let admin = c.admin_url(other);
    let r = post(&admin, "/v1/pause", r#"{"reason": "ZooKeeper maintenance", "for": "1h"}"#);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("ZooKeeper maintenance"), "{}", r.body);
    assert_eq!(status(&admin)["paused"]["reason"], "ZooKeeper maintenance");

    c.rms[first].kill();
    wait_until("the leader to say it is paused", DEADLINE, || c.controller_log(other).contains("paused by"));
    assert!(c.active_rms().is_empty(), "paused: no automatic failover");

    let r = post(&admin, "/v1/resume", "{}");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(c.wait_one_active(DEADLINE, Some(first)), other, "resumed: the failover happens");
    assert!(status(&admin)["paused"].is_null());
    c.assert_no_split_brain();
}

#[test]
fn a_pause_for_a_while_ends_by_itself() {
    let c = Cluster::start(ClusterOptions::default());
    c.wait_one_active(DEADLINE, None);
    let admin = c.admin_url(0);
    let r = post(&admin, "/v1/pause", r#"{"reason": "short drill", "for": "2s"}"#);
    assert_eq!(r.status, 200, "{}", r.body);
    // Recorded with its end (whether the status still shows it depends on how fast we ask).
    let recorded: serde_json::Value = serde_json::from_str(&r.body).expect("JSON");
    let until_ms = recorded["paused"]["until_ms"].as_u64().unwrap_or_else(|| panic!("{recorded}"));
    wait_until("the pause to run out (the status stops showing it)", DEADLINE, || status(&admin)["paused"].is_null());
    // It ran out, not disappeared early (same host, same clock).
    assert!(rmfc::sim::events::now_ms() >= until_ms, "the pause ended before its time");
}

#[test]
fn a_pause_survives_daemon_restarts() {
    let mut c = Cluster::start(ClusterOptions::default());
    c.wait_one_active(DEADLINE, None);
    let r = post(&c.admin_url(0), "/v1/pause", r#"{"reason": "upgrade"}"#);
    assert_eq!(r.status, 200, "{}", r.body);
    for i in 0..2 {
        c.stop_controller(i);
        c.start_controller(i);
    }
    c.wait_one_active(DEADLINE, None);
    let admin = c.admin_url(1);
    // Answering is not enough: the pause is known once the daemon has read the state znode.
    let s = wait_for("the restarted daemon to read the controller state", DEADLINE, || {
        let r = http_get(&admin, "/v1/status").ok().filter(|r| r.status == 200)?;
        let s: serde_json::Value = serde_json::from_str(&r.body).ok()?;
        s["epoch"].is_u64().then_some(s)
    });
    assert_eq!(s["paused"]["reason"], "upgrade", "{s}");
    assert!(s["paused"]["until_ms"].is_null(), "no expiry was asked for");
}

#[test]
fn mutating_calls_need_the_token_when_one_is_configured() {
    let dir = tempfile::tempdir().expect("temp dir");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "s3cret-token\n").expect("write token");
    let c = Cluster::start(ClusterOptions {
        extra_yaml: format!("admin:\n  listen: 127.0.0.1:0\n  token_file: {}\n", token_file.display()),
        ..ClusterOptions::default()
    });
    c.wait_one_active(DEADLINE, None);
    let admin = c.admin_url(0);
    assert_eq!(post(&admin, "/v1/pause", r#"{"reason": "x"}"#).status, 401);
    let r = post(&admin, "/v1/switchover", r#"{"reason": "x", "dry_run": true}"#);
    assert_eq!(r.status, 401, "switchover too, even a dry run: {}", r.body);
    let wrong = support::procs::http_with_headers(
        "POST",
        &admin,
        "/v1/pause",
        Some(r#"{"reason": "x"}"#),
        &[("Authorization", "Bearer nope")],
    );
    assert_eq!(wrong.expect("POST").status, 401);
    let right = support::procs::http_with_headers(
        "POST",
        &admin,
        "/v1/pause",
        Some(r#"{"reason": "x"}"#),
        &[("Authorization", "Bearer s3cret-token")],
    );
    assert_eq!(right.expect("POST").status, 200);
    assert_eq!(http_get(&admin, "/v1/status").expect("read calls stay open").status, 200);
}

#[test]
fn bad_requests_get_a_clear_4xx_and_change_nothing() {
    let c = Cluster::start(ClusterOptions::default());
    c.wait_one_active(DEADLINE, None);
    let admin = c.admin_url(0);
    for (body, needle) in [
        ("{}", "needs a reason"),
        (r#"{"reason": "  "}"#, "needs a reason"),
        (r#"{"reason": "x", "for": "soon"}"#, "expected number"),
        (r#"{"reason": "x", "until": "1h"}"#, "unknown field"),
        ("{not json", "bad JSON"),
    ] {
        let r = post(&admin, "/v1/pause", body);
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert!(r.body.contains(needle), "{body}: {}", r.body);
    }
    assert_eq!(http_get(&admin, "/v1/pause").expect("GET").status, 405);
    assert!(status(&admin)["paused"].is_null(), "nothing was paused");
}

#[test]
fn the_cli_drives_real_daemons() {
    let c = Cluster::start(ClusterOptions::default());
    let first = c.wait_one_active(DEADLINE, None);
    let admin = c.admin_url(0);
    // The journal entry is appended after the RM answered the promotion.
    wait_until("the start-up promotion to be journaled", DEADLINE, || {
        http_get(&admin, "/v1/history").is_ok_and(|r| r.body.contains(r#""outcome":"active""#))
    });
    let run = |args: &[&str]| {
        let out = support::procs::rmfc(args).args(["--admin", &admin]).output().expect("run rmfc");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, out, err) = run(&["status"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains(&format!("active RM:           rm{}", first + 1)), "{out}");
    let (code, out, _) = run(&["history"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("startup"), "{out}");
    let (code, _, err) = run(&["pause", "--reason", "drill", "--for", "10m"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(status(&admin)["paused"]["reason"], "drill");
    let (code, _, err) = run(&["pause", "--reason", " "]);
    assert_eq!(code, Some(1), "a refused request exits 1: {err}");
    let (code, _, err) = run(&["resume"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(status(&admin)["paused"].is_null());
}
