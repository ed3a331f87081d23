//! The fencing chain's steps, one at a time as the core asks for them: graceful
//! (`transitionToStandby` on the old active), then the configured methods — `zk_state_store`
//! (rely on ZKRMStateStore's own fencing: record who holds the store root now, and after the
//! promotion verify that the new active took it), `shell` (an operator's command with the target
//! in its environment) and `http` (POST to an operator's endpoint). Every result goes back to the
//! core as `FenceDone` / `StoreFenceVerified` with the action's `OpId`.
//!
//! Owns: running one step within its deadline and saying in one sentence why it failed; the
//! ZooKeeper session to the RM state store; the record of the store root's holders.
//! Must not: choose the next step, skip a step, or promote anything (the core decides); retry a
//! step by itself; block the caller of [`FenceAdapter::execute`].

mod http;
mod shell;
mod store;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tracing::Instrument;

use crate::core::io::FenceStep;
use crate::core::{Action, Event};
use crate::hadoop_ipc::{ClientAuth, HaClient, RequestSource};
use crate::rm::{describe_error, RmEndpointCfg};

pub use store::DEFAULT_STORE_ROOT;

/// One configured fencing method (`fencing.methods[i]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FenceMethodCfg {
    /// Rely on ZKRMStateStore fencing at store root `path` (default [`DEFAULT_STORE_ROOT`]);
    /// after promotion, wait up to `verify_timeout` for its ACL to change hands.
    ZkStateStore { path: String, verify_timeout: Duration },
    /// `/bin/sh -c command`; exit 0 = fenced; killed (process group) at `timeout`.
    Shell { command: String, timeout: Duration },
    /// POST a JSON description of the target to `url`; 2xx = fenced.
    Http { url: String, timeout: Duration },
}

/// Everything the fence adapter needs.
#[derive(Debug, Clone)]
pub struct FenceAdapterConfig {
    pub cluster_id: String,
    /// Every RM (any of them may be the one to fence).
    pub rms: BTreeMap<String, RmEndpointCfg>,
    /// `transitionToStandby` deadline of the graceful step.
    pub graceful_timeout: Duration,
    pub request_source: RequestSource,
    /// IPC effective user; `None`: the OS user.
    pub user: Option<String>,
    /// SIMPLE or Kerberos (`security.authentication`).
    pub auth: ClientAuth,
    pub methods: Vec<FenceMethodCfg>,
    /// ZooKeeper holding the RM state store (usually the same ensemble as rmfc's).
    pub store_zk_connect: String,
    /// How to authenticate to that ensemble (rmfc's own ZooKeeper credentials and TLS): reading
    /// the store root's ACL needs no rights on it, but a server may require authentication.
    pub store_zk_security: crate::zk::ZkSecurity,
}

/// The fence adapter. Cheap to clone (shared inside). [`FenceAdapter::execute`] spawns on the
/// current tokio runtime, so it must be called from within one.
#[derive(Clone)]
pub struct FenceAdapter {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: FenceAdapterConfig,
    events: UnboundedSender<Event>,
    store: store::StoreWatch,
    /// `Err` when the HTTP client could not be built: every `http` step then fails with it.
    http: Result<reqwest::Client, String>,
}

impl FenceAdapter {
    pub fn new(cfg: FenceAdapterConfig, events: UnboundedSender<Event>) -> Self {
        let store = store::StoreWatch::new(&cfg.store_zk_connect, cfg.store_zk_security.clone());
        let http = http::client().map_err(|e| format!("cannot build the HTTP client: {}", describe_error(&e)));
        FenceAdapter { inner: Arc::new(Inner { cfg, events, store, http }) }
    }

