//! Whether the RMs' access lists admit rmfc: `yarn.admin.acl`, which AdminService checks on every
//! HA call, and `security.ha.service.protocol.acl` (hadoop-policy.xml, falling back to
//! `security.service.authorization.default.acl`), which the RPC server checks when
//! `hadoop.security.authorization` is on. Who rmfc is comes from `security`: the user it names
//! (SIMPLE) or the short name of its principal (Kerberos).
//!
//! Owns: Hadoop's `AccessControlList` syntax and the wording of these findings. Must not: resolve
//! groups or evaluate custom `auth_to_local` rules (only the RMs' hosts can): a finding then says
//! "may".

use super::security::realm;
use super::{Checker, Severity, ADMIN_ACL, AUTHORIZATION, AUTH_TO_LOCAL, DEFAULT_SERVICE_ACL, HA_PROTOCOL_ACL};

/// Who rmfc is to an RM's access checks, as the RM's `UserGroupInformation` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Caller {
    /// SIMPLE with `health.user`: the RM trusts the name rmfc sends.
    Named(String),
    /// SIMPLE without `health.user`: the daemon's OS user, which is not known here.
    OsUser,
    /// Kerberos: the user the RM makes of `principal` (resolved) — `short` under the DEFAULT
    /// `auth_to_local` rule, which holds only for the RMs' default realm.
    Principal { principal: String, short: String },
}

/// `AccessControlList` as Hadoop parses it: users, one space, groups; `*` in either part admits
/// everyone. Parsed from the untrimmed value (a leading space means "no users").
#[derive(Debug, Clone, PartialEq, Eq)]
struct Acl {
    everyone: bool,
    users: Vec<String>,
    groups: Vec<String>,
}

impl Acl {
    fn parse(text: &str) -> Acl {
        let (users, groups) = text.split_once(' ').unwrap_or((text, ""));
        let list = |s: &str| s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
        Acl { everyone: users.trim() == "*" || groups.trim() == "*", users: list(users), groups: list(groups) }
    }

    fn lists(&self, user: &str) -> bool {
        self.everyone || self.users.iter().any(|u| u == user)
    }
}

