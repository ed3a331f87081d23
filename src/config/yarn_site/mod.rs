//! `check-config --yarn-site`: reads the RMs' `yarn-site.xml` (Hadoop's
//! `<configuration><property><name>..</name><value>..</value></property>` format) and checks it
//! against an rmfc [`Config`]: the same RM ids and addresses, an RM HA mode that lets rmfc drive
//! the RMs (DESIGN.md "Which RM settings": mode A or B, never the embedded elector), a state store
//! the `zk_state_store` fencing method can rely on, at the path and on the ensemble rmfc looks at
//! and with an ACL it may read, an authentication rmfc speaks (Kerberos: the RMs' principal and
//! protection) and access lists that let its calls through. Every finding says what to change,
//! where.
//!
//! Several files may be given (`core-site.xml` then `yarn-site.xml`, as Hadoop loads them, and
//! `hadoop-policy.xml` for the service ACLs): a later file overrides an earlier one, except for
//! properties marked `<final>`.
//!
//! Owns: a small tolerant XML reader (std only: comments, CDATA, entities, the attribute form of
//! `<property>`), Hadoop's defaults and lookup rules for the keys it checks, `${var}` expansion
//! from the files given (anything else is left as it is, with a note), and the wording of every
//! finding. Must not: resolve host names, contact ZooKeeper, an RM or a KDC, read any file but
//! the ones given (no XInclude, no `@file` indirection), show a secret, or judge the rmfc config on
//! its own (that is `lint`).
//!
//! One concern per file: `reader` (the XML reader, merging and `${var}` expansion), `ha` (the HA
//! mode, the request source, RM ids and addresses, the cluster id), `store` (ZKRMStateStore and
//! the `zk_state_store` fencing method), `zk_access` (whether rmfc may read the store root's ACL),
//! `security` (who rmfc is to the RMs: authentication, Kerberos principal and protection), `acl`
//! (whether the RMs' access lists admit it), `addr` (host:port, URLs and ZooKeeper connect
//! strings). This file holds what they share: the keys, [`Finding`], [`Report`] and the `Checker`
//! that collects findings.

mod acl;
mod addr;
mod ha;
mod reader;
mod security;
#[cfg(test)]
mod security_tests;
mod store;
#[cfg(test)]
mod tests;
mod zk_access;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::Config;

use reader::Value;
pub use reader::{ParseError, YarnSite};

/// ZKRMStateStore's class, the value of `yarn.resourcemanager.store.class` fencing relies on.
pub const ZK_STORE_CLASS: &str = "org.apache.hadoop.yarn.server.resourcemanager.recovery.ZKRMStateStore";
/// Hadoop's default `yarn.resourcemanager.store.class` (used only when recovery is enabled).
const DEFAULT_STORE_CLASS: &str = "org.apache.hadoop.yarn.server.resourcemanager.recovery.FileSystemRMStateStore";
/// Hadoop's default `yarn.resourcemanager.zk-state-store.parent-path`.
const DEFAULT_STORE_PARENT: &str = "/rmstore";
/// The node ZKRMStateStore keeps under its parent path.
const STORE_ROOT_NAME: &str = "ZKRMStateRoot";
/// `Configuration.MAX_SUBST`: how deep Hadoop expands `${var}` references.
const MAX_SUBST: usize = 20;

const HA_ENABLED: &str = "yarn.resourcemanager.ha.enabled";
const RM_IDS: &str = "yarn.resourcemanager.ha.rm-ids";
const HA_ID: &str = "yarn.resourcemanager.ha.id";
const CLUSTER_ID: &str = "yarn.resourcemanager.cluster-id";
const AUTO: &str = "yarn.resourcemanager.ha.automatic-failover.enabled";
const EMBEDDED: &str = "yarn.resourcemanager.ha.automatic-failover.embedded";
const CURATOR: &str = "yarn.resourcemanager.ha.curator-leader-elector.enabled";
const STORE_CLASS: &str = "yarn.resourcemanager.store.class";
const RECOVERY: &str = "yarn.resourcemanager.recovery.enabled";
const STORE_PARENT: &str = "yarn.resourcemanager.zk-state-store.parent-path";
const ZK_ADDRESS: &str = "hadoop.zk.address";
const ZK_ADDRESS_OLD: &str = "yarn.resourcemanager.zk-address";
const ADMIN_ACL: &str = "yarn.admin.acl";
const HTTP_POLICY: &str = "yarn.http.policy";
const HOSTNAME: &str = "yarn.resourcemanager.hostname";
const ADMIN_ADDRESS: &str = "yarn.resourcemanager.admin.address";
const WEB_ADDRESS: &str = "yarn.resourcemanager.webapp.address";
const WEB_HTTPS_ADDRESS: &str = "yarn.resourcemanager.webapp.https.address";
const AUTHENTICATION: &str = "hadoop.security.authentication";
const RPC_PROTECTION: &str = "hadoop.rpc.protection";
const AUTHORIZATION: &str = "hadoop.security.authorization";
const AUTH_TO_LOCAL: &str = "hadoop.security.auth_to_local";
const RM_PRINCIPAL: &str = "yarn.resourcemanager.principal";
/// The service-level ACL of `HAServiceProtocol` (hadoop-policy.xml), and what it falls back to.
const HA_PROTOCOL_ACL: &str = "security.ha.service.protocol.acl";
const DEFAULT_SERVICE_ACL: &str = "security.service.authorization.default.acl";
const ZK_AUTH: &str = "hadoop.zk.auth";
const ZK_AUTH_OLD: &str = "yarn.resourcemanager.zk-auth";
const ZK_ACL: &str = "hadoop.zk.acl";
const ZK_ACL_OLD: &str = "yarn.resourcemanager.zk-acl";

