//! Failsafe mode (DESIGN.md safety rule 2, refinement): keep the active RM through a ZooKeeper
//! outage when that is provably safe. The pieces here are pure bookkeeping, with time passed
//! in; `controller/failsafe.rs` wires them into the controller's rules.
//!
//! # The protocol
//!
//! While ZooKeeper is up, the leader of epoch `e` records the membership (every controller of
//! the cluster, by RM id and admin URL) and the lease `L` in `/state` with the write that
//! starts `e`. When that leader, its RM ACTIVE, loses its ZooKeeper connection (not its session:
//! an expiry is told by a reachable server, so someone else may lead) and no hand-over is in
//! progress, it asks every other recorded member, over their admin APIs, for an
//! acknowledgement [`AckRequest`] `{leader, e, L}`, again every `L/4`.
//!
//! A member grants one only if it cannot reach ZooKeeper either, its own RM cannot be active
//! (it is a follower and its RM is not reported ACTIVE), it knows no newer epoch, and it has no
//! live promise to another leader. Granting is a promise: *no promotion by this member before
//! `grant + L + margin`* on its own monotonic clock (`margin` covers clock-rate differences).
//! Every promotion begins with a fresh read of `/state` in a live session, and the gate there
//! also holds a controller for `L + margin` after its own start, because a restarted member
//! has forgotten its promises.
//!
//! The leader counts an acknowledgement as held until `sent + L` on its own clock, where `sent`
//! is when it sent the request: since the member answered after the request left, the
//! member's promise outlasts that instant. The leader keeps its RM ACTIVE past its ordinary
//! self-fence deadline only while it holds one from *every* other member, and begins demoting
//! `demote_budget` (the time a demotion may take) before the earliest of them runs out. A
//! member that never acknowledged, or refuses, means self-fencing as without failsafe; one
//! whose renewal goes unanswered means self-fencing once its last lease runs out.
//!
//! # Why at most one RM is ACTIVE
//!
//! Any other RM becomes ACTIVE only by a promotion of its controller `X`, which needs `X` to
//! hold the election in a live session (rule 3) — so ZooKeeper is up for `X` — and the gate to
//! be open. Suppose the failsafe leader `F` keeps its RM ACTIVE beyond its self-fence deadline
//! at real time `t`. Then at `t` it holds an acknowledgement from `X` whose request left
//! before `X` answered, so `X` promised not to promote until after `F`'s hold on that
//! acknowledgement ends — and `F` has demoted its RM by then. `X` cannot have been restarted
//! in between without its start gate covering the same interval. If `X` is not a member, `F`
//! cannot have kept its RM (it needs all members, and the members it asks are exactly the ones
//! recorded; `X` refuses to promote while a record it is not in says failsafe is on — see
//! `promotion_gate`). Without failsafe the ordinary rule 2 argument applies unchanged.
//! The model check (`failsafe_model.rs`) explores these cases exhaustively within bounds, with
//! the failsafe on and off, and shows that dropping the promise breaks the invariant.
//!
//! Owns: the acknowledgement set, the promises, and the answer to a request. Must not: do I/O,
//! read a clock, or decide anything about the RM (the controller does).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::types::{AckAnswer, AckRequest, FailsafeMember, FailsafeRecord, OpId, RmId};

/// A rule the model check breaks on purpose, to show that it would notice (tests only).
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sabotage {
    /// A member forgets its promises when it promotes.
    ForgetPromises,
    /// The leader keeps its RM after its acknowledgements ran out.
    KeepAfterLeases,
}

#[cfg(test)]
thread_local! {
    pub(crate) static SABOTAGE: std::cell::Cell<Option<Sabotage>> = const { std::cell::Cell::new(None) };
}

/// Is `rule` broken on purpose (only ever in the model check's own tests)?
#[cfg(test)]
pub(crate) fn sabotaged(rule: Sabotage) -> bool {
    SABOTAGE.with(|s| s.get() == Some(rule))
}

