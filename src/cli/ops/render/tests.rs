use serde_json::json;

use super::*;

/// 2024-05-01 12:00:00 UTC.
const NOW: u64 = 1_714_564_800_000;

#[test]
fn a_full_status_reads_as_a_table() {
    let doc = json!({
        "cluster": "yarn-prod", "this_rm": "rm2",
        "this_daemon": {"role": "follower", "role_detail": null, "leader": false, "session_connected": true,
                        "health": "healthy", "rm_state": "standby", "epoch": 7},
        "leader": "rm1", "active_rm": "rm1", "epoch": 7,
        "rms": [
            {"id": "rm1", "ha_state": "active", "health": "healthy", "health_age_ms": 1200, "candidate": true, "leader": true},
            {"id": "rm2", "ha_state": "standby", "health": "slow", "health_age_ms": 300, "candidate": true, "leader": false},
            {"id": "rm3", "ha_state": "down (connection refused)", "health": null, "health_age_ms": null,
             "candidate": false, "leader": false}
        ],
        "paused": {"by": "local user at 127.0.0.1", "reason": "rm3 maintenance", "since_ms": NOW - 60_000,
                   "until_ms": NOW + 29 * 60_000},
        "pending_switchover": {"id": "sw-1", "target": "rm2", "reason": "patching rm1"},
        "failover_budget_remaining": 2, "worst_case_failover_seconds": 23.5,
        "problems": ["rm3's controller has not reported health for 40s"]
    });
    let out = status(&doc, NOW).unwrap();
    let want = "\
cluster:             yarn-prod
leader:              rm1
active RM:           rm1
epoch:               7
paused:              yes: rm3 maintenance (by local user at 127.0.0.1, since 2024-05-01 11:59:00 UTC, until 2024-05-01 12:29:00 UTC, in 29m)
pending switchover:  to rm2, id sw-1, reason patching rm1
failover budget:     2 automatic failover(s) left
worst-case failover: 23.5s

RM   HA STATE (probed)          HEALTH (reported)   CANDIDATE  LEADER
rm1  active                     healthy (1.2s ago)  yes        *
rm2  standby                    slow (300ms ago)    yes
rm3  down (connection refused)  no report           no

this daemon: rm2, role follower, session connected, local RM healthy (standby)
! rm3's controller has not reported health for 40s
";
    assert_eq!(out, want, "got:\n{out}");
}

#[test]
fn missing_and_null_fields_show_as_dashes() {
    let out = status(&json!({"cluster": "c", "rms": [{"id": "rm1"}], "paused": null}), NOW).unwrap();
    for want in [
        "leader:              none",
        "active RM:           none recorded",
        "epoch:               -",
        "paused:              no",
        "pending switchover:  none",
        "failover budget:     -",
        "worst-case failover: -",
        "rm1  -                  no report          -\n",
        "this daemon: ?\n",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
    assert!(status(&json!([1, 2]), NOW).is_err());
}

#[test]
fn a_lost_session_and_a_blocked_role_say_so() {
    let doc = json!({"this_rm": "rm1", "this_daemon": {"role": "blocked", "role_detail": "failover budget exhausted",
                     "session_connected": false, "health": "dead", "rm_state": null}});
    let out = status(&doc, NOW).unwrap();
    assert!(
        out.contains("this daemon: rm1, role blocked (failover budget exhausted), session LOST, local RM dead\n"),
        "{out}"
    );
}

#[test]
fn history_is_newest_first_and_limited() {
    let entry = |epoch: u64, at_ms: u64, trigger: serde_json::Value, from: serde_json::Value, to: &str| {
        json!({"epoch": epoch, "trigger": trigger, "from": from, "to": to, "fenced_by": "graceful",
               "outcome": "promoted", "fence_ms": 120, "promote_ms": 2500, "at_ms": at_ms})
    };
    let doc = json!({"cluster": "c", "history": [
        entry(1, NOW - 3_600_000, json!({"kind": "startup"}), json!(null), "rm1"),
        entry(2, NOW - 60_000, json!({"kind": "failover", "previous": "rm1"}), json!("rm1"), "rm2"),
        entry(3, NOW, json!({"kind": "switchover", "by": "ops", "reason": "patching"}), json!("rm2"), "rm1"),
    ], "problems": []});
    let out = history(&doc, 20).unwrap();
    let want = "\
TIME (UTC)           EPOCH  TRIGGER                      FROM → TO  FENCED BY  FENCE  PROMOTE  OUTCOME
2024-05-01 12:00:00  3      switchover by ops: patching  rm2 → rm1  graceful   120ms  2.5s     promoted
2024-05-01 11:59:00  2      failover (rm1 gone)          rm1 → rm2  graceful   120ms  2.5s     promoted
2024-05-01 11:00:00  1      startup                      - → rm1    graceful   120ms  2.5s     promoted
";
    assert_eq!(out, want, "got:\n{out}");
    let out = history(&doc, 1).unwrap();
    assert!(out.contains("switchover") && !out.contains("startup"), "{out}");
    assert!(out.contains("(the newest 1 of 3; see --limit)"), "{out}");
}

#[test]
fn an_empty_or_odd_journal_does_not_fail() {
    let out = history(&json!({"history": [], "problems": ["/rmfc/c/history: bad JSON"]}), 20).unwrap();
    assert_eq!(out, "no transitions recorded\n! /rmfc/c/history: bad JSON\n");
    let out = history(&json!({"history": [{"note": "by hand"}, 42]}), 20).unwrap();
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(out.lines().skip(1).all(|l| l.starts_with("-           -      -        - → -")), "{out}");
    assert!(history(&json!({"cluster": "c"}), 20).is_err());
}

#[test]
fn pause_answers() {
    let p =
        json!({"paused": {"by": "token holder at 10.0.0.5", "reason": "upgrade", "since_ms": NOW, "until_ms": null}});
    assert_eq!(
        pause_answer(&p, NOW).unwrap(),
        "automatic failover paused: upgrade (by token holder at 10.0.0.5, since 2024-05-01 12:00:00 UTC, until resumed)\n"
    );
    assert_eq!(pause_answer(&json!({"paused": null}), NOW).unwrap(), "automatic failover resumed (not paused)\n");
    assert!(pause_answer(&json!({}), NOW).is_err());
    let expired = json!({"reason": "x", "until_ms": NOW - 1000});
    assert_eq!(pause(&expired, NOW), "yes: x (expired at 2024-05-01 11:59:59 UTC)");
}

#[test]
fn times_and_durations() {
    assert_eq!(utc(NOW + 999), "2024-05-01 12:00:00");
    assert_eq!(utc(0), "1970-01-01 00:00:00");
    assert_eq!(utc(u64::MAX), format!("{}ms after 1970", u64::MAX));
    assert_eq!(millis(0), "0ms");
    assert_eq!(millis(999), "999ms");
    assert_eq!(millis(1000), "1.0s");
    assert_eq!(millis(185_400), "3m 5s");
    assert!(!millis(u64::MAX).is_empty());
}
