//! Scenario tests of the failsafe in the failsafe model's world (`failsafe_model.rs`): each
//! case the design names, step by step. The world checks the safety rules after every step.

use std::collections::BTreeSet;

use super::failsafe_model::{Fault, Model, LEASE_MS, SESSION_MS};
use super::sim_net::Net;
use super::types::Trigger;

fn net(zk_down: bool, zk_cut: &[&str], links: &[(&str, &str)]) -> Fault {
    Fault::Network(Net {
        zk_down,
        zk_cut: zk_cut.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>(),
        links_cut: links.iter().map(|(a, b)| Net::pair(a, b)).collect(),
    })
}

fn zk_down() -> Fault {
    net(true, &[], &[])
}

fn whole() -> Fault {
    net(false, &[], &[])
}

/// Runs the world for `ms`, checking after every move that exactly `active` is ACTIVE.
fn run_keeping(m: &mut Model, ms: u64, active: &[&str]) {
    let until = m.now_ms() + ms;
    while m.now_ms() < until {
        m.advance_to_next(until - m.now_ms());
        assert_eq!(m.w.active_rms(), active, "at {} ms", m.now_ms());
        assert!(m.w.violations.is_empty(), "{:?}", m.w.violations);
    }
}

fn run(m: &mut Model, ms: u64) {
    let until = m.now_ms() + ms;
    while m.now_ms() < until {
        m.advance_to_next(until - m.now_ms());
    }
    assert!(m.w.violations.is_empty(), "{:?}", m.w.violations);
}

fn failsafe_entries(m: &Model) -> Vec<String> {
    m.w.history.iter().filter(|e| e.trigger == Trigger::Failsafe).map(|e| e.outcome.clone()).collect()
}

#[test]
fn through_a_whole_quorum_loss_the_active_rm_stays_active() {
    let mut m = Model::new(3, true);
    assert_eq!(m.w.active_rms(), ["rm1"]);
    m.inject(&zk_down());
    run_keeping(&mut m, 10 * SESSION_MS, &["rm1"]);
    let st = m.w.nodes[0].ctl.as_ref().unwrap().status();
    assert!(st.failsafe.active && st.failsafe.acks_held == 2, "{:?}", st.failsafe);
    assert!(failsafe_entries(&m).is_empty(), "the journal waits for ZooKeeper");
    m.inject(&whole());
    run_keeping(&mut m, 2 * SESSION_MS, &["rm1"]);
    let entries = failsafe_entries(&m);
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert!(entries[0].starts_with("failsafe started") && entries[0].contains("rm2, rm3"), "{entries:?}");
    assert!(entries[1].starts_with("failsafe ended: ZooKeeper is reachable again"), "{entries:?}");
    assert!(m.w.state.epoch >= 2, "the leader re-asserted its RM under a new epoch");
}

#[test]
fn without_the_failsafe_a_quorum_loss_demotes_the_active_rm() {
    let mut m = Model::new(2, false);
    m.inject(&zk_down());
    run(&mut m, SESSION_MS);
    assert!(m.w.active_rms().is_empty(), "today's behaviour: self-fenced");
}

#[test]
fn a_member_that_dies_during_the_outage_ends_the_failsafe_within_a_lease() {
    let mut m = Model::new(2, true);
    m.inject(&zk_down());
    run_keeping(&mut m, 2 * SESSION_MS, &["rm1"]);
    m.inject(&Fault::HostCrash(1));
    run(&mut m, LEASE_MS);
    assert!(m.w.active_rms().is_empty(), "its renewals go unanswered: the leader self-fences");
}

#[test]
fn the_leaders_host_dies_during_the_outage_and_the_other_rm_takes_over_once_zookeeper_is_back() {
    let mut m = Model::new(2, true);
    m.inject(&zk_down());
    run_keeping(&mut m, 2 * SESSION_MS, &["rm1"]);
    m.inject(&Fault::HostCrash(0));
    run(&mut m, 2 * SESSION_MS);
    assert!(m.w.active_rms().is_empty(), "nobody promotes without ZooKeeper");
    m.inject(&whole());
    run(&mut m, 3 * SESSION_MS);
    assert_eq!(m.w.active_rms(), ["rm2"], "after the dead leader's session expired");
}

#[test]
fn a_leader_that_reaches_zookeeper_but_not_its_peers_needs_no_failsafe() {
    let mut m = Model::new(2, true);
    m.inject(&net(false, &[], &[("rm1", "rm2")]));
    run_keeping(&mut m, 3 * SESSION_MS, &["rm1"]);
    let st = m.w.nodes[0].ctl.as_ref().unwrap().status();
    assert!(!st.failsafe.active && st.session_connected);
}