/// How bad a finding is: an error fails `check-config`; a warning and a note do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// One thing the operator should know about the RM settings, saying what to change where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "yarn-site: {}: {}", self.severity.name(), self.message)
    }
}

/// How the RMs are set up to be driven (DESIGN.md "Which RM settings").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `yarn.resourcemanager.ha.enabled` is not true.
    HaDisabled,
    /// `automatic-failover.enabled=false`: rmfc sends REQUEST_BY_USER (or forced).
    A,
    /// `automatic-failover.enabled=true, embedded=false, curator-leader-elector.enabled=true`.
    B,
    /// Automatic failover with an embedded elector (the defaults): it would fight rmfc.
    EmbeddedElector,
    /// `enabled=true, embedded=false, curator=false`: the RM refuses to start.
    Invalid,
    /// A setting refers to a `${var}` these files do not define.
    Unknown,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::HaDisabled => "ha_disabled",
            Mode::A => "A",
            Mode::B => "B",
            Mode::EmbeddedElector => "embedded_elector",
            Mode::Invalid => "invalid",
            Mode::Unknown => "unknown",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Mode::HaDisabled => "HA disabled (rmfc cannot drive these RMs)",
            Mode::A => "A (automatic-failover.enabled=false: the RM accepts REQUEST_BY_USER)",
            Mode::B => "B (automatic failover without an elector: the RM accepts REQUEST_BY_ZKFC)",
            Mode::EmbeddedElector => "embedded elector (it would fight rmfc)",
            Mode::Invalid => "invalid (the RM refuses to start)",
            Mode::Unknown => "unknown (a setting refers to an undefined ${...})",
        }
    }
}

/// What the files say about one RM (addresses as rmfc would write them; `None` when unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteRm {
    pub admin_address: Option<String>,
    pub web_address: Option<String>,
}

/// The outcome of checking the files against a config.
#[derive(Debug, Clone)]
pub struct Report {
    pub files: Vec<String>,
    pub mode: Mode,
    pub rm_ids: Vec<String>,
    pub resource_managers: BTreeMap<String, SiteRm>,
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn errors(&self) -> usize {
        self.count(Severity::Error)
    }
    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }
    fn count(&self, s: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == s).count()
    }
}

/// A boolean setting as Hadoop reads it (`getBoolean`: trimmed, case-insensitive, anything else
/// means the default).
pub(super) struct Flag {
    key: &'static str,
    /// `None`: it refers to an undefined `${var}`.
    pub(super) value: Option<bool>,
    set: bool,
    /// What was written when Hadoop could not read it as a boolean (and used the default).
    invalid: Option<String>,
}

impl Flag {
    /// `key=value`, saying when the value is Hadoop's default.
    pub(super) fn show(&self) -> String {
        match (self.value, self.set) {
            (Some(v), _) if self.invalid.is_some() => {
                format!(
                    "{}={v} ({:?} is not a boolean: Hadoop's default)",
                    self.key,
                    self.invalid.as_deref().unwrap_or("")
                )
            }
            (Some(v), true) => format!("{}={v}", self.key),
            (Some(v), false) => format!("{}={v} (not set: Hadoop's default)", self.key),
            (None, _) => format!("{} (undefined ${{...}})", self.key),
        }
    }
}

struct Checker<'a> {
    site: &'a YarnSite,
    cfg: &'a Config,
    cfg_file: &'a str,
    out: Vec<Finding>,
    noted_unresolved: BTreeSet<String>,
}

