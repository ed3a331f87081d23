//! A read-only picture of one cluster's znodes for the admin API and `rmfc status`: the
//! candidates and the state, breadcrumb, history and health records.
//!
//! Owns: `ClusterView` and how it is read. Must not: write anything, or feed the core (the
//! core gets its facts from events only). A record that does not decode is shown as a problem,
//! not hidden and not repaired.

use serde::Serialize;

use super::election::read_candidates;
use super::error::{call_opt, ZkError};
use super::records;
use super::session::Shared;
use super::state::{now_ms, read_health};
use crate::core::types::{Breadcrumb, Candidate, ClusterState, PeerHealth, RmId};

pub use super::records::HistoryRecord;

/// One RM's health as its controller last published it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerHealthReport {
    pub rm_id: RmId,
    pub health: PeerHealth,
    pub at_ms: u64,
    pub age_ms: u64,
}

/// What ZooKeeper holds for the cluster right now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterView {
    /// Election candidates, lowest sequence (the leader, if its session is live) first.
    pub candidates: Vec<Candidate>,
    /// `None`: missing or unreadable (see `problems`).
    pub state: Option<ClusterState>,
    pub state_version: Option<i32>,
    pub breadcrumb: Option<Breadcrumb>,
    /// Newest last.
    pub history: Vec<HistoryRecord>,
    pub peer_health: Vec<PeerHealthReport>,
    /// Records that could not be decoded, each naming its path.
    pub problems: Vec<String>,
    /// Wall time of the read (ms since the Unix epoch).
    pub read_at_ms: u64,
}

pub(super) async fn snapshot(shared: &Shared) -> Result<ClusterView, ZkError> {
    let client = shared.any_client()?;
    let t = shared.cfg.op_timeout;
    let l = &shared.layout;
    let (state_path, crumb_path, history_path) = (l.state(), l.breadcrumb(), l.history());
    let candidates = read_candidates(shared, &client).await?;
    let state = client.get_data(&state_path);
    let crumb = client.get_data(&crumb_path);
    let history = client.get_data(&history_path);
    let state = call_opt(t, format!("read {state_path}"), state).await?;
    let crumb = call_opt(t, format!("read {crumb_path}"), crumb).await?;
    let history = call_opt(t, format!("read {history_path}"), history).await?;
    let read_at_ms = now_ms();
    let mut problems = Vec::new();
    let state_version = state.as_ref().map(|(_, s)| s.version);
    let state = keep(&mut problems, records::decode_state(&state_path, state.as_ref().map(|(d, _)| d.as_slice())));
    let breadcrumb =
        keep(&mut problems, records::decode_breadcrumb(&crumb_path, crumb.as_ref().map(|(d, _)| d.as_slice())));
    let history = match history.map(|(d, _)| records::decode_history(&history_path, &d)) {
        None => Vec::new(),
        Some(Ok((records, 0))) => records,
        Some(Ok((records, skipped))) => {
            problems.push(format!("{history_path}: {skipped} entries could not be decoded"));
            records
        }
        Some(Err(e)) => {
            problems.push(e);
            Vec::new()
        }
    };
    let peer_health = read_health(shared, &client)
        .await?
        .into_iter()
        .map(|(rm_id, r)| PeerHealthReport {
            rm_id,
            health: r.health,
            at_ms: r.at_ms,
            age_ms: records::report_age(&r, read_at_ms),
        })
        .collect();
    Ok(ClusterView { candidates, state, state_version, breadcrumb, history, peer_health, problems, read_at_ms })
}

/// The record, or `None` with the reason noted in `problems`.
fn keep<T>(problems: &mut Vec<String>, decoded: Result<Option<T>, String>) -> Option<T> {
    decoded.unwrap_or_else(|e| {
        problems.push(e);
        None
    })
}
