//! The reconcile rules the controller applies after every event, one per concern: session loss
//! (safety rule 2), election membership, leadership (rule 3 and promotion start), and the local
//! RM's reported state (rule 4, drift) — plus the small moves they share (leave the election,
//! demote the local RM).
//!
//! Owns: those rules. Must not: do I/O (actions only) or read a clock.

use std::time::Instant;

use super::{ann, Controller, Membership, Role, Session, Step};
use crate::core::failsafe::AckSet;
use crate::core::io::{Action, AnnouncementKind as K, TargetState};
use crate::hadoop_ipc::HaState;

impl Controller {
    /// Safety rule 2 (self-fencing), refined by the failsafe (`failsafe.rs`). A controller
    /// whose RM may be active and which cannot prove its leadership demotes its RM
    /// `self_fence_after` after losing the connection, and at once when the session is gone —
    /// unless, while ZooKeeper is unreachable, it holds an acknowledgement of every other
    /// failsafe member: then it demotes in time before the earliest of them runs out.
    pub(super) fn reconcile_session_loss(&mut self, now: Instant, out: &mut Vec<Action>) {
        let connected = matches!(self.session, Session::Connected { .. });
        if connected {
            self.end_failsafe("ZooKeeper is reachable again", out);
            self.flush_failsafe_journal(out);
            return;
        }
        let fence_at = match self.session {
            Session::Disconnected { since, .. } => since + self.cfg.self_fence_after,
            _ => now,
        };
        let rm_may_be_active = match &self.role {
            Role::Active { .. } => true,
            Role::Promoting { .. } => matches!(self.step, Some(Step::Activating { .. })),
            _ => false,
        };
        if rm_may_be_active {
            // A hand-over in progress gives our RM up anyway: no failsafe for it.
            let handing_over = matches!(self.step, Some(Step::Announcing { .. } | Step::Yielding { .. }));
            let keep = self.failsafe_may_keep(!handing_over);
            self.step = None;
            self.role = Role::Neutral { epoch: self.epoch, fence_at };
            self.acks = keep.then(|| AckSet::new(self.epoch, now));
        } else if matches!(self.role, Role::Promoting { .. } | Role::Blocked { .. }) {
            // Nothing was promoted yet: simply stop (rule 3: no promotion without a live session).
            self.step = None;
            self.role = Role::Follower;
        }
        if let Role::Neutral { epoch, fence_at } = self.role.clone() {
            let expired = matches!(self.session, Session::Opening);
            let fence_at = if expired { now } else { fence_at };
            if expired {
                self.end_failsafe("the ZooKeeper session expired", out);
            }
            let demote_at = self.failsafe_fence_at(now, fence_at, out);
            if now >= demote_at {
                self.role = Role::Follower;
                self.end_failsafe("an acknowledgement is missing or ran out: self-fencing", out);
                out.push(ann(
                    K::SelfFenced,
                    epoch,
                    "lost the ZooKeeper session: demoting the local RM before the session can expire",
                ));
                self.demote_local(epoch, "self-fence: ZooKeeper session lost", out);
            } else {
                self.role = Role::Neutral { epoch, fence_at };
            }
        }
    }

    pub(super) fn reconcile_membership(&mut self, now: Instant, out: &mut Vec<Action>) {
        if !matches!(self.session, Session::Connected { .. }) {
            return;
        }
        if self.rejoin_at.is_some_and(|t| now >= t) {
            self.rejoin_at = None;
        }
        let want_in = self.health.health().eligible() && self.rejoin_at.is_none();
        match (&self.membership, want_in) {
            (Membership::Out, true) => {
                self.membership = Membership::Joining;
                out.push(Action::JoinElection { gen: self.gen });
            }
            (Membership::In { znode }, false) => {
                let znode = znode.clone();
                out.push(ann(
                    K::LeftElection,
                    self.epoch,
                    format!("local RM is {:?}: leaving the election", self.health.health()),
                ));
                self.membership = Membership::Leaving { znode: znode.clone() };
                out.push(Action::LeaveElection { gen: self.gen, znode });
            }
            _ => {}
        }
    }

