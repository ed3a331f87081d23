//! Graceful switchover, the leaders' side. An operator's request sits in the state znode (any
//! daemon may have written it); the leaders carry it out:
//!
//! 1. the active leader, woken by the state watch, re-reads the state; if the target is
//!    eligible it records `handing_over` (CAS, checked against its own election node), demotes
//!    its RM, and only once the RM is STANDBY leaves the election (and rejoins at the back);
//! 2. any leader that is not the target and finds the target eligible stands aside (leaves and
//!    rejoins at the back) without touching any RM, so the target's node becomes the lowest;
//! 3. the target, once leader, promotes itself through the ordinary pipeline (the previous
//!    active is fenced — gracefully, it is already STANDBY — before the new epoch is written),
//!    with the switchover's trigger, ignoring the pause and the failover budget, and the same
//!    write clears the request;
//! 4. whoever finds a request that can no longer happen (deadline passed, target ineligible)
//!    clears it and journals why.
//!
//! So the old active is STANDBY before it leaves the election, and the target is promoted only
//! after fencing: at no moment are two RMs ACTIVE.
//!
//! Owns: steps 1, 2 and 4. Must not: do I/O, or promote anything (promotion.rs does).

use std::time::Instant;

use super::{ann, Controller, Role, Step};
use crate::core::io::{Action, AnnouncementKind as K, TargetState, WriteFailure};
use crate::core::switchover::{self, SwitchoverFacts, Verdict};
use crate::core::types::*;

/// What follows once a switchover was cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AfterClear {
    /// We are the active leader: carry on.
    StayActive,
    /// We were about to promote: start over from a fresh read.
    Promote,
}

impl Controller {
    /// The active leader re-reads the state when it changed (operator requests) or when an
    /// earlier look could not be completed.
    pub(super) fn reconcile_operator_requests(&mut self, now: Instant, out: &mut Vec<Action>) {
        let due = self.state_recheck.is_some_and(|at| now >= at);
        if !(due && matches!(self.role, Role::Active { .. }) && self.step.is_none()) {
            return;
        }
        if !self.holds_election() {
            return;
        }
        self.state_recheck = None;
        let op = self.op();
        self.step = Some(Step::Checking { op });
        out.push(Action::ReadState { op, gen: self.gen });
    }

    /// Bookkeeping every state read by a leader updates (epoch, budget gauge, pause).
    pub(super) fn note_snapshot(&mut self, snap: &StateSnapshot) {
        self.epoch = self.epoch.max(snap.state.epoch);
        self.last_failovers = Some((snap.state.recent_failovers_ms.clone(), snap.read_at_ms));
        self.paused = snap.state.pause.as_ref().is_some_and(|p| p.in_force(snap.read_at_ms));
    }

    pub(super) fn switchover_verdict(&self, sw: &Switchover, snap: &StateSnapshot) -> Verdict {
        let health: Vec<(RmId, PeerHealth)> = snap.peer_health.iter().map(|(rm, h, _)| (rm.clone(), *h)).collect();
        let facts = SwitchoverFacts {
            candidates: &snap.candidates,
            peer_health: &health,
            active: snap.state.active_rm.as_ref(),
        };
        switchover::verdict(sw, &self.cfg.rm_id, snap.read_at_ms, facts)
    }

    /// The active leader's look at the state it re-read.
    pub(super) fn on_check_read(&mut self, now: Instant, result: Result<StateSnapshot, String>, out: &mut Vec<Action>) {
        self.step = None;
        let snap = match result {
            Ok(s) => s,
            Err(e) => {
                // The watch fired once and may not fire again: an operator's request must not
                // wait for the next unrelated change.
                tracing::warn!(error = %e, "re-reading the controller state failed; retrying");
                return self.recheck_later(now);
            }
        };
        self.retry_backoff = self.cfg.retry_initial;
        self.note_snapshot(&snap);
        if snap.state.epoch == self.epoch {
            self.note_failsafe_record(snap.state.epoch, snap.state.failsafe.as_ref());
        }
        let Some(sw) = snap.state.switchover.clone() else { return };
        let Role::Active { epoch } = self.role else { return };
        if let Some((id, entry)) = self.pending_failure.take() {
            if id == sw.id {
                return self.clear_switchover(snap, AfterClear::StayActive, entry, out);
            }
        }
        match self.switchover_verdict(&sw, &snap) {
            Verdict::Ours => {
                let entry = self.switchover_entry(&sw, OUTCOME_ALREADY_ACTIVE.into());
                self.clear_switchover(snap, AfterClear::StayActive, entry, out);
            }
            Verdict::Abandon(why) => self.abandon(snap, &sw, why, AfterClear::StayActive, out),
            Verdict::GiveWay => {
                out.push(ann(
                    K::Switchover,
                    epoch,
                    format!(
                        "switchover {} to {} ({}): demoting the local RM to hand over",
                        sw.id, sw.target, sw.reason
                    ),
                ));
                let mut sw = sw;
                sw.phase = SwitchoverPhase::HandingOver;
                let mut state = snap.state;
                state.switchover = Some(sw.clone());
                if let Some(op) = self.request_write(snap.version, state, None, out) {
                    self.step = Some(Step::Announcing { op, sw, epoch });
                }
            }
        }
    }

    /// `handing_over` is recorded: demote our RM.
    pub(super) fn on_announced(
        &mut self,
        now: Instant,
        sw: Switchover,
        epoch: u64,
        result: Result<(), WriteFailure>,
        out: &mut Vec<Action>,
    ) {
        self.step = None;
        if let Err(e) = result {
            // Someone else wrote, or ZooKeeper did not answer: look again; the switchover stays
            // pending until its deadline either way.
            tracing::warn!(id = %sw.id, error = ?e, "could not record the hand-over; re-reading");
            return self.recheck_after(now, &e);
        }
        let op = self.op();
        self.step = Some(Step::Yielding { op, sw: Box::new(sw.clone()), epoch });
        out.push(Action::Transition {
            op,
            rm: self.cfg.rm_id.clone(),
            to: TargetState::Standby,
            epoch,
            reason: format!("switchover {} to {}: {}", sw.id, sw.target, sw.reason),
        });
    }

