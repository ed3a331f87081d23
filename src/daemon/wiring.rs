//! From the configuration file to each part's settings: the core's thresholds and timers and
//! every adapter's endpoints, deadlines and credentials (ZooKeeper's are read here, once, at
//! start-up, with errors naming the key and the file).
//!
//! Owns: these mappings, reading the secrets and files they name, and the few derived timings.
//! Must not: hold state.

use std::path::Path;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use zookeeper_client as zk;

use crate::config::zk_security::parse_acl;
use crate::config::{Config, FenceMethod, ZkAcl, ZkAclEntry, ZkPerms, ZkSasl, ZkTls};
use crate::core::budget::FailoverBudget;
use crate::core::{CoreConfig, FenceMethodKind};
use crate::fence::{FenceAdapterConfig, FenceMethodCfg};
use crate::hadoop_ipc::ClientAuth;
use crate::rm::{RmAdapterConfig, RmEndpointCfg};
use crate::zk::{ZkAdapterConfig, ZkSaslAuth, ZkSecurity};

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
        failsafe: None,
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

/// What rmfc's ZooKeeper sessions present and the ACL they create with, every file read now.
#[derive(Debug, Clone, Default)]
pub struct ZkAccess {
    pub security: ZkSecurity,
    /// `zookeeper.acl`; `None`: the adapter's default.
    pub acl: Option<Vec<zk::Acl>>,
}

/// Reads the secrets and files of the `zookeeper` section (digest, SASL password, TLS PEMs, an
/// `@file` ACL) once, at start-up. Every error names the key and the file.
pub fn zk_access(c: &Config) -> anyhow::Result<ZkAccess> {
    let zk = &c.zookeeper;
    let mut security = ZkSecurity::default();
    if let Some(auth) = &zk.auth {
        if let Some(file) = &auth.digest_file {
            let digest = read_file("zookeeper.auth.digest_file", file)?.trim().to_string();
            anyhow::ensure!(
                digest.split_once(':').is_some_and(|(u, p)| !u.is_empty() && !p.is_empty()),
                "zookeeper.auth.digest_file {}: expected user:password",
                file.display()
            );
            security.digest = Some(digest);
        }
        security.sasl = auth.sasl.as_ref().map(sasl_auth).transpose()?;
    }
    security.tls = zk.tls.as_ref().map(zk_tls).transpose().map_err(anyhow::Error::msg)?;
    let acl = match &zk.acl {
        None => None,
        Some(ZkAcl::Entries(entries)) => Some(entries.iter().map(to_zk_acl).collect()),
        Some(ZkAcl::File(file)) => {
            Some(read_acl_file(file).map_err(anyhow::Error::msg)?.iter().map(to_zk_acl).collect())
        }
    };
    Ok(ZkAccess { security, acl })
}

fn read_file(key: &str, path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{key} {}: {e}", path.display()))
}

fn sasl_auth(sasl: &ZkSasl) -> anyhow::Result<ZkSaslAuth> {
    match sasl {
        #[cfg(feature = "kerberos")]
        ZkSasl::Gssapi { service, hostname } => {
            Ok(ZkSaslAuth::Gssapi { service: service.clone(), hostname: hostname.clone() })
        }
        #[cfg(not(feature = "kerberos"))]
        ZkSasl::Gssapi { .. } => anyhow::bail!(
            "zookeeper.auth.sasl.mechanism: gssapi needs an rmfc built with the cargo feature `kerberos` (this one \
             has no Kerberos support)"
        ),
        ZkSasl::DigestMd5 { username, password_file } => {
            let key = "zookeeper.auth.sasl.password_file";
            let text = read_file(key, password_file)?;
            // The whole file is the password but for the line end an editor adds.
            let password = text.strip_suffix('\n').map(|p| p.strip_suffix('\r').unwrap_or(p)).unwrap_or(&text);
            anyhow::ensure!(!password.is_empty(), "{key} {}: the file is empty", password_file.display());
            Ok(ZkSaslAuth::DigestMd5 { username: username.clone(), password: password.to_string() })
        }
    }
}

