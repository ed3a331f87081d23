//! The leader's promotion pipeline, one round trip at a time: read the state and breadcrumb →
//! fence the previous active (graceful, then the configured methods) → write the new epoch with
//! CAS → `transitionToActive` → verify the state store changed hands. Every intermediate
//! failure is a decision here, and every step first re-checks that we still hold the election.
//!
//! Owns: safety rule 1 (promote only after the old active is confirmed standby or fenced, one
//! epoch per promotion) and the journal entries of promotions and refusals (handoff.rs journals
//! switchovers it clears). Must not: do I/O.

use std::time::Instant;

use super::{ann, AfterClear, Controller, FenceMethodKind, Journal, Role, Step};
use crate::core::io::{Action, AnnouncementKind as K, FenceStep, TargetState, WriteFailure};
use crate::core::switchover::Verdict;
use crate::core::types::*;

impl Controller {
    pub(super) fn begin_promotion(&mut self, now: Instant, out: &mut Vec<Action>) {
        let op = self.op();
        self.promotion_started = Some(now);
        self.step = Some(Step::ReadingState { op });
        self.role = Role::Promoting { step_name: "reading state", started: now };
        out.push(Action::ReadState { op, gen: self.gen });
    }

    pub(super) fn block(&mut self, now: Instant, kind: K, reason: String, out: &mut Vec<Action>) {
        let retry_in = self.retry_backoff;
        self.retry_backoff = (self.retry_backoff * 2).min(self.cfg.retry_max);
        self.block_for(now, kind, reason, retry_in, out);
    }

    /// Holds the election without promoting; looks again after `retry_in`.
    pub(super) fn block_for(
        &mut self,
        now: Instant,
        kind: K,
        reason: String,
        retry_in: std::time::Duration,
        out: &mut Vec<Action>,
    ) {
        out.push(ann(kind, self.epoch, reason.clone()));
        if self.last_refusal.as_ref() != Some(&reason) {
            // Journal why nothing was promoted, once per distinct reason.
            self.last_refusal = Some(reason.clone());
            let ms = self.promotion_started.map_or(0, |t| now.saturating_duration_since(t).as_millis() as u64);
            out.push(Action::AppendHistory {
                gen: self.gen,
                entry: Box::new(HistoryEntry {
                    epoch: self.epoch,
                    trigger: Trigger::Refused,
                    from: None,
                    to: self.cfg.rm_id.clone(),
                    fenced_by: String::new(),
                    outcome: format!("not promoted: {reason}"),
                    fence_ms: ms,
                    promote_ms: 0,
                }),
            });
        }
        self.step = None;
        self.role = Role::Blocked { reason, retry_at: now + retry_in };
    }

    /// The step in flight, if `op` answers it and we still hold the election (rule 3).
    pub(super) fn step_for(&self, op: OpId) -> Option<Step> {
        let step = self.step.clone()?;
        (step.op() == op && self.holds_election()).then_some(step)
    }

    pub(super) fn on_state_read(
        &mut self,
        now: Instant,
        op: OpId,
        result: Result<StateSnapshot, String>,
        out: &mut Vec<Action>,
    ) {
        let Some(Step::ReadingState { .. }) = self.step_for(op) else { return };
        let snap = match result {
            Ok(s) => s,
            Err(e) => {
                return self.block(
                    now,
                    K::CorruptState,
                    format!("controller state cannot be trusted, promoting nobody: {e}"),
                    out,
                )
            }
        };
        self.note_snapshot(&snap);
        // The failsafe's promises bind every promotion, manual ones included.
        if let Some((reason, until)) = self.failsafe_gate(now, &snap) {
            return match until {
                Some(until) => self.block_for(now, K::Blocked, reason, until.saturating_duration_since(now), out),
                None => self.block(now, K::Blocked, reason, out),
            };
        }
        // An operator's switchover comes before anything automatic.
        let mut manual = false;
        if let Some(sw) = snap.state.switchover.clone() {
            match self.switchover_verdict(&sw, &snap) {
                Verdict::Ours => manual = true,
                Verdict::GiveWay => return self.stand_aside(&sw, out),
                Verdict::Abandon(why) => return self.abandon(snap, &sw, why, AfterClear::Promote, out),
            }
        }
        let target = snap.breadcrumb.as_ref().map(|b| b.active_rm.clone()).filter(|rm| *rm != self.cfg.rm_id);
        let Some(target) = target else {
            // Nobody to fence: first start, or our own RM was the last active.
            return self.write_state(now, snap, "none needed", 0, false, out);
        };
        // A switchover is manual: the pause and the budget (automatic failover) do not apply.
        if let Some(p) = snap.state.pause.as_ref().filter(|p| !manual && p.in_force(snap.read_at_ms)) {
            // Paused: no automatic failover and no fencing. Look again soon, so a resume
            // takes effect within a second.
            let reason =
                format!("automatic failover is paused by {}: {}; not failing over from {target}", p.by, p.reason);
            return self.block_for(now, K::Blocked, reason, self.cfg.retry_initial, out);
        }
        let budget =
            if manual { Ok(()) } else { self.cfg.budget.check(&snap.state.recent_failovers_ms, snap.read_at_ms) };
        if let Err(refusal) = budget {
            return self.block(now, K::Blocked, format!("not failing over from {target}: {refusal}"), out);
        }
        let known_gone = snap.peer_health.iter().any(|(rm, h, age)| {
            *rm == target && matches!(h, PeerHealth::Dead | PeerHealth::Hung) && *age <= self.cfg.peer_report_fresh_ms
        });
        let first = if known_gone { self.next_fence_step(None) } else { Some(FenceStep::Graceful) };
        self.fence_or_give_up(now, Box::new(snap), target, first, "its controller reports it gone".into(), out);
    }

