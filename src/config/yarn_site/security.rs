//! Who rmfc is to the RMs: whether it can authenticate as they require
//! (`hadoop.security.authentication`), and whether `yarn.admin.acl` lets its calls through.
//!
//! Owns: those checks and their wording. Must not: read a keytab or ask a KDC.

use super::{Checker, Severity, ADMIN_ACL, SECURITY};

impl Checker<'_> {
    /// Who may make HA calls, and whether rmfc can authenticate at all.
    pub(super) fn security(&mut self) {
        if let Some(auth) = self.known(SECURITY) {
            if auth.eq_ignore_ascii_case("kerberos") {
                let f = self.file(SECURITY).to_string();
                self.push(
                    Severity::Error,
                    format!(
                        "{SECURITY}=kerberos (in {f}): the RMs require Kerberos (SASL GSSAPI), which this rmfc build \
                         does not speak, so every HA call would be refused; run rmfc against RMs with \
                         {SECURITY}=simple"
                    ),
                );
            }
        }
        let Some(acl) = self.known(ADMIN_ACL) else { return };
        if acl.trim() == "*" {
            return;
        }
        let f = self.file(ADMIN_ACL).to_string();
        // AccessControlList: "user1,user2 group1,group2" (users, a space, groups).
        let (users, groups) = acl.split_once(' ').unwrap_or((acl.as_str(), ""));
        let users: Vec<&str> = users.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        let groups: Vec<&str> = groups.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        let groups_text =
            if groups.is_empty() { String::new() } else { format!(" or a member of group {}", groups.join(", ")) };
        match &self.cfg.health.user {
            Some(u) if users.iter().any(|x| x == u) => {}
            Some(u) => self.push(
                Severity::Warning,
                format!(
                    "{ADMIN_ACL}={acl:?} (in {f}) does not list {u}, the user rmfc calls as (health.user in {}): \
                     unless {u} is the user the RMs run as{groups_text}, every HA call is refused \
                     (AccessControlException); add {u} to {ADMIN_ACL} in {f}, or set health.user to a listed user",
                    self.cfg_file
                ),
            ),
            None => self.push(
                Severity::Warning,
                format!(
                    "{ADMIN_ACL}={acl:?} (in {f}) limits who may make HA calls, and rmfc calls as the OS user that \
                     runs it (health.user is not set in {}; User=rmfc in deploy/rmfc.service): set health.user in \
                     {} to {}, or add that OS user to {ADMIN_ACL} in {f}",
                    self.cfg_file,
                    self.cfg_file,
                    users.first().map_or_else(|| "a listed user (or the RMs' own user)".to_string(), |u| u.to_string())
                ),
            ),
        }
    }
}
