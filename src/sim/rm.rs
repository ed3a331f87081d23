//! The simulated ResourceManager's HA behaviour, point by point as DESIGN.md "The RM side" and
//! `AdminService` describe it: starts STANDBY and never promotes itself; ONE admin handler, so
//! calls are serialised and a slow `transitionToActive` blocks health probes; the request-source
//! rule of `checkHaStateChange`; `monitorHealth` fails only while active services are down; the
//! state store is fenced on activation, and a refused write makes the RM drop to STANDBY by
//! itself.
//!
//! Owns: the RM's HA state, its term counter, and injected faults. Must not: talk to anything but
//! its own store (it knows nothing of controllers or other RMs).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::hadoop_ipc::ha::{ACCESS_CONTROL, HEALTH_CHECK_FAILED, SERVICE_FAILED};
use crate::hadoop_ipc::server::CallContext;
use crate::hadoop_ipc::{HaService, HaState, HaStatus, RemoteException, RequestSource};

use super::events::{now_ms, EventLog, SimEventKind};
use super::store::{FencedStore, Heartbeat, StoreError};

/// How often the active RM writes its heartbeat record.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_millis(100);

/// Fixed settings of one simulated RM.
#[derive(Debug, Clone)]
pub struct SimRmSettings {
    pub id: String,
    pub web_address: String,
    /// `yarn.resourcemanager.ha.automatic-failover.enabled` (mode B when true).
    pub automatic_failover: bool,
    /// How long `transitionToActive` takes (state-store recovery on a real RM).
    pub activation_delay: Duration,
    /// How long store writes may keep failing transiently before the RM gives up being active.
    pub store_failure_limit: Duration,
}

/// Faults a test can inject through the control endpoint.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Faults {
    /// Active services down: `monitorHealth` fails while ACTIVE.
    pub unhealthy: bool,
    /// Every admin RPC takes this long before it is handled (holding the single handler).
    #[serde(with = "humantime_serde_ms")]
    pub rpc_delay: Duration,
}

mod humantime_serde_ms {
    pub fn serialize<S: serde::Serializer>(d: &std::time::Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }
}

#[derive(Debug, Clone)]
pub struct RmState {
    pub ha: HaState,
    /// Number of activations so far; the current one while ACTIVE.
    pub term: u64,
    /// `ResourceManager.getClusterTimeStamp()`: reset on every activation.
    pub cluster_ts_ms: u64,
}

/// One simulated RM. Cheap to clone (shared inside).
#[derive(Clone)]
pub struct SimRm {
    inner: Arc<Inner>,
}

struct Inner {
    settings: SimRmSettings,
    handler: tokio::sync::Mutex<()>,
    state: Mutex<RmState>,
    faults: Mutex<Faults>,
    store: Option<FencedStore>,
    events: EventLog,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl SimRm {
    pub fn new(settings: SimRmSettings, store: Option<FencedStore>) -> Self {
        let events = EventLog::new(&settings.id);
        SimRm {
            inner: Arc::new(Inner {
                settings,
                handler: tokio::sync::Mutex::new(()),
                state: Mutex::new(RmState { ha: HaState::Standby, term: 0, cluster_ts_ms: now_ms() }),
                faults: Mutex::new(Faults::default()),
                store,
                events,
            }),
        }
    }

    pub fn settings(&self) -> &SimRmSettings {
        &self.inner.settings
    }

    pub fn events(&self) -> &EventLog {
        &self.inner.events
    }

    pub fn state(&self) -> RmState {
        lock(&self.inner.state).clone()
    }

    pub fn faults(&self) -> Faults {
        lock(&self.inner.faults).clone()
    }

    pub fn set_faults(&self, f: Faults) {
        tracing::info!(rm = %self.inner.settings.id, ?f, "faults changed");
        *lock(&self.inner.faults) = f;
    }

    pub fn store(&self) -> Option<&FencedStore> {
        self.inner.store.as_ref()
    }

    /// Moves to `to` and journals it; returns the new term.
    fn set_state(&self, to: HaState, reason: &str) -> u64 {
        let mut st = lock(&self.inner.state);
        let from = st.ha;
        if to == HaState::Active && from != HaState::Active {
            st.term += 1;
            st.cluster_ts_ms = now_ms();
        }
        st.ha = to;
        let term = st.term;
        drop(st);
        if from != to {
            tracing::info!(rm = %self.inner.settings.id, %from, %to, term, reason, "HA state changed");
            self.inner.events.emit(SimEventKind::State {
                from: from.to_string(),
                to: to.to_string(),
                term,
                reason: reason.to_string(),
            });
        }
        term
    }

    /// Drops to STANDBY by itself, as the RM does on a fatal event, but only if the term that
    /// failed is still the current one.
    fn demote_self(&self, term: u64, reason: &str) {
        let current = self.state();
        if current.ha == HaState::Active && current.term == term {
            self.set_state(HaState::Standby, reason);
        }
    }

    /// Holds the single admin handler for the duration of one call, after the injected delay.
    async fn handler(&self) -> tokio::sync::MutexGuard<'_, ()> {
        let guard = self.inner.handler.lock().await;
        let delay = self.faults().rpc_delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        guard
    }

