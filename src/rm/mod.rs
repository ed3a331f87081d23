//! The ResourceManager as the core sees it: one probe (`getServiceStatus` + `monitorHealth` over
//! Hadoop IPC, optionally REST `GET /ws/v1/cluster/info`) turned into a [`ProbeOutcome`], and
//! state transitions (`transitionToActive` / `transitionToStandby`) carrying the epoch that
//! ordered them. Every answer goes back to the core as an event tagged with the action's `OpId`.
//!
//! Owns: one reused IPC connection per RM for probes, the REST client, the probe deadline, and
//! turning `HaError`s into what the core needs (dead, slow, unhealthy, unusable).
//! Must not: decide anything from what it sees (the core does), retry a transition (it is not
//! idempotent from the caller's point of view), block the caller of [`RmAdapter::execute`], or
//! follow an HTTP redirect (a standby redirects to the active: following would probe the wrong RM).

mod probe;
mod rest;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc::UnboundedSender, Mutex};
use tokio::time::Instant;

use crate::core::health::ProbeOutcome;
use crate::core::io::TargetState;
use crate::core::{Action, Event};
use crate::hadoop_ipc::{ClientAuth, HaClient, RequestSource};

pub(crate) use rest::{describe_error, excerpt, read_capped};

/// Where one RM listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RmEndpointCfg {
    /// `yarn.resourcemanager.admin.address.<rm-id>`, HOST:PORT (HAServiceProtocol).
    pub admin_address: String,
    /// `yarn.resourcemanager.webapp.address.<rm-id>`, like `http://host:8088` (a bare HOST:PORT
    /// means `http://`).
    pub web_address: String,
}

/// Everything the RM adapter needs.
#[derive(Debug, Clone)]
pub struct RmAdapterConfig {
    /// The RM this daemon sits beside: the target of `Action::Probe`.
    pub local_rm: String,
    /// Every RM (transitions may target any).
    pub rms: BTreeMap<String, RmEndpointCfg>,
    /// Deadline of ONE probe: IPC status + health (+ REST, run alongside).
    pub probe_timeout: Duration,
    /// Also `GET /ws/v1/cluster/info`.
    pub rest: bool,
    pub request_source: RequestSource,
    /// IPC effective user (SIMPLE auth); `None`: the OS user.
    pub user: Option<String>,
    /// SIMPLE or Kerberos (`security.authentication`).
    pub auth: ClientAuth,
    /// `transitionToActive` deadline.
    pub activate_timeout: Duration,
    /// `transitionToStandby` deadline.
    pub standby_timeout: Duration,
}

/// The RM adapter. Cheap to clone (shared inside). [`RmAdapter::execute`] spawns on the current
/// tokio runtime, so it must be called from within one.
#[derive(Clone)]
pub struct RmAdapter {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: RmAdapterConfig,
    events: UnboundedSender<Event>,
    /// One probe connection per RM, reused (HaClient reconnects by itself after a failure).
    /// Transitions use their own connection: a probe never waits behind a 60 s activation here
    /// (the RM's single admin handler may still make it wait there, which is what it should see).
    probe_clients: BTreeMap<String, Mutex<HaClient>>,
    /// `Err` when the HTTP client could not be built: every REST probe then reports it.
    http: Result<reqwest::Client, String>,
}

impl RmAdapter {
    pub fn new(cfg: RmAdapterConfig, events: UnboundedSender<Event>) -> Self {
        let probe_clients = cfg
            .rms
            .iter()
            .map(|(id, ep)| {
                (
                    id.clone(),
                    Mutex::new(HaClient::with_auth(
                        ep.admin_address.clone(),
                        cfg.user.clone(),
                        cfg.auth.clone(),
                        cfg.request_source,
                    )),
                )
            })
            .collect();
        let http = rest::client().map_err(|e| format!("cannot build the HTTP client: {}", describe_error(&e)));
        RmAdapter { inner: Arc::new(Inner { cfg, events, probe_clients, http }) }
    }

    pub fn config(&self) -> &RmAdapterConfig {
        &self.inner.cfg
    }

