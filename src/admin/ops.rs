//! Mutating endpoints: `POST /v1/pause {"reason", "for"}` and `POST /v1/resume`. Accepted by any
//! daemon: the change is recorded in the state znode with CAS and the leader honours it.
//!
//! Access: with `admin.token_file`, a matching `Authorization: Bearer <token>` is required (401
//! otherwise); without one, only loopback clients may change anything (403).
//!
//! Owns: validation and access control of operator requests. Must not: decide failovers.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::{error, AdminState};
use crate::core::types::Pause;

/// Checks the caller may change things; `Err` is the refusal to send.
/// A refusal: status and message.
type Refusal = (StatusCode, String);

fn authorize(s: &AdminState, peer: SocketAddr, headers: &HeaderMap) -> Result<String, Refusal> {
    match &s.token {
        Some(token) => {
            let given = headers
                .get(axum::http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim);
            match given {
                Some(g) if constant_time_eq(g.as_bytes(), token.as_bytes()) => {
                    Ok(format!("token holder at {}", peer.ip()))
                }
                Some(_) => Err((StatusCode::UNAUTHORIZED, "wrong bearer token".into())),
                None => Err((
                    StatusCode::UNAUTHORIZED,
                    "this call needs `Authorization: Bearer <token>` (admin.token_file)".into(),
                )),
            }
        }
        None if peer.ip().is_loopback() => Ok(format!("local user at {}", peer.ip())),
        None => Err((
            StatusCode::FORBIDDEN,
            "no admin.token_file is configured: changes are accepted from loopback only".into(),
        )),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Every mutating call's first step: who asks (access control), then what (the JSON body).
/// `Err` is the refusal to send.
pub(super) fn accept<T: for<'de> Deserialize<'de>>(
    s: &AdminState,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(String, T), Refusal> {
    authorize(s, peer, headers).and_then(|by| Ok((by, parse(body)?)))
}

fn parse<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, Refusal> {
    let text = if body.iter().all(u8::is_ascii_whitespace) { &b"{}"[..] } else { &body[..] };
    serde_json::from_slice(text).map_err(|e| (StatusCode::BAD_REQUEST, format!("bad JSON body: {e}")))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PauseRequest {
    reason: Option<String>,
    #[serde(rename = "for")]
    duration: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResumeRequest {}

pub async fn pause(
    State(s): State<AdminState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (by, req): (String, PauseRequest) = match accept(&s, peer, &headers, &body) {
        Ok(accepted) => accepted,
        Err((code, msg)) => return error(code, msg),
    };
    let Some(reason) = req.reason.map(|r| r.trim().to_string()).filter(|r| !r.is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "a pause needs a reason: {\"reason\": \"...\"}");
    };
    let now = crate::wall_clock::now_ms();
    let until_ms = match req.duration.as_deref().map(humantime::parse_duration) {
        None => None,
        Some(Ok(d)) if !d.is_zero() => Some(now + d.as_millis() as u64),
        Some(Ok(_)) => return error(StatusCode::BAD_REQUEST, "\"for\" must be longer than zero"),
        Some(Err(e)) => return error(StatusCode::BAD_REQUEST, format!("\"for\": {e} (e.g. \"30m\")")),
    };
    let pause = Pause { by, reason, since_ms: now, until_ms };
    match s.zk.set_pause(Some(pause)).await {
        Ok(state) => {
            tracing::warn!(cluster = %s.cluster, pause = ?state.pause, "automatic failover paused");
            Json(serde_json::json!({ "paused": state.pause })).into_response()
        }
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, format!("could not record the pause: {e}")),
    }
}

pub async fn resume(
    State(s): State<AdminState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err((code, msg)) = accept::<ResumeRequest>(&s, peer, &headers, &body) {
        return error(code, msg);
    }
    match s.zk.set_pause(None).await {
        Ok(_) => {
            tracing::warn!(cluster = %s.cluster, "automatic failover resumed");
            Json(serde_json::json!({ "paused": null })).into_response()
        }
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, format!("could not record the resume: {e}")),
    }
}
