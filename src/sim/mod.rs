//! `rmfc sim-rm`: a simulated YARN ResourceManager for the demo and the tests. It serves
//! `HAServiceProtocol` over Hadoop IPC on its admin address (Hadoop's own Java client can drive
//! it), the HA REST endpoints on its web address, and, with `--zk`, keeps a ZooKeeper state store
//! fenced the way `ZKRMStateStore` fences. Every state change and every accepted store write is
//! journaled as a JSON line on stdout.
//!
//! Owns: wiring of the simulated RM. Must not: be used by the controller itself.

pub mod checker;
pub mod events;
pub mod rest;
pub mod rm;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::hadoop_ipc::{server, HaServer};
use events::SimEventKind;
pub use rm::{SimRm, SimRmSettings};
use store::FencedStore;

/// Everything `rmfc sim-rm` takes on its command line.
#[derive(Debug, Clone, clap::Args)]
pub struct SimRmArgs {
    /// The RM id (as in yarn.resourcemanager.ha.rm-ids).
    #[arg(long)]
    pub id: String,
    /// HOST:PORT for the admin RPC server (HAServiceProtocol).
    #[arg(long)]
    pub admin_address: String,
    /// HOST:PORT for the web server (REST).
    #[arg(long)]
    pub web_address: String,
    /// ZooKeeper connect string: enables the fenced state store.
    #[arg(long)]
    pub zk: Option<String>,
    /// Store root znode (yarn.resourcemanager.zk-state-store.parent-path + /ZKRMStateRoot).
    #[arg(long, default_value = "/rmstore/ZKRMStateRoot")]
    pub store_root: String,
    /// Behave like yarn.resourcemanager.ha.automatic-failover.enabled=true (accept only
    /// REQUEST_BY_ZKFC and forced requests).
    #[arg(long)]
    pub automatic_failover: bool,
    /// How long transitionToActive takes.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "0s")]
    pub activation_delay: Duration,
    /// ZooKeeper session timeout of the store (hadoop.zk.timeout-ms).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10s")]
    pub zk_session_timeout: Duration,
}

/// Runs the simulated RM until the process is stopped.
pub async fn run(args: SimRmArgs) -> anyhow::Result<()> {
    let admin = tokio::net::TcpListener::bind(&args.admin_address)
        .await
        .with_context(|| format!("--admin-address {}: cannot listen", args.admin_address))?;
    let web = tokio::net::TcpListener::bind(&args.web_address)
        .await
        .with_context(|| format!("--web-address {}: cannot listen", args.web_address))?;
    let admin_addr = admin.local_addr()?.to_string();
    let web_addr = web.local_addr()?.to_string();
    let store = args.zk.as_deref().map(|zk| FencedStore::new(zk, &args.store_root, args.zk_session_timeout, &args.id));
    let settings = SimRmSettings {
        id: args.id.clone(),
        web_address: format!("http://{web_addr}"),
        automatic_failover: args.automatic_failover,
        activation_delay: args.activation_delay,
        store_failure_limit: args.zk_session_timeout,
    };
    let rm = SimRm::new(settings, store);
    rm.events().emit(SimEventKind::Started {
        admin: admin_addr.clone(),
        web: web_addr.clone(),
        pid: std::process::id(),
    });
    tracing::info!(rm = %args.id, admin = %admin_addr, web = %web_addr, "simulated RM serving as standby");

    let ipc = tokio::spawn(server::serve(admin, Arc::new(HaServer(rm.clone()))));
    let http = tokio::spawn(async move { axum::serve(web, rest::router(rm)).await });
    tokio::select! {
        r = ipc => r.context("admin server task")?.context("admin server")?,
        r = http => r.context("web server task")?.context("web server")?,
        _ = crate::signals::shutdown() => tracing::info!("simulated RM stopping"),
    }
    Ok(())
}
