//! The election znodes: joining (an EPHEMERAL_SEQUENTIAL node with a protected name), leaving,
//! and keeping the core informed of the candidates. Each candidate watches only its predecessor
//! (the node just below its own; the lowest watches nothing), so a departure wakes exactly one
//! controller (no herd). When that watch fires, or the core asks (`ReadElection`), one worker
//! per session re-lists the candidates with their `ephemeralOwner` and sends an `ElectionView`;
//! a single worker keeps views in the order they were read, so a stale list can never arrive
//! after a fresh one.
//!
//! Owns: the election directory and our node in it. Must not: judge who leads (the core does,
//! from the view), or report a view of one session generation as another's.

use std::sync::Arc;
use std::time::Duration;

use zookeeper_client::{Client, CreateMode};

use super::error::{call, call_opt, ZkError};
use super::layout::{candidate_prefix, parse_candidate};
use super::session::{SessionCtx, Shared};
use crate::core::types::{Candidate, SessionGen};
use crate::core::Event;

/// Create attempts of one `JoinElection` (each time-boxed) before `JoinFailed`.
const JOIN_ATTEMPTS: usize = 3;
const RETRY_MIN: Duration = Duration::from_millis(200);
const RETRY_MAX: Duration = Duration::from_secs(2);

/// Election bookkeeping of one session.
#[derive(Debug, Default)]
pub(super) struct ElectionState {
    /// Our node's name, as reported in `Joined`.
    own: Option<String>,
    /// The predecessor a watch is armed on.
    watching: Option<String>,
}

/// `JoinElection{gen}`: creates our node, reports `Joined` or `JoinFailed`, then a view.
pub(super) async fn join(shared: Arc<Shared>, gen: SessionGen) {
    let (ctx, client) = match shared.session(gen) {
        Ok(s) => s,
        Err(e) => return shared.send(Event::JoinFailed { gen, reason: e.to_string() }),
    };
    let _order = ctx.election_order.lock().await;
    match create_candidate(&shared, &ctx, &client).await {
        Ok(znode) => {
            tracing::info!(gen = gen.0, %znode, "joined the election");
            ctx.election().own = Some(znode.clone());
            shared.send(Event::Joined { gen, znode });
            ctx.refresh.notify_one();
        }
        Err(e) => {
            tracing::warn!(gen = gen.0, error = %e, "could not join the election");
            shared.send(Event::JoinFailed { gen, reason: e.to_string() });
        }
    }
}