    /// Executes `Action::Fence` and `Action::VerifyStoreFence`; ignores every other action.
    /// Never blocks: the work is spawned and reports `Event::FenceDone` /
    /// `Event::StoreFenceVerified` with the action's `op`.
    pub fn execute(&self, action: Action) {
        match action {
            Action::Fence { op, target, step, epoch } => {
                let me = self.clone();
                let span = tracing::info_span!("fence", cluster = %self.inner.cfg.cluster_id, target = %target, epoch, step = %step_name(&self.inner.cfg, step));
                tokio::spawn(
                    async move {
                        let result = me.fence(&target, step, epoch).await;
                        let _ = me.inner.events.send(Event::FenceDone { op, result });
                    }
                    .instrument(span),
                );
            }
            Action::VerifyStoreFence { op, epoch } => {
                let me = self.clone();
                let span = tracing::info_span!("verify_store_fence", cluster = %self.inner.cfg.cluster_id, epoch);
                tokio::spawn(
                    async move {
                        let result = me.verify_store(epoch).await;
                        let _ = me.inner.events.send(Event::StoreFenceVerified { op, result });
                    }
                    .instrument(span),
                );
            }
            _ => {}
        }
    }

    /// Runs one step against `target`; `Err` says why it did not fence.
    async fn fence(&self, target: &str, step: FenceStep, epoch: u64) -> Result<(), String> {
        let cfg = &self.inner.cfg;
        let Some(ep) = cfg.rms.get(target) else {
            tracing::warn!("fencing step refused: unknown RM");
            return Err(format!("unknown RM id {target:?} (not in resource_managers)"));
        };
        tracing::info!("fencing step started");
        let started = tokio::time::Instant::now();
        let result = match step {
            FenceStep::Graceful => self.graceful(ep).await,
            FenceStep::Method(i) => match cfg.methods.get(i) {
                None => Err(format!("fencing.methods[{i}] is not configured ({} methods)", cfg.methods.len())),
                Some(FenceMethodCfg::ZkStateStore { path, verify_timeout }) => {
                    self.inner.store.record(path, epoch, store::record_timeout(*verify_timeout)).await
                }
                Some(FenceMethodCfg::Shell { command, timeout }) => {
                    shell::run(command, &shell::env(&cfg.cluster_id, epoch, target, ep), *timeout).await
                }
                Some(FenceMethodCfg::Http { url, timeout }) => match &self.inner.http {
                    Ok(client) => {
                        http::post(client, url, &http::body(&cfg.cluster_id, target, ep, epoch), *timeout).await
                    }
                    Err(e) => Err(e.clone()),
                },
            },
        };
        let elapsed = started.elapsed();
        match &result {
            Ok(()) => tracing::info!(?elapsed, "fencing step succeeded"),
            Err(e) => tracing::warn!(?elapsed, error = %e, "fencing step failed"),
        }
        result
    }

    /// `transitionToStandby` on the target, on a connection of its own.
    async fn graceful(&self, ep: &RmEndpointCfg) -> Result<(), String> {
        let cfg = &self.inner.cfg;
        let mut client =
            HaClient::with_auth(ep.admin_address.clone(), cfg.user.clone(), cfg.auth.clone(), cfg.request_source);
        client.transition_to_standby(cfg.graceful_timeout).await.map_err(|e| e.to_string())
    }

    /// After promotion: did the store root's ACL change hands since the `zk_state_store` step?
    async fn verify_store(&self, epoch: u64) -> Result<(), String> {
        let methods = &self.inner.cfg.methods;
        let stores: Vec<(&str, Duration)> = methods
            .iter()
            .filter_map(|m| match m {
                FenceMethodCfg::ZkStateStore { path, verify_timeout } => Some((path.as_str(), *verify_timeout)),
                _ => None,
            })
            .collect();
        if stores.is_empty() {
            return Err("no zk_state_store fencing method is configured: nothing to verify".into());
        }
        let result = self.inner.store.verify(&stores, epoch).await;
        match &result {
            Ok(()) => tracing::info!("state store fencing verified: the store root's ACL changed hands"),
            Err(e) => tracing::warn!(error = %e, "state store fencing not verified"),
        }
        result
    }
}

fn step_name(cfg: &FenceAdapterConfig, step: FenceStep) -> String {
    match step {
        FenceStep::Graceful => "graceful".into(),
        FenceStep::Method(i) => match cfg.methods.get(i) {
            Some(FenceMethodCfg::ZkStateStore { .. }) => format!("methods[{i}] zk_state_store"),
            Some(FenceMethodCfg::Shell { .. }) => format!("methods[{i}] shell"),
            Some(FenceMethodCfg::Http { .. }) => format!("methods[{i}] http"),
            None => format!("methods[{i}] (not configured)"),
        },
    }
}
