//! The ZooKeeper adapter: executes the core's ZooKeeper actions (`OpenSession`, `JoinElection`,
//! `LeaveElection`, `ReadElection`, `ReadState`, `WriteState`, `PublishHealth`) on tokio tasks
//! and reports every outcome as the event `core::io` names, tagged with the session generation
//! (or op id) that produced it. Layout (DESIGN.md "ZooKeeper layout"):
//!
//! ```text
//! <root>/<cluster-id>/election/<rm-id>_<guid>-n_<seq>   EPHEMERAL_SEQUENTIAL, candidate JSON
//! <root>/<cluster-id>/state                            ClusterState JSON, written with version CAS
//! <root>/<cluster-id>/breadcrumb                       Breadcrumb JSON
//! <root>/<cluster-id>/history                          [HistoryEntry + at_ms], newest last, bounded
//! <root>/<cluster-id>/health/<rm-id>                   {health, at_ms}
//! ```
//!
//! - [`session`]: one session per generation, its state events.
//! - [`election`]: our candidate node, the predecessor watch, election views.
//! - [`state`]: state/breadcrumb reads, the CAS multi write, history, health, the state watch.
//! - [`view`]: the read-only [`ClusterView`] for the admin API.
//! - [`security`]: how the sessions authenticate (digest, SASL) and whether they use TLS.
//! - [`layout`], [`records`], [`error`]: paths, names and the znode ACL, record formats, errors
//!   (pure).
//!
//! Owns: every byte rmfc reads or writes in ZooKeeper. Must not: decide anything (the core
//! does), block the caller, or wait on ZooKeeper without a deadline (`op_timeout`).

mod election;
pub mod error;
pub mod layout;
mod operator;
pub mod records;
pub mod security;
mod session;
mod state;
pub mod view;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::core::{Action, Event};

pub use error::ZkError;
pub use security::{ZkSaslAuth, ZkSecurity};
pub use view::{ClusterView, HistoryRecord, PeerHealthReport};

/// What the adapter needs to know.
#[derive(Clone)]
pub struct ZkAdapterConfig {
    /// Multi-host connect string (`zk1:2181,zk2:2181,zk3:2181`).
    pub connect: String,
    /// Absolute root of rmfc's znodes, e.g. `/rmfc`.
    pub root: String,
    pub cluster_id: String,
    pub rm_id: String,
    /// Asked of the server (which clamps it to [2, 20] ticks by default).
    pub session_timeout: Duration,
    /// Deadline of each ZooKeeper call (calls made while disconnected wait for a reconnect).
    pub op_timeout: Duration,
    /// How the session authenticates and whether it uses TLS.
    pub security: ZkSecurity,
    /// The ACL of every znode created (`zookeeper.acl`); `None`: the default of
    /// [`layout::ZnodeAcl::new`] (only the session's own identities when it authenticates,
    /// `world:anyone` otherwise).
    pub acl: Option<Vec<zookeeper_client::Acl>>,
    /// JSON stored in our election node (rm id, addresses, pid, version).
    pub candidate_data: serde_json::Value,
    /// Entries kept in `/history`.
    pub history_limit: usize,
}

impl std::fmt::Debug for ZkAdapterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZkAdapterConfig")
            .field("connect", &self.connect)
            .field("root", &self.root)
            .field("cluster_id", &self.cluster_id)
            .field("rm_id", &self.rm_id)
            .field("session_timeout", &self.session_timeout)
            .field("op_timeout", &self.op_timeout)
            // ZkSecurity's Debug never shows a password.
            .field("security", &self.security)
            .field("acl", &self.acl)
            .field("history_limit", &self.history_limit)
            .finish_non_exhaustive()
    }
}

/// The ZooKeeper adapter. Cheap to clone (all clones share one session).
#[derive(Clone)]
pub struct ZkAdapter {
    shared: Arc<session::Shared>,
}

impl ZkAdapter {
    /// Makes the adapter; nothing connects before `OpenSession`. Events go to `events`.
    pub fn new(cfg: ZkAdapterConfig, events: mpsc::UnboundedSender<Event>) -> Self {
        ZkAdapter { shared: Arc::new(session::Shared::new(cfg, events)) }
    }

    /// Executes one ZooKeeper action without blocking (the work runs on tokio tasks; call from
    /// within a tokio runtime). Results come back as the events `core::io` names. Actions for
    /// other adapters are ignored.
    pub fn execute(&self, action: Action) {
        let shared = self.shared.clone();
        match action {
            Action::OpenSession { gen } => shared.open(gen),
            Action::JoinElection { gen } => {
                tokio::spawn(election::join(shared, gen));
            }
            Action::LeaveElection { gen, znode } => {
                tokio::spawn(election::leave(shared, gen, znode));
            }
            Action::ReadElection { gen } => election::read(&shared, gen),
            Action::ReadState { op, gen } => {
                tokio::spawn(state::read(shared, op, gen));
            }
            Action::WriteState { op, gen, own_znode, expected_version, state, breadcrumb } => {
                let w = state::Write { op, gen, own_znode, expected_version, state, breadcrumb };
                tokio::spawn(state::write(shared, w));
            }
            Action::AppendHistory { gen, entry } => {
                tokio::spawn(state::append(shared, gen, entry));
            }
            Action::PublishHealth { gen, health } => {
                tokio::spawn(state::publish_health(shared, gen, health));
            }
            _ => {}
        }
    }

    /// Candidates, state, breadcrumb, history and health as ZooKeeper holds them now, read on
    /// the current session (each call time-boxed). For the admin API; the core never uses it.
    pub async fn snapshot(&self) -> Result<ClusterView, ZkError> {
        view::snapshot(&self.shared).await
    }

    /// Sets (Some) or clears (None) the operator's pause in the state znode, with CAS.
    pub async fn set_pause(
        &self,
        pause: Option<crate::core::types::Pause>,
    ) -> Result<crate::core::types::ClusterState, ZkError> {
        operator::set_pause(&self.shared, pause).await
    }

    /// Records an operator's switchover request with CAS; `make` builds it from the state read
    /// (or refuses: the inner `Err`, nothing written).
    pub async fn request_switchover(
        &self,
        make: impl Fn(&crate::core::types::ClusterState) -> Result<crate::core::types::Switchover, String>,
    ) -> Result<Result<crate::core::types::ClusterState, String>, ZkError> {
        operator::request_switchover(&self.shared, make).await
    }

    /// Closes the current session now, so its election node disappears at once instead of
    /// after the session timeout (a clean shutdown hands leadership over immediately). No
    /// event is reported for it. Returns once the close request has been sent (bounded by
    /// `op_timeout`); in-flight operations finish with errors.
    pub async fn close(&self) {
        let client = self.shared.any_client().ok();
        self.shared.close();
        if let Some(client) = client {
            let mut states = client.state_watcher();
            drop(client);
            let ended = async {
                if states.peek_state().is_terminated() {
                    return;
                }
                while !states.changed().await.is_terminated() {}
            };
            let _ = tokio::time::timeout(self.shared.cfg.op_timeout, ended).await;
        }
    }
}
