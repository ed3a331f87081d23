//! Settings shared by standalone servers and ensembles, and the `zoo.cfg` lines they make.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use super::security::{ServerSecurity, ZkKerberos, ZkServerTls};
use super::{ZkEnsemble, ZkServer, LOOPBACK};

/// Settings shared by standalone servers and ensembles. Get one from [`ZkServer::builder`] or
/// [`ZkEnsemble::builder`].
///
/// Session timeouts a client asks for are clamped by the server to
/// [`min_session_timeout`, `max_session_timeout`], which default to 2 and 20 ticks (with the
/// default tick of 500 ms: 1 s to 10 s). Raise the maximum for tests that want 30 s sessions.
#[derive(Clone, Debug)]
pub struct ZkBuilder {
    pub(super) tick_time_ms: u32,
    pub(super) min_session_timeout_ms: Option<u32>,
    pub(super) max_session_timeout_ms: Option<u32>,
    /// Per-node placement of an ensemble (default: every node on 127.0.0.1, root namespace).
    pub(super) hosts: Option<Vec<ZkHost>>,
    /// SASL and TLS (default: neither).
    pub(super) security: ServerSecurity,
}

/// Where one ZooKeeper node runs: the address it binds (client, quorum and election ports) and
/// the network namespace to start it in (`ip netns exec`; `None`: the test's own). A node in a
/// namespace must be reachable from the test process at `ip` (see `netns::NetHost`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZkHost {
    pub ip: Ipv4Addr,
    pub netns: Option<String>,
}

impl ZkHost {
    pub(super) fn loopback() -> ZkHost {
        ZkHost { ip: LOOPBACK, netns: None }
    }
}

impl Default for ZkBuilder {
    fn default() -> Self {
        ZkBuilder {
            tick_time_ms: 500,
            min_session_timeout_ms: None,
            max_session_timeout_ms: None,
            hosts: None,
            security: ServerSecurity::default(),
        }
    }
}

impl ZkBuilder {
    /// ZooKeeper's `tickTime` in milliseconds (default 500).
    pub fn tick_time(mut self, ms: u32) -> Self {
        assert!(ms > 0, "tickTime must be positive");
        self.tick_time_ms = ms;
        self
    }

    /// `minSessionTimeout` in milliseconds (default 2 × tickTime).
    pub fn min_session_timeout(mut self, ms: u32) -> Self {
        self.min_session_timeout_ms = Some(ms);
        self
    }

    /// `maxSessionTimeout` in milliseconds (default 20 × tickTime).
    pub fn max_session_timeout(mut self, ms: u32) -> Self {
        self.max_session_timeout_ms = Some(ms);
        self
    }

    /// Places ensemble node `i` on `hosts[i]` (its address and network namespace). Only for
    /// [`ZkBuilder::start_ensemble`] with `hosts.len()` nodes.
    pub fn hosts(mut self, hosts: Vec<ZkHost>) -> Self {
        self.hosts = Some(hosts);
        self
    }

    /// SASL DIGEST-MD5: a user of the JAAS `Server` section (`user_<name>="<password>"`). Sessions
    /// that authenticate as it hold the identity `sasl:<name>`.
    pub fn sasl_user(mut self, name: &str, password: &str) -> Self {
        self.security.digest_users.push((name.to_string(), password.to_string()));
        self
    }

    /// SASL GSSAPI: the server logs in as `principal` from `keytab` (JAAS `Krb5LoginModule`),
    /// reading the KDC's `krb5.conf`.
    pub fn sasl_kerberos(mut self, principal: &str, keytab: PathBuf, krb5_conf: PathBuf) -> Self {
        self.security.kerberos = Some(ZkKerberos { principal: principal.to_string(), keytab, krb5_conf });
        self
    }

    /// Every session must authenticate with SASL (`enforce.auth.schemes=sasl`); others are closed.
    pub fn require_sasl(mut self) -> Self {
        self.security.require_sasl = true;
        self
    }

    /// TLS on a secure client port (standalone servers only): see `ZkServer::secure_connect_string`.
    pub fn tls(mut self, tls: ZkServerTls) -> Self {
        self.security.tls = Some(tls);
        self
    }

    /// Starts a standalone server and waits until it serves.
    pub fn start(self) -> ZkServer {
        ZkServer::start_with(self)
    }

    /// Starts an ensemble of `n` nodes and waits until all serve with exactly one leader.
    pub fn start_ensemble(self, n: usize) -> ZkEnsemble {
        ZkEnsemble::start_with(self, n)
    }

    pub(super) fn common_config(&self, data_dir: &Path, client_ip: Ipv4Addr, client_port: u16) -> String {
        let mut cfg = format!(
            "tickTime={}\n\
             dataDir={}\n\
             clientPort={client_port}\n\
             clientPortAddress={client_ip}\n\
             admin.enableServer=false\n\
             4lw.commands.whitelist=*\n\
             # Test data need not survive a machine crash; a killed process loses nothing.\n\
             forceSync=no\n",
            self.tick_time_ms,
            data_dir.display(),
        );
        if let Some(ms) = self.min_session_timeout_ms {
            cfg.push_str(&format!("minSessionTimeout={ms}\n"));
        }
        if let Some(ms) = self.max_session_timeout_ms {
            cfg.push_str(&format!("maxSessionTimeout={ms}\n"));
        }
        cfg
    }
}
