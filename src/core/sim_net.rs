//! The network of the in-memory worlds: whether ZooKeeper has a quorum, which controller/RM
//! hosts are cut from the ensemble, and which pairs of hosts cannot reach each other. A host is
//! named by its RM id (the controller and its RM share it). The default reaches everything,
//! which is what the scenario and property tests assume.
//!
//! Owns: reachability. Must not: know about controllers.

use std::collections::BTreeSet;

use super::types::RmId;

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct Net {
    /// The ensemble has no quorum: nobody reaches ZooKeeper, and no session expires.
    pub(super) zk_down: bool,
    /// Hosts cut from the whole ensemble.
    pub(super) zk_cut: BTreeSet<RmId>,
    /// Pairs of hosts that cannot reach each other (each pair stored lowest first).
    pub(super) links_cut: BTreeSet<(RmId, RmId)>,
}

impl Net {
    pub(super) fn reaches_zk(&self, host: &str) -> bool {
        !self.zk_down && !self.zk_cut.contains(host)
    }

    pub(super) fn reaches(&self, a: &str, b: &str) -> bool {
        a == b || !self.links_cut.contains(&Self::pair(a, b))
    }

    pub(super) fn pair(a: &str, b: &str) -> (RmId, RmId) {
        if a <= b {
            (a.to_string(), b.to_string())
        } else {
            (b.to_string(), a.to_string())
        }
    }

    /// One line for traces.
    pub(super) fn describe(&self) -> String {
        let mut parts = vec![];
        if self.zk_down {
            parts.push("ZooKeeper down".to_string());
        }
        if !self.zk_cut.is_empty() {
            parts.push(format!("cut from ZooKeeper: {:?}", self.zk_cut));
        }
        for (a, b) in &self.links_cut {
            parts.push(format!("{a}-/-{b}"));
        }
        if parts.is_empty() {
            "network whole".into()
        } else {
            parts.join(", ")
        }
    }
}