    pub(super) fn next_fence_step(&self, after: Option<FenceStep>) -> Option<FenceStep> {
        let next = match after {
            None | Some(FenceStep::Graceful) => 0,
            Some(FenceStep::Method(i)) => i + 1,
        };
        (next < self.cfg.fence_methods.len()).then_some(FenceStep::Method(next))
    }

    pub(super) fn fence_or_give_up(
        &mut self,
        now: Instant,
        snap: Box<StateSnapshot>,
        target: RmId,
        step: Option<FenceStep>,
        last_error: String,
        out: &mut Vec<Action>,
    ) {
        match step {
            Some(step) => {
                let op = self.op();
                let epoch = snap.state.epoch;
                self.role = Role::Promoting { step_name: "fencing", started: now };
                let started = match &self.step {
                    Some(Step::Fencing { started, .. }) => *started,
                    _ => now,
                };
                self.step = Some(Step::Fencing { op, snap, target: target.clone(), step, started });
                out.push(Action::Fence { op, target, step, epoch });
            }
            // Safety rule 1: fencing not confirmed means no promotion, unless configured.
            None if self.cfg.promote_unfenced => {
                out.push(ann(K::FencingFailed, self.epoch, format!("could not fence {target} ({last_error}); promoting anyway because fencing.promote_unfenced is true")));
                self.write_state(now, *snap, "unfenced (promote_unfenced)", 0, false, out);
            }
            None => {
                self.block(now, K::FencingFailed, format!("could not fence {target}: {last_error}; not promoting"), out)
            }
        }
    }

    pub(super) fn on_fence_done(&mut self, now: Instant, op: OpId, result: Result<(), String>, out: &mut Vec<Action>) {
        let Some(Step::Fencing { snap, target, step, started, .. }) = self.step_for(op) else { return };
        let fence_ms = now.saturating_duration_since(started).as_millis() as u64;
        match result {
            Ok(()) => {
                let (by, verify) = match step {
                    FenceStep::Graceful => ("graceful".to_string(), false),
                    FenceStep::Method(i) => {
                        let kind = self.cfg.fence_methods.get(i).copied().unwrap_or(FenceMethodKind::Confirming);
                        (format!("method {i}"), kind == FenceMethodKind::ZkStateStore)
                    }
                };
                self.write_state(now, *snap, &by, fence_ms, verify, out);
            }
            Err(e) => {
                tracing::warn!(%target, ?step, error = %e, "fencing step failed");
                let next = self.next_fence_step(Some(step));
                self.fence_or_give_up(now, snap, target, next, e, out);
            }
        }
    }

    pub(super) fn write_state(
        &mut self,
        now: Instant,
        snap: StateSnapshot,
        fenced_by: &str,
        fence_ms: u64,
        verify_store: bool,
        out: &mut Vec<Action>,
    ) {
        let Some(own_znode) = self.own_znode() else { return };
        let epoch = snap.state.epoch + 1;
        let previous = snap.breadcrumb.as_ref().map(|b| b.active_rm.clone());
        let manual = snap.state.switchover.as_ref().filter(|sw| sw.target == self.cfg.rm_id);
        let trigger = match (manual, &previous) {
            (Some(sw), _) => Trigger::Switchover { id: sw.id.clone(), by: sw.by.clone(), reason: sw.reason.clone() },
            (None, None) => Trigger::Startup,
            (None, Some(p)) if *p == self.cfg.rm_id => Trigger::Reassert,
            (None, Some(p)) => Trigger::Failover { previous: p.clone() },
        };
        let mut recent = self.cfg.budget.recent(&snap.state.recent_failovers_ms, snap.read_at_ms);
        if matches!(trigger, Trigger::Failover { .. }) {
            recent.push(snap.read_at_ms);
        }
        let state = ClusterState {
            epoch,
            active_rm: Some(self.cfg.rm_id.clone()),
            leader_znode: Some(own_znode.clone()),
            since_ms: snap.read_at_ms,
            recent_failovers_ms: recent,
            // The pause survives a promotion. A switchover pending on this read is ours (on_state_read
            // stood aside from or abandoned any other): it is complete with this write.
            pause: snap.state.pause.clone(),
            switchover: None,
            failsafe: self.cfg.failsafe.as_ref().map(|s| s.record()),
        };
        let journal = Box::new(Journal {
            trigger,
            from: previous,
            fenced_by: fenced_by.to_string(),
            fence_ms,
            promote_started: now,
        });
        let breadcrumb = Some(Breadcrumb { active_rm: self.cfg.rm_id.clone(), epoch });
        let Some(op) = self.request_write(snap.version, state, breadcrumb, out) else { return };
        self.role = Role::Promoting { step_name: "writing state", started: now };
        self.step = Some(Step::Writing { op, epoch, verify_store, journal });
    }

