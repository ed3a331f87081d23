//! rmfc's configuration (YAML): the typed [`Config`] every other module reads, loading it with
//! every problem reported as `key.path: reason`, the [`TimingBudget`] the settings imply and the
//! [`Warning`]s about settings that contradict each other.
//!
//! Loading goes in two passes, each in its own file:
//! 1. `raw`: serde reads the YAML into permissive mirror structs (every key optional, durations
//!    still strings). Only what serde itself must refuse stops here: bad YAML, an unknown key, a
//!    value of the wrong type. Those are reported one at a time, with the key's path.
//! 2. `validate`: the mirror becomes a [`Config`]: defaults filled in, durations parsed, addresses
//!    and paths checked. Every problem found is reported, not just the first.
//!
//! Owns: the key names and their defaults (the contract of `config.example.yaml`), validation and
//! the timing arithmetic. Must not: open sockets, talk to ZooKeeper or an RM, or read any file but
//! the config itself (`Config::check_files` only looks at file metadata, for `check-config`;
//! `yarn_site` reads the yarn-site.xml files `check-config --yarn-site` names).

mod budget;
mod lint;
mod raw;
pub mod security;
mod security_lint;
mod syntax;
mod validate;
pub mod yarn_site;
mod zk_lint;
pub mod zk_security;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use budget::{
    effective_session_timeout, FailureKind, KindBudget, TimingBudget, DISCONNECT_DETECT_DEN, DISCONNECT_DETECT_NUM,
};
pub use lint::Warning;
pub use security::{Authentication, KerberosConfig, Qop, SecurityConfig};
pub use zk_security::{ZkAcl, ZkAclEntry, ZkAuth, ZkPerms, ZkSasl, ZkTls, ZkTlsIdentity};

use crate::hadoop_ipc::RequestSource;

/// Default `zookeeper.root`.
pub const DEFAULT_ZK_ROOT: &str = "/rmfc";
/// Default `fencing.methods[].path` of a `zk_state_store` method: ZKRMStateStore's root with
/// Hadoop's default `yarn.resourcemanager.zk-state-store.parent-path` (/rmstore).
pub const DEFAULT_STORE_PATH: &str = "/rmstore/ZKRMStateRoot";
/// Default `admin.listen`.
pub const DEFAULT_ADMIN_LISTEN: &str = "127.0.0.1:9123";

/// The whole configuration of one rmfc daemon, validated, defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Names the znode subtree `<zookeeper.root>/<cluster_id>`.
    pub cluster_id: String,
    /// The RM this daemon sits beside; always a key of `resource_managers`.
    pub rm_id: String,
    /// Every RM of the cluster (at least two), by id.
    pub resource_managers: BTreeMap<String, RmEndpoint>,
    pub zookeeper: ZkConfig,
    pub health: HealthConfig,
    pub transition: TransitionConfig,
    pub fencing: FencingConfig,
    pub failover: FailoverConfig,
    pub admin: AdminConfig,
    pub logging: LoggingConfig,
    /// How rmfc authenticates to the RMs' admin ports (`security`).
    pub security: SecurityConfig,
}