async fn create_candidate(shared: &Shared, ctx: &SessionCtx, client: &Client) -> Result<String, ZkError> {
    let t = shared.cfg.op_timeout;
    let dir = shared.layout.election_dir();
    let guid = uuid::Uuid::new_v4().to_string();
    let prefix = candidate_prefix(&shared.cfg.rm_id, &guid);
    let path = format!("{dir}/{prefix}");
    let data = serde_json::to_vec(&shared.cfg.candidate_data).unwrap_or_default();
    let options = shared.options(CreateMode::EphemeralSequential);
    let mut last = None;
    for attempt in 0..JOIN_ATTEMPTS {
        if ctx.is_closed() {
            break;
        }
        // After an uncertain outcome the create may have been applied: MUST look for our
        // protected prefix before creating again, or the session would own two nodes.
        if attempt > 0 {
            match find_own(shared, client, &prefix).await {
                Ok(Some(name)) => return Ok(name),
                Ok(None) => {}
                Err(e) => {
                    last = Some(e);
                    continue;
                }
            }
        }
        match call(t, format!("create {path}"), client.create(&path, &data, &options)).await {
            Ok((_, seq)) => return Ok(format!("{prefix}{seq}")),
            // First join in this cluster: make the directories, then try again.
            Err(e) if e.is_no_node() => {
                call(t, format!("create {dir}"), client.mkdir(&dir, &shared.options(CreateMode::Persistent))).await?;
                last = Some(e);
            }
            Err(e) if e.is_uncertain() => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    // A create still in flight can land later: `remove_orphans` deletes it when it shows up.
    Err(last.unwrap_or_else(|| ZkError::NoSession("session closed while joining".into())))
}

async fn find_own(shared: &Shared, client: &Client, prefix: &str) -> Result<Option<String>, ZkError> {
    let dir = shared.layout.election_dir();
    let children = call(shared.cfg.op_timeout, format!("list {dir}"), client.list_children(&dir)).await?;
    Ok(children.into_iter().find(|c| c.starts_with(prefix)))
}

/// `LeaveElection{gen, znode}`: deletes our node (already gone is fine) and reports `Left`.
/// When the outcome is unknown no `Left` is sent; a fresh view is sent instead once ZooKeeper
/// answers, and the core, still seeing the node, asks again.
pub(super) async fn leave(shared: Arc<Shared>, gen: SessionGen, znode: String) {
    let (ctx, client) = match shared.session(gen) {
        Ok(s) => s,
        Err(e) => return tracing::warn!(gen = gen.0, %znode, error = %e, "cannot leave the election"),
    };
    let path = shared.layout.candidate(&znode);
    let _order = ctx.election_order.lock().await;
    match call_opt(shared.cfg.op_timeout, format!("delete {path}"), client.delete(&path, None)).await {
        Ok(_) => {
            tracing::info!(gen = gen.0, %znode, "left the election");
            let mut election = ctx.election();
            if election.own.as_deref() == Some(znode.as_str()) {
                election.own = None;
            }
            drop(election);
            shared.send(Event::Left { gen });
        }
        Err(e) => {
            tracing::warn!(gen = gen.0, %znode, error = %e, "leaving the election failed");
            if e.is_transient() {
                ctx.refresh.notify_one();
            }
        }
    }
}

/// `ReadElection{gen}`: a view follows (from the worker).
pub(super) fn read(shared: &Shared, gen: SessionGen) {
    match shared.ctx(gen) {
        Some(ctx) => ctx.refresh.notify_one(),
        None => tracing::debug!(gen = gen.0, "election read for a session that is gone"),
    }
}

/// One per session: on each request, reads the candidates (retrying until ZooKeeper answers or
/// the session ends), sends the view, and arms the watch on our predecessor.
pub(super) async fn view_worker(shared: Arc<Shared>, ctx: Arc<SessionCtx>) {
    loop {
        tokio::select! {
            _ = ctx.refresh.notified() => {}
            _ = ctx.closed() => return,
        }
        let mut backoff = RETRY_MIN;
        loop {
            match refresh(&shared, &ctx).await {
                Ok(()) => break,
                Err(e) => tracing::debug!(gen = ctx.gen.0, error = %e, "reading the election failed; retrying"),
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = ctx.closed() => return,
            }
            backoff = (backoff * 2).min(RETRY_MAX);
        }
    }
}

async fn refresh(shared: &Arc<Shared>, ctx: &Arc<SessionCtx>) -> Result<(), ZkError> {
    let (_, client) = shared.session(ctx.gen)?;
    let _order = ctx.election_order.lock().await;
    let mut candidates = read_candidates(shared, &client).await?;
    remove_orphans(shared, ctx, &client, &mut candidates).await;
    shared.report(ctx, Event::ElectionView { gen: ctx.gen, candidates: candidates.clone() });
    watch_predecessor(shared, ctx, &client, &candidates).await
}

/// Lists the election directory with each candidate's owner, sorted by sequence number.
/// Names that are not candidate names (foreign nodes) are skipped; a node that vanished
/// between the listing and its stat is left out.
pub(super) async fn read_candidates(shared: &Shared, client: &Client) -> Result<Vec<Candidate>, ZkError> {
    let t = shared.cfg.op_timeout;
    let dir = shared.layout.election_dir();
    let Some(children) = call_opt(t, format!("list {dir}"), client.list_children(&dir)).await? else {
        return Ok(Vec::new());
    };
    // Requests are sent when the futures are made: the stats travel pipelined.
    let pending: Vec<_> = children
        .iter()
        .filter_map(|name| match parse_candidate(name) {
            Some(parsed) => Some((name, parsed, client.check_stat(&shared.layout.candidate(name)))),
            None => {
                tracing::warn!(node = %name, "ignoring a foreign node in the election directory");
                None
            }
        })
        .collect();
    let stats = async {
        let mut out = Vec::with_capacity(pending.len());
        for (name, parsed, stat) in pending {
            out.push((name, parsed, stat.await?));
        }
        Ok(out)
    };
    let stats = call(t, format!("stat the candidates in {dir}"), stats).await?;
    let mut candidates: Vec<Candidate> = stats
        .into_iter()
        .filter_map(|(name, parsed, stat)| {
            stat.map(|s| Candidate {
                znode: name.clone(),
                rm_id: parsed.rm_id.to_string(),
                seq: parsed.seq,
                owner: s.ephemeral_owner,
            })
        })
        .collect();
    candidates.sort_by_key(|c| c.seq);
    Ok(candidates)
}

/// Deletes the nodes this session owns other than the one reported in `Joined` (a create whose
/// answer was lost and that landed after the join gave up or retried), and the nodes of sessions
/// this process held before (the client gave a session up as expired while the server — e.g.
/// after a quorum loss, which restarts every session's timeout — still keeps it and its node:
/// left alone, that node would stand first for a whole session timeout with nobody acting for
/// it). Leaves them out of the view. Safe because joins and views are ordered by
/// `election_order` (our node is recorded before any view can list it), and because nobody acts
/// for a session this process abandoned (the core fenced itself when it lost it).
async fn remove_orphans(shared: &Shared, ctx: &SessionCtx, client: &Client, candidates: &mut Vec<Candidate>) {
    let Some(ours) = ctx.session_id() else { return };
    let own = ctx.election().own.clone();
    let mut kept = Vec::with_capacity(candidates.len());
    for c in candidates.drain(..) {
        let orphan = c.owner == ours && Some(&c.znode) != own.as_ref();
        let abandoned = c.owner != ours && c.rm_id == shared.cfg.rm_id && shared.held_session(c.owner);
        if orphan || abandoned {
            let path = shared.layout.candidate(&c.znode);
            match call_opt(shared.cfg.op_timeout, format!("delete {path}"), client.delete(&path, None)).await {
                Ok(_) => {
                    let why =
                        if orphan { "of this session (a lost create)" } else { "of a session this process gave up" };
                    tracing::warn!(znode = %c.znode, "deleted an orphaned election node {why}");
                    continue;
                }
                Err(e) => tracing::warn!(znode = %c.znode, error = %e, "cannot delete an orphaned candidate node"),
            }
        }
        kept.push(c);
    }
    *candidates = kept;
}

/// Arms a watch on the node just below ours, unless one is armed on it already. Nothing is
/// watched when we are not in the view or are the lowest.
async fn watch_predecessor(
    shared: &Arc<Shared>,
    ctx: &Arc<SessionCtx>,
    client: &Client,
    candidates: &[Candidate],
) -> Result<(), ZkError> {
    let Some(own) = ctx.election().own.clone() else { return Ok(()) };
    let Some(me) = candidates.iter().find(|c| c.znode == own) else { return Ok(()) };
    let Some(pred) = candidates.iter().filter(|c| c.seq < me.seq).max_by_key(|c| c.seq) else {
        return Ok(());
    };
    if ctx.election().watching.as_deref() == Some(pred.znode.as_str()) {
        return Ok(());
    }
    let path = shared.layout.candidate(&pred.znode);
    let (stat, watcher) =
        call(shared.cfg.op_timeout, format!("watch {path}"), client.check_and_watch_stat(&path)).await?;
    if stat.is_none() {
        // Gone between the listing and the watch: read again.
        ctx.refresh.notify_one();
        return Ok(());
    }
    tracing::debug!(gen = ctx.gen.0, predecessor = %pred.znode, "watching the predecessor");
    ctx.election().watching = Some(pred.znode.clone());
    let (ctx, znode) = (ctx.clone(), pred.znode.clone());
    tokio::spawn(async move {
        tokio::select! {
            event = watcher.changed() => tracing::debug!(gen = ctx.gen.0, predecessor = %znode, ?event, "predecessor changed"),
            _ = ctx.closed() => return,
        }
        let mut election = ctx.election();
        if election.watching.as_deref() == Some(znode.as_str()) {
            election.watching = None;
        }
        drop(election);
        ctx.refresh.notify_one();
    });
    Ok(())
}