    /// Executes `Action::Probe` (of the local RM) and `Action::Transition`; ignores every other
    /// action. Never blocks: the work is spawned and reports `Event::Probed` /
    /// `Event::TransitionDone` with the action's `op`.
    pub fn execute(&self, action: Action) {
        match action {
            Action::Probe { op } => {
                let me = self.clone();
                tokio::spawn(async move {
                    let outcome = me.probe(&me.inner.cfg.local_rm).await;
                    // A closed channel means the driver is shutting down: nobody to tell.
                    let _ = me.inner.events.send(Event::Probed { op, outcome });
                });
            }
            Action::Transition { op, rm, to, epoch, reason } => {
                let me = self.clone();
                tokio::spawn(async move {
                    let result = me.transition(&rm, to, epoch, &reason).await;
                    let _ = me.inner.events.send(Event::TransitionDone { op, result });
                });
            }
            _ => {}
        }
    }

    /// One probe of `rm`, within `probe_timeout` (also used by the admin API for every RM).
    pub async fn probe(&self, rm: &str) -> ProbeOutcome {
        let cfg = &self.inner.cfg;
        let (Some(ep), Some(client)) = (cfg.rms.get(rm), self.inner.probe_clients.get(rm)) else {
            return ProbeOutcome::Failed { reason: format!("unknown RM id {rm:?} (not in resource_managers)") };
        };
        let started = Instant::now();
        let deadline = started + cfg.probe_timeout;
        let outcome = if cfg.rest {
            let url = rest::cluster_info_url(&ep.web_address);
            // Side by side, so a probe costs the slower of the two and not their sum; and only
            // awaited when IPC found the RM answering: a dead RM is reported as soon as IPC
            // knows, not when an unreachable web address times out.
            let rest = self.inner.http.clone().map(|http| {
                let url = url.clone();
                tokio::spawn(async move { rest::ha_state(&http, &url, deadline).await })
            });
            let ipc = probe::ipc(client, deadline).await;
            match probe::state_of(&ipc) {
                None => {
                    if let Ok(task) = &rest {
                        task.abort();
                    }
                    ipc
                }
                Some(ipc_state) => {
                    let rest = match rest {
                        Ok(task) => task.await.unwrap_or_else(|e| Err(format!("REST probe task failed: {e}"))),
                        Err(e) => Err(e),
                    };
                    if let Ok(rest_state) = &rest {
                        if rest_state != ipc_state.rest_name() {
                            tracing::warn!(rm, ipc = %ipc_state, rest = %rest_state, %url,
                                "REST haState disagrees with getServiceStatus; trusting IPC");
                        }
                    }
                    probe::combine(ipc, rest.map(|_| ()).map_err(|e| format!("REST {url}: {e}")))
                }
            }
        } else {
            probe::ipc(client, deadline).await
        };
        tracing::debug!(rm, ?outcome, elapsed = ?started.elapsed(), "probed");
        outcome
    }

    /// Asks `rm` to become `to`; `Err` carries the RM's message and any hint.
    async fn transition(&self, rm: &str, to: TargetState, epoch: u64, reason: &str) -> Result<(), String> {
        let cfg = &self.inner.cfg;
        let Some(ep) = cfg.rms.get(rm) else {
            tracing::warn!(rm, epoch, reason, "transition to an unknown RM refused");
            return Err(format!("unknown RM id {rm:?} (not in resource_managers)"));
        };
        let (name, timeout) = match to {
            TargetState::Active => ("transitionToActive", cfg.activate_timeout),
            TargetState::Standby => ("transitionToStandby", cfg.standby_timeout),
        };
        tracing::info!(rm, epoch, reason, call = name, addr = %ep.admin_address, ?timeout, "transition started");
        let started = Instant::now();
        let mut client =
            HaClient::with_auth(ep.admin_address.clone(), cfg.user.clone(), cfg.auth.clone(), cfg.request_source);
        let result = match to {
            TargetState::Active => client.transition_to_active(timeout).await,
            TargetState::Standby => client.transition_to_standby(timeout).await,
        };
        let elapsed = started.elapsed();
        match &result {
            Ok(()) => tracing::info!(rm, epoch, reason, call = name, ?elapsed, "transition done"),
            Err(e) => tracing::warn!(rm, epoch, reason, call = name, ?elapsed, error = %e, "transition failed"),
        }
        result.map_err(|e| e.to_string())
    }
}