impl Checker<'_> {
    /// `security.ha.service.protocol.acl` (hadoop-policy.xml), which the RMs check on every
    /// HAServiceProtocol call when service-level authorization is on.
    pub(super) fn service_acl(&mut self, caller: &Caller) {
        if self.site.raw(HA_PROTOCOL_ACL).is_some() {
            self.acl(HA_PROTOCOL_ACL, caller);
        } else if self.site.raw(DEFAULT_SERVICE_ACL).is_some() {
            self.acl(DEFAULT_SERVICE_ACL, caller);
        } else {
            let f = self.file(AUTHORIZATION).to_string();
            self.push(
                Severity::Note,
                format!(
                    "{AUTHORIZATION}=true (in {f}): the RMs also check every HA call against {HA_PROTOCOL_ACL} in \
                     their hadoop-policy.xml (when unset, {DEFAULT_SERVICE_ACL}, itself * when unset), which is not \
                     among the files given; make sure it admits {}: give hadoop-policy.xml too (--yarn-site ... \
                     --yarn-site hadoop-policy.xml) to have it checked",
                    who(caller)
                ),
            );
        }
    }

    /// Whether the access list at `key` admits `caller`. The RMs always admit their own user to
    /// `yarn.admin.acl` (AdminService adds it); no such exception applies to service ACLs.
    pub(super) fn acl(&mut self, key: &'static str, caller: &Caller) {
        let Some(text) = self.known_untrimmed(key) else { return };
        let acl = Acl::parse(&text);
        if acl.everyone {
            return;
        }
        let f = self.file(key).to_string();
        let cfg = self.cfg_file;
        // Leading white space means something (no users), trailing does not.
        let shown = text.trim_end();
        // AdminService refuses with AccessControlException, the RPC server's service
        // authorization with AuthorizationException.
        let (exception, fix_after) = if key == ADMIN_ACL {
            ("AccessControlException", String::new())
        } else {
            ("AuthorizationException", " (then yarn rmadmin -refreshServiceAcl on every RM)".to_string())
        };
        let mut unless: Vec<String> = Vec::new();
        if key == ADMIN_ACL {
            unless.push("the user the RMs run as".into());
        }
        if !acl.groups.is_empty() {
            unless.push(format!("a member of group {}", acl.groups.join(", ")));
        }
        let unless = |user: &str| {
            if unless.is_empty() {
                String::new()
            } else {
                format!("unless {user} is {}, ", unless.join(" or "))
            }
        };
        match caller {
            Caller::Named(u) if acl.lists(u) => {}
            Caller::Named(u) => self.push(
                Severity::Warning,
                format!(
                    "{key}={shown:?} (in {f}) does not list {u}, the user rmfc calls as (health.user in {cfg}): \
                     {}every HA call is refused ({exception}); add {u} to {key} in {f}{fix_after}, or set \
                     health.user to a listed user",
                    unless(u)
                ),
            ),
            Caller::OsUser => self.push(
                Severity::Warning,
                format!(
                    "{key}={shown:?} (in {f}) limits who may make HA calls, and rmfc calls as the OS user that runs \
                     it (health.user is not set in {cfg}; User=rmfc in deploy/rmfc.service): set health.user in \
                     {cfg} to {}, or add that OS user to {key} in {f}{fix_after}",
                    acl.users.first().map_or("a listed user (or the RMs' own user)", String::as_str)
                ),
            ),
            Caller::Principal { short, .. } if acl.lists(short) => {}
            Caller::Principal { principal, short } => {
                let rules = match self.known(AUTH_TO_LOCAL) {
                    Some(r) if r.trim() != "DEFAULT" => format!(
                        " — and {AUTH_TO_LOCAL} is set (in {}), so it may map to another name (`hadoop kerbname \
                         {principal}` on an RM host tells)",
                        self.file(AUTH_TO_LOCAL)
                    ),
                    _ => String::new(),
                };
                let realm = realm(principal).unwrap_or("its realm");
                self.push(
                    Severity::Warning,
                    format!(
                        "{key}={shown:?} (in {f}) does not list {short}, the user the RMs make of rmfc's principal \
                         {principal} (security.principal in {cfg}) under Hadoop's DEFAULT auth_to_local rule when \
                         {realm} is their default realm{rules}: {}every HA call may be refused ({exception}); add \
                         {short} to {key} in {f}{fix_after}",
                        unless(short)
                    ),
                );
            }
        }
    }
}

/// The caller as a finding names it.
fn who(caller: &Caller) -> String {
    match caller {
        Caller::Named(u) => format!("{u} (health.user)"),
        Caller::OsUser => "the OS user rmfc runs as (health.user is not set)".into(),
        Caller::Principal { principal, short } => format!("{short} (rmfc's principal {principal})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acls_split_users_from_groups_at_the_first_space_and_star_admits_everyone() {
        let acl = Acl::parse("yarn,rmfc hadoop,ops");
        assert_eq!(
            (acl.users, acl.groups),
            (vec!["yarn".to_string(), "rmfc".into()], vec!["hadoop".into(), "ops".into()])
        );
        // As in Hadoop, a space after a comma ends the users: rmfc is not listed here.
        assert!(!Acl::parse("yarn, rmfc hadoop").lists("rmfc"));
        assert_eq!(Acl::parse(" hadoop").users, Vec::<String>::new(), "a leading space: groups only");
        assert_eq!(Acl::parse(" hadoop").groups, ["hadoop"]);
        assert!(Acl::parse(" * ").everyone);
        assert!(Acl::parse("yarn *").everyone);
        assert!(!Acl::parse("yarn*").everyone);
        assert!(Acl::parse("yarn,rmfc").lists("rmfc"));
        assert!(!Acl::parse(" rmfc").lists("rmfc"), "rmfc is a group there");
    }
}