/// Where one RM listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RmEndpoint {
    /// `HOST:PORT` of the RM's admin server (HAServiceProtocol over Hadoop IPC).
    pub admin_address: String,
    /// `http(s)://HOST[:PORT][/prefix]`, without a trailing slash: the RM's web address.
    pub web_address: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkConfig {
    /// `host:port[,host:port...][/chroot]`, whitespace around entries removed.
    pub connect: String,
    /// Absolute znode path, no trailing slash.
    pub root: String,
    /// The session timeout rmfc asks for (the servers may clamp it: see `server_tick_time`).
    pub session_timeout: Duration,
    /// The ZooKeeper servers' `tickTime`: they clamp session timeouts to [2×tick, 20×tick].
    pub server_tick_time: Duration,
    /// The credentials rmfc's sessions present (`None`: none, the sessions are anonymous).
    pub auth: Option<ZkAuth>,
    /// The ACL of every znode rmfc creates. `None`: the default, which depends on `auth` (only
    /// the session's own identities with credentials, `world:anyone` without: see
    /// `zk::layout::ZnodeAcl`).
    pub acl: Option<ZkAcl>,
    /// Connect over TLS (the servers' `secureClientPort`).
    pub tls: Option<ZkTls>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthConfig {
    /// Time between the end of one probe and the start of the next.
    pub interval: Duration,
    /// Deadline of one probe.
    pub timeout: Duration,
    /// Also probe over REST (`/ws/v1/cluster/info`); false = IPC only.
    pub rest: bool,
    /// Consecutive timed-out probes before the RM counts as hung (>= 1).
    pub hung_after: u32,
    /// Consecutive `HealthCheckFailedException`s before the RM counts as unhealthy (>= 1).
    pub unhealthy_after: u32,
    /// Effective user for IPC calls; `None` = the OS user.
    pub user: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionConfig {
    pub request_source: RequestSource,
    /// Deadline of `transitionToActive`.
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FencingConfig {
    /// Deadline of `transitionToStandby` on the RM being fenced (also used for self-fencing).
    pub graceful_timeout: Duration,
    /// Tried in order after graceful fencing fails; may be empty (graceful fencing only).
    pub methods: Vec<FenceMethod>,
    /// The operator's written choice to promote even when fencing could not be confirmed.
    pub promote_unfenced: bool,
}

/// One configured fencing method (`fencing.methods[i]`, selected by its `type` key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FenceMethod {
    /// `zk_state_store`: rely on ZKRMStateStore fencing; verify after promotion, within
    /// `verify_timeout`, that the ACL of the store root at `path` changed hands.
    ZkStateStore { path: String, verify_timeout: Duration },
    /// `shell`: `/bin/sh -c command` with the target in the environment; exit 0 = fenced.
    Shell { command: String, timeout: Duration },
    /// `http`: POST to `url`; a 2xx answer = fenced.
    Http { url: String, timeout: Duration },
}

impl FenceMethod {
    /// The `type` key's value.
    pub fn type_name(&self) -> &'static str {
        match self {
            FenceMethod::ZkStateStore { .. } => "zk_state_store",
            FenceMethod::Shell { .. } => "shell",
            FenceMethod::Http { .. } => "http",
        }
    }

    /// The longest this method can delay a promotion. `zk_state_store` fences through the store
    /// when the new RM activates; its check runs after promotion, so it adds nothing here.
    pub fn pre_promotion_worst(&self) -> Duration {
        match self {
            FenceMethod::ZkStateStore { .. } => Duration::ZERO,
            FenceMethod::Shell { timeout, .. } | FenceMethod::Http { timeout, .. } => *timeout,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailoverConfig {
    /// At most this many automatic failovers per `window` (>= 1).
    pub budget: u32,
    pub window: Duration,
    /// Minimum time between two automatic failovers (zero allowed).
    pub cooldown: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminConfig {
    /// Where the admin API binds (a literal IP; port 0 = any free port).
    pub listen: SocketAddr,
    /// A file holding the bearer token required by mutating calls.
    pub token_file: Option<PathBuf>,
    /// Serve HTTPS with this certificate and key (PEM) instead of plain HTTP.
    pub tls: Option<AdminTls>,
}

/// `admin.tls_cert_file` and `admin.tls_key_file`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminTls {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoggingConfig {
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Default `fencing.methods[].timeout` of a `shell` method.
pub const DEFAULT_SHELL_TIMEOUT: Duration = Duration::from_secs(30);
/// Default `fencing.methods[].timeout` of an `http` method.
pub const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// Default `fencing.methods[].verify_timeout` of a `zk_state_store` method.
pub const DEFAULT_STORE_VERIFY_TIMEOUT: Duration = Duration::from_secs(10);

// The defaults of every section, in one place: `validate` fills missing keys from these and
// `config.example.yaml` documents the same values (a unit test holds them together).

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(3),
            rest: true,
            hung_after: 3,
            unhealthy_after: 1,
            user: None,
        }
    }
}

impl Default for TransitionConfig {
    fn default() -> Self {
        TransitionConfig { request_source: RequestSource::User, timeout: Duration::from_secs(60) }
    }
}

impl FenceMethod {
    /// The default chain's only method: ZKRMStateStore fencing at its default path.
    pub fn default_zk_state_store() -> Self {
        FenceMethod::ZkStateStore { path: DEFAULT_STORE_PATH.to_string(), verify_timeout: DEFAULT_STORE_VERIFY_TIMEOUT }
    }
}

impl Default for FencingConfig {
    fn default() -> Self {
        FencingConfig {
            graceful_timeout: Duration::from_secs(5),
            methods: vec![FenceMethod::default_zk_state_store()],
            promote_unfenced: false,
        }
    }
}

impl Default for FailoverConfig {
    fn default() -> Self {
        FailoverConfig { budget: 3, window: Duration::from_secs(30 * 60), cooldown: Duration::from_secs(10) }
    }
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            listen: DEFAULT_ADMIN_LISTEN.parse().expect("default admin.listen parses"),
            token_file: None,
            tls: None,
        }
    }
}

