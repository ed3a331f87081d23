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

/// The ACL of every znode rmfc creates (parents included).
///
/// The operator's `zookeeper.acl` when given. Otherwise, with credentials (digest or SASL): only
/// the session's own identities, with ALL — the `auth` scheme, which the server expands into
/// every identity the session authenticated as (`digest:user:base64(sha1(user:password))`,
/// `sasl:<name>`), so no password hash is computed here and no one else may even read. Without
/// credentials: `world:anyone` ALL (anyone who can reach ZooKeeper may change rmfc's state).
#[derive(Debug, Clone)]
pub struct ZnodeAcl {
    acls: Vec<Acl>,
}

impl ZnodeAcl {
    /// `explicit`: `zookeeper.acl`; `authenticated`: the sessions present credentials.
    pub fn new(explicit: Option<Vec<Acl>>, authenticated: bool) -> Self {
        let acls = explicit.unwrap_or_else(|| {
            let id = if authenticated { AuthId::authed() } else { AuthId::anyone() };
            vec![Acl::new(Permission::ALL, id)]
        });
        ZnodeAcl { acls }
    }

    pub fn acls(&self) -> Acls<'_> {
        Acls::new(&self.acls)
    }

    pub fn options(&self, mode: CreateMode) -> CreateOptions<'_> {
        mode.with_acls(self.acls())
    }

    /// `scheme:id:PERMS` of each entry, for logs.
    pub fn describe(&self) -> String {
        let entries: Vec<String> =
            self.acls.iter().map(|a| format!("{}:{}:{}", a.scheme(), a.id(), a.permission())).collect();
        entries.join(",")
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
    fn with_credentials_only_the_sessions_own_identities_get_in() {
        let acl = ZnodeAcl::new(None, true);
        let acls: &[Acl] = &acl.acls();
        assert_eq!(acls.len(), 1, "no world:anyone READ: {acls:?}");
        assert_eq!((acls[0].scheme(), acls[0].id(), acls[0].permission()), ("auth", "", Permission::ALL));
        let open = ZnodeAcl::new(None, false);
        let acls: &[Acl] = &open.acls();
        assert_eq!(
            (acls.len(), acls[0].scheme(), acls[0].id(), acls[0].permission()),
            (1, "world", "anyone", Permission::ALL)
        );
        assert_eq!(open.describe(), "world:anyone:ALL");
    }

    #[test]
    fn an_explicit_acl_is_used_as_given() {
        let given =
            vec![Acl::new(Permission::ALL, AuthId::new("sasl", "rmfc")), Acl::new(Permission::READ, AuthId::anyone())];
        for authenticated in [true, false] {
            let acl = ZnodeAcl::new(Some(given.clone()), authenticated);
            let acls: &[Acl] = &acl.acls();
            assert_eq!(acls, given.as_slice());
        }
        assert_eq!(ZnodeAcl::new(Some(given), true).describe(), "sasl:rmfc:ALL,world:anyone:READ");
    }
}