/// The TLS settings of `zookeeper.tls`: the CA, and rmfc's certificate and key when given (they
/// must fit each other). `Err` names the key and the file. `check-config` judges the files with
/// this same function.
pub fn zk_tls(tls: &ZkTls) -> Result<zk::TlsOptions, String> {
    let read =
        |key: &str, path: &Path| std::fs::read_to_string(path).map_err(|e| format!("{key} {}: {e}", path.display()));
    let ca_key = "zookeeper.tls.ca_file";
    let ca = read(ca_key, &tls.ca_file)?;
    let mut options = zk::TlsOptions::new()
        .with_pem_ca(&ca)
        .map_err(|e| format!("{ca_key} {}: no usable PEM CA certificate ({e})", tls.ca_file.display()))?;
    if let Some(id) = &tls.identity {
        let (cert_key, key_key) = ("zookeeper.tls.cert_file", "zookeeper.tls.key_file");
        let cert_pem = read(cert_key, &id.cert_file)?;
        let key_pem = read(key_key, &id.key_file)?;
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{cert_key} {}: {e}", id.cert_file.display()))?;
        if certs.is_empty() {
            return Err(format!("{cert_key} {}: no PEM certificate in it", id.cert_file.display()));
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|e| format!("{key_key} {}: no usable PEM private key ({e})", id.key_file.display()))?;
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        rustls::sign::CertifiedKey::from_der(certs, key, &provider)
            .map_err(|e| format!("{key_key} {}: does not fit {cert_key} ({e})", id.key_file.display()))?;
        options = options
            .with_pem_identity(&cert_pem, &key_pem)
            .map_err(|e| format!("{cert_key} {}: {e}", id.cert_file.display()))?;
    }
    Ok(options)
}

/// The entries of an `@file` `zookeeper.acl` (Hadoop's `ZKUtil.resolveConfIndirection`: the
/// file's text, trimmed). `Err` names the key and the file.
pub fn read_acl_file(path: &Path) -> Result<Vec<ZkAclEntry>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("zookeeper.acl @{}: {e}", path.display()))?;
    parse_acl(text.trim()).map_err(|why| format!("zookeeper.acl @{}: {why}", path.display()))
}

fn to_zk_acl(e: &ZkAclEntry) -> zk::Acl {
    let bits = [
        (ZkPerms::READ, zk::Permission::READ),
        (ZkPerms::WRITE, zk::Permission::WRITE),
        (ZkPerms::CREATE, zk::Permission::CREATE),
        (ZkPerms::DELETE, zk::Permission::DELETE),
        (ZkPerms::ADMIN, zk::Permission::ADMIN),
    ];
    let perms = bits.iter().filter(|(ours, _)| e.perms.has(*ours)).fold(zk::Permission::NONE, |acc, (_, p)| acc | *p);
    zk::Acl::new(perms, zk::AuthId::new(&e.scheme, &e.id))
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

pub fn zk_config(c: &Config, access: &ZkAccess) -> ZkAdapterConfig {
    let me = &c.resource_managers[&c.rm_id];
    ZkAdapterConfig {
        connect: c.zookeeper.connect.clone(),
        root: c.zookeeper.root.clone(),
        cluster_id: c.cluster_id.clone(),
        rm_id: c.rm_id.clone(),
        session_timeout: c.zookeeper.session_timeout,
        op_timeout: (c.zookeeper.session_timeout / 3).max(Duration::from_secs(1)),
        security: access.security.clone(),
        acl: access.acl.clone(),
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

pub fn fence_config(c: &Config, access: &ZkAccess, auth: ClientAuth) -> FenceAdapterConfig {
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
        store_zk_security: access.security.clone(),
    }
}
