//! The core's scenarios and properties, on the in-memory world of `sim_world.rs`. Scenario
//! tests read like specifications; the property test drives random interleavings of deliveries
//! and faults and checks the safety rules at every step (the world records violations).

use std::collections::HashSet;

use proptest::prelude::*;

use super::budget::FailoverBudget;
use super::controller::Role;
use super::io::Event;
use super::sim_world::*;
use super::types::{Pause, Trigger};
use crate::hadoop_ipc::HaState;

// ---- scenarios ---------------------------------------------------------------------------------

#[test]
fn start_up_elects_exactly_one_active() {
    for n in [2, 3] {
        let mut w = World::new(n);
        w.settle(10);
        assert_eq!(w.active_rms().len(), 1, "{:?}", w.rms);
        assert_eq!(w.state.epoch, 1);
        assert!(w.violations.is_empty(), "{:?}", w.violations);
    }
}

#[test]
fn a_dead_active_rm_is_replaced_after_the_store_fences_it() {
    let mut w = World::new(2);
    w.settle(10);
    let first = w.active_rms()[0].clone();
    w.rms.get_mut(&first).unwrap().proc = Proc::Dead;
    w.settle(20);
    let now_active = w.active_rms();
    assert_eq!(now_active.len(), 1);
    assert_ne!(now_active[0], first);
    assert_eq!(w.state.epoch, 2);
    // The journal tells the story: a start-up promotion, then a failover fenced by the store.
    let last = w.history.last().expect("journaled");
    assert_eq!(last.trigger, Trigger::Failover { previous: first.clone() });
    assert_eq!((last.epoch, last.outcome.as_str(), last.fenced_by.as_str()), (2, "active", "method 0"));
    assert_eq!(w.history[0].trigger, Trigger::Startup);
    assert!(w.violations.is_empty(), "{:?}", w.violations);
}

#[test]
fn a_hung_active_rm_is_replaced_and_comes_back_standby() {
    let mut w = World::new(3);
    w.settle(10);
    let first = w.active_rms()[0].clone();
    w.rms.get_mut(&first).unwrap().proc = Proc::Hung;
    w.settle(30);
    assert_eq!(w.active_rms().len(), 1);
    w.rms.get_mut(&first).unwrap().proc = Proc::Alive;
    w.settle(10);
    assert_eq!(w.rms[&first].state, HaState::Standby, "the fenced RM does not come back active");
    assert_eq!(w.active_rms().len(), 1);
    assert!(w.violations.is_empty(), "{:?}", w.violations);
}

#[test]
fn a_dead_controller_is_replaced_and_its_rm_fenced_gracefully() {
    let mut w = World::new(2);
    w.settle(10);
    let leader = (0..2).find(|i| matches!(w.role(*i), Some(Role::Active { .. }))).expect("a leader");
    let old_rm = w.nodes[leader].rm.clone();
    w.kill_controller(leader);
    w.expire_session_of(leader);
    w.settle(10);
    let active = w.active_rms();
    assert_eq!(active.len(), 1);
    assert_ne!(active[0], old_rm, "the other RM took over");
    assert_eq!(w.rms[&old_rm].state, HaState::Standby, "the old RM was demoted gracefully");
    assert!(w.violations.is_empty(), "{:?}", w.violations);
}

#[test]
fn a_leader_that_loses_its_session_demotes_its_rm() {
    let mut w = World::new(2);
    w.settle(10);
    let leader = (0..2).find(|i| matches!(w.role(*i), Some(Role::Active { .. }))).expect("a leader");
    let rm = w.nodes[leader].rm.clone();
    w.disconnect(leader);
    w.settle(1);
    assert!(matches!(w.role(leader), Some(Role::Neutral { .. })), "{:?}", w.role(leader));
    assert_eq!(w.rms[&rm].state, HaState::Active, "a short disconnection does not demote at once");
    w.settle(12);
    assert_eq!(w.rms[&rm].state, HaState::Standby, "self-fenced before the session could expire");
    w.expire_session_of(leader);
    w.settle(20);
    assert_eq!(w.active_rms().len(), 1);
    assert!(w.violations.is_empty(), "{:?}", w.violations);
}