/// Failsafe settings of one controller (`failsafe.*` in the config file).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FailsafeSettings {
    /// Every controller of the cluster, this one included.
    pub members: Vec<FailsafeMember>,
    /// How long one acknowledgement holds.
    pub lease: Duration,
    /// How long demoting the local RM may take: a failsafe leader starts demoting this long
    /// before its earliest acknowledgement runs out.
    pub demote_budget: Duration,
}

impl FailsafeSettings {
    /// What the leader records in `/state`.
    pub fn record(&self) -> FailsafeRecord {
        FailsafeRecord { members: self.members.clone(), lease_ms: self.lease.as_millis() as u64 }
    }

    /// How often a failsafe leader renews its acknowledgements: a renewal must be answered
    /// before the demotion budget before the end of the previous one, hence 1/4.
    pub fn renew_every(&self) -> Duration {
        self.lease / 4
    }

    /// A member's promise outlasts the leader's count of it by this much: monotonic clocks on
    /// two hosts run at slightly different rates.
    pub fn clock_margin(&self) -> Duration {
        (self.lease / 10).max(Duration::from_millis(100))
    }

    /// The other members, the ones whose acknowledgements a leader needs.
    pub fn peers<'a>(&'a self, own: &'a str) -> impl Iterator<Item = &'a FailsafeMember> + 'a {
        self.members.iter().filter(move |m| m.rm_id != own)
    }

    pub fn is_member(&self, rm: &str) -> bool {
        self.members.iter().any(|m| m.rm_id == rm)
    }
}

/// How soon a leader asks again after a refusal or a missing answer.
pub const RETRY_SOON: Duration = Duration::from_millis(100);

/// A failsafe leader's acknowledgements, for one epoch, while ZooKeeper is unreachable.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AckSet {
    pub epoch: u64,
    /// Per member: until when its last granted acknowledgement holds (request sent + lease).
    held: BTreeMap<RmId, Instant>,
    /// Requests without an answer: to whom, and when they left.
    in_flight: BTreeMap<OpId, (RmId, Instant)>,
    /// When the next round of renewals goes out.
    pub next_round: Instant,
    /// The RM was kept ACTIVE past the ordinary self-fence deadline (failsafe in force).
    pub engaged: bool,
    /// When the leader demotes its RM, as of the last look (the later of the ordinary
    /// self-fence deadline and the acknowledgements' end minus the demotion budget).
    pub fence_at: Option<Instant>,
    /// When the leader last looked (for the status: acknowledgements held then).
    pub last_look: Instant,
}

impl AckSet {
    pub fn new(epoch: u64, now: Instant) -> Self {
        AckSet {
            epoch,
            held: BTreeMap::new(),
            in_flight: BTreeMap::new(),
            next_round: now,
            engaged: false,
            fence_at: None,
            last_look: now,
        }
    }

    /// The requests due at `now`: one per member that has none in flight (a request older than
    /// a renewal period counts as lost). `op` hands out request ids.
    pub fn due(
        &mut self,
        now: Instant,
        settings: &FailsafeSettings,
        own: &str,
        mut op: impl FnMut() -> OpId,
    ) -> Vec<(OpId, FailsafeMember)> {
        if now < self.next_round {
            return Vec::new();
        }
        let renew = settings.renew_every();
        self.in_flight.retain(|_, (_, sent)| now.saturating_duration_since(*sent) < renew);
        self.next_round = now + renew;
        let mut out = Vec::new();
        for m in settings.peers(own) {
            if self.in_flight.values().any(|(rm, _)| *rm == m.rm_id) {
                continue;
            }
            let id = op();
            self.in_flight.insert(id, (m.rm_id.clone(), now));
            out.push((id, m.clone()));
        }
        out
    }

