//! ZooKeeper sessions, one per generation the core asks for. `OpenSession{gen}` closes the
//! previous session and connects a new one (retrying with backoff until it connects or is
//! superseded); a background task turns the client's state changes into `SessionConnected`,
//! `SessionDisconnected` and `SessionExpired` events, all tagged with `gen`.
//!
//! Owns: the client of the current generation, its lifecycle and its state events; the shared
//! context every operation of the adapter runs in. Must not: create or read znodes, or tag
//! anything with a generation other than the one that produced it. A client is handed to an
//! operation only for the generation it belongs to, so an old session's result can never be
//! reported as the new one's.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{mpsc, watch, Notify};
use zookeeper_client::{Client, CreateMode, CreateOptions, SessionState, StateWatcher};

use super::election::ElectionState;
use super::error::ZkError;
use super::layout::{Layout, ZnodeAcl};
use super::ZkAdapterConfig;
use crate::core::types::SessionGen;
use crate::core::Event;

const CONNECT_BACKOFF_MIN: Duration = Duration::from_millis(100);
const CONNECT_BACKOFF_MAX: Duration = Duration::from_secs(2);
/// Past sessions remembered for cleaning up their election nodes.
const HELD_SESSIONS_KEPT: usize = 16;

/// What every task of the adapter shares.
pub(super) struct Shared {
    pub cfg: ZkAdapterConfig,
    pub layout: Layout,
    pub acl: ZnodeAcl,
    events: mpsc::UnboundedSender<Event>,
    current: Mutex<Option<Arc<SessionCtx>>>,
    /// Every session id this process has held (bounded): their election nodes are ours to
    /// remove once we moved on to a newer session.
    held: Mutex<Vec<i64>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub fn new(cfg: ZkAdapterConfig, events: mpsc::UnboundedSender<Event>) -> Self {
        let layout = Layout::new(&cfg.root, &cfg.cluster_id);
        let acl = ZnodeAcl::new(cfg.acl.clone(), cfg.security.authenticates());
        Shared { cfg, layout, acl, events, current: Mutex::new(None), held: Mutex::new(Vec::new()) }
    }

    /// Sends an answer to the core (op results carry their op id; the core drops stale ones).
    pub fn send(&self, event: Event) {
        // The receiver is gone only when the daemon is shutting down.
        let _ = self.events.send(event);
    }

    /// Sends an event produced by `ctx`'s session, unless we closed that session ourselves
    /// (then it is an echo of our own doing, and the core has moved on to a newer generation).
    pub fn report(&self, ctx: &SessionCtx, event: Event) {
        if !ctx.is_closed() {
            self.send(event);
        }
    }

    pub fn options(&self, mode: CreateMode) -> CreateOptions<'_> {
        self.acl.options(mode)
    }

    /// Opens the session of `gen`, closing the previous one. A repeated request for the
    /// generation already open is ignored.
    pub fn open(self: &Arc<Self>, gen: SessionGen) {
        let ctx = Arc::new(SessionCtx::new(gen));
        let previous = {
            let mut current = lock(&self.current);
            if current.as_ref().is_some_and(|c| c.gen == gen && !c.is_closed()) {
                return;
            }
            current.replace(ctx.clone())
        };
        if let Some(previous) = previous {
            tracing::info!(old = previous.gen.0, new = gen.0, "closing the previous ZooKeeper session");
            previous.close();
        }
        tokio::spawn(connect_loop(self.clone(), ctx.clone()));
        tokio::spawn(super::state::watch_worker(self.clone(), ctx.clone()));
        tokio::spawn(super::election::view_worker(self.clone(), ctx));
    }

    /// Closes the current session (its ephemeral nodes go away at once).
    pub fn close(&self) {
        let current = lock(&self.current).take();
        if let Some(ctx) = current {
            ctx.close();
        }
    }

    /// The context and a client of the session of `gen`, if that session is the current one
    /// and has connected (it may be disconnected right now: calls then wait, time-boxed).
    pub fn session(&self, gen: SessionGen) -> Result<(Arc<SessionCtx>, Client), ZkError> {
        let ctx = lock(&self.current).clone();
        let ctx = match ctx {
            Some(ctx) if ctx.gen == gen => ctx,
            Some(ctx) => {
                return Err(ZkError::NoSession(format!(
                    "generation {} was superseded by generation {}",
                    gen.0, ctx.gen.0
                )))
            }
            None => return Err(ZkError::NoSession(format!("generation {} was never opened", gen.0))),
        };
        let client =
            ctx.client().ok_or_else(|| ZkError::NoSession(format!("generation {} is not connected", gen.0)))?;
        Ok((ctx, client))
    }

    /// The context of `gen` while it is the current generation (connected or not).
    pub fn ctx(&self, gen: SessionGen) -> Option<Arc<SessionCtx>> {
        lock(&self.current).clone().filter(|c| c.gen == gen && !c.is_closed())
    }

    /// Did this process hold session `id` before (or now)?
    pub fn held_session(&self, id: i64) -> bool {
        lock(&self.held).contains(&id)
    }

    fn remember_session(&self, id: i64) {
        let mut held = lock(&self.held);
        if !held.contains(&id) {
            if held.len() >= HELD_SESSIONS_KEPT {
                held.remove(0);
            }
            held.push(id);
        }
    }

    /// A client of whatever session is current (for read-only views).
    pub fn any_client(&self) -> Result<Client, ZkError> {
        let ctx = lock(&self.current).clone();
        ctx.and_then(|c| c.client()).ok_or_else(|| ZkError::NoSession("not connected".into()))
    }
}

