//! Switchover rules: which RMs an operator may hand the active role to (and, for each other
//! one, why not), and what a leader does with a pending switchover it reads. The admin API
//! (validation, dry run) and the leaders carrying a switchover out judge by these same rules.
//!
//! Owns: eligibility and the leader's verdict. Must not: do I/O or read a clock (the wall time
//! of the read is passed in).

use serde::Serialize;

use super::types::{Candidate, PeerHealth, RmId, Switchover, SwitchoverPhase};

/// What the rules look at: the election (lowest sequence first), the health each controller
/// last published, and the active RM of the state znode.
#[derive(Debug, Clone, Copy)]
pub struct SwitchoverFacts<'a> {
    pub candidates: &'a [Candidate],
    pub peer_health: &'a [(RmId, PeerHealth)],
    pub active: Option<&'a RmId>,
}

/// One RM's eligibility as a switchover target, with every reason it is not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Eligibility {
    pub rm_id: RmId,
    pub eligible: bool,
    pub reasons: Vec<String>,
}

/// How healthy a target must be. Accepting a request asks for a healthy RM; carrying an
/// accepted one on tolerates a slow probe (a GC pause), as the election does, so a request is
/// not abandoned for a blip between the operator's check and the hand-over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bar {
    Accept,
    CarryOn,
}

impl Bar {
    fn passes(self, h: PeerHealth) -> bool {
        match self {
            Bar::Accept => h == PeerHealth::Healthy,
            Bar::CarryOn => matches!(h, PeerHealth::Healthy | PeerHealth::Slow),
        }
    }
}

/// Judges `rm` as a target: it must stand in the election (its controller is alive and finds
/// it healthy), its controller's last report must pass `bar`, and it must not be the active RM.
pub fn judge(rm: &RmId, facts: SwitchoverFacts<'_>, bar: Bar) -> Eligibility {
    let mut reasons = Vec::new();
    if facts.active == Some(rm) {
        reasons.push("it is the active RM already".to_string());
    }
    if !facts.candidates.iter().any(|c| &c.rm_id == rm) {
        reasons
            .push("it does not stand in the election: its controller is down, or finds its RM unhealthy".to_string());
    }
    if let Some((_, h)) = facts.peer_health.iter().find(|(id, _)| id == rm) {
        if !bar.passes(*h) {
            reasons.push(format!("its controller reports it {}", format!("{h:?}").to_lowercase()));
        }
    }
    Eligibility { rm_id: rm.clone(), eligible: reasons.is_empty(), reasons }
}

/// Every RM in `rm_ids`, judged for a new request.
pub fn eligibility(rm_ids: &[RmId], facts: SwitchoverFacts<'_>) -> Vec<Eligibility> {
    rm_ids.iter().map(|rm| judge(rm, facts, Bar::Accept)).collect()
}

/// The target when the operator names none: the first eligible RM in election order (the one
/// that would win anyway, so nobody has to stand aside).
pub fn best_target(facts: SwitchoverFacts<'_>) -> Option<RmId> {
    facts.candidates.iter().map(|c| &c.rm_id).find(|rm| judge(rm, facts, Bar::Accept).eligible).cloned()
}

/// How long past its deadline a pending request still blocks a new one: the leader that finds
/// it expired clears and journals it; this covers that reaction and clock skew between hosts.
pub const STALE_AFTER_DEADLINE_MS: u64 = 30_000;

/// Why a new switchover cannot be recorded while `pending` is (None: it may replace it). A
/// request being handed over is never replaced (a leader is acting on it and will journal its
/// outcome); a merely requested one is, once it is stale past its deadline, so a request nobody
/// cleared cannot block switchovers for ever.
pub fn pending_refusal(pending: Option<&Switchover>, now_ms: u64) -> Option<String> {
    let p = pending?;
    let stale =
        p.phase == SwitchoverPhase::Requested && now_ms >= p.deadline_ms.saturating_add(STALE_AFTER_DEADLINE_MS);
    if stale {
        return None;
    }
    let when = if p.expired(now_ms) {
        "has passed its deadline and the leader is about to clear it; try again shortly".to_string()
    } else {
        format!("is in progress; wait for it (GET /v1/switchover/{}) or until its deadline", p.id)
    };
    Some(format!("switchover {} to {} ({:?}) {when}", p.id, p.target, p.phase))
}

/// What a leader does with the switchover it read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// We are the target: promote our RM (a manual switchover: pause and budget do not apply).
    Ours,
    /// The target is eligible and is not us: get out of its way (hand over if our RM is active).
    GiveWay,
    /// It can no longer happen: clear it and journal why.
    Abandon(String),
}

