//! One IPC probe of one RM (`getServiceStatus`, then `monitorHealth`, within one deadline) and
//! the mapping of what happened onto the core's [`ProbeOutcome`]: connection refused is *dead*,
//! no answer is *slow*, `HealthCheckFailedException` is *unhealthy*, a failed Kerberos
//! authentication is its own outcome (the core tolerates it like a timeout), anything else is an
//! RM that answers in a way rmfc cannot use.
//!
//! Owns: that mapping (pure, tested here) and the probe connection's use. Must not: judge how
//! many misses make an RM hung (the core's health tracker does).

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::core::health::ProbeOutcome;
use crate::hadoop_ipc::{HaClient, HaError, HaState, HaStatus};

/// What a failed call means for the probe; `state` is the HA state when the status call answered.
pub(super) fn outcome_of_error(state: Option<HaState>, e: HaError) -> ProbeOutcome {
    match e {
        HaError::ProcessGone { .. } => ProbeOutcome::Refused,
        HaError::Timeout { .. } => ProbeOutcome::TimedOut,
        HaError::HealthCheckFailed { message, .. } => ProbeOutcome::Unhealthy { state, message },
        e @ (HaError::AuthFailed { .. } | HaError::AuthTimeout { .. }) => {
            ProbeOutcome::AuthFailed { reason: e.to_string() }
        }
        other => ProbeOutcome::Failed { reason: other.to_string() },
    }
}

/// The HA state the probe learnt, if any.
pub(super) fn state_of(outcome: &ProbeOutcome) -> Option<HaState> {
    match outcome {
        ProbeOutcome::Healthy { state } => Some(*state),
        ProbeOutcome::Unhealthy { state, .. } => *state,
        _ => None,
    }
}

/// Folds the REST result into the IPC outcome. IPC wins: a REST failure only matters when IPC
/// found the RM healthy, and then makes it unhealthy (its web side is broken) with the reason.
pub(super) fn combine(ipc: ProbeOutcome, rest: Result<(), String>) -> ProbeOutcome {
    match (ipc, rest) {
        (ProbeOutcome::Healthy { state }, Err(message)) => ProbeOutcome::Unhealthy { state: Some(state), message },
        (ipc, _) => ipc,
    }
}

fn remaining(deadline: Instant) -> Option<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    (!left.is_zero()).then_some(left)
}

/// `getServiceStatus` + `monitorHealth` on the reused connection, all before `deadline`.
pub(super) async fn ipc(client: &Mutex<HaClient>, deadline: Instant) -> ProbeOutcome {
    // A probe still holding the connection (it cannot outlive its own deadline, but be sure)
    // makes this one a miss rather than a wait past the deadline.
    let Ok(mut client) = tokio::time::timeout_at(deadline, client.lock()).await else {
        return ProbeOutcome::TimedOut;
    };
    let Some(left) = remaining(deadline) else { return ProbeOutcome::TimedOut };
    let status = match status(&mut client, left, deadline).await {
        Ok(s) => s,
        Err(e) => return outcome_of_error(None, e),
    };
    let Some(left) = remaining(deadline) else { return ProbeOutcome::TimedOut };
    match client.monitor_health(left).await {
        Ok(()) => ProbeOutcome::Healthy { state: status.state },
        Err(e) => outcome_of_error(Some(status.state), e),
    }
}

/// Whether a failed `getServiceStatus` is worth a second try on a fresh connection (the failed
/// one is closed by then): after the RM restarted or was killed, the kept connection fails with
/// a reset or EOF, and only a new connection tells *refused* (dead) from *restarted* (fine); and
/// one Kerberos exchange may fail for a passing reason (a KDC fail-over, a renewal racing the
/// exchange) that the next one does not meet.
fn worth_a_fresh_connection(e: &HaError) -> bool {
    matches!(e, HaError::Unreachable { .. } | HaError::AuthFailed { .. })
}