    /// Folds in an answer. Returns who answered, or `None` for an answer nobody waits for.
    /// A refusal drops what that member had granted (it says it reaches ZooKeeper, or no
    /// longer accepts us: the leader takes no chances); a missing answer does not — the
    /// member's promise stands until its lease runs out, and safety rests on the leases alone.
    ///
    /// Anything but a grant brings the next round forward to `now + RETRY_SOON`: at the onset
    /// of an outage the members notice it one after the other, and a member that still
    /// reached ZooKeeper a moment ago may grant now.
    pub fn answer(
        &mut self,
        now: Instant,
        op: OpId,
        result: &Result<AckAnswer, String>,
        lease: Duration,
    ) -> Option<RmId> {
        let (rm, sent) = self.in_flight.remove(&op)?;
        if !matches!(result, Ok(AckAnswer::Granted { .. })) {
            self.next_round = self.next_round.min(now + RETRY_SOON);
        }
        match result {
            Ok(AckAnswer::Granted { lease_ms }) => {
                // Never count longer than the member promised, nor than we asked.
                let until = sent + lease.min(Duration::from_millis(*lease_ms));
                let e = self.held.entry(rm.clone()).or_insert(until);
                *e = (*e).max(until);
            }
            Ok(AckAnswer::Refused { .. }) => {
                self.held.remove(&rm);
            }
            Err(_) => {}
        }
        Some(rm)
    }

    /// Until when an acknowledgement of *every* other member holds, if one does at `now`.
    pub fn all_held_until(&self, now: Instant, settings: &FailsafeSettings, own: &str) -> Option<Instant> {
        let mut until: Option<Instant> = None;
        for m in settings.peers(own) {
            let t = *self.held.get(&m.rm_id).filter(|t| **t > now)?;
            until = Some(until.map_or(t, |u| u.min(t)));
        }
        until
    }

    /// Members whose acknowledgement holds at `now`.
    pub fn held_count(&self, now: Instant) -> usize {
        self.held.values().filter(|t| **t > now).count()
    }

    /// The members whose acknowledgement holds at `now`, by id.
    pub fn members_held(&self, now: Instant) -> Vec<RmId> {
        self.held.iter().filter(|(_, t)| **t > now).map(|(rm, _)| rm.clone()).collect()
    }
}

/// The member's side: the promise it gave (at most one leader's at a time).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Promises {
    /// No promotion by this controller before this instant.
    pub until: Option<Instant>,
    /// To whom, for which epoch.
    pub to: Option<(RmId, u64)>,
}

/// What a member knows when a request arrives.
#[derive(Debug, Clone, Copy)]
pub struct MemberFacts<'a> {
    pub own: &'a str,
    /// Our ZooKeeper connection is up.
    pub reaches_zookeeper: bool,
    /// Our RM may be ACTIVE (we lead, promote, hold it in failsafe, or it reports ACTIVE).
    pub rm_may_be_active: bool,
    /// The newest epoch this controller has seen.
    pub known_epoch: u64,
}

impl Promises {
    /// Answers `req` at `now`, recording the promise when granted.
    pub fn judge(
        &mut self,
        now: Instant,
        req: &AckRequest,
        settings: Option<&FailsafeSettings>,
        facts: MemberFacts<'_>,
    ) -> AckAnswer {
        let refuse = |reason: String| AckAnswer::Refused { reason };
        let Some(s) = settings else { return refuse("failsafe is off on this controller".into()) };
        if req.leader == facts.own || !s.is_member(&req.leader) {
            return refuse(format!("{} is not another member of this controller's failsafe.members", req.leader));
        }
        let lease = Duration::from_millis(req.lease_ms);
        if lease > s.lease {
            return refuse(format!(
                "asked for a lease of {} ms, longer than this controller's failsafe.lease ({} ms): set the same \
                 failsafe.lease on every controller",
                req.lease_ms,
                s.lease.as_millis()
            ));
        }
        if facts.reaches_zookeeper {
            return refuse("this controller reaches ZooKeeper: the leader must self-fence".into());
        }
        if facts.rm_may_be_active {
            return refuse("this controller's RM may be ACTIVE".into());
        }
        if req.epoch < facts.known_epoch {
            return refuse(format!("epoch {} is older than epoch {} known here", req.epoch, facts.known_epoch));
        }
        let live = self.until.is_some_and(|u| now < u);
        if let Some((leader, epoch)) = self.to.as_ref().filter(|_| live) {
            if *leader != req.leader && *epoch >= req.epoch {
                return refuse(format!("already promised {leader} (epoch {epoch})"));
            }
        }
        let until = now + lease + s.clock_margin();
        self.until = Some(self.until.map_or(until, |u| u.max(until)));
        self.to = Some((req.leader.clone(), req.epoch));
        AckAnswer::Granted { lease_ms: req.lease_ms }
    }
}

