//! The admin HTTP API (axum, JSON) every daemon serves on `admin.listen`: what the cluster looks
//! like from here, the transition journal, liveness and readiness, and Prometheus metrics.
//!
//! - `GET /v1/status`, `GET /v1/history`, `GET /healthz`, `GET /readyz`, `GET /metrics`;
//! - `POST /v1/pause`, `POST /v1/resume` (see `ops`);
//! - `POST /v1/switchover`, `GET /v1/switchover`, `GET /v1/switchover/{id}` (see `switchover`).
//!
//! Owns: HTTP and JSON shapes. Must not: decide anything (it reads the daemon's published
//! status, ZooKeeper's records, and probes RMs; operator requests are recorded in ZooKeeper for
//! the leader to honour).

mod ops;
mod status;
mod switchover;
pub mod tls;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tokio::sync::watch;

use crate::core::budget::FailoverBudget;
use crate::metrics::Metrics;
use crate::rm::RmAdapter;
use crate::zk::ZkAdapter;

/// What the daemon loop publishes after every step.
#[derive(Debug, Clone, Serialize)]
pub struct DaemonStatus {
    pub role: &'static str,
    pub role_detail: Option<String>,
    pub leader: bool,
    pub session_connected: bool,
    pub health: &'static str,
    pub rm_state: Option<String>,
    pub epoch: u64,
    pub drift_corrections: u64,
    pub budget_remaining: Option<u32>,
    /// When the loop last ran (liveness).
    #[serde(skip)]
    pub loop_at: Instant,
    /// When the local RM last answered a probe (readiness).
    #[serde(skip)]
    pub last_probe: Option<Instant>,
}

/// Everything the handlers read.
#[derive(Clone)]
pub struct AdminState {
    pub cluster: String,
    pub rm_id: String,
    pub rm_ids: Vec<String>,
    pub status: watch::Receiver<DaemonStatus>,
    pub metrics: Arc<Mutex<Metrics>>,
    pub zk: ZkAdapter,
    pub rm: RmAdapter,
    pub worst_case_failover: Duration,
    /// The failover budget rule, to show what is left from the state znode on any daemon.
    pub failover_budget: FailoverBudget,
    /// The loop is dead when it has not run for this long.
    pub liveness_limit: Duration,
    /// Not ready when the local RM has not answered for this long.
    pub readiness_limit: Duration,
    /// Bearer token for mutating calls (`admin.token_file`); `None`: loopback only.
    pub token: Option<String>,
}

#[derive(Serialize)]
struct ApiError {
    error: String,
}

fn error(code: StatusCode, msg: impl Into<String>) -> Response {
    (code, Json(ApiError { error: msg.into() })).into_response()
}

pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/v1/status", get(status::status))
        .route("/v1/history", get(history))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/v1/pause", axum::routing::post(ops::pause))
        .route("/v1/resume", axum::routing::post(ops::resume))
        .route("/v1/switchover", get(switchover::pending).post(switchover::request))
        .route("/v1/switchover/{id}", get(switchover::show))
        .fallback(|| async {
            error(
                StatusCode::NOT_FOUND,
                "no such endpoint; see /v1/status, /v1/history, /v1/switchover, /healthz, /readyz, /metrics",
            )
        })
        .method_not_allowed_fallback(|| async {
            error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed on this endpoint")
        })
        .with_state(state)
}

/// Serves the API (over TLS when `tls` is given) until the listener fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AdminState,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> std::io::Result<()> {
    match tls {
        Some(config) => tls::serve(listener, router(state), config).await,
        None => {
            axum::serve(listener, router(state).into_make_service_with_connect_info::<std::net::SocketAddr>()).await
        }
    }
}

async fn healthz(State(s): State<AdminState>) -> Response {
    let age = s.status.borrow().loop_at.elapsed();
    if age <= s.liveness_limit {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        error(StatusCode::SERVICE_UNAVAILABLE, format!("the control loop has not run for {age:?}"))
    }
}

async fn readyz(State(s): State<AdminState>) -> Response {
    let st = s.status.borrow().clone();
    if !st.session_connected {
        return error(StatusCode::SERVICE_UNAVAILABLE, "no live ZooKeeper session");
    }
    match st.last_probe {
        Some(t) if t.elapsed() <= s.readiness_limit => (StatusCode::OK, "ready\n").into_response(),
        Some(t) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the local RM has not answered a probe for {:?}", t.elapsed()),
        ),
        None => error(StatusCode::SERVICE_UNAVAILABLE, "the local RM has not been probed yet"),
    }
}

async fn metrics(State(s): State<AdminState>) -> Response {
    let text = s.metrics.lock().map(|m| m.render()).unwrap_or_default();
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// The cluster as ZooKeeper holds it now, or the 503 answer saying it cannot be read.
async fn read_view(s: &AdminState) -> Result<crate::zk::ClusterView, Response> {
    s.zk.snapshot()
        .await
        .map_err(|e| error(StatusCode::SERVICE_UNAVAILABLE, format!("cannot read the cluster from ZooKeeper: {e}")))
}

async fn history(State(s): State<AdminState>) -> Response {
    match read_view(&s).await {
        Ok(view) => {
            Json(serde_json::json!({ "cluster": s.cluster, "history": view.history, "problems": view.problems }))
                .into_response()
        }
        Err(answer) => answer,
    }
}
