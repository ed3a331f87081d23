//! From the configuration file to each part's settings: the core's thresholds and timers and
//! every adapter's endpoints and deadlines.
//!
//! Owns: these mappings and the few derived timings. Must not: hold state.

use std::time::Duration;

use crate::config::{Config, FenceMethod};
use crate::core::budget::FailoverBudget;
use crate::core::{CoreConfig, FenceMethodKind};
use crate::fence::{FenceAdapterConfig, FenceMethodCfg};
use crate::hadoop_ipc::ClientAuth;
use crate::rm::{RmAdapterConfig, RmEndpointCfg};
use crate::zk::ZkAdapterConfig;

/// The zookeeper-client crate reports Disconnected after up to ~0.45 × the session timeout of
/// silence (test-peers.md); the server may expire the session at 1×.
const DISCONNECT_DETECTION: f64 = 0.45;

pub fn core_config(c: &Config) -> CoreConfig {
    let session = c.zookeeper.session_timeout;
    // Safety rule 2: the demotion must be done before the server can expire the session.
    let self_fence_after = session.saturating_sub(session.mul_f64(DISCONNECT_DETECTION) + c.fencing.graceful_timeout);
    let probe_cycle = c.health.interval + c.health.timeout;
    CoreConfig {
        rm_id: c.rm_id.clone(),
        probe_interval: c.health.interval,
        hung_after: c.health.hung_after,
        unhealthy_after: c.health.unhealthy_after,
        fence_methods: c
            .fencing
            .methods
            .iter()
            .map(|m| match m {
                FenceMethod::ZkStateStore { .. } => FenceMethodKind::ZkStateStore,
                _ => FenceMethodKind::Confirming,
            })
            .collect(),
        promote_unfenced: c.fencing.promote_unfenced,
        budget: FailoverBudget {
            max: c.failover.budget,
            window_ms: c.failover.window.as_millis() as u64,
            cooldown_ms: c.failover.cooldown.as_millis() as u64,
        },
        self_fence_after,
        rejoin_delay: Duration::from_secs(1),
        retry_initial: Duration::from_secs(1),
        retry_max: Duration::from_secs(30),
        peer_report_fresh_ms: (probe_cycle * (c.health.hung_after + 1) * 2).as_millis() as u64,
    }
}

fn endpoints(c: &Config) -> std::collections::BTreeMap<String, RmEndpointCfg> {
    c.resource_managers
        .iter()
        .map(|(id, e)| {
            (id.clone(), RmEndpointCfg { admin_address: e.admin_address.clone(), web_address: e.web_address.clone() })
        })
        .collect()
}

/// The `user:password` of `zookeeper.auth.digest_file`, if configured.
pub fn read_digest(c: &Config) -> anyhow::Result<Option<String>> {
    let Some(auth) = &c.zookeeper.auth else { return Ok(None) };
    let text = std::fs::read_to_string(&auth.digest_file)
        .map_err(|e| anyhow::anyhow!("zookeeper.auth.digest_file {}: {e}", auth.digest_file.display()))?;
    let digest = text.trim().to_string();
    anyhow::ensure!(
        digest.contains(':'),
        "zookeeper.auth.digest_file {}: expected user:password",
        auth.digest_file.display()
    );
    Ok(Some(digest))
}

/// The bearer token of `admin.token_file`, if configured.
pub fn read_token(c: &Config) -> anyhow::Result<Option<String>> {
    let Some(path) = &c.admin.token_file else { return Ok(None) };
    let token =
        std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("admin.token_file {}: {e}", path.display()))?;
    let token = token.trim().to_string();
    anyhow::ensure!(!token.is_empty(), "admin.token_file {}: the file is empty", path.display());
    Ok(Some(token))
}

pub fn zk_config(c: &Config, digest: Option<String>) -> ZkAdapterConfig {
    let me = &c.resource_managers[&c.rm_id];
    ZkAdapterConfig {
        connect: c.zookeeper.connect.clone(),
        root: c.zookeeper.root.clone(),
        cluster_id: c.cluster_id.clone(),
        rm_id: c.rm_id.clone(),
        session_timeout: c.zookeeper.session_timeout,
        op_timeout: (c.zookeeper.session_timeout / 3).max(Duration::from_secs(1)),
        digest,
        candidate_data: serde_json::json!({
            "rm_id": c.rm_id,
            "admin_address": me.admin_address,
            "web_address": me.web_address,
            "pid": std::process::id(),
            "version": env!("CARGO_PKG_VERSION"),
        }),
        history_limit: 100,
    }
}

pub fn rm_config(c: &Config, auth: ClientAuth) -> RmAdapterConfig {
    RmAdapterConfig {
        local_rm: c.rm_id.clone(),
        rms: endpoints(c),
        probe_timeout: c.health.timeout,
        rest: c.health.rest,
        request_source: c.transition.request_source,
        user: c.health.user.clone(),
        auth: auth.clone(),
        activate_timeout: c.transition.timeout,
        standby_timeout: c.fencing.graceful_timeout,
    }
}

pub fn fence_config(c: &Config, digest: Option<String>, auth: ClientAuth) -> FenceAdapterConfig {
    FenceAdapterConfig {
        cluster_id: c.cluster_id.clone(),
        rms: endpoints(c),
        graceful_timeout: c.fencing.graceful_timeout,
        request_source: c.transition.request_source,
        user: c.health.user.clone(),
        auth: auth.clone(),
        methods: c
            .fencing
            .methods
            .iter()
            .map(|m| match m {
                FenceMethod::ZkStateStore { path, verify_timeout } => {
                    FenceMethodCfg::ZkStateStore { path: path.clone(), verify_timeout: *verify_timeout }
                }
                FenceMethod::Shell { command, timeout } => {
                    FenceMethodCfg::Shell { command: command.clone(), timeout: *timeout }
                }
                FenceMethod::Http { url, timeout } => FenceMethodCfg::Http { url: url.clone(), timeout: *timeout },
            })
            .collect(),
        store_zk_connect: c.zookeeper.connect.clone(),
        store_zk_digest: digest,
    }
}