/// What the status document and the metrics show of the failsafe.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FailsafeStatus {
    /// `failsafe.enabled`.
    pub enabled: bool,
    /// The local RM is kept ACTIVE through a ZooKeeper outage right now.
    pub active: bool,
    /// Other members whose acknowledgement this controller holds now.
    pub acks_held: usize,
    /// Other members it needs.
    pub peers: usize,
    /// This controller promised a failsafe leader not to promote before this instant.
    pub promised_until: Option<Instant>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(n: usize) -> FailsafeSettings {
        FailsafeSettings {
            members: (1..=n)
                .map(|i| FailsafeMember { rm_id: format!("rm{i}"), admin_url: format!("http://h{i}:9093") })
                .collect(),
            lease: Duration::from_secs(3),
            demote_budget: Duration::from_millis(500),
        }
    }

    fn ms(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    fn member<'a>() -> MemberFacts<'a> {
        MemberFacts { own: "rm2", reaches_zookeeper: false, rm_may_be_active: false, known_epoch: 3 }
    }

    fn req(leader: &str, epoch: u64) -> AckRequest {
        AckRequest { leader: leader.into(), epoch, lease_ms: 3000 }
    }

    #[test]
    fn a_leader_holds_the_failsafe_only_with_an_acknowledgement_of_every_other_member() {
        let s = settings(3);
        let t0 = Instant::now();
        let mut acks = AckSet::new(3, t0);
        let mut next = 0;
        let sent = acks.due(t0, &s, "rm1", || {
            next += 1;
            OpId(next)
        });
        assert_eq!(sent.iter().map(|(_, m)| m.rm_id.as_str()).collect::<Vec<_>>(), ["rm2", "rm3"]);
        acks.answer(t0, sent[0].0, &Ok(AckAnswer::Granted { lease_ms: 3000 }), s.lease);
        assert_eq!(acks.all_held_until(ms(t0, 10), &s, "rm1"), None, "rm3 has not answered");
        acks.answer(t0, sent[1].0, &Ok(AckAnswer::Granted { lease_ms: 3000 }), s.lease);
        assert_eq!(acks.all_held_until(ms(t0, 10), &s, "rm1"), Some(ms(t0, 3000)), "counted from when it was sent");
        assert_eq!(acks.all_held_until(ms(t0, 3000), &s, "rm1"), None, "a lease runs out");
    }

    #[test]
    fn a_refusal_drops_what_that_member_granted_and_a_missing_answer_lets_the_lease_run_out() {
        let s = settings(2);
        let t0 = Instant::now();
        let mut acks = AckSet::new(3, t0);
        let first = acks.due(t0, &s, "rm1", || OpId(1));
        acks.answer(t0, first[0].0, &Ok(AckAnswer::Granted { lease_ms: 3000 }), s.lease);
        let second = acks.due(ms(t0, 1000), &s, "rm1", || OpId(2));
        acks.answer(ms(t0, 1000), second[0].0, &Err("connection refused".into()), s.lease);
        assert_eq!(acks.all_held_until(ms(t0, 1001), &s, "rm1"), Some(ms(t0, 3000)), "the first lease still holds");
        let third = acks.due(ms(t0, 2000), &s, "rm1", || OpId(3));
        acks.answer(ms(t0, 2000), third[0].0, &Ok(AckAnswer::Refused { reason: "reaches ZooKeeper".into() }), s.lease);
        assert_eq!(acks.all_held_until(ms(t0, 2001), &s, "rm1"), None);
        assert_eq!(acks.next_round, ms(t0, 2000) + RETRY_SOON, "asked again soon, not a round later");
    }

    #[test]
    fn an_answer_nobody_waits_for_changes_nothing_and_a_lost_request_is_sent_again() {
        let s = settings(2);
        let t0 = Instant::now();
        let mut acks = AckSet::new(3, t0);
        assert_eq!(acks.answer(t0, OpId(9), &Ok(AckAnswer::Granted { lease_ms: 3000 }), s.lease), None);
        assert_eq!(acks.due(t0, &s, "rm1", || OpId(1)).len(), 1);
        assert!(acks.due(ms(t0, 749), &s, "rm1", || OpId(2)).is_empty(), "not before the next round");
        assert_eq!(acks.due(ms(t0, 750), &s, "rm1", || OpId(3)).len(), 1, "unanswered for a round: lost");
    }

    #[test]
    fn a_member_grants_only_when_it_cannot_reach_zookeeper_and_its_rm_cannot_be_active() {
        let s = settings(3);
        let t0 = Instant::now();
        let mut p = Promises::default();
        let connected = MemberFacts { reaches_zookeeper: true, ..member() };
        assert!(matches!(p.judge(t0, &req("rm1", 3), Some(&s), connected), AckAnswer::Refused { .. }));
        let active = MemberFacts { rm_may_be_active: true, ..member() };
        assert!(matches!(p.judge(t0, &req("rm1", 3), Some(&s), active), AckAnswer::Refused { .. }));
        assert!(matches!(p.judge(t0, &req("rm1", 2), Some(&s), member()), AckAnswer::Refused { .. }), "stale epoch");
        assert!(matches!(p.judge(t0, &req("rm9", 3), Some(&s), member()), AckAnswer::Refused { .. }), "not a member");
        assert!(matches!(p.judge(t0, &req("rm1", 3), None, member()), AckAnswer::Refused { .. }), "failsafe off");
        assert_eq!(p.until, None, "nothing promised by a refusal");
        assert_eq!(p.judge(t0, &req("rm1", 3), Some(&s), member()), AckAnswer::Granted { lease_ms: 3000 });
        assert_eq!(p.until, Some(ms(t0, 3300)), "lease plus the clock margin");
    }

    #[test]
    fn a_member_promises_one_leader_at_a_time() {
        let s = settings(3);
        let t0 = Instant::now();
        let mut p = Promises::default();
        assert!(matches!(p.judge(t0, &req("rm1", 3), Some(&s), member()), AckAnswer::Granted { .. }));
        let other = MemberFacts { own: "rm2", ..member() };
        assert!(matches!(p.judge(ms(t0, 10), &req("rm3", 3), Some(&s), other), AckAnswer::Refused { .. }));
        assert!(
            matches!(p.judge(ms(t0, 3300), &req("rm3", 3), Some(&s), other), AckAnswer::Granted { .. }),
            "once the first promise ran out"
        );
        assert!(
            matches!(p.judge(ms(t0, 3400), &req("rm1", 4), Some(&s), other), AckAnswer::Granted { .. }),
            "a newer epoch wins"
        );
        assert_eq!(p.until, Some(ms(t0, 6700)), "the promise only ever grows");
    }

    #[test]
    fn a_lease_longer_than_ours_is_refused() {
        let s = settings(2);
        let mut p = Promises::default();
        let long = AckRequest { lease_ms: 9000, ..req("rm1", 3) };
        assert!(matches!(p.judge(Instant::now(), &long, Some(&s), member()), AckAnswer::Refused { .. }));
    }
}
