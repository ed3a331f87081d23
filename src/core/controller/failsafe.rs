//! The failsafe's place in the controller (the protocol and its safety argument are in
//! `core/failsafe.rs`): the leader's side (asking for acknowledgements while ZooKeeper is
//! unreachable, and how long they let it keep its RM), the member's side (answering, and the
//! promotion gate that keeps its promises), and the journal entries of both.
//!
//! Owns: those decisions. Must not: do I/O or read a clock.

use std::time::Instant;

use super::{ann, Controller, Role, Session};
use crate::core::failsafe::{FailsafeStatus, MemberFacts};
use crate::core::io::{Action, AnnouncementKind as K};
use crate::core::types::*;
use crate::hadoop_ipc::HaState;

impl Controller {
    /// May the failsafe keep our RM now that the connection is lost? Only with failsafe on, as
    /// the active leader (`active_leader`: no hand-over in progress) of an epoch whose `/state`
    /// records our membership, and while the session itself lives.
    pub(super) fn failsafe_may_keep(&self, active_leader: bool) -> bool {
        let Role::Active { epoch } = self.role else { return false };
        active_leader
            && self.cfg.failsafe.is_some()
            && self.failsafe_recorded == Some(epoch)
            && matches!(self.session, Session::Disconnected { .. })
    }

    /// When a Neutral leader demotes its RM: at `fence_at` (rule 2), later only while every
    /// other member's acknowledgement holds. Sends the renewals that are due.
    pub(super) fn failsafe_fence_at(&mut self, now: Instant, fence_at: Instant, out: &mut Vec<Action>) -> Instant {
        if self.acks.is_some() && !self.failsafe_rm_fit() {
            // Only a healthy ACTIVE RM is worth keeping: a member's promise would only delay
            // the failover to a working one.
            self.end_failsafe("the local RM is no longer healthy and ACTIVE", out);
            return fence_at;
        }
        let (Some(settings), Some(acks)) = (self.cfg.failsafe.clone(), self.acks.as_mut()) else { return fence_at };
        let mut next = self.next_op;
        let due = acks.due(now, &settings, &self.cfg.rm_id, || {
            next += 1;
            OpId(next)
        });
        self.next_op = next;
        let request = AckRequest {
            leader: self.cfg.rm_id.clone(),
            epoch: acks.epoch,
            lease_ms: settings.lease.as_millis() as u64,
        };
        for (op, m) in due {
            out.push(Action::RequestFailsafeAck {
                op,
                peer: m.rm_id,
                admin_url: m.admin_url,
                request: request.clone(),
            });
        }
        let demote_at = match acks.all_held_until(now, &settings, &self.cfg.rm_id) {
            Some(until) => fence_at.max(until.checked_sub(settings.demote_budget).unwrap_or(now)),
            None => fence_at,
        };
        #[cfg(test)]
        let demote_at =
            if acks.engaged && crate::core::failsafe::sabotaged(crate::core::failsafe::Sabotage::KeepAfterLeases) {
                demote_at.max(now + std::time::Duration::from_secs(3600))
            } else {
                demote_at
            };
        acks.fence_at = Some(demote_at);
        acks.last_look = now;
        if now >= fence_at && now < demote_at && !acks.engaged {
            acks.engaged = true;
            let held = acks.members_held(now).join(", ");
            let epoch = acks.epoch;
            let what = format!(
                "ZooKeeper is unreachable: failsafe keeps the local RM ACTIVE with the acknowledgements of {held}"
            );
            out.push(ann(K::Failsafe, epoch, what.clone()));
            self.failsafe_journal.push(self.failsafe_entry(epoch, format!("failsafe started: {what}")));
        }
        demote_at
    }

    /// Is the local RM one the failsafe may keep? Healthy (or merely slow), and not STANDBY.
    fn failsafe_rm_fit(&self) -> bool {
        self.health.health().eligible() && self.health.last_state != Some(HaState::Standby)
    }

    /// The failsafe stops keeping our RM (ZooKeeper is back, the session expired, an
    /// acknowledgement is missing): journaled when it had kept the RM past rule 2's deadline.
    pub(super) fn end_failsafe(&mut self, why: &str, out: &mut Vec<Action>) {
        let Some(acks) = self.acks.take() else { return };
        if acks.engaged {
            out.push(ann(K::Failsafe, acks.epoch, format!("failsafe ended: {why}")));
            self.failsafe_journal.push(self.failsafe_entry(acks.epoch, format!("failsafe ended: {why}")));
        }
    }

    fn failsafe_entry(&self, epoch: u64, outcome: String) -> HistoryEntry {
        HistoryEntry {
            epoch,
            trigger: Trigger::Failsafe,
            from: None,
            to: self.cfg.rm_id.clone(),
            fenced_by: String::new(),
            outcome,
            fence_ms: 0,
            promote_ms: 0,
        }
    }