    /// Our RM answered the demotion. STANDBY: leave the election for the target. Not: keep the
    /// active role (the probes tell the truth) and record the failure.
    pub(super) fn on_yielded(
        &mut self,
        now: Instant,
        sw: Switchover,
        epoch: u64,
        result: Result<(), String>,
        out: &mut Vec<Action>,
    ) {
        self.step = None;
        self.forget_rm_state();
        match result {
            Ok(()) => {
                out.push(ann(
                    K::Switchover,
                    epoch,
                    format!("switchover {}: the local RM is STANDBY; leaving the election for {}", sw.id, sw.target),
                ));
                self.give_way(out);
            }
            Err(e) => {
                out.push(ann(K::Switchover, epoch, format!("switchover {}: demoting the local RM failed: {e}", sw.id)));
                // The record is cleared on the next read (the leader stays and re-checks).
                let entry = self.switchover_entry(&sw, format!("failed: demoting {} failed: {e}", self.cfg.rm_id));
                self.pending_failure = Some((sw.id.clone(), entry));
                self.recheck_state(now);
            }
        }
    }

    /// A leader that is not the target gives way: out of the election and back in at the end.
    pub(super) fn stand_aside(&mut self, sw: &Switchover, out: &mut Vec<Action>) {
        out.push(ann(
            K::Switchover,
            self.epoch,
            format!("standing aside for {} (switchover {}: {})", sw.target, sw.id, sw.reason),
        ));
        self.give_way(out);
    }

    /// Out of the election and, at once, back in: our new node queues behind the target's.
    fn give_way(&mut self, out: &mut Vec<Action>) {
        self.step = None;
        self.role = Role::Follower;
        self.rejoin_at = None;
        self.leave_election(out);
    }

    /// Clears a switchover that can no longer happen, journaling why.
    pub(super) fn abandon(
        &mut self,
        snap: StateSnapshot,
        sw: &Switchover,
        why: String,
        after: AfterClear,
        out: &mut Vec<Action>,
    ) {
        out.push(ann(K::Switchover, self.epoch, format!("abandoning switchover {}: {why}", sw.id)));
        let entry = self.switchover_entry(sw, format!("failed: {why}"));
        self.clear_switchover(snap, after, entry, out);
    }

    fn clear_switchover(&mut self, snap: StateSnapshot, after: AfterClear, entry: HistoryEntry, out: &mut Vec<Action>) {
        let mut state = snap.state;
        state.switchover = None;
        if let Some(op) = self.request_write(snap.version, state, None, out) {
            self.step = Some(Step::Clearing { op, after, entry: Box::new(entry) });
        }
    }

    pub(super) fn on_cleared(
        &mut self,
        now: Instant,
        after: AfterClear,
        entry: HistoryEntry,
        result: Result<(), WriteFailure>,
        out: &mut Vec<Action>,
    ) {
        self.step = None;
        match (result, after) {
            (Ok(()), _) => {
                out.push(Action::AppendHistory { gen: self.gen, entry: Box::new(entry) });
                if after == AfterClear::Promote {
                    self.begin_promotion(now, out);
                }
            }
            (Err(e), AfterClear::StayActive) => {
                tracing::warn!(error = ?e, "could not clear the switchover; re-reading");
                self.recheck_after(now, &e);
            }
            (Err(WriteFailure::Conflict(e)), AfterClear::Promote) => {
                self.role = Role::Follower;
                self.view_fresh = false;
                out.push(ann(K::LostLeadership, self.epoch, format!("state write conflicted: {e}")));
                out.push(Action::ReadElection { gen: self.gen });
            }
            (Err(WriteFailure::Unavailable(e)), AfterClear::Promote) => {
                self.block(now, K::Blocked, format!("could not clear the abandoned switchover: {e}"), out)
            }
        }
    }

    /// The active leader re-reads the state at `at` (or earlier, if already due sooner).
    pub(super) fn recheck_state(&mut self, at: Instant) {
        self.state_recheck = Some(self.state_recheck.map_or(at, |t| t.min(at)));
    }

    /// After a write of ours failed: at once after a conflict (someone else wrote), with
    /// backoff when ZooKeeper did not answer.
    fn recheck_after(&mut self, now: Instant, e: &WriteFailure) {
        match e {
            WriteFailure::Conflict(_) => self.recheck_state(now),
            WriteFailure::Unavailable(_) => self.recheck_later(now),
        }
    }

    /// Another look after the leader's retry backoff (doubling up to `retry_max`; a successful
    /// read resets it), so a znode that stays unreadable is not re-read in a tight loop.
    fn recheck_later(&mut self, now: Instant) {
        self.recheck_state(now + self.retry_backoff);
        self.retry_backoff = (self.retry_backoff * 2).min(self.cfg.retry_max);
    }

    /// The journal entry of a switchover's outcome (completed ones are journaled by the
    /// promotion itself).
    pub(super) fn switchover_entry(&self, sw: &Switchover, outcome: String) -> HistoryEntry {
        HistoryEntry {
            epoch: self.epoch,
            trigger: Trigger::Switchover { id: sw.id.clone(), by: sw.by.clone(), reason: sw.reason.clone() },
            from: sw.from.clone(),
            to: sw.target.clone(),
            fenced_by: String::new(),
            outcome,
            fence_ms: 0,
            promote_ms: 0,
        }
    }
}
