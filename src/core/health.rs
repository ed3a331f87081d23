//! Turning probe outcomes into an RM's health: *dead* (connection refused: the process is gone,
//! act at once), *slow* (timeouts: maybe a GC pause, tolerated up to a threshold), *hung* (too
//! many timeouts in a row), *unhealthy* (`HealthCheckFailedException`).
//!
//! A failed Kerberos authentication is tolerated like a timeout: it says nothing about the RM
//! yet (the KDC may be slow or restarting, a ticket renewal may have raced the probe), and a
//! leader must not demote a working RM after one KDC hiccup. Timeouts and authentication
//! failures count as misses together, so the `hung_after` probes a hung RM takes to be noticed
//! stay `hung_after` even when its reconnections stall in the Kerberos exchange.
//!
//! Owns: the thresholds' arithmetic. Must not: know about elections or fencing.

use crate::hadoop_ipc::HaState;

use super::types::PeerHealth;

/// What one probe of an RM found (reported by the RM adapter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// `getServiceStatus` and `monitorHealth` both answered fine.
    Healthy { state: HaState },
    /// `HealthCheckFailedException` (the state is known when `getServiceStatus` answered).
    Unhealthy { state: Option<HaState>, message: String },
    /// Connection refused.
    Refused,
    /// No answer within the probe timeout.
    TimedOut,
    /// Kerberos authentication to the RM failed or timed out (rmfc's ticket refused, the KDC
    /// unreachable or slow, the RM refusing the exchange): nothing learnt about the RM itself.
    AuthFailed { reason: String },
    /// Any other failure (broken connection, access denied, HA disabled): the RM cannot be driven.
    Failed { reason: String },
}

/// The health verdict after the latest probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RmHealth {
    /// Not probed yet.
    Unknown,
    Healthy,
    /// Missed (timed out or failed to authenticate) fewer than `hung_after` times in a row:
    /// still trusted.
    Slow {
        misses: u32,
    },
    Hung,
    Unhealthy,
    Dead,
    /// Answers, but not in a way rmfc can use (see the probe's reason).
    Failing,
}

impl RmHealth {
    /// May this RM's controller stand for election?
    pub fn eligible(self) -> bool {
        matches!(self, RmHealth::Healthy | RmHealth::Slow { .. })
    }

    pub fn as_peer_health(self) -> PeerHealth {
        match self {
            RmHealth::Unknown => PeerHealth::Unknown,
            RmHealth::Healthy => PeerHealth::Healthy,
            RmHealth::Slow { .. } => PeerHealth::Slow,
            RmHealth::Hung => PeerHealth::Hung,
            RmHealth::Unhealthy | RmHealth::Failing => PeerHealth::Unhealthy,
            RmHealth::Dead => PeerHealth::Dead,
        }
    }
}

/// Consecutive-outcome counters for one RM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthTracker {
    hung_after: u32,
    unhealthy_after: u32,
    /// Probes in a row that learnt nothing about the RM: timeouts and authentication failures.
    misses: u32,
    unhealthy: u32,
    health: RmHealth,
    /// The last HA state the RM reported.
    pub last_state: Option<HaState>,
}

impl HealthTracker {
    pub fn new(hung_after: u32, unhealthy_after: u32) -> Self {
        HealthTracker {
            hung_after: hung_after.max(1),
            unhealthy_after: unhealthy_after.max(1),
            misses: 0,
            unhealthy: 0,
            health: RmHealth::Unknown,
            last_state: None,
        }
    }

    pub fn health(&self) -> RmHealth {
        self.health
    }

