//! Automatic failover end to end: real ZooKeeper, `rmfc sim-rm` processes with the fenced
//! ZooKeeper state store, and `rmfc run` controllers, with faults injected from outside. Every
//! test asserts, from the simulated RMs' journals, that no two RMs ever accepted state-store
//! writes in overlapping intervals, and that an active RM exists again within a generous deadline.

mod support;

use std::time::Duration;

use support::cluster::{Cluster, ClusterOptions};
use support::wait::{wait_for, wait_until};

const DEADLINE: Duration = Duration::from_secs(60);

fn cluster(rms: usize) -> Cluster {
    Cluster::start(ClusterOptions { rms, ..ClusterOptions::default() })
}

#[test]
fn start_up_elects_exactly_one_active_with_two_and_three_rms() {
    for n in [2, 3] {
        let c = cluster(n);
        let active = c.wait_one_active(DEADLINE, None);
        // It stays that way: a second look finds the same single active.
        wait_until("the active RM to write to its store", DEADLINE, || {
            c.rms[active].events().iter().any(|e| matches!(e.kind, rmfc::sim::events::SimEventKind::Write { .. }))
        });
        assert_eq!(c.active_rms(), vec![active]);
        c.assert_no_split_brain();
    }
}

#[test]
fn kill_9_of_the_active_rm_promotes_another() {
    for n in [2, 3] {
        let mut c = cluster(n);
        let first = c.wait_one_active(DEADLINE, None);
        c.rms[first].kill();
        let second = c.wait_one_active(DEADLINE, Some(first));
        assert_ne!(first, second);
        c.assert_no_split_brain();
    }
}

#[test]
fn a_hung_active_rm_is_replaced_and_comes_back_standby() {
    for n in [2, 3] {
        let c = cluster(n);
        let first = c.wait_one_active(DEADLINE, None);
        c.rms[first].stop();
        let second = c.wait_one_active(DEADLINE, Some(first));
        c.rms[first].cont();
        wait_until("the old active to come back STANDBY", DEADLINE, || {
            c.rms[first].ha_state().as_deref() == Some("standby")
        });
        assert_eq!(c.wait_one_active(DEADLINE, None), second);
        c.assert_no_split_brain();
    }
}

#[test]
fn kill_9_of_the_active_controller_fences_its_rm_gracefully_and_promotes_another() {
    for n in [2, 3] {
        let mut c = cluster(n);
        let first = c.wait_one_active(DEADLINE, None);
        c.kill_controller(first);
        let second = c.wait_one_active(DEADLINE, Some(first));
        assert_ne!(first, second);
        assert_eq!(c.rms[first].ha_state().as_deref(), Some("standby"), "the orphaned RM was demoted");
        c.assert_no_split_brain();
    }
}

#[test]
fn a_controller_restart_keeps_exactly_one_active() {
    for n in [2, 3] {
        let mut c = cluster(n);
        let first = c.wait_one_active(DEADLINE, None);
        c.stop_controller(first);
        c.start_controller(first);
        c.wait_one_active(DEADLINE, None);
        let other = (first + 1) % n;
        c.stop_controller(other);
        c.start_controller(other);
        c.wait_one_active(DEADLINE, None);
        c.assert_no_split_brain();
    }
}

#[test]
fn the_leaders_session_expiring_while_its_rm_is_healthy_moves_the_active() {
    for n in [2, 3] {
        leaders_session_expires(n);
    }
}

fn leaders_session_expires(n: usize) {
    let c = cluster(n);
    let first = c.wait_one_active(DEADLINE, None);
    // A frozen controller stops heartbeating: its session expires (4 s) and the other takes over;
    // the frozen controller's RM is fenced by the store and drops to standby by itself.
    c.controller_signal(first, "STOP");
    let second = c.wait_one_active(DEADLINE, Some(first));
    c.controller_signal(first, "CONT");
    wait_until("the old controller to notice and keep its RM standby", DEADLINE, || {
        c.rms[first].ha_state().as_deref() == Some("standby")
    });
    assert_eq!(c.wait_one_active(DEADLINE, None), second);
    c.assert_no_split_brain();
}

#[test]
fn losing_a_zookeeper_ensemble_node_keeps_an_active_rm() {
    let mut c = Cluster::start(ClusterOptions { rms: 3, ensemble: true, ..ClusterOptions::default() });
    c.wait_one_active(DEADLINE, None);
    let support::cluster::Zk::Ensemble(zk) = &mut c.zk else { unreachable!() };
    let leader = zk.wait_leader(DEADLINE);
    zk.kill(leader);
    c.wait_one_active(DEADLINE, None);
    c.assert_no_split_brain();
}

