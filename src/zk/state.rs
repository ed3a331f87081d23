//! The controller's records: reading state + breadcrumb + peer health + the election for a
//! leader about to act, the CAS write that records a new epoch, the bounded history journal, our
//! RM's health report, and the watch on `/state` that reports `StateChanged` (operator requests).
//!
//! A leader's write is ONE multi: `check(own election node, any version)`, then the state
//! (`setData` at the version read, or `create` when it did not exist), then the breadcrumb when
//! the write carries one. So a deposed leader (its node gone) or a stale one (the version moved)
//! can never write, and a new breadcrumb never lands without its state.
//!
//! Owns: `/state`, `/breadcrumb`, `/history`, `/health/*`. Must not: "fix" a record that does
//! not decode (it is reported and left as it is), or write with any session other than the one
//! of the action's generation.

use std::sync::Arc;

use zookeeper_client::{CheckWriteError, Client, CreateMode, Error as ZkLibError};

use super::error::{call, call_opt, ZkError};
use super::records::{self, HealthReport};
use super::session::{SessionCtx, Shared};
use crate::core::io::WriteFailure;
use crate::core::types::{Breadcrumb, ClusterState, HistoryEntry, OpId, PeerHealth, SessionGen, StateSnapshot};
use crate::core::Event;

/// CAS attempts of one history append before it is given up (it is best effort).
const HISTORY_ATTEMPTS: usize = 5;
/// How long an append keeps trying while ZooKeeper does not answer.
const HISTORY_RETRY_FOR: std::time::Duration = std::time::Duration::from_secs(120);
const HISTORY_BACKOFF_MAX: std::time::Duration = std::time::Duration::from_secs(5);
const WATCH_RETRY_MIN: std::time::Duration = std::time::Duration::from_millis(100);
const WATCH_RETRY_MAX: std::time::Duration = std::time::Duration::from_secs(2);

pub use crate::wall_clock::now_ms;

