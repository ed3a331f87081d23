//! `POST /v1/switchover {"target", "reason", "dry_run", "timeout"}`, `GET /v1/switchover` and
//! `GET /v1/switchover/{id}`. Any daemon accepts a request: it judges the target by the core's
//! switchover rules against what ZooKeeper holds now, and records the request in the state
//! znode with CAS (so two operators cannot start two switchovers); the leaders carry it out
//! (see `core::controller::handoff`). Progress is the request's phase while it is pending; the
//! outcome is the journal entry carrying its id.
//!
//! Owns: the switchover endpoints' validation and documents. Must not: touch any RM, or decide
//! anything the core decides (it refuses early what the leaders would refuse anyway).

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::ops::accept;
use super::{error, read_view, AdminState};
use crate::core::switchover::{best_target, eligibility, pending_refusal, Eligibility, SwitchoverFacts};
use crate::core::types::{PeerHealth, RmId, Switchover, SwitchoverPhase, Trigger};
use crate::zk::{ClusterView, HistoryRecord};

/// How long a switchover may take unless the request says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
const TIMEOUT_RANGE: (Duration, Duration) = (Duration::from_secs(5), Duration::from_secs(30 * 60));

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SwitchoverRequest {
    target: Option<String>,
    reason: Option<String>,
    #[serde(default)]
    dry_run: bool,
    timeout: Option<String>,
}

/// The answer to a dry run: what would happen, and each RM's eligibility.
#[derive(Debug, Serialize)]
struct DryRun {
    dry_run: bool,
    /// Whether the request would be accepted now.
    accepted: bool,
    target: Option<RmId>,
    active_rm: Option<RmId>,
    /// Why it would be refused (when it would).
    refusal: Option<String>,
    candidates: Vec<Eligibility>,
}

/// Where one switchover stands.
#[derive(Debug, Serialize)]
pub struct SwitchoverProgress {
    pub id: String,
    /// `in_progress`, `succeeded` or `failed`.
    pub state: &'static str,
    /// While in progress: `requested` or `handing_over`.
    pub phase: Option<SwitchoverPhase>,
    pub target: RmId,
    pub from: Option<RmId>,
    pub reason: String,
    pub by: String,
    /// The journal's outcome once finished.
    pub outcome: Option<String>,
    pub epoch: Option<u64>,
    pub deadline_ms: Option<u64>,
    pub finished_at_ms: Option<u64>,
}

fn facts_of(view: &ClusterView) -> (Vec<(RmId, PeerHealth)>, Option<RmId>) {
    let health = view.peer_health.iter().map(|h| (h.rm_id.clone(), h.health)).collect();
    let active = view.state.as_ref().and_then(|s| s.active_rm.clone());
    (health, active)
}

