//! Where things live in ZooKeeper and how they are named: the paths of DESIGN.md's "ZooKeeper
//! layout", the protected names of election candidates (`<rm-id>_<guid>-n_<seq>`) and the ACL
//! every znode rmfc creates carries.
//!
//! Owns: path building, candidate-name parsing, ACL choice. Pure: no I/O, no ZooKeeper session.
//! Must not: decide anything about leadership (the core sorts and judges candidates).

use zookeeper_client::{Acl, Acls, AuthId, CreateMode, CreateOptions, Permission};

/// The znode paths of one cluster under the configured root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// `<root>/<cluster-id>`.
    base: String,
}

impl Layout {
    /// `root` is absolute (`/rmfc`); a trailing `/` is ignored.
    pub fn new(root: &str, cluster_id: &str) -> Self {
        let root = root.trim_end_matches('/');
        Layout { base: format!("{root}/{cluster_id}") }
    }

    /// `<root>/<cluster-id>`.
    pub fn cluster(&self) -> &str {
        &self.base
    }

    pub fn election_dir(&self) -> String {
        format!("{}/election", self.base)
    }

    /// Full path of the candidate node named `znode` (a name as reported in `Joined`).
    pub fn candidate(&self, znode: &str) -> String {
        format!("{}/election/{znode}", self.base)
    }

    pub fn state(&self) -> String {
        format!("{}/state", self.base)
    }

    pub fn breadcrumb(&self) -> String {
        format!("{}/breadcrumb", self.base)
    }

    pub fn history(&self) -> String {
        format!("{}/history", self.base)
    }

    pub fn health_dir(&self) -> String {
        format!("{}/health", self.base)
    }

    pub fn health(&self, rm_id: &str) -> String {
        format!("{}/health/{rm_id}", self.base)
    }
}

/// The protected prefix of a candidate name: `<rm-id>_<guid>-n_`. ZooKeeper appends the
/// sequence number; a create retried after a connection loss finds its own node by this prefix.
pub fn candidate_prefix(rm_id: &str, guid: &str) -> String {
    format!("{rm_id}_{guid}-n_")
}

/// A candidate name taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateName<'a> {
    pub rm_id: &'a str,
    pub guid: &'a str,
    pub seq: u64,
}

/// Parses `<rm-id>_<guid>-n_<seq>`. The rm id may itself contain `_` (the guid never does);
/// anything else (a foreign node) is `None`.
pub fn parse_candidate(name: &str) -> Option<CandidateName<'_>> {
    let (prefix, seq) = name.rsplit_once("-n_")?;
    if seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seq = seq.parse().ok()?;
    let (rm_id, guid) = prefix.rsplit_once('_')?;
    if rm_id.is_empty() || guid.is_empty() {
        return None;
    }
    Some(CandidateName { rm_id, guid, seq })
}

/// The ACL of every znode rmfc creates.
///
/// With digest credentials: the session's own digest identity gets ALL and everyone else READ.
/// The `auth` scheme is expanded by the server into the digest identity the session added
/// (`digest:user:base64(sha1(user:password))`), so the password hash is never computed here.
/// Without credentials: `world:anyone` ALL.
#[derive(Debug, Clone)]
pub struct ZnodeAcl {
    acls: Option<Vec<Acl>>,
}

impl ZnodeAcl {
    pub fn new(digest: bool) -> Self {
        let acls = digest
            .then(|| vec![Acl::new(Permission::ALL, AuthId::authed()), Acl::new(Permission::READ, AuthId::anyone())]);
        ZnodeAcl { acls }
    }

    pub fn acls(&self) -> Acls<'_> {
        match &self.acls {
            Some(acls) => Acls::new(acls),
            None => Acls::anyone_all(),
        }
    }

    pub fn options(&self, mode: CreateMode) -> CreateOptions<'_> {
        mode.with_acls(self.acls())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_design_layout() {
        let l = Layout::new("/rmfc/", "yarn-prod");
        assert_eq!(l.cluster(), "/rmfc/yarn-prod");
        assert_eq!(l.election_dir(), "/rmfc/yarn-prod/election");
        assert_eq!(l.candidate("rm1_x-n_0000000001"), "/rmfc/yarn-prod/election/rm1_x-n_0000000001");
        assert_eq!(l.state(), "/rmfc/yarn-prod/state");
        assert_eq!(l.breadcrumb(), "/rmfc/yarn-prod/breadcrumb");
        assert_eq!(l.history(), "/rmfc/yarn-prod/history");
        assert_eq!(l.health("rm2"), "/rmfc/yarn-prod/health/rm2");
        assert_eq!(Layout::new("/", "c").state(), "/c/state");
    }

    #[test]
    fn candidate_names_round_trip() {
        let guid = "0b6c4f0e-7f7c-4c53-9d37-3b7fd1a2c9e1";
        let name = format!("{}{:010}", candidate_prefix("rm1", guid), 42);
        assert_eq!(name, format!("rm1_{guid}-n_0000000042"));
        assert_eq!(parse_candidate(&name), Some(CandidateName { rm_id: "rm1", guid, seq: 42 }));
    }

    #[test]
    fn rm_ids_with_underscores_and_dashes_parse() {
        let name = "rm_east-1_0b6c4f0e-7f7c-4c53-9d37-3b7fd1a2c9e1-n_0000000007";
        let c = parse_candidate(name).unwrap();
        assert_eq!((c.rm_id, c.guid, c.seq), ("rm_east-1", "0b6c4f0e-7f7c-4c53-9d37-3b7fd1a2c9e1", 7));
    }

    #[test]
    fn foreign_names_are_rejected() {
        for name in ["lock-0000000001", "rm1_guid-n_", "rm1_guid-n_12a", "_guid-n_1", "rm1_-n_1", "", "x-n_-1"] {
            assert_eq!(parse_candidate(name), None, "{name:?}");
        }
    }

    #[test]
    fn digest_acl_gives_the_creator_all_and_the_world_read() {
        let acl = ZnodeAcl::new(true);
        let acls: &[Acl] = &acl.acls();
        assert_eq!(acls.len(), 2);
        assert_eq!((acls[0].scheme(), acls[0].id(), acls[0].permission()), ("auth", "", Permission::ALL));
        assert_eq!((acls[1].scheme(), acls[1].id(), acls[1].permission()), ("world", "anyone", Permission::READ));
        let open = ZnodeAcl::new(false);
        let acls: &[Acl] = &open.acls();
        assert_eq!((acls[0].scheme(), acls[0].permission()), ("world", Permission::ALL));
    }
}
