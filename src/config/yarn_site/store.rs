//! The RMs' state store against the `zk_state_store` fencing method: ZKRMStateStore in use
//! (recovery on, the ZooKeeper store class), the store root rmfc checks (parent path + chroot, as
//! absolute znodes) and the ensemble (`hadoop.zk.address`, or its deprecated name).
//!
//! Owns: those checks and their wording. Must not: contact ZooKeeper.

use super::addr::ZkConnect;
use super::{
    Checker, Severity, DEFAULT_STORE_CLASS, DEFAULT_STORE_PARENT, RECOVERY, STORE_CLASS, STORE_PARENT, STORE_ROOT_NAME,
    ZK_ADDRESS, ZK_ADDRESS_OLD, ZK_STORE_CLASS,
};
use crate::config::FenceMethod;

impl Checker<'_> {
    /// State store and the `zk_state_store` fencing method; the ZooKeeper ensemble they share.
    /// Returns whether the RMs keep their state in ZKRMStateStore.
    pub(super) fn store(&mut self) -> bool {
        let recovery = self.flag(RECOVERY, false);
        let class = self.known(STORE_CLASS);
        let class_unresolved = self.site.raw(STORE_CLASS).is_some() && class.is_none();
        let class_text = class.clone().unwrap_or_else(|| DEFAULT_STORE_CLASS.to_string());
        let zk_store = recovery.value == Some(true) && class_text.ends_with("ZKRMStateStore");
        let store_unknown = recovery.value.is_none() || class_unresolved;
        let methods: Vec<(usize, String)> = self
            .cfg
            .fencing
            .methods
            .iter()
            .enumerate()
            .filter_map(|(i, m)| match m {
                FenceMethod::ZkStateStore { path, .. } => Some((i, path.clone())),
                _ => None,
            })
            .collect();
        let rf = self.file(RECOVERY).to_string();
        let cf = self.file(STORE_CLASS).to_string();

        if !zk_store && !store_unknown {
            let why = if recovery.value == Some(false) {
                format!("the RMs run without a state store ({}: they use NullRMStateStore)", recovery.show())
            } else if class.is_none() {
                format!(
                    "the RMs keep their state in {DEFAULT_STORE_CLASS} ({STORE_CLASS} is not set: Hadoop's default)"
                )
            } else {
                format!("the RMs keep their state in {class_text} ({STORE_CLASS} in {cf})")
            };
            let set_store = if rf == cf {
                format!("set {RECOVERY}=true and {STORE_CLASS}={ZK_STORE_CLASS} (and {ZK_ADDRESS}) in {rf}")
            } else {
                format!("set {RECOVERY}=true in {rf} and {STORE_CLASS}={ZK_STORE_CLASS} (and {ZK_ADDRESS}) in {cf}")
            };
            if let Some((i, _)) = methods.first() {
                self.push(
                    Severity::Error,
                    format!(
                        "fencing.methods[{i}] (zk_state_store) in {} relies on ZKRMStateStore fencing, but {why}: \
                         nothing stops an old active from writing, and rmfc cannot confirm it is fenced. Either \
                         {set_store}, or replace fencing.methods[{i}] in {} with a shell or http method that fences \
                         the RM's host (STONITH)",
                        self.cfg_file, self.cfg_file
                    ),
                );
            } else if self.cfg.fencing.methods.is_empty() {
                self.push(
                    Severity::Warning,
                    format!(
                        "{why}, and fencing.methods in {} is empty: a hung active can be fenced by nothing but \
                         transitionToStandby, so rmfc will not fail over from it; {set_store}, or add a shell or \
                         http fencing method",
                        self.cfg_file
                    ),
                );
            }
        }
        if !zk_store {
            return false;
        }

        let parent_value = self.known(STORE_PARENT);
        if self.site.raw(STORE_PARENT).is_some() && parent_value.is_none() {
            return true; // noted as unresolved
        }
        let parent = parent_value.clone().unwrap_or_else(|| DEFAULT_STORE_PARENT.to_string());
        let store_root = format!("{}/{STORE_ROOT_NAME}", parent.trim_end_matches('/'));
        let parent_shown = if parent_value.is_some() {
            format!("{STORE_PARENT}={parent} in {}", self.file(STORE_PARENT))
        } else {
            format!("{STORE_PARENT} not set: {DEFAULT_STORE_PARENT}")
        };

        // The ensemble the RMs use: hadoop.zk.address, or the deprecated key.
        let zk_key = self.renamed(ZK_ADDRESS, ZK_ADDRESS_OLD, false);
        if zk_key.is_none() {
            self.push(
                Severity::Warning,
                format!(
                    "{ZK_ADDRESS} is not set in {}: ZKRMStateStore needs it. If it is in core-site.xml, check both \
                     (--yarn-site core-site.xml --yarn-site yarn-site.xml); otherwise set {ZK_ADDRESS}={} in {}. \
                     The ensembles were not compared",
                    self.site.all_files(),
                    self.cfg.zookeeper.connect,
                    self.file(ZK_ADDRESS)
                ),
            );
        }
        let site_zk = zk_key.and_then(|k| self.known(k).map(|v| (k, v)));
        let site_zk = match site_zk {
            Some((k, v)) => match ZkConnect::parse(&v) {
                Some(z) => Some((k, v, z)),
                None => {
                    let f = self.file(k).to_string();
                    self.push(
                        Severity::Warning,
                        format!("{k} is {v:?} in {f}: not a ZooKeeper connect string (HOST:PORT,...[/chroot])"),
                    );
                    None
                }
            },
            None => None,
        };
        let Some(rmfc_zk) = ZkConnect::parse(&self.cfg.zookeeper.connect) else { return true };
        if methods.is_empty() {
            return true;
        }

        if let Some((k, v, z)) = &site_zk {
            if z.servers != rmfc_zk.servers {
                let f = self.file(k).to_string();
                self.push(
                    Severity::Warning,
                    format!(
                        "the RMs keep their state store on {k}={v} (in {f}) but rmfc's zookeeper.connect is {} (in \
                         {}), and the zk_state_store fencing method checks the store through zookeeper.connect: it \
                         would look at another ensemble; make both name the same ZooKeeper servers",
                        self.cfg.zookeeper.connect, self.cfg_file
                    ),
                );
            }
        }
        // Compare absolute znode paths: each side's chroot + its path.
        let site_chroot = site_zk.as_ref().map_or(rmfc_zk.chroot.as_str(), |(_, _, z)| z.chroot.as_str()).to_string();
        let site_abs = format!("{site_chroot}{store_root}");
        for (i, path) in methods {
            let rmfc_abs = format!("{}{path}", rmfc_zk.chroot);
            if rmfc_abs == site_abs {
                continue;
            }
            let chroot_note = if site_chroot.is_empty() && rmfc_zk.chroot.is_empty() {
                String::new()
            } else {
                format!(
                    " (as absolute znodes: the RMs' {site_abs}, rmfc's {rmfc_abs}, with zookeeper.connect's chroot {:?})",
                    rmfc_zk.chroot
                )
            };
            let fix = match site_abs.strip_prefix(&rmfc_zk.chroot) {
                Some(rel) if rmfc_zk.chroot.is_empty() || rel.starts_with('/') => {
                    format!("set fencing.methods[{i}].path: {rel} in {}", self.cfg_file)
                }
                _ => format!(
                    "the store lies outside the chroot {} of zookeeper.connect: change zookeeper.connect in {} so \
                     that it reaches {site_abs}",
                    rmfc_zk.chroot, self.cfg_file
                ),
            };
            self.push(
                Severity::Error,
                format!(
                    "fencing.methods[{i}].path is {path} in {}, but the RMs' ZKRMStateStore root is {store_root} \
                     ({parent_shown}, + /{STORE_ROOT_NAME}){chroot_note}: rmfc would verify the fencing on the wrong \
                     znode; {fix}",
                    self.cfg_file
                ),
            );
        }
        true
    }
}