    pub(super) fn on_state_written(
        &mut self,
        now: Instant,
        op: OpId,
        result: Result<(), WriteFailure>,
        out: &mut Vec<Action>,
    ) {
        let Some(Step::Writing { epoch, verify_store, journal, .. }) = self.step_for(op) else { return };
        match result {
            Ok(()) => {
                self.epoch = epoch;
                let record = self.cfg.failsafe.as_ref().map(|s| s.record());
                self.note_failsafe_record(epoch, record.as_ref());
                let op = self.op();
                self.role = Role::Promoting { step_name: "activating", started: now };
                self.step = Some(Step::Activating { op, epoch, verify_store, journal });
                out.push(Action::Transition {
                    op,
                    rm: self.cfg.rm_id.clone(),
                    to: TargetState::Active,
                    epoch,
                    reason: "leader promotes its RM".into(),
                });
            }
            Err(WriteFailure::Conflict(e)) => {
                // Someone else wrote, or our node is gone: re-read the election before anything.
                self.step = None;
                self.role = Role::Follower;
                self.view_fresh = false;
                out.push(ann(K::LostLeadership, self.epoch, format!("state write conflicted: {e}")));
                out.push(Action::ReadElection { gen: self.gen });
            }
            Err(WriteFailure::Unavailable(e)) => {
                self.block(now, K::Blocked, format!("could not record the new epoch: {e}"), out)
            }
        }
    }

    pub(super) fn on_activation_done(
        &mut self,
        now: Instant,
        op: OpId,
        result: Result<(), String>,
        out: &mut Vec<Action>,
    ) {
        let Some(Step::Activating { epoch, verify_store, journal, .. }) = self.step_for(op) else { return };
        self.step = None;
        let outcome = match &result {
            Ok(()) => OUTCOME_ACTIVE.to_string(),
            Err(e) => format!("transitionToActive failed: {e}"),
        };
        out.push(Action::AppendHistory {
            gen: self.gen,
            entry: Box::new(HistoryEntry {
                epoch,
                trigger: journal.trigger.clone(),
                from: journal.from.clone(),
                to: self.cfg.rm_id.clone(),
                fenced_by: journal.fenced_by.clone(),
                outcome,
                fence_ms: journal.fence_ms,
                promote_ms: now.saturating_duration_since(journal.promote_started).as_millis() as u64,
            }),
        });
        match result {
            Ok(()) => {
                self.role = Role::Active { epoch };
                self.last_refusal = None;
                self.forget_rm_state();
                self.retry_backoff = self.cfg.retry_initial;
                out.push(ann(K::Promoted, epoch, "the local RM is ACTIVE"));
                if verify_store {
                    let op = self.op();
                    self.step = Some(Step::Verifying { op, epoch });
                    out.push(Action::VerifyStoreFence { op, epoch });
                }
            }
            Err(e) => {
                self.role = Role::Follower;
                out.push(ann(K::PromotionFailed, epoch, format!("transitionToActive failed: {e}; stepping aside")));
                self.rejoin_at = Some(now + self.cfg.rejoin_delay);
                self.leave_election(out);
            }
        }
    }

    pub(super) fn on_store_verified(
        &mut self,
        now: Instant,
        op: OpId,
        result: Result<(), String>,
        out: &mut Vec<Action>,
    ) {
        let Some(Step::Verifying { op: o, epoch }) = self.step.clone() else { return };
        if o != op {
            return;
        }
        self.step = None;
        if let Err(e) = result {
            // Rule 1: zk_state_store was the only confirmation and it did not hold.
            out.push(ann(
                K::FencingFailed,
                epoch,
                format!("state store fencing not confirmed ({e}): demoting the local RM"),
            ));
            self.demote_local(epoch, "state store fencing not verified", out);
            self.block(now, K::Blocked, format!("state store fencing not verified: {e}"), out);
        }
    }
}
