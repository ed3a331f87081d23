//! The timing budget: from the settings alone, the worst-case time to detect each kind of
//! failure of the active RM and to have another RM active. Printed by `check-config` and at
//! start-up, exported as a metric, and checked by `lint` against the ZooKeeper session timeout.
//!
//! Owns: the formulas (below, one place). Must not: measure anything or read a clock; this is
//! arithmetic on a [`Config`].
//!
//! Notation: I = health.interval, T = health.timeout, S = the effective session timeout (the
//! requested one clamped by the servers to [2×tick, 20×tick]), k = zookeeper.server_tick_time,
//! G = fencing.graceful_timeout, M = Σ over fencing.methods of what each can add before a
//! promotion (shell and http: their timeout; zk_state_store: 0, its check runs after the
//! promotion), P = transition.timeout. The prober runs one probe at a time and starts the next
//! I after the previous one ended (that is how the core schedules `Probe`).
//!
//! Detection:
//! - dead RM (connection refused) = I + T: a probe in flight when the process died may only end
//!   at its deadline, and the next one, I later, is refused at once.
//! - hung RM = hung_after × (I + T): the hang may start just after an answered probe; each of the
//!   hung_after timed-out probes costs a wait of I and a deadline of T.
//! - unhealthy RM = unhealthy_after × (I + T): same shape (a failing health check usually
//!   answers fast, so this is generous).
//! - lost controller = S + k + I: the server expires a silent session after S, rounded up to its
//!   next tick (ZooKeeper's expiry queue works in tick-sized buckets), and one more health
//!   interval for the successor, whose candidacy rests on its latest probe.
//!
//! Failover = detection + fencing + P, where fencing = G + M, except for a dead RM: graceful
//! fencing is refused at once by the missing process (or skipped, as the core does for an RM
//! its own controller reported gone), so fencing = M. ZooKeeper round trips (election hand-over,
//! state writes) take milliseconds and are not counted. The store check of zk_state_store runs
//! after the new RM is active and is reported on its own (`store_verify`).
//!
//! Self-fencing = 9/20 × S + G: the zookeeper-client crate reported Disconnected after up to
//! ~0.45 × S in the worst case observed, then the local RM gets `transitionToStandby` with G.

use std::time::Duration;

use super::{Config, FenceMethod};

/// The zookeeper-client crate reports `Disconnected` after at most this fraction of the session
/// timeout (worst case observed): 9/20 = 0.45.
pub const DISCONNECT_DETECT_NUM: u32 = 9;
pub const DISCONNECT_DETECT_DEN: u32 = 20;

/// A kind of failure of the active RM, as the budget distinguishes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The RM process is gone (connection refused).
    DeadRm,
    /// The RM stopped answering (timeouts).
    HungRm,
    /// The RM answers but fails its health check.
    UnhealthyRm,
    /// The RM's controller is gone (crashed, partitioned): its ZooKeeper session expires.
    LostController,
}

impl FailureKind {
    pub const ALL: [FailureKind; 4] =
        [FailureKind::DeadRm, FailureKind::HungRm, FailureKind::UnhealthyRm, FailureKind::LostController];

    /// A short snake_case name (JSON, metrics labels).
    pub fn name(self) -> &'static str {
        match self {
            FailureKind::DeadRm => "dead_rm",
            FailureKind::HungRm => "hung_rm",
            FailureKind::UnhealthyRm => "unhealthy_rm",
            FailureKind::LostController => "lost_controller",
        }
    }

    /// How an operator would say it.
    pub fn describe(self) -> &'static str {
        match self {
            FailureKind::DeadRm => "RM process dead",
            FailureKind::HungRm => "RM hung",
            FailureKind::UnhealthyRm => "RM unhealthy",
            FailureKind::LostController => "controller lost",
        }
    }
}

/// The budget of one failure kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindBudget {
    pub kind: FailureKind,
    /// Worst case from the failure to the controllers acting on it.
    pub detect: Duration,
    /// Worst case fencing of the old active before the promotion.
    pub fence: Duration,
    /// Worst case from the failure to another RM active: detect + fence + transition.timeout.
    pub failover: Duration,
}

/// What the settings imply, worst cases (see the module docs for each formula).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimingBudget {
    /// Detection of a dead RM process.
    pub dead_rm: Duration,
    /// Detection of a hung RM.
    pub hung_rm: Duration,
    /// Detection of an unhealthy RM.
    pub unhealthy_rm: Duration,
    /// Detection of a lost controller (session expiry).
    pub lost_controller: Duration,
    /// The longest fencing can take before a promotion: G + M.
    pub fencing_worst: Duration,
    /// The longest a promotion can take: transition.timeout.
    pub promotion_worst: Duration,
    /// The worst failover over all kinds.
    pub failover_worst: Duration,
    /// The session timeout the servers will grant (requested, clamped to [2×tick, 20×tick]).
    pub effective_session_timeout: Duration,
    /// Worst case from losing the ZooKeeper connection to the local RM demoted.
    pub self_fence_worst: Duration,
    /// After a promotion, the longest zk_state_store takes to verify the store changed hands
    /// (`None` without a zk_state_store method).
    pub store_verify: Option<Duration>,
    /// One row per failure kind, in [`FailureKind::ALL`] order.
    pub kinds: [KindBudget; 4],
}

impl TimingBudget {
    pub fn kind(&self, kind: FailureKind) -> &KindBudget {
        &self.kinds[FailureKind::ALL.iter().position(|k| *k == kind).unwrap_or(0)]
    }
}