/// Regression (found by the elector benchmark): after a ZooKeeper quorum loss longer than the
/// session timeout the client gives its session up, while the re-formed quorum restarts every
/// session's timeout and keeps the old election nodes. The controller must remove the nodes of
/// the sessions it gave up instead of queueing behind them for another whole session timeout.
#[test]
fn after_a_quorum_loss_a_controller_removes_the_election_nodes_of_sessions_it_gave_up() {
    // Default timings (10 s sessions): the reconnect after the quorum returns must beat the
    // session timeout the servers restart, or the servers remove the old nodes themselves and
    // there is nothing left to prove; 10 s leaves room on a loaded machine, 4 s did not.
    let mut c =
        Cluster::start(ClusterOptions { rms: 2, ensemble: true, default_timings: true, ..ClusterOptions::default() });
    c.wait_one_active(DEADLINE, None);
    let support::cluster::Zk::Ensemble(zk) = &mut c.zk else { unreachable!() };
    let leader = zk.wait_leader(DEADLINE);
    let others: Vec<usize> = (0..3).filter(|i| *i != leader).collect();
    for i in &others {
        zk.kill(*i);
    }
    // Both controllers give their sessions up (the client expires them locally).
    wait_until("both controllers to give their sessions up", DEADLINE, || {
        (0..2).all(|i| c.controller_log(i).contains("ZooKeeper session ended"))
    });
    let support::cluster::Zk::Ensemble(zk) = &mut c.zk else { unreachable!() };
    for i in &others {
        zk.restart(*i);
    }
    c.wait_one_active(DEADLINE, None);
    wait_until("a controller to remove the node of a session it gave up", DEADLINE, || {
        (0..2).any(|i| c.controller_log(i).contains("of a session this process gave up"))
    });
    c.assert_no_split_brain();
}

#[test]
fn an_rm_that_demotes_itself_is_noticed_and_an_active_restored() {
    for n in [2, 3] {
        let c = cluster(n);
        let first = c.wait_one_active(DEADLINE, None);
        // Behind the controller's back (an RM fatal event, an operator): the active goes standby.
        assert_eq!(c.rms[first].rm_admin(&["transition-to-standby", "--source", "forced"]).0, 0);
        wait_until("an active RM again", DEADLINE, || c.active_rms().len() == 1);
        assert!(c.controller_log(first).contains("demoted itself"), "drift is reported:\n{}", c.controller_log(first));
        c.assert_no_split_brain();
    }
}

#[test]
fn an_rm_activated_behind_the_controllers_back_is_reconciled() {
    let c = cluster(3);
    let first = c.wait_one_active(DEADLINE, None);
    let other = (first + 1) % 3;
    // An operator activates a second RM by hand. Its activation takes the state store, so the
    // old active demotes itself; the controllers then converge on exactly one active RM, the
    // leader's (either the hand-activated one, adopted by its controller when it wins the
    // election, or another one after the follower demoted it as drift).
    assert_eq!(c.rms[other].rm_admin(&["transition-to-active", "--source", "forced"]).0, 0);
    wait_until("exactly one active RM, the leader's", DEADLINE, || {
        let active = c.active_rms();
        let Ok(reply) = support::procs::http_get(&c.admin_url(first), "/v1/status") else { return false };
        let Ok(status) = serde_json::from_str::<serde_json::Value>(&reply.body) else { return false };
        active.len() == 1 && status["leader"] == format!("rm{}", active[0] + 1)
    });
    let logs = c.dump_logs();
    assert!(logs.contains("drift") || logs.contains("demoted itself"), "the drift is reported:\n{logs}");
    c.assert_no_split_brain();
}