    pub(super) fn reconcile_leadership(&mut self, now: Instant, out: &mut Vec<Action>) {
        if !matches!(self.session, Session::Connected { .. }) {
            return;
        }
        let leader = self.holds_election();
        match self.role.clone() {
            Role::Follower | Role::Neutral { .. } if leader => {
                out.push(ann(K::BecameLeader, self.epoch, "holds the lowest election node in a live session"));
                self.begin_promotion(now, out);
            }
            Role::Neutral { .. } if self.view_fresh => {
                // Reconnected but no longer the leader: our RM must not stay active.
                self.role = Role::Follower;
                out.push(ann(
                    K::LostLeadership,
                    self.epoch,
                    "reconnected to ZooKeeper but no longer holds the election",
                ));
                self.demote_local(self.epoch, "lost leadership while disconnected", out);
            }
            Role::Promoting { .. } | Role::Active { .. } | Role::Blocked { .. } if !leader && self.view_fresh => {
                let was_active =
                    matches!(self.role, Role::Active { .. }) || matches!(self.step, Some(Step::Activating { .. }));
                self.role = Role::Follower;
                self.step = None;
                out.push(ann(K::LostLeadership, self.epoch, "no longer holds the election"));
                if was_active {
                    self.demote_local(self.epoch, "lost leadership", out);
                }
            }
            Role::Blocked { retry_at, .. } if leader && now >= retry_at => self.begin_promotion(now, out),
            _ => {}
        }
    }

    /// Safety rule 4 (drift): what the local RM reports is reconciled with the role.
    pub(super) fn reconcile_local_rm(&mut self, now: Instant, out: &mut Vec<Action>) {
        let state = self.health.last_state;
        match &self.role {
            // While yielding for a switchover our RM turns STANDBY on purpose: not drift.
            _ if matches!(self.step, Some(Step::Yielding { .. })) => {}
            Role::Follower | Role::Blocked { .. } if state == Some(HaState::Active) && self.demotion.is_none() => {
                self.drift_corrections += 1;
                out.push(ann(
                    K::DriftCorrected,
                    self.epoch,
                    "local RM is ACTIVE but this controller is not the leader's: demoting it",
                ));
                self.demote_local(self.epoch, "drift: active without being the leader's RM", out);
            }
            Role::Active { epoch } if state == Some(HaState::Standby) => {
                // The RM demoted itself (state store fenced, failed activation): count it, step
                // aside so a healthy RM can take over, and come back after a delay.
                let epoch = *epoch;
                self.drift_corrections += 1;
                self.role = Role::Follower;
                // Whatever the active leader had in flight (a re-check, a hand-over) is moot.
                self.step = None;
                out.push(ann(
                    K::DriftCorrected,
                    epoch,
                    "the leader's RM reports STANDBY (it demoted itself): leaving the election",
                ));
                self.rejoin_at = Some(now + self.cfg.rejoin_delay);
                self.leave_election(out);
            }
            _ => {}
        }
    }

    pub(super) fn leave_election(&mut self, out: &mut Vec<Action>) {
        if let Some(znode) = self.own_znode() {
            self.membership = Membership::Leaving { znode: znode.clone() };
            out.push(Action::LeaveElection { gen: self.gen, znode });
        }
    }

    /// The RM's state changed under our hands: only probes sent from now on tell the truth.
    pub(super) fn forget_rm_state(&mut self) {
        self.health.last_state = None;
        self.stale_probes_until = self.next_op;
    }

    pub(super) fn demote_local(&mut self, epoch: u64, reason: &str, out: &mut Vec<Action>) {
        let op = self.op();
        self.demotion = Some(op);
        out.push(Action::Transition {
            op,
            rm: self.cfg.rm_id.clone(),
            to: TargetState::Standby,
            epoch,
            reason: reason.into(),
        });
    }
}