    /// `AdminService.checkHaStateChange`.
    fn check_ha_state_change(&self, ctx: &CallContext, source: RequestSource) -> Result<(), RemoteException> {
        let auto = self.inner.settings.automatic_failover;
        match source {
            RequestSource::User if auto => Err(RemoteException::new(
                ACCESS_CONTROL,
                "Manual failover for this ResourceManager is disallowed, because automatic failover is enabled.",
            )),
            RequestSource::Zkfc if !auto => Err(RemoteException::new(
                ACCESS_CONTROL,
                format!(
                    "Request from ZK failover controller at {} denied since automatic failover is not enabled",
                    ctx.peer.ip()
                ),
            )),
            RequestSource::Forced if auto => {
                tracing::warn!("Allowing manual failover from {} even though automatic failover is enabled, because the user specified the force flag", ctx.peer.ip());
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Journals a state-changing call (probes are too frequent to journal).
    fn journal_call<T>(&self, method: &str, source: Option<RequestSource>, r: &Result<T, RemoteException>) {
        let result = match r {
            Ok(_) => "ok".to_string(),
            Err(e) => e.short_class().to_string(),
        };
        self.inner.events.emit(SimEventKind::Call {
            method: method.to_string(),
            source: source.map(|s| s.wire_name().to_string()),
            result,
        });
    }

    async fn activate(&self, ctx: &CallContext, source: RequestSource) -> Result<(), RemoteException> {
        let _h = self.handler().await;
        if self.state().ha == HaState::Active {
            return Ok(());
        }
        self.check_ha_state_change(ctx, source)?;
        let delay = self.inner.settings.activation_delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if let Some(store) = &self.inner.store {
            if let Err(e) = store.activate().await {
                tracing::warn!(rm = %self.inner.settings.id, error = %e, "could not take the state store");
                return Err(RemoteException::new(
                    SERVICE_FAILED,
                    format!("Error when transitioning to Active mode: {e}"),
                ));
            }
        }
        let term = self.set_state(HaState::Active, &format!("transitionToActive ({})", source.wire_name()));
        if self.inner.store.is_some() {
            let rm = self.clone();
            tokio::spawn(async move { rm.heartbeat(term).await });
        }
        Ok(())
    }

    async fn deactivate(&self, ctx: &CallContext, source: RequestSource) -> Result<(), RemoteException> {
        let _h = self.handler().await;
        self.check_ha_state_change(ctx, source)?;
        self.set_state(HaState::Standby, &format!("transitionToStandby ({})", source.wire_name()));
        Ok(())
    }

    /// While `term` is the current active term: write the heartbeat record every interval.
    /// NoAuth or an expired session means another RM took the store: drop to STANDBY.
    async fn heartbeat(&self, term: u64) {
        let Some(store) = &self.inner.store else { return };
        let mut seq = 0u64;
        let mut failing_since: Option<Instant> = None;
        let mut tick = tokio::time::interval(HEARTBEAT_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let st = self.state();
            if st.ha != HaState::Active || st.term != term {
                return;
            }
            seq += 1;
            let hb = Heartbeat {
                rm_id: self.inner.settings.id.clone(),
                term,
                seq,
                wall_ms: now_ms(),
                web_address: self.inner.settings.web_address.clone(),
            };
            match store.write_heartbeat(&hb).await {
                Ok(zxid) => {
                    failing_since = None;
                    self.inner.events.emit(SimEventKind::Write { term, seq, zxid });
                }
                Err(e @ (StoreError::Fenced(_) | StoreError::SessionExpired)) => {
                    self.inner.events.emit(SimEventKind::Fenced { term, error: e.to_string() });
                    self.demote_self(term, &format!("state store fenced: {e}"));
                    return;
                }
                Err(e) => {
                    let since = *failing_since.get_or_insert_with(Instant::now);
                    tracing::warn!(rm = %self.inner.settings.id, error = %e, "state store write failed");
                    if since.elapsed() >= self.inner.settings.store_failure_limit {
                        self.demote_self(term, &format!("state store operation failed: {e}"));
                        return;
                    }
                }
            }
        }
    }
}

impl HaService for SimRm {
    async fn get_service_status(&self, _ctx: &CallContext) -> Result<HaStatus, RemoteException> {
        let _h = self.handler().await;
        Ok(HaStatus::of(self.state().ha))
    }

    async fn monitor_health(&self, _ctx: &CallContext) -> Result<(), RemoteException> {
        let _h = self.handler().await;
        if self.state().ha == HaState::Active && self.faults().unhealthy {
            return Err(RemoteException::new(HEALTH_CHECK_FAILED, "Active ResourceManager services are not running!"));
        }
        Ok(())
    }

    async fn transition_to_active(&self, ctx: &CallContext, source: RequestSource) -> Result<(), RemoteException> {
        let r = self.activate(ctx, source).await;
        self.journal_call("transitionToActive", Some(source), &r);
        r
    }

    async fn transition_to_standby(&self, ctx: &CallContext, source: RequestSource) -> Result<(), RemoteException> {
        let r = self.deactivate(ctx, source).await;
        self.journal_call("transitionToStandby", Some(source), &r);
        r
    }
}