#[test]
fn a_corrupt_state_znode_is_reported_and_makes_nobody_active() {
    let mut c = Cluster::start(ClusterOptions { rms: 2, start_controllers: false, ..ClusterOptions::default() });
    c.write_znode("/rmfc/e2e/state", b"{ this is not json");
    c.start_controller(0);
    c.start_controller(1);
    wait_until("a controller to report the corrupt state", DEADLINE, || {
        (0..2).any(|i| c.controller_log(i).contains("cannot be trusted"))
    });
    assert!(c.active_rms().is_empty(), "nobody is promoted on untrustworthy state");
    c.write_znode("/rmfc/e2e/state", br#"{"epoch": 7, "active_rm": null, "leader_znode": null, "since_ms": 0}"#);
    c.wait_one_active(DEADLINE, None);
    c.assert_no_split_brain();
}

#[test]
fn failed_fencing_blocks_promotion() {
    let mut c = Cluster::start(ClusterOptions {
        rms: 2,
        extra_yaml:
            "fencing:\n  graceful_timeout: 1s\n  methods:\n    - { type: shell, command: \"exit 1\", timeout: 5s }\n"
                .into(),
        ..ClusterOptions::default()
    });
    let first = c.wait_one_active(DEADLINE, None);
    let other = 1 - first;
    // The active RM hangs and its controller dies: graceful fencing times out, the only method
    // fails, so the other controller must not promote its RM.
    c.rms[first].stop();
    c.kill_controller(first);
    wait_until("the other controller to report that it cannot fence", DEADLINE, || {
        c.controller_log(other).contains("could not fence")
    });
    assert_eq!(c.rms[other].ha_state().as_deref(), Some("standby"));
    // Once the old active answers again, the retried graceful fence succeeds and the other RM
    // is promoted.
    c.rms[first].cont();
    assert_eq!(c.wait_one_active(DEADLINE, Some(first)), other);
    assert_eq!(c.rms[first].ha_state().as_deref(), Some("standby"));
    c.assert_no_split_brain();
}

#[test]
fn the_failover_budget_stops_automatic_failover() {
    let mut c = Cluster::start(ClusterOptions {
        rms: 3,
        extra_yaml: "failover:\n  budget: 1\n  window: 10m\n  cooldown: 1s\n".into(),
        ..ClusterOptions::default()
    });
    let first = c.wait_one_active(DEADLINE, None);
    c.rms[first].kill();
    let second = c.wait_one_active(DEADLINE, Some(first));
    c.rms[second].kill();
    wait_until("a controller to refuse a second failover", DEADLINE, || {
        (0..3).any(|i| c.controller_log(i).contains("failover budget exhausted"))
    });
    assert!(c.active_rms().is_empty(), "past the budget nobody is promoted");
    c.assert_no_split_brain();
}

#[test]
fn the_admin_api_reports_status_history_health_and_metrics_that_follow_a_failover() {
    use support::procs::{http, http_get};
    let mut c = cluster(2);
    let first = c.wait_one_active(DEADLINE, None);
    let other = 1 - first;
    let admin = c.admin_url(other);
    wait_until("the follower to be ready", DEADLINE, || http_get(&admin, "/readyz").is_ok_and(|r| r.status == 200));
    assert_eq!(http_get(&admin, "/healthz").expect("healthz").status, 200);

    let status: serde_json::Value =
        serde_json::from_str(&http_get(&admin, "/v1/status").expect("status").body).expect("json");
    assert_eq!(status["cluster"], "e2e");
    assert_eq!(status["active_rm"], format!("rm{}", first + 1));
    assert_eq!(status["leader"], format!("rm{}", first + 1));
    assert_eq!(status["this_daemon"]["role"], "follower");
    assert_eq!(status["rms"][first]["ha_state"], "active");
    assert_eq!(status["rms"][other]["ha_state"], "standby");
    assert!(status["worst_case_failover_seconds"].as_f64().unwrap_or(0.0) > 0.0);
    // A follower reads the budget left from the state znode too (not only the leader knows it).
    let budget_before = status["failover_budget_remaining"].as_u64().unwrap_or_else(|| panic!("{status}"));
    assert!(budget_before > 0, "{status}");

    let metric = |name: &str| -> f64 {
        let text = http_get(&admin, "/metrics").expect("metrics").body;
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing from:\n{text}"))
    };
    assert_eq!(metric("rmfc_leader{"), 0.0);
    let epoch_before = metric("rmfc_epoch{");

    c.rms[first].kill();
    assert_eq!(c.wait_one_active(DEADLINE, Some(first)), other);
    wait_until("the metrics to show the new leader", DEADLINE, || metric("rmfc_leader{") == 1.0);
    assert!(metric("rmfc_epoch{") > epoch_before);
    wait_until("the next probe to see the local RM active", DEADLINE, || {
        metric(r#"rmfc_local_rm_ha_state{cluster="e2e",state="active"}"#) == 1.0
    });
    assert!(metric(r#"rmfc_failovers_total{cluster="e2e",result="success",trigger="failover"}"#) >= 1.0);

    // The journal entry is appended after the RM answered the promotion (the metric before).
    let last = wait_for("the failover to be journaled", DEADLINE, || {
        let history: serde_json::Value = serde_json::from_str(&http_get(&admin, "/v1/history").ok()?.body).ok()?;
        let last = history["history"].as_array().and_then(|h| h.last()).cloned()?;
        (last["to"] == format!("rm{}", other + 1)).then_some(last)
    });
    let status: serde_json::Value =
        serde_json::from_str(&http_get(&admin, "/v1/status").expect("status").body).expect("json");
    assert_eq!(status["failover_budget_remaining"].as_u64(), Some(budget_before - 1), "{status}");
    assert_eq!(last["outcome"], "active");
    assert_eq!(last["trigger"]["kind"], "failover");

    // Wrong paths and methods get a JSON error, never a crash.
    let r = http_get(&admin, "/v1/nothing").expect("404");
    assert_eq!(r.status, 404);
    assert!(r.body.contains("error"));
    assert_eq!(http("DELETE", &admin, "/v1/status", None).expect("405").status, 405);
    c.assert_no_split_brain();
}
