//! `rmfc run`: the daemon. One task owns the decision core by value; the adapters (ZooKeeper,
//! RMs, fencing) run their I/O on their own tasks and report back through one event channel.
//! The loop is: wait for an event or the core's next deadline → `step` → execute the actions in
//! order. Every announcement is logged with cluster, rm id, epoch and reason.
//!
//! Owns: wiring and the loop. Must not: make decisions (the core does) or block on I/O.

mod wiring;

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::config::Config;
use crate::core::io::Announcement;
use crate::core::{Action, Controller, Event};
use crate::fence::FenceAdapter;
use crate::rm::RmAdapter;
use crate::zk::ZkAdapter;

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
    let digest = wiring::read_digest(&config)?;
    let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
    let adapters = Adapters {
        zk: ZkAdapter::new(wiring::zk_config(&config, digest.clone()), tx.clone()),
        rm: RmAdapter::new(wiring::rm_config(&config), tx.clone()),
        fence: FenceAdapter::new(wiring::fence_config(&config, digest), tx.clone()),
    };
    let cluster = config.cluster_id.clone();
    let rm_id = config.rm_id.clone();
    let start = Instant::now();
    let mut core = Controller::new(wiring::core_config(&config), start.into_std());
    for a in core.start(start.into_std()) {
        adapters.execute(&cluster, &rm_id, a);
    }
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
                adapters.zk.close().await;
                return Ok(());
            }
        };
        for a in core.step(Instant::now().into_std(), event) {
            adapters.execute(&cluster, &rm_id, a);
        }
    }
}