/// Default `zookeeper.session_timeout`.
pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(10);
/// Default `zookeeper.server_tick_time` (ZooKeeper's own default `tickTime`).
pub const DEFAULT_SERVER_TICK_TIME: Duration = Duration::from_secs(2);

/// One thing wrong with a config: the key's full path (`fencing.methods[1].command`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read at all.
    #[error("{}: cannot read: {source}", file.display())]
    Read { file: PathBuf, source: std::io::Error },
    /// The file was read; these are all the problems found (one per line, `path: reason`).
    #[error("{}", ProblemLines { file: file.as_deref(), problems })]
    Invalid { file: Option<PathBuf>, problems: Vec<Problem> },
}

impl ConfigError {
    /// Every problem found (empty for `Read`).
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Read { .. } => &[],
            ConfigError::Invalid { problems, .. } => problems,
        }
    }
}

/// `FILE:` on its own line when known, then one `path: reason` line per problem.
struct ProblemLines<'a> {
    file: Option<&'a Path>,
    problems: &'a [Problem],
}

impl fmt::Display for ProblemLines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        if let Some(file) = self.file {
            write!(f, "{}:", file.display())?;
            first = false;
        }
        for p in self.problems {
            if !first {
                f.write_str("\n")?;
            }
            write!(f, "{p}")?;
            first = false;
        }
        Ok(())
    }
}

impl Config {
    /// Reads and validates the YAML file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { file: path.to_path_buf(), source })?;
        Config::from_yaml_str(&text).map_err(|e| match e {
            ConfigError::Invalid { problems, .. } => ConfigError::Invalid { file: Some(path.to_path_buf()), problems },
            other => other,
        })
    }

    /// Parses and validates YAML text. Errors carry no file name.
    pub fn from_yaml_str(text: &str) -> Result<Config, ConfigError> {
        let raw = raw::decode(text).map_err(|p| ConfigError::Invalid { file: None, problems: vec![p] })?;
        validate::validate(raw).map_err(|problems| ConfigError::Invalid { file: None, problems })
    }

    /// This daemon's own RM. (A loaded config always has `rm_id` among `resource_managers`;
    /// this panics only if a caller broke that by hand.)
    pub fn local_rm(&self) -> &RmEndpoint {
        &self.resource_managers[&self.rm_id]
    }

    /// The znode under which everything of this cluster lives: `<root>/<cluster_id>`.
    pub fn cluster_znode(&self) -> String {
        format!("{}/{}", self.zookeeper.root, self.cluster_id)
    }

    /// The worst-case detection and failover times these settings imply (pure arithmetic).
    pub fn timing_budget(&self) -> TimingBudget {
        budget::compute(self)
    }

    /// Settings that are valid alone but contradict each other or invite trouble (pure).
    pub fn lint(&self) -> Vec<Warning> {
        lint::lint(self)
    }

    /// Looks at the files the config names (digest file, token file, shell commands given by
    /// absolute path) without reading secrets: missing or unreadable ones become warnings, since
    /// `check-config` may run on another host than the daemon.
    pub fn check_files(&self) -> Vec<Warning> {
        lint::check_files(self)
    }
}