#[test]
fn a_leader_cut_from_zookeeper_while_its_peers_reach_it_self_fences_and_is_replaced() {
    let mut m = Model::new(2, true);
    m.inject(&net(false, &["rm1"], &[]));
    run(&mut m, 3 * SESSION_MS);
    assert_eq!(m.w.active_rms(), ["rm2"], "rm2 reaches ZooKeeper, so it refused: rm1 self-fenced");
}

#[test]
fn peers_split_during_the_outage_leave_the_leader_without_every_ack() {
    let mut m = Model::new(3, true);
    m.inject(&net(true, &[], &[("rm1", "rm3")]));
    run(&mut m, SESSION_MS);
    assert!(m.w.active_rms().is_empty(), "no acknowledgement from rm3: self-fenced as without failsafe");
}

#[test]
fn a_member_restarted_during_the_outage_acknowledges_again_and_the_rm_stays_active() {
    let mut m = Model::new(2, true);
    m.inject(&zk_down());
    run_keeping(&mut m, SESSION_MS, &["rm1"]);
    m.inject(&Fault::ControllerRestart(1));
    run_keeping(&mut m, 2 * SESSION_MS, &["rm1"]);
}

#[test]
fn a_controller_that_just_started_promotes_nobody_for_one_lease() {
    // It may have promised a failsafe leader not to promote, and forgotten.
    let mut m = Model::new(2, true);
    m.inject(&Fault::HostCrash(0));
    m.inject(&Fault::ControllerRestart(1));
    let restarted = m.now_ms();
    let mut promoted_at = None;
    while promoted_at.is_none() && m.now_ms() < restarted + 10 * SESSION_MS {
        m.advance_to_next(100);
        if !m.w.active_rms().is_empty() {
            promoted_at = Some(m.now_ms());
        }
    }
    let at = promoted_at.expect("rm2 is promoted eventually");
    assert!(at >= restarted + LEASE_MS, "promoted {} ms after its start", at - restarted);
}

#[test]
fn an_outage_while_a_switchover_is_pending_keeps_the_rm_and_the_switchover_happens_after() {
    let mut m = Model::new(2, true);
    m.w.request_switchover("sw-1", "rm2", 60_000);
    m.inject(&zk_down());
    run_keeping(&mut m, 2 * SESSION_MS, &["rm1"]);
    m.inject(&whole());
    run(&mut m, 3 * SESSION_MS);
    assert_eq!(m.w.active_rms(), ["rm2"], "the switchover completed once ZooKeeper was back");
}

#[test]
fn a_controller_missing_from_the_recorded_membership_does_not_promote() {
    let mut m = Model::new(2, true);
    // The leader of the current epoch recorded a membership without rm2.
    if let Some(rec) = m.w.state.failsafe.as_mut() {
        rec.members.retain(|mm| mm.rm_id != "rm2");
    }
    m.inject(&Fault::HostCrash(0));
    run(&mut m, 4 * SESSION_MS);
    assert!(m.w.active_rms().is_empty());
    let role = m.w.role(1);
    assert!(format!("{role:?}").contains("without rm2"), "{role:?}");
}

#[test]
fn the_failsafe_lets_go_of_an_rm_that_dies_or_demotes_itself_during_the_outage() {
    for dies in [true, false] {
        let mut m = Model::new(2, true);
        m.inject(&zk_down());
        run_keeping(&mut m, SESSION_MS, &["rm1"]);
        if dies {
            m.w.rms.get_mut("rm1").unwrap().proc = super::sim_world::Proc::Dead;
        } else {
            m.inject(&Fault::RmSelfDemotes(0));
        }
        run(&mut m, SESSION_MS);
        let st = m.w.nodes[0].ctl.as_ref().unwrap().status();
        assert!(!st.failsafe.active, "dies: {dies}: {st:?}");
    }
}

#[test]
fn a_member_that_notices_the_outage_a_moment_later_is_asked_again_in_time() {
    let mut m = Model::new(2, true);
    // rm2 refuses the rounds at 0, 750 and 1500 ms (it reaches ZooKeeper); the next round
    // would come after rm1's self-fence deadline (1700 ms).
    m.inject(&net(false, &["rm1"], &[]));
    m.advance(1550);
    assert_eq!(m.w.active_rms(), ["rm1"]);
    m.inject(&zk_down());
    run_keeping(&mut m, 3 * SESSION_MS, &["rm1"]);
}