/// The verdict of the leader `me` on `sw`, read at `now_ms`.
pub fn verdict(sw: &Switchover, me: &RmId, now_ms: u64, facts: SwitchoverFacts<'_>) -> Verdict {
    if sw.expired(now_ms) {
        return Verdict::Abandon(format!("not completed before its deadline (target {})", sw.target));
    }
    if &sw.target == me {
        return Verdict::Ours;
    }
    let e = judge(&sw.target, facts, Bar::CarryOn);
    if e.eligible {
        Verdict::GiveWay
    } else {
        Verdict::Abandon(format!("target {} is no longer eligible: {}", sw.target, e.reasons.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(rm: &str, seq: u64) -> Candidate {
        Candidate { znode: format!("{rm}_g-n_{seq:010}"), rm_id: rm.into(), seq, owner: seq as i64 }
    }

    fn sw(target: &str, deadline_ms: u64) -> Switchover {
        Switchover {
            id: "op-1".into(),
            target: target.into(),
            from: Some("rm1".into()),
            reason: "maintenance".into(),
            by: "ops".into(),
            requested_ms: 0,
            deadline_ms,
            phase: SwitchoverPhase::Requested,
        }
    }

    #[test]
    fn a_healthy_standing_standby_is_eligible_and_the_active_is_not() {
        let c = [cand("rm1", 1), cand("rm2", 2), cand("rm3", 3)];
        let health = [("rm2".to_string(), PeerHealth::Healthy), ("rm3".to_string(), PeerHealth::Slow)];
        let active = "rm1".to_string();
        let f = SwitchoverFacts { candidates: &c, peer_health: &health, active: Some(&active) };
        let all = eligibility(&["rm1".into(), "rm2".into(), "rm3".into(), "rm4".into()], f);
        assert!(!all[0].eligible && all[0].reasons[0].contains("active RM already"), "{:?}", all[0]);
        assert!(all[1].eligible, "{:?}", all[1]);
        assert!(!all[2].eligible && all[2].reasons[0].contains("reports it slow"), "{:?}", all[2]);
        assert!(!all[3].eligible && all[3].reasons[0].contains("does not stand in the election"), "{:?}", all[3]);
        assert_eq!(best_target(f), Some("rm2".into()));
    }

    #[test]
    fn a_slow_target_is_not_accepted_but_an_accepted_one_is_not_abandoned_for_a_slow_probe() {
        let c = [cand("rm1", 1), cand("rm2", 2)];
        let me = "rm1".to_string();
        let slow = [("rm2".to_string(), PeerHealth::Slow)];
        let f = SwitchoverFacts { candidates: &c, peer_health: &slow, active: Some(&me) };
        assert!(!eligibility(&["rm2".into()], f)[0].eligible);
        assert_eq!(verdict(&sw("rm2", 100), &me, 50, f), Verdict::GiveWay);
        for h in [PeerHealth::Hung, PeerHealth::Unhealthy, PeerHealth::Dead] {
            let bad = [("rm2".to_string(), h)];
            let f = SwitchoverFacts { candidates: &c, peer_health: &bad, active: Some(&me) };
            assert!(matches!(verdict(&sw("rm2", 100), &me, 50, f), Verdict::Abandon(_)), "{h:?}");
        }
    }

    #[test]
    fn a_pending_request_blocks_a_new_one_until_it_is_stale_and_a_hand_over_always_does() {
        let requested = sw("rm3", 100);
        assert!(pending_refusal(None, 50).is_none());
        assert!(pending_refusal(Some(&requested), 50).is_some_and(|r| r.contains("in progress")));
        assert!(pending_refusal(Some(&requested), 100).is_some_and(|r| r.contains("about to clear")));
        assert!(pending_refusal(Some(&requested), 100 + STALE_AFTER_DEADLINE_MS).is_none());
        let handing_over = Switchover { phase: SwitchoverPhase::HandingOver, ..sw("rm3", 100) };
        assert!(pending_refusal(Some(&handing_over), 100 + 10 * STALE_AFTER_DEADLINE_MS).is_some());
    }

    #[test]
    fn no_best_target_when_nobody_else_stands() {
        let c = [cand("rm1", 1)];
        let active = "rm1".to_string();
        let f = SwitchoverFacts { candidates: &c, peer_health: &[], active: Some(&active) };
        assert_eq!(best_target(f), None);
    }

    #[test]
    fn leaders_give_way_to_an_eligible_target_and_abandon_an_expired_or_ineligible_one() {
        let c = [cand("rm2", 2), cand("rm3", 3)];
        let f = SwitchoverFacts { candidates: &c, peer_health: &[], active: None };
        let me = "rm2".to_string();
        assert_eq!(verdict(&sw("rm3", 100), &me, 50, f), Verdict::GiveWay);
        assert_eq!(verdict(&sw("rm2", 100), &me, 50, f), Verdict::Ours);
        assert!(matches!(verdict(&sw("rm3", 100), &me, 100, f), Verdict::Abandon(r) if r.contains("deadline")));
        assert!(matches!(verdict(&sw("rm4", 100), &me, 50, f), Verdict::Abandon(r) if r.contains("election")));
        // Even the target abandons an expired switchover (then it is an ordinary promotion).
        assert!(matches!(verdict(&sw("rm2", 100), &me, 150, f), Verdict::Abandon(_)));
    }
}