/// One session generation.
pub(super) struct SessionCtx {
    pub gen: SessionGen,
    inner: Mutex<CtxInner>,
    closed: watch::Sender<bool>,
    /// Election bookkeeping of this session (our node, the watched predecessor).
    pub election: Mutex<ElectionState>,
    /// Asks the view worker to re-read the candidates and send a view.
    pub refresh: Notify,
    /// Held by every election operation (join, leave, view) from its first ZooKeeper request
    /// until its event is sent, so events reach the core in the order ZooKeeper applied the
    /// operations: a view listed before our node was created can never arrive after `Joined`
    /// (the core would take our node for gone and join a second time).
    pub election_order: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct CtxInner {
    client: Option<Client>,
    session_id: Option<i64>,
    closed: bool,
}

impl SessionCtx {
    fn new(gen: SessionGen) -> Self {
        SessionCtx {
            gen,
            inner: Mutex::new(CtxInner::default()),
            closed: watch::channel(false).0,
            election: Mutex::new(ElectionState::default()),
            refresh: Notify::new(),
            election_order: tokio::sync::Mutex::new(()),
        }
    }

    pub fn is_closed(&self) -> bool {
        lock(&self.inner).closed
    }

    pub fn client(&self) -> Option<Client> {
        let inner = lock(&self.inner);
        if inner.closed {
            return None;
        }
        inner.client.clone()
    }

    pub fn session_id(&self) -> Option<i64> {
        lock(&self.inner).session_id
    }

    pub fn election(&self) -> MutexGuard<'_, ElectionState> {
        lock(&self.election)
    }

    /// Resolves once this session is closed (by us, or because it ended).
    pub async fn closed(&self) {
        let mut rx = self.closed.subscribe();
        let _ = rx.wait_for(|closed| *closed).await;
    }

    /// Installs the connected client; `false` (and the client is dropped, closing its session)
    /// when this generation was closed while connecting.
    fn install(&self, client: Client, session_id: i64) -> bool {
        let mut inner = lock(&self.inner);
        if inner.closed {
            return false;
        }
        inner.client = Some(client);
        inner.session_id = Some(session_id);
        true
    }

    /// Marks the generation closed and drops our client. The session itself is closed by the
    /// client library once the last clone (in-flight operations hold one, each time-boxed) is
    /// dropped.
    pub fn close(&self) {
        let client = {
            let mut inner = lock(&self.inner);
            inner.closed = true;
            inner.client.take()
        };
        self.closed.send_replace(true);
        drop(client);
    }
}