/// `ReadState{op, gen}` → `StateRead{op, ..}`.
pub(super) async fn read(shared: Arc<Shared>, op: OpId, gen: SessionGen) {
    let result = match shared.session(gen) {
        Ok((_, client)) => read_snapshot(&shared, &client).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = &result {
        tracing::warn!(op = op.0, error = %e, "reading the controller state failed");
    }
    shared.send(Event::StateRead { op, result: result.map(Box::new) });
}

/// State (+ version), breadcrumb, peer health and the election, read on `client`.
pub(super) async fn read_snapshot(shared: &Shared, client: &Client) -> Result<StateSnapshot, ZkError> {
    let t = shared.cfg.op_timeout;
    let (state_path, crumb_path) = (shared.layout.state(), shared.layout.breadcrumb());
    // Both requests go out before either answer is awaited.
    let state = client.get_data(&state_path);
    let crumb = client.get_data(&crumb_path);
    let state = call_opt(t, format!("read {state_path}"), state).await?;
    let crumb = call_opt(t, format!("read {crumb_path}"), crumb).await?;
    let version = state.as_ref().map(|(_, stat)| stat.version);
    let state = records::decode_state(&state_path, state.as_ref().map(|(d, _)| d.as_slice()))
        .map_err(ZkError::Corrupt)?
        .unwrap_or_default();
    let breadcrumb =
        records::decode_breadcrumb(&crumb_path, crumb.as_ref().map(|(d, _)| d.as_slice())).map_err(ZkError::Corrupt)?;
    let read_at_ms = now_ms();
    let peer_health = read_health(shared, client)
        .await?
        .into_iter()
        .map(|(rm, report)| (rm, report.health, records::report_age(&report, read_at_ms)))
        .collect();
    let candidates = super::election::read_candidates(shared, client).await?;
    Ok(StateSnapshot { state, version, breadcrumb, peer_health, candidates, read_at_ms })
}

/// Every `/health/<rm-id>` report that decodes (a corrupt one is skipped: health reports only
/// ever save time, so an unreadable one counts as no report).
pub(super) async fn read_health(shared: &Shared, client: &Client) -> Result<Vec<(String, HealthReport)>, ZkError> {
    let t = shared.cfg.op_timeout;
    let dir = shared.layout.health_dir();
    let Some(rms) = call_opt(t, format!("list {dir}"), client.list_children(&dir)).await? else {
        return Ok(Vec::new());
    };
    let pending: Vec<_> = rms.into_iter().map(|rm| (client.get_data(&shared.layout.health(&rm)), rm)).collect();
    let mut reports = Vec::with_capacity(pending.len());
    for (data, rm) in pending {
        let path = shared.layout.health(&rm);
        let Some((data, _)) = call_opt(t, format!("read {path}"), data).await? else { continue };
        match records::decode::<HealthReport>(&path, &data) {
            Ok(report) => reports.push((rm, report)),
            Err(e) => tracing::warn!(error = %e, "ignoring an unreadable health report"),
        }
    }
    Ok(reports)
}

/// What `WriteState` carries.
pub(super) struct Write {
    pub op: OpId,
    pub gen: SessionGen,
    pub own_znode: String,
    pub expected_version: Option<i32>,
    pub state: Box<ClusterState>,
    /// `None`: leave the breadcrumb as it is (operator bookkeeping by the leader).
    pub breadcrumb: Option<Breadcrumb>,
}

/// `AppendHistory` → one entry more in `/history`. The journal is the operators' record of
/// what happened (and where a switchover's outcome is read), so an append rides out ZooKeeper
/// trouble while its session generation lives, for up to [`HISTORY_RETRY_FOR`]; what still fails
/// is logged.
pub(super) async fn append(shared: Arc<Shared>, gen: SessionGen, entry: Box<HistoryEntry>) {
    let started = std::time::Instant::now();
    let mut backoff = WATCH_RETRY_MIN;
    let mut retrying = false;
    loop {
        let result = match shared.session(gen) {
            Ok((_, client)) => append_history(&shared, &client, &entry, retrying).await,
            Err(e) => Err(e.to_string()),
        };
        let Err(e) = result else { return };
        if shared.ctx(gen).is_none() || started.elapsed() >= HISTORY_RETRY_FOR {
            return tracing::warn!(epoch = entry.epoch, error = %e, "history entry not recorded");
        }
        tracing::debug!(epoch = entry.epoch, error = %e, "history entry not recorded yet; retrying");
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(HISTORY_BACKOFF_MAX);
        retrying = true;
    }
}

/// `WriteState` → `StateWritten{op, ..}`.
pub(super) async fn write(shared: Arc<Shared>, w: Write) {
    let result = match shared.session(w.gen) {
        Ok((_, client)) => commit(&shared, &client, &w).await.map(|()| client),
        Err(e) => Err(WriteFailure::Unavailable(e.to_string())),
    };
    match result {
        Ok(_) => {
            tracing::info!(op = w.op.0, epoch = w.state.epoch, active = ?w.state.active_rm, "controller state written");
            shared.send(Event::StateWritten { op: w.op, result: Ok(()) });
        }
        Err(e) => {
            tracing::warn!(op = w.op.0, epoch = w.state.epoch, error = ?e, "controller state not written");
            shared.send(Event::StateWritten { op: w.op, result: Err(e) });
        }
    }
}

async fn commit(shared: &Shared, client: &Client, w: &Write) -> Result<(), WriteFailure> {
    let t = shared.cfg.op_timeout;
    let l = &shared.layout;
    let own = l.candidate(&w.own_znode);
    let (state_path, crumb_path) = (l.state(), l.breadcrumb());
    let unavailable = |e: ZkError| WriteFailure::Unavailable(e.to_string());
    // Whether the breadcrumb exists decides set or create; if someone creates it in between,
    // the multi fails with NodeExists: a conflict, as it should be.
    let crumb_exists = match &w.breadcrumb {
        Some(_) => {
            call(t, format!("stat {crumb_path}"), client.check_stat(&crumb_path)).await.map_err(unavailable)?.is_some()
        }
        None => false,
    };
    let persistent = shared.options(CreateMode::Persistent);
    let state_data = records::encode(&*w.state);
    let invalid = |e: ZkLibError| WriteFailure::Conflict(format!("cannot build the write for {own}: {e}"));
    let mut multi = client.new_check_writer(&own, None).map_err(invalid)?;
    match w.expected_version {
        Some(v) => multi.add_set_data(&state_path, &state_data, Some(v)),
        None => multi.add_create(&state_path, &state_data, &persistent),
    }
    .map_err(invalid)?;
    if let Some(breadcrumb) = &w.breadcrumb {
        let crumb_data = records::encode(breadcrumb);
        if crumb_exists {
            multi.add_set_data(&crumb_path, &crumb_data, None)
        } else {
            multi.add_create(&crumb_path, &crumb_data, &persistent)
        }
        .map_err(invalid)?;
    }
    let outcome = tokio::time::timeout(t, multi.commit()).await;
    let expected = w.expected_version.map_or("absent".to_string(), |v| format!("version {v}"));
    match outcome {
        Ok(Ok(_)) => Ok(()),
        Err(_) => Err(WriteFailure::Unavailable(format!("write of {state_path}: no answer within {t:?}"))),
        Ok(Err(e)) => Err(classify(e, &own, &state_path, &crumb_path, &expected)),
    }
}

/// Conflict: our node is gone or a record moved (someone else acts). Unavailable: anything else.
fn classify(e: CheckWriteError, own: &str, state: &str, crumb: &str, expected: &str) -> WriteFailure {
    use ZkLibError::{BadVersion, NoNode, NodeExists};
    match e {
        CheckWriteError::CheckFailed { source: NoNode } => {
            WriteFailure::Conflict(format!("our election node {own} is gone: we no longer hold the election"))
        }
        CheckWriteError::OperationFailed { index: 0, source: source @ (BadVersion | NoNode | NodeExists) } => {
            WriteFailure::Conflict(format!("{state} changed since it was read (expected {expected}): {source}"))
        }
        CheckWriteError::OperationFailed { index: 1, source: source @ (BadVersion | NoNode | NodeExists) } => {
            WriteFailure::Conflict(format!("{crumb} changed during the write: {source}"))
        }
        CheckWriteError::CheckFailed { source } => WriteFailure::Unavailable(format!("checking {own}: {source}")),
        CheckWriteError::OperationFailed { index, source } => {
            let path = if index == 0 { state } else { crumb };
            WriteFailure::Unavailable(format!("writing {path}: {source}"))
        }
        CheckWriteError::RequestFailed { source } => WriteFailure::Unavailable(format!("writing {state}: {source}")),
    }
}

/// Appends to `/history` with a CAS loop on its version, keeping `history_limit` entries.
/// `Err`: ZooKeeper did not answer (worth another try); a journal that cannot be decoded or
/// keeps changing is logged and given up (`Ok`). After an attempt whose outcome is unknown
/// (`retrying`), an entry already in the journal is not appended twice.
async fn append_history(shared: &Shared, client: &Client, entry: &HistoryEntry, retrying: bool) -> Result<(), String> {
    let t = shared.cfg.op_timeout;
    let path = shared.layout.history();
    let transient = |e: ZkError| {
        if e.is_transient() {
            Err(e.to_string())
        } else {
            tracing::warn!(error = %e, "history entry not recorded");
            Ok(())
        }
    };
    for _ in 0..HISTORY_ATTEMPTS {
        let current = match call_opt(t, format!("read {path}"), client.get_data(&path)).await {
            Ok(c) => c,
            Err(e) => return transient(e),
        };
        let existing = current.as_ref().map(|(d, _)| d.as_slice());
        let recorded = retrying
            && existing
                .and_then(|d| records::decode_history(&path, d).ok())
                .is_some_and(|(records, _)| records.iter().any(|r| r.entry == *entry));
        if recorded {
            return Ok(());
        }
        let data = match records::append_history(&path, existing, entry, now_ms(), shared.cfg.history_limit) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "history journal unreadable; entry not recorded");
                return Ok(());
            }
        };
        let written = match current.map(|(_, stat)| stat.version) {
            Some(v) => call(t, format!("write {path}"), client.set_data(&path, &data, Some(v))).await.map(drop),
            None => {
                let options = shared.options(CreateMode::Persistent);
                call(t, format!("create {path}"), client.create(&path, &data, &options)).await.map(drop)
            }
        };
        match written {
            Ok(()) => return Ok(()),
            Err(ZkError::Zk {
                source: ZkLibError::BadVersion | ZkLibError::NodeExists | ZkLibError::NoNode, ..
            }) => continue,
            Err(e) => return transient(e),
        }
    }
    tracing::warn!(epoch = entry.epoch, "history entry not recorded: the journal kept changing");
    Ok(())
}