    /// Folds one probe outcome in; returns the new verdict.
    pub fn observe(&mut self, outcome: &ProbeOutcome) -> RmHealth {
        if !matches!(outcome, ProbeOutcome::TimedOut | ProbeOutcome::AuthFailed { .. }) {
            self.misses = 0;
        }
        if !matches!(outcome, ProbeOutcome::Unhealthy { .. }) {
            self.unhealthy = 0;
        }
        self.health = match outcome {
            ProbeOutcome::Healthy { state } => {
                self.last_state = Some(*state);
                RmHealth::Healthy
            }
            ProbeOutcome::Unhealthy { state, .. } => {
                if state.is_some() {
                    self.last_state = *state;
                }
                self.unhealthy += 1;
                if self.unhealthy >= self.unhealthy_after {
                    RmHealth::Unhealthy
                } else {
                    RmHealth::Slow { misses: 0 }
                }
            }
            ProbeOutcome::Refused => {
                self.last_state = None;
                RmHealth::Dead
            }
            ProbeOutcome::TimedOut | ProbeOutcome::AuthFailed { .. } => {
                self.misses += 1;
                if self.misses < self.hung_after {
                    RmHealth::Slow { misses: self.misses }
                } else if matches!(outcome, ProbeOutcome::TimedOut) {
                    RmHealth::Hung
                } else {
                    // Still no authentication: rmfc cannot drive this RM (and cannot tell a
                    // slow KDC from a hung RM), which is what `Failing` says.
                    RmHealth::Failing
                }
            }
            ProbeOutcome::Failed { .. } => RmHealth::Failing,
        };
        self.health
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_connection_is_dead_at_once() {
        let mut t = HealthTracker::new(3, 1);
        assert_eq!(t.observe(&ProbeOutcome::Refused), RmHealth::Dead);
        assert!(!t.health().eligible());
    }

    #[test]
    fn timeouts_are_slow_until_the_threshold_then_hung() {
        let mut t = HealthTracker::new(3, 1);
        assert_eq!(t.observe(&ProbeOutcome::TimedOut), RmHealth::Slow { misses: 1 });
        assert!(t.health().eligible(), "a GC pause must not cost the election");
        assert_eq!(t.observe(&ProbeOutcome::TimedOut), RmHealth::Slow { misses: 2 });
        assert_eq!(t.observe(&ProbeOutcome::TimedOut), RmHealth::Hung);
        assert!(!t.health().eligible());
        assert_eq!(t.observe(&ProbeOutcome::Healthy { state: HaState::Standby }), RmHealth::Healthy);
        assert_eq!(t.observe(&ProbeOutcome::TimedOut), RmHealth::Slow { misses: 1 }, "an answer resets the count");
    }

    #[test]
    fn health_check_failures_count_up_to_their_own_threshold() {
        let mut t = HealthTracker::new(3, 2);
        let bad = ProbeOutcome::Unhealthy { state: Some(HaState::Active), message: "x".into() };
        assert!(t.observe(&bad).eligible());
        assert_eq!(t.observe(&bad), RmHealth::Unhealthy);
        assert_eq!(t.last_state, Some(HaState::Active));
    }

    fn auth_failed() -> ProbeOutcome {
        ProbeOutcome::AuthFailed { reason: "RM at rm1:8033: timed out authenticating (KDC or RM)".into() }
    }

    #[test]
    fn authentication_failures_are_tolerated_up_to_the_threshold() {
        let mut t = HealthTracker::new(3, 1);
        assert_eq!(t.observe(&auth_failed()), RmHealth::Slow { misses: 1 });
        assert!(t.health().eligible(), "one KDC hiccup must not cost the election");
        assert_eq!(t.observe(&auth_failed()), RmHealth::Slow { misses: 2 });
        assert!(t.health().eligible());
        assert_eq!(t.observe(&auth_failed()), RmHealth::Failing, "the third in a row: rmfc cannot drive it");
        assert!(!t.health().eligible());
        assert_eq!(t.observe(&auth_failed()), RmHealth::Failing, "and stays so while it lasts");
        assert_eq!(t.observe(&ProbeOutcome::Healthy { state: HaState::Active }), RmHealth::Healthy);
        assert_eq!(t.observe(&auth_failed()), RmHealth::Slow { misses: 1 }, "an answer resets the count");
    }

    #[test]
    fn timeouts_and_authentication_failures_are_misses_in_one_count() {
        // A hung RM under Kerberos: the kept connection times out, then each new connection
        // stalls in the Kerberos exchange. It must be out after hung_after probes, as without Kerberos.
        let mut t = HealthTracker::new(3, 1);
        assert_eq!(t.observe(&ProbeOutcome::TimedOut), RmHealth::Slow { misses: 1 });
        assert_eq!(t.observe(&auth_failed()), RmHealth::Slow { misses: 2 });
        assert_eq!(t.observe(&auth_failed()), RmHealth::Failing);

        let mut t = HealthTracker::new(3, 1);
        t.observe(&auth_failed());
        t.observe(&auth_failed());
        assert_eq!(t.observe(&ProbeOutcome::TimedOut), RmHealth::Hung, "the verdict follows the latest miss");
    }

    #[test]
    fn only_a_miss_continues_the_count() {
        let answers = [
            ProbeOutcome::Healthy { state: HaState::Standby },
            ProbeOutcome::Unhealthy { state: Some(HaState::Standby), message: "x".into() },
            ProbeOutcome::Refused,
            ProbeOutcome::Failed { reason: "access denied".into() },
        ];
        for answer in answers {
            let mut t = HealthTracker::new(2, 5);
            t.observe(&auth_failed());
            t.observe(&answer);
            assert_eq!(t.observe(&auth_failed()), RmHealth::Slow { misses: 1 }, "after {answer:?}");
        }
    }

    #[test]
    fn with_a_threshold_of_one_the_first_authentication_failure_counts() {
        let mut t = HealthTracker::new(1, 1);
        assert_eq!(t.observe(&auth_failed()), RmHealth::Failing);
    }

    #[test]
    fn an_unusable_answer_is_not_eligible() {
        let mut t = HealthTracker::new(3, 1);
        assert_eq!(t.observe(&ProbeOutcome::Failed { reason: "access denied".into() }), RmHealth::Failing);
        assert!(!t.health().eligible());
    }
}
