//! Operator records in the state znode (pause, switchover requests): read-modify-write with
//! version CAS on whatever session is current, so any daemon can accept an operator's request
//! and the leader (which also writes with CAS) never loses it.
//!
//! Owns: the CAS loop for operator changes. Must not: touch the epoch, the active RM or the
//! breadcrumb (only a leader's promotion writes those).

use zookeeper_client::{CreateMode, Error as ZkLibError};

use super::error::{call, call_opt, ZkError};
use super::records;
use super::session::Shared;
use crate::core::types::{ClusterState, Pause, Switchover};

const ATTEMPTS: usize = 5;

/// Sets or clears the pause; returns the state as written. A corrupt state znode is refused
/// (reported, never overwritten).
pub(super) async fn set_pause(shared: &Shared, pause: Option<Pause>) -> Result<ClusterState, ZkError> {
    update(shared, |s| {
        s.pause = pause.clone();
        true
    })
    .await
}

/// Records a switchover request built by `make` from the state as read; `make` refuses (the
/// inner `Err`) when the request no longer fits that state, e.g. another one is pending. Being
/// inside the CAS loop, the check and the write see the same version.
pub(super) async fn request_switchover(
    shared: &Shared,
    make: impl Fn(&ClusterState) -> Result<Switchover, String>,
) -> Result<Result<ClusterState, String>, ZkError> {
    let refusal = std::sync::Mutex::new(None);
    let written = update(shared, |s| match make(s) {
        Ok(sw) => {
            s.switchover = Some(Box::new(sw));
            true
        }
        Err(why) => {
            *refusal.lock().unwrap_or_else(|p| p.into_inner()) = Some(why);
            false
        }
    })
    .await;
    let refusal = refusal.into_inner().unwrap_or_else(|p| p.into_inner());
    match (written, refusal) {
        (_, Some(why)) => Ok(Err(why)),
        (Ok(state), None) => Ok(Ok(state)),
        (Err(e), None) => Err(e),
    }
}

/// Applies `change` (which returns whether to write at all) with CAS until it sticks.
async fn update(shared: &Shared, change: impl Fn(&mut ClusterState) -> bool) -> Result<ClusterState, ZkError> {
    let client = shared.any_client()?;
    let t = shared.cfg.op_timeout;
    let path = shared.layout.state();
    for _ in 0..ATTEMPTS {
        let current = call_opt(t, format!("read {path}"), client.get_data(&path)).await?;
        let mut state = records::decode_state(&path, current.as_ref().map(|(d, _)| d.as_slice()))
            .map_err(ZkError::Corrupt)?
            .unwrap_or_default();
        if !change(&mut state) {
            return Ok(state);
        }
        let data = records::encode(&state);
        let written = match current.map(|(_, stat)| stat.version) {
            Some(v) => call(t, format!("write {path}"), client.set_data(&path, &data, Some(v))).await.map(drop),
            None => {
                let options = shared.options(CreateMode::Persistent);
                let created = call(t, format!("create {path}"), client.create(&path, &data, &options)).await.map(drop);
                match created {
                    Err(ZkError::Zk { source: ZkLibError::NoNode, .. }) => {
                        // The cluster's directory does not exist yet: create it first.
                        let dir = path.rsplit_once('/').map(|(d, _)| d.to_string()).unwrap_or_default();
                        let _ = call(t, format!("create {dir}"), client.mkdir(&dir, &options)).await;
                        continue;
                    }
                    other => other,
                }
            }
        };
        match written {
            Ok(()) => return Ok(state),
            Err(ZkError::Zk { source: ZkLibError::BadVersion | ZkLibError::NodeExists, .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(ZkError::Corrupt(format!("{path}: kept changing while it was being updated; try again")))
}