    /// The journal could not be written while ZooKeeper was away: it is now.
    pub(super) fn flush_failsafe_journal(&mut self, out: &mut Vec<Action>) {
        for entry in self.failsafe_journal.drain(..) {
            out.push(Action::AppendHistory { gen: self.gen, entry: Box::new(entry) });
        }
    }

    pub(super) fn on_ack_answered(&mut self, now: Instant, op: OpId, result: Result<AckAnswer, String>) {
        let (Some(settings), Some(acks)) = (self.cfg.failsafe.as_ref(), self.acks.as_mut()) else { return };
        if let Some(rm) = acks.answer(now, op, &result, settings.lease) {
            match result {
                Ok(AckAnswer::Granted { .. }) => {}
                Ok(AckAnswer::Refused { reason }) => {
                    tracing::warn!(member = %rm, %reason, "failsafe acknowledgement refused")
                }
                Err(e) => tracing::warn!(member = %rm, error = %e, "failsafe acknowledgement not received"),
            }
        }
    }

    /// Another member asks us to acknowledge its failsafe.
    pub(super) fn on_ack_requested(&mut self, now: Instant, reply: u64, request: AckRequest, out: &mut Vec<Action>) {
        let facts = MemberFacts {
            own: &self.cfg.rm_id,
            reaches_zookeeper: matches!(self.session, Session::Connected { .. }),
            rm_may_be_active: !matches!(self.role, Role::Follower)
                || self.step.is_some()
                || self.demotion.is_some()
                || self.health.last_state == Some(HaState::Active),
            known_epoch: self.epoch,
        };
        let answer = self.promises.judge(now, &request, self.cfg.failsafe.as_ref(), facts);
        if matches!(answer, AckAnswer::Granted { .. }) {
            self.epoch = self.epoch.max(request.epoch);
        }
        out.push(Action::AnswerFailsafeAck { reply, answer });
    }

    /// The failsafe's part of the promotion gate, on the fresh read that begins every
    /// promotion: `Some((reason, until))` while this controller may not promote. `until`:
    /// `None` until something else changes (a membership the leader must re-record).
    pub(super) fn failsafe_gate(&self, now: Instant, snap: &StateSnapshot) -> Option<(String, Option<Instant>)> {
        #[cfg(test)]
        let forget = crate::core::failsafe::sabotaged(crate::core::failsafe::Sabotage::ForgetPromises);
        #[cfg(not(test))]
        let forget = false;
        if let (Some(until), Some((leader, epoch)), false) = (self.promises.until, &self.promises.to, forget) {
            if now < until {
                return Some((
                    format!(
                        "failsafe: this controller promised {leader} (epoch {epoch}) not to promote until its \
                         acknowledgement runs out"
                    ),
                    Some(until),
                ));
            }
        }
        if let Some(s) = &self.cfg.failsafe {
            let until = self.started + s.lease + s.clock_margin();
            if now < until {
                return Some((
                    "failsafe: just started, so a promise given before a restart may still hold; waiting one \
                     failsafe.lease"
                        .into(),
                    Some(until),
                ));
            }
        }
        let record = snap.state.failsafe.as_ref()?;
        if record.members.iter().any(|m| m.rm_id == self.cfg.rm_id) {
            return None;
        }
        let members: Vec<&str> = record.members.iter().map(|m| m.rm_id.as_str()).collect();
        Some((
            format!(
                "failsafe: the leader of epoch {} recorded the members {} without {}, so it may keep its RM ACTIVE \
                 without our acknowledgement; give every controller the same failsafe.members and restart the \
                 active RM's controller last",
                snap.state.epoch,
                members.join(", "),
                self.cfg.rm_id
            ),
            None,
        ))
    }

    /// A leader's read or write of `/state`: does it record our failsafe membership for `epoch`?
    pub(super) fn note_failsafe_record(&mut self, epoch: u64, record: Option<&FailsafeRecord>) {
        let ours = self.cfg.failsafe.as_ref().map(|s| s.record());
        self.failsafe_recorded = (ours.is_some() && ours.as_ref() == record).then_some(epoch);
    }

    pub(super) fn failsafe_status(&self) -> FailsafeStatus {
        FailsafeStatus {
            enabled: self.cfg.failsafe.is_some(),
            active: matches!(self.role, Role::Neutral { .. }) && self.acks.as_ref().is_some_and(|a| a.engaged),
            acks_held: self.acks.as_ref().map_or(0, |a| a.held_count(a.last_look)),
            peers: self.cfg.failsafe.as_ref().map_or(0, |s| s.peers(&self.cfg.rm_id).count()),
            promised_until: self.promises.until,
        }
    }
}