/// One per session: keeps a watch on `/state` (it fires on create, change and delete) and
/// reports `StateChanged` every time the watch is armed — after each change and at the start
/// of the session — so a leader never misses an operator's request, even one written while it
/// was disconnected.
pub(super) async fn watch_worker(shared: Arc<Shared>, ctx: Arc<SessionCtx>) {
    let path = shared.layout.state();
    let mut backoff = WATCH_RETRY_MIN;
    loop {
        let Some(client) = ctx.client() else {
            tokio::select! {
                _ = tokio::time::sleep(WATCH_RETRY_MIN) => continue,
                _ = ctx.closed() => return,
            }
        };
        match call(shared.cfg.op_timeout, format!("watch {path}"), client.check_and_watch_stat(&path)).await {
            Ok((stat, watcher)) => {
                backoff = WATCH_RETRY_MIN;
                let version = stat.map(|s| s.version);
                shared.report(&ctx, Event::StateChanged { gen: ctx.gen, version });
                tokio::select! {
                    event = watcher.changed() => tracing::debug!(gen = ctx.gen.0, ?event, "state znode changed"),
                    _ = ctx.closed() => return,
                }
            }
            Err(e) => {
                tracing::debug!(gen = ctx.gen.0, error = %e, "watching the state znode failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = ctx.closed() => return,
                }
                backoff = (backoff * 2).min(WATCH_RETRY_MAX);
            }
        }
    }
}

/// `PublishHealth{gen, health}`: best effort, no answer.
pub(super) async fn publish_health(shared: Arc<Shared>, gen: SessionGen, health: PeerHealth) {
    let Ok((_, client)) = shared.session(gen) else { return };
    let t = shared.cfg.op_timeout;
    let path = shared.layout.health(&shared.cfg.rm_id);
    let data = records::encode(&HealthReport { health, at_ms: now_ms() });
    let result = async {
        for _ in 0..2 {
            match call(t, format!("write {path}"), client.set_data(&path, &data, None)).await {
                Err(e) if e.is_no_node() => {}
                other => return other.map(drop),
            }
            let dir = shared.layout.health_dir();
            call(t, format!("create {dir}"), client.mkdir(&dir, &shared.options(CreateMode::Persistent))).await?;
            let options = shared.options(CreateMode::Persistent);
            match call(t, format!("create {path}"), client.create(&path, &data, &options)).await {
                Err(ZkError::Zk { source: ZkLibError::NodeExists, .. }) => continue,
                other => return other.map(drop),
            }
        }
        Ok(())
    };
    match result.await {
        Ok(()) => tracing::debug!(?health, "health published"),
        Err(e) => tracing::warn!(?health, error = %e, "publishing health failed"),
    }
}