/// The session timeout a ZooKeeper server with the default min/max session timeouts grants.
pub fn effective_session_timeout(requested: Duration, tick: Duration) -> Duration {
    requested.clamp(tick * 2, tick * 20)
}

pub(super) fn compute(cfg: &Config) -> TimingBudget {
    let h = &cfg.health;
    let probe = h.interval + h.timeout;
    let session = effective_session_timeout(cfg.zookeeper.session_timeout, cfg.zookeeper.server_tick_time);
    let graceful = cfg.fencing.graceful_timeout;
    let methods: Duration = cfg.fencing.methods.iter().map(FenceMethod::pre_promotion_worst).sum();
    let promote = cfg.transition.timeout;

    let row = |kind, detect: Duration| {
        let fence = if kind == FailureKind::DeadRm { methods } else { graceful + methods };
        KindBudget { kind, detect, fence, failover: detect + fence + promote }
    };
    let kinds = [
        row(FailureKind::DeadRm, probe),
        row(FailureKind::HungRm, probe * h.hung_after),
        row(FailureKind::UnhealthyRm, probe * h.unhealthy_after),
        row(FailureKind::LostController, session + cfg.zookeeper.server_tick_time + h.interval),
    ];
    let store_verify = cfg
        .fencing
        .methods
        .iter()
        .filter_map(|m| match m {
            FenceMethod::ZkStateStore { verify_timeout, .. } => Some(*verify_timeout),
            _ => None,
        })
        .max();
    TimingBudget {
        dead_rm: kinds[0].detect,
        hung_rm: kinds[1].detect,
        unhealthy_rm: kinds[2].detect,
        lost_controller: kinds[3].detect,
        fencing_worst: graceful + methods,
        promotion_worst: promote,
        failover_worst: kinds.iter().map(|k| k.failover).max().unwrap_or_default(),
        effective_session_timeout: session,
        self_fence_worst: session * DISCONNECT_DETECT_NUM / DISCONNECT_DETECT_DEN + graceful,
        store_verify,
        kinds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::minimal;

    fn s(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    #[test]
    fn defaults() {
        let b = minimal().timing_budget();
        // I=1s T=3s hung_after=3 unhealthy_after=1 S=10s k=2s G=5s M=0 (zk_state_store) P=60s
        assert_eq!(b.dead_rm, s(4));
        assert_eq!(b.hung_rm, s(12));
        assert_eq!(b.unhealthy_rm, s(4));
        assert_eq!(b.lost_controller, s(13));
        assert_eq!(b.fencing_worst, s(5));
        assert_eq!(b.promotion_worst, s(60));
        assert_eq!(b.kind(FailureKind::DeadRm).failover, s(64), "no graceful fencing of a dead process");
        assert_eq!(b.kind(FailureKind::HungRm).failover, s(12 + 5 + 60));
        assert_eq!(b.kind(FailureKind::UnhealthyRm).failover, s(4 + 5 + 60));
        assert_eq!(b.kind(FailureKind::LostController).failover, s(13 + 5 + 60));
        assert_eq!(b.failover_worst, s(78));
        assert_eq!(b.effective_session_timeout, s(10));
        assert_eq!(b.self_fence_worst, Duration::from_millis(9500));
        assert_eq!(b.store_verify, Some(s(10)));
    }

    #[test]
    fn formulas_follow_each_setting() {
        let mut c = minimal();
        c.health.interval = Duration::from_millis(500);
        c.health.timeout = s(2);
        c.health.hung_after = 4;
        c.health.unhealthy_after = 2;
        c.zookeeper.session_timeout = s(6);
        c.zookeeper.server_tick_time = Duration::from_millis(500);
        c.fencing.graceful_timeout = s(3);
        c.fencing.methods = vec![
            FenceMethod::Shell { command: "x".into(), timeout: s(20) },
            FenceMethod::default_zk_state_store(),
            FenceMethod::Http { url: "http://pdu".into(), timeout: s(7) },
        ];
        c.transition.timeout = s(30);
        let b = c.timing_budget();
        assert_eq!(b.dead_rm, Duration::from_millis(2500));
        assert_eq!(b.hung_rm, s(10));
        assert_eq!(b.unhealthy_rm, s(5));
        assert_eq!(b.lost_controller, s(7));
        assert_eq!(b.fencing_worst, s(3 + 20 + 7));
        assert_eq!(b.kind(FailureKind::DeadRm).fence, s(27));
        assert_eq!(b.kind(FailureKind::HungRm).failover, s(10 + 30 + 30));
        assert_eq!(b.failover_worst, s(70));
        assert_eq!(b.self_fence_worst, Duration::from_millis(2700 + 3000));
    }

    #[test]
    fn the_servers_clamp_the_session_timeout() {
        let cases = [(1, 2, 4), (4, 2, 4), (10, 2, 10), (40, 2, 40), (60, 2, 40), (3, 1, 3)];
        for (req, tick, want) in cases {
            assert_eq!(effective_session_timeout(s(req), s(tick)), s(want), "{req}s with tick {tick}s");
        }
        let mut c = minimal();
        c.zookeeper.session_timeout = s(60);
        let b = c.timing_budget();
        assert_eq!(b.lost_controller, s(40 + 2 + 1), "the budget uses what the server grants");
    }

    #[test]
    fn no_store_method_means_no_store_check() {
        let mut c = minimal();
        c.fencing.methods.clear();
        assert_eq!(c.timing_budget().store_verify, None);
        assert_eq!(c.timing_budget().kind(FailureKind::DeadRm).fence, Duration::ZERO);
    }
}
