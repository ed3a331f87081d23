//! The simulated RM's web address: the REST endpoints a controller probes, with the real RM's
//! redirect rules (`RMWebAppFilter`), plus a control endpoint for fault injection in tests.
//!
//! - `GET /ws/v1/cluster/info`: `{"clusterInfo": {id, startedOn, state, haState, ...}}`.
//! - `GET /isActive`: 200 "I am Active!" or 405 "I am not Active!", with `Connection: close`.
//! - Any other path on a standby: 307 to the active RM (found through the state store), or 307
//!   with `Refresh` when no active is known. Exempt paths are served on a standby too.
//! - `GET|POST /sim/v1/faults`: read or change injected faults (`unhealthy`, `rpc_delay`).
//!
//! Owns: HTTP. Must not: change HA state.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use super::rm::{Faults, SimRm};
use super::store::HEARTBEAT_NODE;
use crate::hadoop_ipc::HaState;

/// Paths a standby serves itself instead of redirecting (`RMWebAppFilter`).
const EXEMPT_PREFIXES: &[&str] = &["/proxy/", "/conf", "/stacks", "/logLevel", "/logs", "/jmx", "/prom"];

pub fn router(rm: SimRm) -> Router {
    Router::new()
        .route("/ws/v1/cluster/info", get(cluster_info))
        .route("/ws/v1/cluster/info/", get(cluster_info))
        .route("/isActive", get(is_active))
        .route("/sim/v1/faults", get(get_faults).post(set_faults))
        .fallback(other)
        .with_state(rm)
}

fn cluster_info_json(rm: &SimRm) -> serde_json::Value {
    let st = rm.state();
    serde_json::json!({
        "clusterInfo": {
            "id": st.cluster_ts_ms,
            "startedOn": st.cluster_ts_ms,
            "state": "STARTED",
            "haState": st.ha.rest_name(),
            "rmStateStoreName": if rm.store().is_some() {
                "org.apache.hadoop.yarn.server.resourcemanager.recovery.ZKRMStateStore"
            } else {
                "org.apache.hadoop.yarn.server.resourcemanager.recovery.NullRMStateStore"
            },
            "resourceManagerVersion": "3.5.0-rmfc-sim",
            "hadoopVersion": "3.5.0-rmfc-sim",
            "haZooKeeperConnectionState": "Could not find leader elector. Verify both HA and automatic failover are enabled.",
            "rmId": rm.settings().id,
        }
    })
}

async fn cluster_info(State(rm): State<SimRm>) -> Json<serde_json::Value> {
    Json(cluster_info_json(&rm))
}

async fn is_active(State(rm): State<SimRm>) -> Response {
    let (status, body) = if rm.state().ha == HaState::Active {
        (StatusCode::OK, "I am Active!")
    } else {
        (StatusCode::METHOD_NOT_ALLOWED, "I am not Active!")
    };
    (status, [(header::CONNECTION, "close")], body).into_response()
}

async fn get_faults(State(rm): State<SimRm>) -> Json<Faults> {
    Json(rm.faults())
}

/// A partial update of the injected faults; unknown fields are refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultsUpdate {
    unhealthy: Option<bool>,
    /// A duration such as `"5s"` or `"0s"`.
    rpc_delay: Option<String>,
}

async fn set_faults(State(rm): State<SimRm>, body: Bytes) -> Response {
    let update: FaultsUpdate = match serde_json::from_slice(&body) {
        Ok(u) => u,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("bad faults body: {e}\n")).into_response(),
    };
    let mut f = rm.faults();
    if let Some(u) = update.unhealthy {
        f.unhealthy = u;
    }
    if let Some(d) = update.rpc_delay {
        match humantime::parse_duration(&d) {
            Ok(d) => f.rpc_delay = d,
            Err(e) => return (StatusCode::BAD_REQUEST, format!("rpc_delay: {e}\n")).into_response(),
        }
    }
    rm.set_faults(f.clone());
    Json(f).into_response()
}

fn exempt(path: &str) -> bool {
    path == "/cluster" || EXEMPT_PREFIXES.iter().any(|p| path.starts_with(p))
}

async fn other(State(rm): State<SimRm>, method: Method, uri: Uri, _headers: HeaderMap) -> Response {
    let path = uri.path();
    let active = rm.state().ha == HaState::Active;
    if active || exempt(path) {
        return match (method, path) {
            (Method::GET, "/ws/v1/cluster") => Json(cluster_info_json(&rm)).into_response(),
            (Method::GET, "/cluster") => {
                (StatusCode::OK, format!("<html><body>ResourceManager {}</body></html>", rm.settings().id))
                    .into_response()
            }
            _ => (StatusCode::NOT_FOUND, "not found\n").into_response(),
        };
    }
    let target = match rm.store() {
        Some(store) => store.read_heartbeat().await.filter(|hb| hb.rm_id != rm.settings().id),
        None => None,
    };
    let path_and_query = uri.path_and_query().map(|p| p.as_str()).unwrap_or(path);
    match target {
        Some(hb) => {
            let base = if hb.web_address.starts_with("http") {
                hb.web_address.clone()
            } else {
                format!("http://{}", hb.web_address)
            };
            let location = format!("{}{}", base.trim_end_matches('/'), path_and_query);
            let mut resp =
                (StatusCode::TEMPORARY_REDIRECT, format!("This is standby RM. The redirect url is: {location}\n"))
                    .into_response();
            if let Ok(v) = HeaderValue::from_str(&location) {
                resp.headers_mut().insert(header::LOCATION, v);
            }
            resp
        }
        None => {
            let mut resp = (
                StatusCode::TEMPORARY_REDIRECT,
                format!("Can not find any active RM. Will retry in next 5 seconds.\nHA Zookeeper Connection State: (no record in {HEARTBEAT_NODE})\n"),
            )
                .into_response();
            resp.headers_mut().insert("Refresh", HeaderValue::from_static("5"));
            resp
        }
    }
}
