//! Graceful switchover on the in-memory world: the hand-over reaches the named target even when
//! another candidate stands before it in the election, never shows two ACTIVE RMs (the world
//! checks that after every step), works while automatic failover is paused, and a request that
//! cannot happen is abandoned and journaled instead of lingering.

use super::controller::Role;
use super::sim_world::*;
use super::types::{Pause, Trigger};
use crate::hadoop_ipc::HaState;

fn leader(w: &World) -> usize {
    (0..w.nodes.len()).find(|i| matches!(w.role(*i), Some(Role::Active { .. }))).expect("an active leader")
}

/// The RM that is neither active nor next in line (the election order is rm join order).
fn last_in_line(w: &World) -> String {
    w.election.values().last().expect("candidates").rm_id.clone()
}

#[test]
fn a_switchover_hands_over_to_the_named_target_past_the_next_in_line() {
    let mut w = World::new(3);
    w.settle(10);
    let first = w.active_rms()[0].clone();
    let target = last_in_line(&w);
    assert_ne!(first, target);
    let epoch = w.state.epoch;
    w.request_switchover("op-7", &target, 30_000);
    w.settle(20);
    assert_eq!(w.active_rms(), vec![target.clone()], "{:?}", w.rms);
    assert_eq!(w.rms[&first].state, HaState::Standby);
    assert_eq!(w.state.epoch, epoch + 1, "one promotion, one new epoch");
    assert_eq!(w.state.switchover, None, "the completed request is cleared");
    let last = w.history.last().expect("journaled");
    assert_eq!(last.trigger, Trigger::Switchover { id: "op-7".into(), by: "operator".into(), reason: "test".into() });
    assert_eq!(
        (last.from.as_deref(), last.to.as_str(), last.outcome.as_str()),
        (Some(first.as_str()), target.as_str(), "active")
    );
    // The old leader and the one that stood aside are candidates again, behind the target.
    w.settle(10);
    assert_eq!(w.election.len(), 3, "{:?}", w.election);
    assert_eq!(w.election.values().next().map(|c| c.rm_id.clone()), Some(target));
    assert!(w.violations.is_empty(), "{:?}", w.violations);
}

#[test]
fn a_switchover_works_while_automatic_failover_is_paused_and_does_not_spend_the_budget() {
    let mut w = World::new(2);
    w.settle(10);
    w.state.pause = Some(Pause { by: "ops".into(), reason: "upgrade".into(), since_ms: 0, until_ms: None });
    let target = last_in_line(&w);
    w.request_switchover("op-1", &target, 30_000);
    w.settle(20);
    assert_eq!(w.active_rms(), vec![target]);
    assert!(w.state.pause.is_some(), "the pause stays");
    assert!(w.state.recent_failovers_ms.is_empty(), "a manual switchover is not an automatic failover");
    assert!(w.violations.is_empty(), "{:?}", w.violations);
}

#[test]
fn a_switchover_to_an_rm_outside_the_election_is_abandoned_and_journaled() {
    let mut w = World::new(3);
    w.settle(10);
    let first = w.active_rms()[0].clone();
    let target = last_in_line(&w);
    // The target's RM dies: its controller leaves the election.
    w.rms.get_mut(&target).unwrap().proc = Proc::Dead;
    w.settle(20);
    assert!(!w.election.values().any(|c| c.rm_id == target));
    let epoch = w.state.epoch;
    w.request_switchover("op-2", &target, 30_000);
    w.settle(10);
    assert_eq!(w.active_rms(), vec![first], "nothing changes");
    assert_eq!(w.state.switchover, None, "cleared");
    let last = w.history.last().expect("journaled");
    assert!(matches!(&last.trigger, Trigger::Switchover { id, .. } if id == "op-2"));
    assert!(last.outcome.starts_with("failed: target") && last.outcome.contains("election"), "{}", last.outcome);
    assert_eq!(w.state.epoch, epoch, "nobody was promoted");
    assert!(w.violations.is_empty(), "{:?}", w.violations);
}

#[test]
fn a_switchover_whose_target_cannot_win_before_the_deadline_ends_with_an_active_rm() {
    let mut w = World::new(3);
    w.settle(10);
    let l = leader(&w);
    let target = last_in_line(&w);
    let t = w.nodes.iter().position(|n| n.rm == target).expect("target node");
    // The target's controller hangs: its node stays (its session is alive) but it never acts.
    w.kill_controller(t);
    w.request_switchover("op-3", &target, 5_000);
    w.settle(8);
    assert_ne!(w.role(l), Some(Role::Active { epoch: w.state.epoch }), "the old leader handed over");
    // The target's session finally expires: the next leader abandons the stale request.
    w.expire_session_of(t);
    w.settle(40);
    assert_eq!(w.active_rms().len(), 1, "{:?}", w.rms);
    assert_eq!(w.state.switchover, None);
    assert!(w.history.iter().any(
        |e| matches!(&e.trigger, Trigger::Switchover { id, .. } if id == "op-3") && e.outcome.starts_with("failed")
    ));
    assert!(w.violations.is_empty(), "{:?}", w.violations);
}

#[test]
fn a_switchover_whose_first_read_failed_is_carried_out_when_the_leader_reads_again() {
    let mut w = World::new(2);
    w.settle(10);
    let target = last_in_line(&w);
    // The watch fires, but the leader's re-read fails (a ZooKeeper timeout, here an unreadable
    // answer); nothing else changes the znode afterwards.
    w.corrupt = true;
    w.request_switchover("op-3", &target, 30_000);
    w.drain();
    w.corrupt = false;
    w.settle(20);
    assert_eq!(w.active_rms(), vec![target], "the leader retried its read without a new watch event");
    assert_eq!(w.state.switchover, None);
    assert!(w.violations.is_empty(), "{:?}", w.violations);
}