#[test]
fn a_corrupt_state_znode_makes_nobody_active_until_it_is_repaired() {
    let mut w = World::new(2);
    w.corrupt = true;
    w.settle(20);
    assert!(w.active_rms().is_empty(), "{:?}", w.rms);
    let blocked = (0..2).filter(|i| matches!(w.role(*i), Some(Role::Blocked { .. }))).count();
    assert_eq!(blocked, 1, "the leader says why it does not promote");
    w.corrupt = false;
    w.settle(40);
    assert_eq!(w.active_rms().len(), 1, "after the repair the leader retries and promotes");
    assert!(w.violations.is_empty(), "{:?}", w.violations);
}

#[test]
fn a_blocked_leader_looks_again_as_soon_as_the_state_znode_changes() {
    let mut w = World::new(2);
    w.corrupt = true;
    // Long enough for the retry backoff to reach its ceiling.
    w.settle(400);
    assert!(w.active_rms().is_empty(), "{:?}", w.rms);
    // An operator repairs the znode: the watch fires, and the leader does not sit out its backoff.
    w.corrupt = false;
    w.state_changed();
    w.settle(2);
    assert_eq!(w.active_rms().len(), 1, "the repair is acted on at once, not after the backoff");
    assert!(w.violations.is_empty(), "{:?}", w.violations);
}

#[test]
fn health_reports_stay_fresh_while_nothing_changes() {
    let mut w = World::new(3);
    // A minute of steady health: nothing changes, yet no report may age past the freshness
    // window peers judge it by (a publish that was lost is also repaired this way).
    w.settle(240);
    let fresh = cfg("rm1").peer_report_fresh_ms;
    assert_eq!(w.health_reports.len(), 3, "{:?}", w.health_reports);
    for (rm, (health, at)) in &w.health_reports {
        assert_eq!(*health, crate::core::types::PeerHealth::Healthy, "{rm}");
        assert!(w.now_ms - at <= fresh, "{rm}'s report is {} ms old", w.now_ms - at);
    }
}

#[test]
fn a_blocked_leader_is_woken_by_others_writes_not_by_its_own() {
    let mut w = World::new(2);
    w.settle(10);
    // The active RM dies; the state store is the only fence, and it does not confirm.
    let first = w.active_rms()[0].clone();
    w.rms.get_mut(&first).expect("rm").proc = Proc::Dead;
    w.store_fence_fails = true;
    let retry_at = |w: &World, i: usize| match w.role(i) {
        Some(Role::Blocked { retry_at, .. }) => Some(retry_at),
        _ => None,
    };
    let mut leader = None;
    for _ in 0..80 {
        w.settle(1);
        leader = (0..2).find(|i| retry_at(&w, *i).is_some_and(|t| t > w.now()));
        if leader.is_some() {
            break;
        }
    }
    let leader = leader.expect("the new leader blocks: fencing not confirmed");
    let blocked_until = retry_at(&w, leader).expect("blocked");
    assert!(blocked_until > w.now());
    let gen = w.nodes[leader].session.expect("session").0;
    // The notification of its own epoch write arrives after it blocked: no early retry (that
    // would promote, fail and block again in a loop without backoff).
    w.step(leader, Event::StateChanged { gen, version: w.version });
    assert_eq!(retry_at(&w, leader), Some(blocked_until));
    // An operator's write: looked at now.
    w.version = w.version.map(|v| v + 1);
    w.step(leader, Event::StateChanged { gen, version: w.version });
    assert!(retry_at(&w, leader).is_none_or(|t| t <= w.now()), "{:?}", w.role(leader));
}

#[test]
fn an_active_leader_rereads_an_unreadable_state_znode_with_backoff() {
    let mut w = World::new(2);
    w.settle(10);
    assert_eq!(w.active_rms().len(), 1);
    // Someone writes bytes that do not parse and the watch fires: the leader looks, fails,
    // looks again.
    w.corrupt = true;
    w.version = w.version.map(|v| v + 1);
    w.state_changed();
    w.state_reads = 0;
    w.settle(80);
    // 20 s: every 500 ms would be 40 reads; doubling up to 5 s is at most 8.
    assert!((2..=8).contains(&w.state_reads), "{} reads in 20 s", w.state_reads);
    assert_eq!(w.active_rms().len(), 1, "the active RM stays");
    assert!(w.violations.is_empty(), "{:?}", w.violations);
}

