//! `GET /v1/status`: the whole cluster as this daemon sees it — every configured RM with its
//! HA state as probed now and its health as its own controller last reported, which RMs stand
//! in the election, the leader, the epoch, this daemon's session and role, the failover budget
//! left and the worst-case failover time.
//!
//! Owns: the status document. Must not: change anything.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use super::{AdminState, DaemonStatus};
use crate::core::health::ProbeOutcome;

#[derive(Debug, Serialize)]
pub struct RmStatus {
    pub id: String,
    /// As probed just now: active, standby, initializing, or why it could not be asked.
    pub ha_state: String,
    /// As its own controller last reported it (None: no report).
    pub health: Option<String>,
    pub health_age_ms: Option<u64>,
    /// Stands in the election (its RM is healthy and its controller is alive).
    pub candidate: bool,
    /// Place in the election: 0 is the leader, 1 next in line, ... (None: not a candidate).
    pub election_rank: Option<usize>,
    pub leader: bool,
}

#[derive(Debug, Serialize)]
pub struct ClusterStatus {
    pub cluster: String,
    pub this_rm: String,
    pub this_daemon: DaemonStatus,
    pub leader: Option<String>,
    pub active_rm: Option<String>,
    pub epoch: Option<u64>,
    pub rms: Vec<RmStatus>,
    pub paused: Option<serde_json::Value>,
    pub pending_switchover: Option<serde_json::Value>,
    pub failover_budget_remaining: Option<u32>,
    pub worst_case_failover_seconds: f64,
    pub problems: Vec<String>,
}

fn describe(o: &ProbeOutcome) -> String {
    match o {
        ProbeOutcome::Healthy { state } => state.to_string(),
        ProbeOutcome::Unhealthy { state: Some(state), .. } => format!("{state} (unhealthy)"),
        ProbeOutcome::Unhealthy { state: None, message } => format!("unhealthy: {message}"),
        ProbeOutcome::Refused => "down (connection refused)".into(),
        ProbeOutcome::TimedOut => "not answering (timeout)".into(),
        ProbeOutcome::AuthFailed { reason } => format!("not authenticated: {reason}"),
        ProbeOutcome::Failed { reason } => format!("error: {reason}"),
    }
}

pub async fn status(State(s): State<AdminState>) -> Response {
    let daemon = s.status.borrow().clone();
    let probes = futures_join(&s).await;
    let (view, mut problems) = match s.zk.snapshot().await {
        Ok(v) => {
            let p = v.problems.clone();
            (Some(v), p)
        }
        Err(e) => (None, vec![format!("ZooKeeper: {e}")]),
    };
    let leader = view.as_ref().and_then(|v| v.candidates.first().map(|c| c.rm_id.clone()));
    let rms = s
        .rm_ids
        .iter()
        .zip(probes)
        .map(|(id, probe)| {
            let report = view.as_ref().and_then(|v| v.peer_health.iter().find(|h| &h.rm_id == id));
            RmStatus {
                id: id.clone(),
                ha_state: describe(&probe),
                health: report.map(|r| format!("{:?}", r.health).to_lowercase()),
                health_age_ms: report.map(|r| r.age_ms),
                candidate: view.as_ref().is_some_and(|v| v.candidates.iter().any(|c| &c.rm_id == id)),
                election_rank: view.as_ref().and_then(|v| v.candidates.iter().position(|c| &c.rm_id == id)),
                leader: leader.as_ref() == Some(id),
            }
        })
        .collect();
    if view.as_ref().is_some_and(|v| v.candidates.is_empty()) {
        problems.push("no candidate stands in the election: no RM can be promoted".into());
    }
    let doc = ClusterStatus {
        cluster: s.cluster.clone(),
        this_rm: s.rm_id.clone(),
        // From the state read now, on every daemon (the controller's own figure is the
        // leader's last read, and followers have none).
        failover_budget_remaining: view.as_ref().and_then(|v| {
            let st = v.state.as_ref()?;
            Some(s.failover_budget.remaining(&st.recent_failovers_ms, v.read_at_ms))
        }),
        this_daemon: daemon,
        leader,
        active_rm: view.as_ref().and_then(|v| v.state.as_ref().and_then(|st| st.active_rm.clone())),
        epoch: view.as_ref().and_then(|v| v.state.as_ref().map(|st| st.epoch)),
        rms,
        // A pause whose `for` ran out is no longer in force (the leaders ignore it): not shown.
        paused: view
            .as_ref()
            .and_then(|v| v.state.as_ref()?.pause.clone().filter(|p| p.in_force(v.read_at_ms)))
            .and_then(|p| serde_json::to_value(p).ok()),
        pending_switchover: view
            .as_ref()
            .and_then(super::switchover::pending_progress)
            .and_then(|p| serde_json::to_value(p).ok()),
        worst_case_failover_seconds: s.worst_case_failover.as_secs_f64(),
        problems,
    };
    Json(doc).into_response()
}

/// Probes every configured RM concurrently (each bounded by the probe timeout).
async fn futures_join(s: &AdminState) -> Vec<ProbeOutcome> {
    let handles: Vec<_> = s
        .rm_ids
        .iter()
        .map(|id| {
            let rm = s.rm.clone();
            let id = id.clone();
            tokio::spawn(async move { rm.probe(&id).await })
        })
        .collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap_or(ProbeOutcome::Failed { reason: "probe task failed".into() }));
    }
    out
}