/// Checks the RM settings in `site` against `cfg` (read from `cfg_file`, named in messages).
pub fn check(site: &YarnSite, cfg: &Config, cfg_file: &str) -> Report {
    let mut c = Checker { site, cfg, cfg_file, out: Vec::new(), noted_unresolved: BTreeSet::new() };
    for n in &site.notes {
        c.push(Severity::Note, n.clone());
    }
    let mode = c.mode();
    c.request_source(mode);
    let (rm_ids, rms) = c.resource_managers();
    c.cluster();
    let zk_store = c.store();
    c.security();
    c.zk_access(zk_store);
    // Errors first, then warnings, then notes; each group in the order found.
    c.out.sort_by_key(|f| f.severity);
    Report { files: site.files.clone(), mode, rm_ids, resource_managers: rms, findings: c.out }
}

impl<'a> Checker<'a> {
    pub(super) fn push(&mut self, severity: Severity, message: impl Into<String>) {
        self.out.push(Finding { severity, message: message.into() });
    }

    pub(super) fn file(&self, key: &str) -> &'a str {
        self.site.file_of(key)
    }

    /// The expanded value; a note for each `${var}` it refers to that the files do not define.
    pub(super) fn value(&mut self, key: &str) -> Option<Value> {
        let v = self.site.get(key)?;
        if !v.unresolved.is_empty() && self.noted_unresolved.insert(key.to_string()) {
            let vars: Vec<String> = v.unresolved.iter().map(|u| format!("${{{u}}}")).collect();
            self.push(
                Severity::Note,
                format!(
                    "{key}={:?} (in {}) refers to {}, which {} does not define (Hadoop would look in its other \
                     configuration files, Java system properties or the environment): left as written, and {key} \
                     is not checked",
                    v.text,
                    self.file(key),
                    vars.join(", "),
                    self.site.all_files(),
                ),
            );
        }
        Some(v)
    }

    /// The expanded value, or `None` when unset or not fully expanded.
    pub(super) fn known(&mut self, key: &str) -> Option<String> {
        self.value(key).filter(|v| v.unresolved.is_empty()).map(|v| v.text)
    }

    /// Like [`Checker::known`], white space kept (Hadoop's `get`, not `getTrimmed`).
    pub(super) fn known_untrimmed(&mut self, key: &str) -> Option<String> {
        self.known(key)?;
        self.site.get_untrimmed(key).map(|v| v.text)
    }

    /// Which of a key and its deprecated name to read, as Hadoop reads either under the new
    /// name: the new one when set, else the old one (with a note to rename it); `None` when
    /// neither is set. Both set to different values is a warning (`secret`: values not shown).
    pub(super) fn renamed(&mut self, new: &'static str, old: &'static str, secret: bool) -> Option<&'static str> {
        if self.site.raw(new).is_some() {
            if let (Some(old_v), Some(new_v)) = (self.known(old), self.known(new)) {
                if old_v != new_v {
                    let values = |v: &str| if secret { String::new() } else { format!(" ({v})") };
                    self.push(
                        Severity::Warning,
                        format!(
                            "both {new}{} and the deprecated {old}{} are set, to different values (Hadoop reads them \
                             as one key; which wins depends on the order of the files); remove {old} from {}",
                            values(&new_v),
                            values(&old_v),
                            self.file(old)
                        ),
                    );
                }
            }
            Some(new)
        } else if self.site.raw(old).is_some() {
            self.push(
                Severity::Note,
                format!("{old} is deprecated (Hadoop reads it as {new}); rename it {new} in {}", self.file(old)),
            );
            Some(old)
        } else {
            None
        }
    }

    pub(super) fn flag(&mut self, key: &'static str, default: bool) -> Flag {
        let Some(v) = self.value(key) else { return Flag { key, value: Some(default), set: false, invalid: None } };
        if !v.unresolved.is_empty() {
            return Flag { key, value: None, set: true, invalid: None };
        }
        match v.text.to_ascii_lowercase().as_str() {
            "true" => Flag { key, value: Some(true), set: true, invalid: None },
            "false" => Flag { key, value: Some(false), set: true, invalid: None },
            _ => {
                self.push(
                    Severity::Warning,
                    format!(
                        "{key} is {:?} in {}, which Hadoop does not read as true or false: it uses the default, \
                         {default}; write {key}={default} (or the value you mean) in {}",
                        v.text,
                        self.file(key),
                        self.file(key)
                    ),
                );
                Flag { key, value: Some(default), set: true, invalid: Some(v.text) }
            }
        }
    }
}