#[test]
fn failed_fencing_blocks_promotion() {
    let mut w = World::new(2);
    w.settle(10);
    let leader = (0..2).find(|i| matches!(w.role(*i), Some(Role::Active { .. }))).expect("a leader");
    let old_rm = w.nodes[leader].rm.clone();
    // The old active hangs and its controller dies: graceful fencing cannot work, and with no
    // fencing method configured nothing can confirm the old RM is harmless.
    let other = 1 - leader;
    let mut c = cfg(&w.nodes[other].rm);
    c.fence_methods.clear();
    w.kill_controller(other);
    w.expire_session_of(other);
    w.start_controller_with(other, c);
    w.settle(5);
    w.rms.get_mut(&old_rm).unwrap().proc = Proc::Hung;
    w.kill_controller(leader);
    w.expire_session_of(leader);
    w.settle(30);
    assert!(matches!(w.role(other), Some(Role::Blocked { .. })), "{:?}", w.role(other));
    assert_eq!(w.rms[&w.nodes[other].rm].state, HaState::Standby, "no promotion without fencing");
    assert!(w.violations.is_empty(), "{:?}", w.violations);
}

#[test]
fn the_failover_budget_stops_automatic_failover() {
    let mut w = World::new(2);
    w.settle(10);
    // Two failovers already happened a moment ago.
    w.state.recent_failovers_ms = vec![w.now_ms, w.now_ms];
    let first = w.active_rms()[0].clone();
    w.rms.get_mut(&first).unwrap().proc = Proc::Dead;
    // Rebuild both controllers with a budget of 2 per window.
    for i in 0..2 {
        let mut c = cfg(&w.nodes[i].rm);
        c.budget = FailoverBudget { max: 2, window_ms: 600_000, cooldown_ms: 0 };
        w.kill_controller(i);
        w.expire_session_of(i);
        w.start_controller_with(i, c);
    }
    w.settle(30);
    assert!(w.active_rms().is_empty(), "past the budget nobody is promoted: {:?}", w.rms);
    let survivor = (0..2).find(|i| w.nodes[*i].rm != first).unwrap();
    match w.role(survivor) {
        Some(Role::Blocked { reason, .. }) => assert!(reason.contains("failover budget exhausted"), "{reason}"),
        other => panic!("expected Blocked, got {other:?}"),
    }
    let refusals: Vec<_> = w.history.iter().filter(|e| e.trigger == Trigger::Refused).collect();
    assert_eq!(refusals.len(), 1, "the refusal is journaled once, not at every retry: {refusals:?}");
}

// ---- properties ---------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Fault {
    Deliver {
        node: usize,
        zk: bool,
    },
    Tick {
        ms: u64,
    },
    KillRm(usize),
    HangRm(usize),
    ReviveRm(usize),
    KillController(usize),
    RestartController(usize),
    Disconnect(usize),
    Reconnect(usize),
    Expire(usize),
    /// An operator asks for a switchover to `rm<target+1>`, valid for `for_ms`.
    Switchover {
        target: usize,
        for_ms: u64,
    },
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        12 => (0usize..3, any::<bool>()).prop_map(|(node, zk)| Fault::Deliver { node, zk }),
        4 => (0u64..3000).prop_map(|ms| Fault::Tick { ms }),
        1 => (0usize..3).prop_map(Fault::KillRm),
        1 => (0usize..3).prop_map(Fault::HangRm),
        2 => (0usize..3).prop_map(Fault::ReviveRm),
        1 => (0usize..3).prop_map(Fault::KillController),
        2 => (0usize..3).prop_map(Fault::RestartController),
        1 => (0usize..3).prop_map(Fault::Disconnect),
        1 => (0usize..3).prop_map(Fault::Reconnect),
        1 => (0usize..3).prop_map(Fault::Expire),
        1 => (0usize..3, 1000u64..20_000).prop_map(|(target, for_ms)| Fault::Switchover { target, for_ms }),
    ]
}