pub async fn request(
    State(s): State<AdminState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (by, req): (String, SwitchoverRequest) = match accept(&s, peer, &headers, &body) {
        Ok(accepted) => accepted,
        Err((code, msg)) => return error(code, msg),
    };
    if let Some(t) = req.target.as_ref().filter(|t| !s.rm_ids.contains(t)) {
        return error(
            StatusCode::BAD_REQUEST,
            format!("unknown target {t:?}: the configured RMs are {}", s.rm_ids.join(", ")),
        );
    }
    let reason = req.reason.map(|r| r.trim().to_string()).filter(|r| !r.is_empty());
    if reason.is_none() && !req.dry_run {
        return error(StatusCode::BAD_REQUEST, "a switchover needs a reason: {\"reason\": \"...\"}");
    }
    let timeout = match req.timeout.as_deref().map(humantime::parse_duration) {
        None => DEFAULT_TIMEOUT,
        Some(Ok(d)) if d >= TIMEOUT_RANGE.0 && d <= TIMEOUT_RANGE.1 => d,
        Some(Ok(_)) => return error(StatusCode::BAD_REQUEST, "\"timeout\" must be between 5s and 30m"),
        Some(Err(e)) => return error(StatusCode::BAD_REQUEST, format!("\"timeout\": {e} (e.g. \"2m\")")),
    };
    let view = match read_view(&s).await {
        Ok(v) => v,
        Err(answer) => return answer,
    };
    if view.state_version.is_some() && view.state.is_none() {
        // The znode exists but did not decode: `problems` says why.
        let why = view.problems.join("; ");
        return error(StatusCode::CONFLICT, format!("the controller state cannot be trusted: {why}"));
    }
    let (health, active) = facts_of(&view);
    let facts = SwitchoverFacts { candidates: &view.candidates, peer_health: &health, active: active.as_ref() };
    let candidates = eligibility(&s.rm_ids, facts);
    let target = req.target.clone().or_else(|| best_target(facts));
    let pending = view.state.as_ref().and_then(|st| st.switchover.as_deref());
    let refusal = pending_refusal(pending, view.read_at_ms).or_else(|| match &target {
        None => Some("no RM is eligible to take over (see candidates)".to_string()),
        Some(t) => candidates
            .iter()
            .find(|e| &e.rm_id == t && !e.eligible)
            .map(|e| format!("{t} is not eligible: {}", e.reasons.join("; "))),
    });
    if req.dry_run {
        let accepted = refusal.is_none();
        let doc = DryRun { dry_run: true, accepted, target, active_rm: active, refusal, candidates };
        return Json(doc).into_response();
    }
    if let Some(why) = refusal {
        return (StatusCode::CONFLICT, Json(serde_json::json!({ "error": why, "candidates": candidates })))
            .into_response();
    }
    let (Some(target), Some(reason)) = (target, reason) else {
        return error(StatusCode::BAD_REQUEST, "no target and no reason");
    };
    let now = crate::wall_clock::now_ms();
    let id = format!("sw-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let make = |st: &crate::core::types::ClusterState| {
        if let Some(why) = pending_refusal(st.switchover.as_deref(), crate::wall_clock::now_ms()) {
            return Err(why);
        }
        Ok(Switchover {
            id: id.clone(),
            target: target.clone(),
            from: st.active_rm.clone(),
            reason: reason.clone(),
            by: by.clone(),
            requested_ms: now,
            deadline_ms: now + timeout.as_millis() as u64,
            phase: SwitchoverPhase::Requested,
        })
    };
    match s.zk.request_switchover(make).await {
        Ok(Ok(state)) => {
            let sw = state.switchover.as_deref();
            tracing::warn!(cluster = %s.cluster, id, %target, by, "switchover requested");
            let doc = serde_json::json!({ "id": id, "accepted": true, "switchover": sw, "progress": format!("/v1/switchover/{id}") });
            (StatusCode::ACCEPTED, Json(doc)).into_response()
        }
        Ok(Err(why)) => error(StatusCode::CONFLICT, why),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, format!("could not record the switchover: {e}")),
    }
}

/// The progress of `id` in `view`: pending in the state znode, or finished in the journal.
pub fn progress(view: &ClusterView, id: &str) -> Option<SwitchoverProgress> {
    if let Some(sw) = view.state.as_ref().and_then(|s| s.switchover.as_deref()).filter(|sw| sw.id == id) {
        return Some(SwitchoverProgress {
            id: sw.id.clone(),
            state: "in_progress",
            phase: Some(sw.phase),
            target: sw.target.clone(),
            from: sw.from.clone(),
            reason: sw.reason.clone(),
            by: sw.by.clone(),
            outcome: None,
            epoch: None,
            deadline_ms: Some(sw.deadline_ms),
            finished_at_ms: None,
        });
    }
    let record: &HistoryRecord =
        view.history.iter().rev().find(|r| matches!(&r.entry.trigger, Trigger::Switchover { id: i, .. } if i == id))?;
    let Trigger::Switchover { id, by, reason } = &record.entry.trigger else { return None };
    let e = &record.entry;
    Some(SwitchoverProgress {
        id: id.clone(),
        state: if e.succeeded() { "succeeded" } else { "failed" },
        phase: None,
        target: e.to.clone(),
        from: e.from.clone(),
        reason: reason.clone(),
        by: by.clone(),
        outcome: Some(e.outcome.clone()),
        epoch: Some(e.epoch),
        deadline_ms: None,
        finished_at_ms: Some(record.at_ms),
    })
}

/// The progress of the switchover pending in the state znode, if any.
pub fn pending_progress(view: &ClusterView) -> Option<SwitchoverProgress> {
    let sw = view.state.as_ref()?.switchover.as_deref()?;
    progress(view, &sw.id)
}

pub async fn show(State(s): State<AdminState>, Path(id): Path<String>) -> Response {
    match read_view(&s).await {
        Ok(view) => match progress(&view, &id) {
            Some(p) => Json(p).into_response(),
            None => error(
                StatusCode::NOT_FOUND,
                format!("no switchover {id:?} is pending or in the journal (it keeps the newest entries only)"),
            ),
        },
        Err(answer) => answer,
    }
}

/// `GET /v1/switchover`: the pending one, if any.
pub async fn pending(State(s): State<AdminState>) -> Response {
    match read_view(&s).await {
        Ok(view) => Json(serde_json::json!({ "pending": pending_progress(&view) })).into_response(),
        Err(answer) => answer,
    }
}
