//! Measuring one run: what either side must offer (`Side`), the fault, and the times read
//! back from the RMs' state changes.

use super::*;

/// What the benchmark needs from either side.
pub(super) trait Side {
    fn states(&self, i: usize) -> Vec<(u64, String)>;
    fn kill_rm(&mut self, i: usize);
    fn stop_rm(&self, i: usize);
    fn cont_rm(&self, i: usize);
    fn zk(&mut self) -> &mut ZkEnsemble;
}

pub(super) fn current(states: &[(u64, String)]) -> Option<&str> {
    states.last().map(|(_, s)| s.as_str())
}

pub(super) fn first_active_since(side: &dyn Side, i: usize, since: u64) -> Option<u64> {
    side.states(i).into_iter().find(|(t, s)| *t >= since && s == "active").map(|(t, _)| t)
}

pub(super) fn first_not_active_since(side: &dyn Side, i: usize, since: u64) -> Option<u64> {
    side.states(i).into_iter().find(|(t, s)| *t >= since && s != "active").map(|(t, _)| t)
}

/// Whether RM `i` reported ACTIVE at time `t` (its last state change at or before `t`).
pub(super) fn active_at(states: &[(u64, String)], t: u64) -> bool {
    states.iter().rev().find(|(ts, _)| *ts <= t).is_some_and(|(_, s)| s == "active")
}

/// Milliseconds within `[from, to]` during which no RM, resp. both RMs, reported ACTIVE.
pub(super) fn coverage(side: &dyn Side, from: u64, to: u64) -> (u64, u64) {
    let timelines: Vec<Vec<(u64, String)>> = (0..2).map(|i| side.states(i)).collect();
    let mut cuts: Vec<u64> =
        timelines.iter().flatten().map(|(t, _)| *t).filter(|t| *t > from && *t < to).chain([from, to]).collect();
    cuts.sort();
    cuts.dedup();
    let (mut none, mut both) = (0, 0);
    for w in cuts.windows(2) {
        let n = timelines.iter().filter(|tl| active_at(tl, w[0])).count();
        match n {
            0 => none += w[1] - w[0],
            2 => both += w[1] - w[0],
            _ => {}
        }
    }
    (none, both)
}

pub(super) fn wait_first_active(side: &dyn Side) -> usize {
    wait_for("a first active RM", FAILOVER_DEADLINE, || (0..2).find(|i| current(&side.states(*i)) == Some("active")))
}

/// Runs the fault on an already elected `side`; `partition`/`heal` cut the active's host.
pub(super) fn run_fault(s: Scenario, side: &mut dyn Side, partition: &mut dyn FnMut(usize, bool)) -> Sample {
    let first = wait_first_active(side);
    std::thread::sleep(SETTLE);
    let other = 1 - first;
    let fault = now_ms();
    let mut sample = Sample::default();
    match s {
        Scenario::Crash | Scenario::Hang | Scenario::Partition => {
            match s {
                Scenario::Crash => side.kill_rm(first),
                Scenario::Hang => side.stop_rm(first),
                _ => partition(first, true),
            }
            let promoted = poll_until(FAILOVER_DEADLINE, || first_active_since(side, other, fault));
            sample.metric_ms = promoted.map(|t| t.saturating_sub(fault));
            match s {
                Scenario::Hang => {
                    // What the frozen RM does when it runs again.
                    let resumed = now_ms();
                    side.cont_rm(first);
                    let demoted = poll_until(Duration::from_secs(30), || first_not_active_since(side, first, resumed));
                    sample.old_demoted_ms = demoted.map(|t| t.saturating_sub(resumed));
                    let end = demoted.unwrap_or_else(now_ms);
                    sample.both_active_ms = coverage(side, fault, end).1;
                }
                Scenario::Partition => {
                    // The cut-off RM demotes itself (or is fenced) at some point, or never.
                    let demoted = poll_until(Duration::from_secs(40), || first_not_active_since(side, first, fault));
                    sample.old_demoted_ms = demoted.map(|t| t.saturating_sub(fault));
                    let end = demoted.unwrap_or_else(now_ms);
                    sample.both_active_ms = coverage(side, fault, end).1;
                    partition(first, false);
                }
                _ => {}
            }
        }
        Scenario::QuorumLoss => {
            let zk = side.zk();
            // Two followers or the leader and a follower: either way no quorum is left.
            zk.kill(0);
            zk.kill(1);
            std::thread::sleep(QUORUM_OUTAGE);
            let restarted = now_ms();
            let zk = side.zk();
            zk.restart(0);
            zk.restart(1);
            zk.wait_leader(Duration::from_secs(60));
            let demoted = first_not_active_since(side, first, fault);
            sample.old_demoted_ms = demoted.map(|t| t.saturating_sub(fault));
            // Wait for an active RM after the restart (at once if one stayed active throughout).
            let back = poll_until(FAILOVER_DEADLINE, || {
                (0..2).find(|i| current(&side.states(*i)) == Some("active")).map(|_| now_ms())
            });
            let reactivated = (0..2).filter_map(|i| first_active_since(side, i, fault)).min();
            sample.reactivated_ms = reactivated.map(|t| t.saturating_sub(restarted));
            if let Some(end) = back {
                let (none, both) = coverage(side, fault, end);
                sample.metric_ms = Some(none);
                sample.both_active_ms = both;
            }
        }
    }
    sample
}