fn apply(w: &mut World, f: &Fault) {
    let n = w.nodes.len();
    match *f {
        Fault::Deliver { node, zk } => w.deliver(node % n, zk),
        Fault::Tick { ms } => w.tick_all(ms),
        Fault::KillRm(i) => w.rms.get_mut(&format!("rm{}", i % n + 1)).unwrap().proc = Proc::Dead,
        Fault::HangRm(i) => w.rms.get_mut(&format!("rm{}", i % n + 1)).unwrap().proc = Proc::Hung,
        Fault::ReviveRm(i) => {
            let m = w.rms.get_mut(&format!("rm{}", i % n + 1)).unwrap();
            if m.proc == Proc::Dead {
                // A restarted RM starts STANDBY.
                m.state = HaState::Standby;
            }
            if m.fenced {
                m.state = HaState::Standby;
            }
            m.proc = Proc::Alive;
        }
        Fault::KillController(i) => w.kill_controller(i % n),
        Fault::RestartController(i) => {
            if w.nodes[i % n].ctl.is_none() {
                // The dead controller's session expires on the server before its successor runs.
                w.expire_session_of(i % n);
                w.start_controller(i % n);
            }
        }
        Fault::Switchover { target, for_ms } => {
            let id = format!("op-{}", w.now_ms);
            w.request_switchover(&id, &format!("rm{}", target % n + 1), for_ms)
        }
        Fault::Disconnect(i) => w.disconnect(i % n),
        Fault::Reconnect(i) => w.reconnect(i % n),
        Fault::Expire(i) => {
            // The server expires a session only after its client noticed the disconnection and
            // had the self-fence delay to act (the timing check-config verifies).
            let i = i % n;
            if w.session_state(i) == Some(Sess::Disconnected) && w.nodes[i].zk_q.is_empty() {
                w.tick_all(2500);
                w.expire_session_of(i);
            } else if w.nodes[i].ctl.is_none() {
                w.expire_session_of(i);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300), ..ProptestConfig::default() })]

    #[test]
    fn safety_rules_hold_under_random_faults(n in 2usize..=3, faults in proptest::collection::vec(fault(), 1..250)) {
        let mut w = World::new(n);
        for f in &faults {
            apply(&mut w, f);
            prop_assert!(w.violations.is_empty(), "after {:?}: {:?}", f, w.violations);
        }
        // Heal everything: an active RM must exist again.
        for i in 0..n {
            let m = w.rms.get_mut(&format!("rm{}", i + 1)).unwrap();
            if m.proc != Proc::Alive {
                m.state = HaState::Standby;
                m.proc = Proc::Alive;
            }
            if w.nodes[i].ctl.is_none() {
                w.expire_session_of(i);
                w.start_controller(i);
            }
            w.reconnect(i);
        }
        w.settle(60);
        prop_assert!(w.violations.is_empty(), "{:?}", w.violations);
        prop_assert_eq!(w.active_rms().len(), 1, "after healing exactly one RM is active: {:?}", w.rms);
        let epochs: HashSet<u64> = w.promoted_epochs.keys().copied().collect();
        prop_assert_eq!(epochs.len(), w.promoted_epochs.len());
    }
}

#[test]
fn while_paused_nobody_fails_over_and_a_resume_takes_effect_at_once() {
    let mut w = World::new(2);
    w.settle(10);
    let first = w.active_rms()[0].clone();
    w.state.pause = Some(Pause { by: "ops".into(), reason: "ZooKeeper upgrade".into(), since_ms: 0, until_ms: None });
    w.rms.get_mut(&first).unwrap().proc = Proc::Dead;
    w.settle(20);
    assert!(w.active_rms().is_empty(), "paused: no failover");
    assert!(!w.rms.values().any(|m| m.fenced), "paused: no fencing either");
    let leader = (0..2).find(|i| matches!(w.role(*i), Some(Role::Blocked { .. }))).expect("a leader waits");
    match w.role(leader) {
        Some(Role::Blocked { reason, .. }) => assert!(reason.contains("paused by ops: ZooKeeper upgrade"), "{reason}"),
        other => panic!("{other:?}"),
    }
    w.state.pause = None;
    w.settle(8);
    assert_eq!(w.active_rms().len(), 1, "resumed: the failover happens within a few ticks");
    assert!(w.violations.is_empty(), "{:?}", w.violations);
}

#[test]
fn an_expired_pause_no_longer_holds_and_promotions_keep_the_pause_record() {
    let mut w = World::new(2);
    w.state.pause = Some(Pause { by: "ops".into(), reason: "window".into(), since_ms: 0, until_ms: Some(1) });
    w.settle(10);
    assert_eq!(w.active_rms().len(), 1, "start-up is not a failover");
    assert!(w.state.pause.is_some(), "the leader's write keeps the operator's record");
    let first = w.active_rms()[0].clone();
    w.rms.get_mut(&first).unwrap().proc = Proc::Dead;
    w.settle(20);
    assert_eq!(w.active_rms().len(), 1, "the pause expired: failover happens");
}
