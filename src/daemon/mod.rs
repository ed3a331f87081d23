//! `rmfc run`: the daemon. One task owns the decision core by value; the adapters (ZooKeeper,
//! RMs, fencing) run their I/O on their own tasks and report back through one event channel.
//! The loop is: wait for an event or the core's next deadline → `step` → execute the actions in
//! order. Every announcement is logged with cluster, rm id, epoch and reason.
//!
//! Owns: wiring and the loop. Must not: make decisions (the core does) or block on I/O.

mod systemd;
pub mod wiring;

use std::time::Duration;

use std::sync::{Arc, Mutex};

use anyhow::Context;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::admin;
use crate::config::Config;
use crate::core::io::Announcement;
use crate::core::{Action, Controller, Event, Status};
use crate::fence::FenceAdapter;
use crate::metrics::Metrics;
use crate::rm::RmAdapter;
use crate::zk::ZkAdapter;
use systemd::SystemdNotifier;

/// Everything the loop drives.
struct Adapters {
    zk: ZkAdapter,
    rm: RmAdapter,
    fence: FenceAdapter,
}

impl Adapters {
    fn execute(&self, cluster: &str, rm_id: &str, action: Action) {
        match action {
            Action::OpenSession { .. }
            | Action::JoinElection { .. }
            | Action::LeaveElection { .. }
            | Action::ReadElection { .. }
            | Action::ReadState { .. }
            | Action::WriteState { .. }
            | Action::AppendHistory { .. }
            | Action::PublishHealth { .. } => self.zk.execute(action),
            Action::Probe { .. } | Action::Transition { .. } => self.rm.execute(action),
            Action::Fence { .. } | Action::VerifyStoreFence { .. } => self.fence.execute(action),
            // The failsafe is not configurable yet (core_config sets `failsafe: None`), so the core
            // never asks for these; the peer adapter and `POST /v1/failsafe/ack` come with it.
            Action::RequestFailsafeAck { .. } | Action::AnswerFailsafeAck { .. } => {}
            Action::Announce(Announcement { kind, epoch, reason }) => {
                tracing::info!(cluster, rm = rm_id, epoch, kind = ?kind, "{reason}");
            }
        }
    }
}

/// Runs the daemon until SIGTERM/SIGINT.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let budget = config.timing_budget();
    tracing::info!(
        cluster = %config.cluster_id,
        rm = %config.rm_id,
        worst_case_failover = ?budget.failover_worst,
        "rmfc starting"
    );
    // The Kerberos login comes first (main() prepared its environment, which the ZooKeeper
    // client's GSSAPI reads too): a bad keytab stops the start here, naming it.
    let auth = crate::security::rm_client_auth(&config)?;
    if let crate::hadoop_ipc::ClientAuth::Kerberos(k) = &auth {
        tracing::info!(login = %k.login.describe(), rm_principal = %k.server_principal, "Kerberos login done");
    }
    let zk_access = wiring::zk_access(&config)?;
    tracing::info!(
        cluster = %config.cluster_id,
        rm = %config.rm_id,
        security = %zk_access.security.describe(),
        acl = %crate::zk::layout::ZnodeAcl::new(zk_access.acl.clone(), zk_access.security.authenticates()).describe(),
        "ZooKeeper sessions authenticate with these credentials and create znodes with this ACL"
    );
    let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
    let adapters = Adapters {
        zk: ZkAdapter::new(wiring::zk_config(&config, &zk_access), tx.clone()),
        rm: RmAdapter::new(wiring::rm_config(&config, auth.clone()), tx.clone()),
        fence: FenceAdapter::new(wiring::fence_config(&config, &zk_access, auth), tx.clone()),
    };
    let cluster = config.cluster_id.clone();
    let rm_id = config.rm_id.clone();
    let method_names = config.fencing.methods.iter().map(|m| m.type_name().to_string()).collect();
    let metrics = Arc::new(Mutex::new(Metrics::new(&cluster, method_names, budget.failover_worst.as_secs_f64())?));
    let start = Instant::now();
    let core_config = wiring::core_config(&config);
    let failover_budget = core_config.budget;
    let mut core = Controller::new(core_config, start.into_std());
    let (status_tx, status_rx) = watch::channel(daemon_status(&core.status(), start.into_std()));

    let tls = config.admin.tls.as_ref().map(admin::tls::server_config).transpose().map_err(anyhow::Error::msg)?;
    let listener = tokio::net::TcpListener::bind(config.admin.listen)
        .await
        .with_context(|| format!("admin.listen {}: cannot listen", config.admin.listen))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(cluster, rm = %rm_id, admin = %listener.local_addr()?, scheme, "admin API listening");
    let probe_cycle = config.health.interval + config.health.timeout;
    let admin_state = admin::AdminState {
        cluster: cluster.clone(),
        rm_id: rm_id.clone(),
        rm_ids: config.resource_managers.keys().cloned().collect(),
        status: status_rx,
        metrics: metrics.clone(),
        zk: adapters.zk.clone(),
        rm: adapters.rm.clone(),
        worst_case_failover: budget.failover_worst,
        failover_budget,
        liveness_limit: (config.health.interval * 3).max(Duration::from_secs(5)),
        readiness_limit: probe_cycle * 3,
        token: wiring::read_token(&config)?,
    };
    let admin_task = tokio::spawn(admin::serve(listener, admin_state, tls));
    let mut notifier = SystemdNotifier::new(config.zookeeper.session_timeout);

    let mut dispatch = |core: &Controller, now: std::time::Instant, actions: Vec<Action>| {
        let mut m = metrics.lock().unwrap_or_else(|p| p.into_inner());
        for a in actions {
            m.on_action(now, &a);
            adapters.execute(&cluster, &rm_id, a);
        }
        let st = core.status();
        m.observe_status(&st);
        let _ = status_tx.send(daemon_status(&st, now));
        notifier.after_step(&st, now);
    };
    let actions = core.start(start.into_std());
    dispatch(&core, start.into_std(), actions);
    let mut shutdown = std::pin::pin!(crate::signals::shutdown());
    loop {
        let deadline =
            core.next_deadline().map(Instant::from_std).unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
        let event = tokio::select! {
            ev = rx.recv() => match ev {
                Some(ev) => ev,
                None => anyhow::bail!("all adapters stopped"),
            },
            _ = tokio::time::sleep_until(deadline) => Event::Tick,
            _ = &mut shutdown => {
                tracing::info!(cluster, rm = %rm_id, "rmfc stopping; closing the ZooKeeper session hands leadership over");
                notifier.stopping();
                admin_task.abort();
                adapters.zk.close().await;
                return Ok(());
            }
        };
        let now = Instant::now().into_std();
        metrics.lock().unwrap_or_else(|p| p.into_inner()).on_event(now, &event);
        let actions = core.step(now, event);
        dispatch(&core, now, actions);
    }
}

fn daemon_status(s: &Status, now: std::time::Instant) -> admin::DaemonStatus {
    admin::DaemonStatus {
        role: s.role.name(),
        role_detail: s.role.detail(),
        leader: s.leader,
        session_connected: s.session_connected,
        health: crate::metrics::health_name(s.health),
        rm_state: s.rm_state.map(|st| st.to_string()),
        epoch: s.epoch,
        drift_corrections: s.drift_corrections,
        budget_remaining: s.budget_remaining,
        loop_at: now,
        last_probe: s.last_probe,
    }
}