/// Connects the session of `ctx`, retrying with backoff until it connects or is superseded.
async fn connect_loop(shared: Arc<Shared>, ctx: Arc<SessionCtx>) {
    let cfg = &shared.cfg;
    let mut backoff = CONNECT_BACKOFF_MIN;
    loop {
        let connector = Client::connector().with_session_timeout(cfg.session_timeout).with_fail_eagerly();
        let attempt =
            tokio::time::timeout(cfg.session_timeout + cfg.op_timeout, cfg.security.connect(connector, &cfg.connect));
        let result = tokio::select! {
            r = attempt => r,
            _ = ctx.closed() => return,
        };
        match result {
            Ok(Ok(client)) => {
                let session_id = client.session_id().0;
                let states = client.state_watcher();
                tracing::info!(
                    gen = ctx.gen.0,
                    session = %client.session_id(),
                    timeout = ?client.session_timeout(),
                    "ZooKeeper session connected"
                );
                if client.session_timeout() < cfg.session_timeout {
                    // Self-fencing timings were computed from the configured timeout.
                    tracing::warn!(
                        asked = ?cfg.session_timeout,
                        granted = ?client.session_timeout(),
                        "ZooKeeper granted a shorter session timeout than configured (server maxSessionTimeout)"
                    );
                }
                shared.remember_session(session_id);
                if !ctx.install(client, session_id) {
                    return;
                }
                shared.report(&ctx, Event::SessionConnected { gen: ctx.gen, session_id });
                watch_states(&shared, &ctx, states, session_id).await;
                return;
            }
            Ok(Err(e)) => {
                let hint = connect_hint(&e);
                tracing::warn!(gen = ctx.gen.0, connect = %cfg.connect, security = %cfg.security.describe(), error = %e, "cannot connect to ZooKeeper{hint}; retrying")
            }
            Err(_) => {
                tracing::warn!(gen = ctx.gen.0, connect = %cfg.connect, "connecting to ZooKeeper timed out; retrying")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = ctx.closed() => return,
        }
        backoff = (backoff * 2).min(CONNECT_BACKOFF_MAX);
    }
}

/// Said along with a failed connect whose cause is the credentials, not the network.
fn connect_hint(e: &zookeeper_client::Error) -> &'static str {
    match e {
        zookeeper_client::Error::AuthFailed => {
            " (the servers refused rmfc's credentials: check zookeeper.auth and the servers' JAAS and authProvider \
             settings)"
        }
        _ => "",
    }
}

/// What the core was last told about the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Told {
    Connected,
    Disconnected,
}

/// Turns state changes of the connected session into events until the session ends.
///
/// The client's state channel keeps only the latest state, so a quick Disconnected →
/// SyncConnected may arrive as SyncConnected alone. The core MUST see a disconnect between two
/// `SessionConnected` of one session (the connection was lost: its view and leadership must be
/// re-verified), so one is reported for it.
async fn watch_states(shared: &Shared, ctx: &SessionCtx, mut states: StateWatcher, session_id: i64) {
    let gen = ctx.gen;
    let mut told = Told::Connected;
    // A change between connecting and subscribing is handled first.
    let mut pending = Some(states.peek_state()).filter(|s| *s != SessionState::SyncConnected);
    loop {
        let state = match pending.take() {
            Some(s) => s,
            None => tokio::select! {
                s = states.changed() => s,
                _ = ctx.closed() => return,
            },
        };
        if ctx.is_closed() {
            return;
        }
        match state {
            SessionState::SyncConnected => {
                if told == Told::Connected {
                    shared.report(ctx, Event::SessionDisconnected { gen });
                }
                tracing::info!(gen = gen.0, "ZooKeeper session reconnected");
                shared.report(ctx, Event::SessionConnected { gen, session_id });
                told = Told::Connected;
            }
            // A read-only connection cannot hold the election or write: as good as disconnected.
            SessionState::Disconnected | SessionState::ConnectedReadOnly => {
                if told == Told::Connected {
                    tracing::warn!(gen = gen.0, state = %state, "ZooKeeper connection lost");
                    shared.report(ctx, Event::SessionDisconnected { gen });
                    told = Told::Disconnected;
                }
            }
            SessionState::Expired | SessionState::AuthFailed | SessionState::Closed => {
                tracing::warn!(gen = gen.0, state = %state, "ZooKeeper session ended");
                shared.report(ctx, Event::SessionExpired { gen });
                ctx.close();
                return;
            }
        }
    }
}