/// `getServiceStatus`, tried a second time on a fresh connection when
/// [`worth_a_fresh_connection`], within the same deadline. The call only reads, so repeating it
/// is harmless.
async fn status(client: &mut HaClient, left: Duration, deadline: Instant) -> Result<HaStatus, HaError> {
    match client.get_service_status(left).await {
        Err(e) if worth_a_fresh_connection(&e) => match remaining(deadline) {
            Some(left) => client.get_service_status(left).await,
            None => Err(e),
        },
        r => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hadoop_ipc::error::CallPhase;

    fn addr() -> String {
        "rm1:8033".into()
    }

    #[test]
    fn errors_map_to_dead_slow_unhealthy_or_unusable() {
        let cases: Vec<(HaError, ProbeOutcome)> = vec![
            (HaError::ProcessGone { addr: addr() }, ProbeOutcome::Refused),
            (
                HaError::Timeout { addr: addr(), phase: CallPhase::Call, after: Duration::from_secs(1) },
                ProbeOutcome::TimedOut,
            ),
            (
                HaError::Timeout { addr: addr(), phase: CallPhase::Connect, after: Duration::from_secs(1) },
                ProbeOutcome::TimedOut,
            ),
            (
                HaError::HealthCheckFailed { addr: addr(), message: "services are not running".into() },
                ProbeOutcome::Unhealthy { state: Some(HaState::Active), message: "services are not running".into() },
            ),
        ];
        for (e, want) in cases {
            assert_eq!(outcome_of_error(Some(HaState::Active), e), want);
        }
    }

    #[test]
    fn unusable_answers_carry_the_rms_message_and_the_hint() {
        let e = HaError::AccessDenied {
            addr: addr(),
            message: "User bob doesn't have permission to call 'getServiceState'".into(),
            hint: Some("add rmfc's user to yarn.admin.acl".into()),
        };
        let ProbeOutcome::Failed { reason } = outcome_of_error(None, e) else { panic!("not Failed") };
        assert!(reason.contains("doesn't have permission") && reason.contains("yarn.admin.acl"), "{reason}");

        let e = HaError::Unreachable { addr: addr(), reason: "connection closed by the server".into() };
        assert!(matches!(outcome_of_error(None, e), ProbeOutcome::Failed { .. }));
        let e = HaError::HaNotEnabled { addr: addr(), message: "Unknown protocol".into() };
        let ProbeOutcome::Failed { reason } = outcome_of_error(None, e) else { panic!("not Failed") };
        assert!(reason.contains("ha.enabled"), "{reason}");
    }

    #[test]
    fn a_kerberos_failure_is_its_own_outcome_with_the_reason() {
        let e = HaError::AuthFailed {
            addr: addr(),
            reason: "Kerberos: Cannot contact any KDC for realm 'RMFC.TEST' (as rmfc/h@RMFC.TEST)".into(),
        };
        let ProbeOutcome::AuthFailed { reason } = outcome_of_error(Some(HaState::Active), e) else {
            panic!("not AuthFailed")
        };
        assert!(reason.contains("rm1:8033") && reason.contains("Cannot contact any KDC"), "{reason}");
    }

    #[test]
    fn a_timeout_while_authenticating_is_a_kerberos_failure_not_a_hung_rm() {
        let e = HaError::AuthTimeout { addr: addr(), after: Duration::from_secs(3) };
        let ProbeOutcome::AuthFailed { reason } = outcome_of_error(None, e) else { panic!("not AuthFailed") };
        assert!(reason.contains("timed out authenticating (KDC or RM)"), "{reason}");
    }

    #[test]
    fn broken_connections_and_kerberos_failures_get_one_fresh_connection() {
        let retried = [
            HaError::Unreachable { addr: addr(), reason: "connection reset by peer".into() },
            HaError::AuthFailed { addr: addr(), reason: "the server refused: GSS initiate failed".into() },
        ];
        for e in retried {
            assert!(worth_a_fresh_connection(&e), "{e}");
        }
        let final_answers = [
            HaError::ProcessGone { addr: addr() },
            HaError::Timeout { addr: addr(), phase: CallPhase::Call, after: Duration::from_secs(1) },
            // The deadline is spent: nothing left for a second exchange.
            HaError::AuthTimeout { addr: addr(), after: Duration::from_secs(1) },
            HaError::HealthCheckFailed { addr: addr(), message: "x".into() },
            HaError::AccessDenied { addr: addr(), message: "x".into(), hint: None },
            HaError::KerberosRequired {
                addr: addr(),
                message: "x".into(),
                names: crate::hadoop_ipc::error::SettingNames::ConfigKeys,
            },
        ];
        for e in final_answers {
            assert!(!worth_a_fresh_connection(&e), "{e}");
        }
    }

    #[test]
    fn a_health_failure_before_the_status_answered_has_no_state() {
        let e = HaError::HealthCheckFailed { addr: addr(), message: "x".into() };
        assert_eq!(outcome_of_error(None, e), ProbeOutcome::Unhealthy { state: None, message: "x".into() });
    }

    #[test]
    fn rest_only_downgrades_a_healthy_ipc_answer() {
        let healthy = ProbeOutcome::Healthy { state: HaState::Standby };
        assert_eq!(combine(healthy.clone(), Ok(())), healthy);
        assert_eq!(
            combine(healthy, Err("REST http://rm1:8088/ws/v1/cluster/info: HTTP 500".into())),
            ProbeOutcome::Unhealthy {
                state: Some(HaState::Standby),
                message: "REST http://rm1:8088/ws/v1/cluster/info: HTTP 500".into()
            }
        );
        for ipc in [
            ProbeOutcome::Refused,
            ProbeOutcome::TimedOut,
            ProbeOutcome::AuthFailed { reason: "x".into() },
            ProbeOutcome::Failed { reason: "x".into() },
            ProbeOutcome::Unhealthy { state: Some(HaState::Active), message: "ipc".into() },
        ] {
            assert_eq!(combine(ipc.clone(), Err("rest".into())), ipc, "IPC's verdict stands");
        }
    }

    #[test]
    fn the_state_learnt_is_reported_when_known() {
        assert_eq!(state_of(&ProbeOutcome::Healthy { state: HaState::Active }), Some(HaState::Active));
        assert_eq!(state_of(&ProbeOutcome::Unhealthy { state: None, message: String::new() }), None);
        assert_eq!(state_of(&ProbeOutcome::TimedOut), None);
    }
}
