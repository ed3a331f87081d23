//! Who rmfc is to the RMs. The authentication the RMs require (`hadoop.security.authentication`,
//! usually in core-site.xml) against rmfc's `security.authentication`; with Kerberos, the
//! principal rmfc expects each RM to be (`yarn.resourcemanager.principal` against
//! `security.rm_principal`), a protection both sides accept (`hadoop.rpc.protection` against
//! `security.rpc_protection`) and whether the RMs can map rmfc's principal to a user at all. The
//! caller that results is what `acl` then checks the access lists against.
//!
//! Owns: those checks, the Hadoop semantics they rest on (SASL protection negotiation, `_HOST`,
//! the DEFAULT `auth_to_local` rule) and their wording. Must not: read a keytab, ask a KDC or DNS,
//! or evaluate custom `auth_to_local` rules — where the answer depends on what only the RMs' hosts
//! know (their default realm, their rules), a finding says "may".

use super::acl::Caller;
use super::addr::Addr;
use super::{
    Checker, Severity, ADMIN_ACL, AUTHENTICATION, AUTHORIZATION, AUTH_TO_LOCAL, HA_ID, RM_PRINCIPAL, RPC_PROTECTION,
};
use crate::config::security::{has_host_pattern, resolve_host};
use crate::config::{Authentication, KerberosConfig, Qop};

/// The first component of a principal: what Hadoop's DEFAULT rule maps it to (in the default
/// realm).
fn short_name(principal: &str) -> &str {
    let name = principal.rsplit_once('@').map_or(principal, |(n, _)| n);
    name.split('/').next().unwrap_or(name)
}

pub(super) fn realm(principal: &str) -> Option<&str> {
    principal.rsplit_once('@').map(|(_, r)| r)
}

/// The protection a client accepting `ours` (in order) agrees on with a server offering
/// `offered`: the first of ours it offers (SASL: the server offers a set, the client picks).
fn negotiate(ours: &[Qop], offered: &[Qop]) -> Option<Qop> {
    ours.iter().copied().find(|q| offered.contains(q))
}

/// `hadoop.rpc.protection` as the RM reads it: a comma-separated list, case-insensitive.
fn parse_offer(text: &str) -> Result<Vec<Qop>, String> {
    let mut out = Vec::new();
    for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        let q = Qop::from_hadoop_name(word)
            .ok_or_else(|| format!("{word:?} is not one of authentication, integrity, privacy"))?;
        if !out.contains(&q) {
            out.push(q);
        }
    }
    Ok(out)
}

impl Checker<'_> {
    /// Authentication first: when the two sides disagree nothing else about them matters.
    pub(super) fn security(&mut self) {
        let Some(site_kerberos) = self.site_kerberos() else { return };
        let caller = match (site_kerberos, &self.cfg.security.kerberos) {
            (true, Some(k)) => {
                self.rm_principal(k);
                self.rpc_protection(k);
                let principal = self.own_principal(k);
                self.realm_mapping(k, &principal);
                Caller::Principal { short: short_name(&principal).to_string(), principal }
            }
            (false, None) => match &self.cfg.health.user {
                Some(u) => Caller::Named(u.clone()),
                None => Caller::OsUser,
            },
            _ => return,
        };
        self.acl(ADMIN_ACL, &caller);
        if self.flag(AUTHORIZATION, false).value == Some(true) {
            self.service_acl(&caller);
        }
    }

    /// Whether the RMs require Kerberos, with a finding when rmfc does not match; `None`: not
    /// to be told, or a mismatch already reported.
    fn site_kerberos(&mut self) -> Option<bool> {
        let cfg = self.cfg_file;
        let ours = self.cfg.security.authentication;
        let f = self.file(AUTHENTICATION).to_string();
        let value = match self.known(AUTHENTICATION) {
            Some(v) => v,
            None if self.site.raw(AUTHENTICATION).is_some() => return None, // noted as unresolved
            None if ours == Authentication::Kerberos => {
                self.push(
                    Severity::Warning,
                    format!(
                        "{AUTHENTICATION} is not set in {} (Hadoop's default: simple), but security.authentication is \
                         kerberos in {cfg}: if the RMs' core-site.xml sets {AUTHENTICATION}=kerberos, give it first \
                         (--yarn-site core-site.xml --yarn-site yarn-site.xml) so that the Kerberos settings are \
                         checked too; if the RMs really run with simple, every HA call would fail (rmfc never falls \
                         back to SIMPLE): set security.authentication: simple in {cfg}",
                        self.site.all_files()
                    ),
                );
                return None;
            }
            None => return Some(false),
        };
        let kerberos = match value.to_ascii_lowercase().as_str() {
            "kerberos" => true,
            "simple" => false,
            _ => {
                self.push(
                    Severity::Warning,
                    format!(
                        "{AUTHENTICATION} is {value:?} in {f}: Hadoop's RPC knows simple and kerberos, and the RMs \
                         do not start with anything else; write one of them in {f}. The security settings were not \
                         compared"
                    ),
                );
                return None;
            }
        };
        match (kerberos, ours) {
            (true, Authentication::Simple) => {
                let rm_principal = self
                    .known(RM_PRINCIPAL)
                    .unwrap_or_else(|| "the RMs' yarn.resourcemanager.principal (e.g. rm/_HOST@EXAMPLE.COM)".into());
                let realm = self.known(RM_PRINCIPAL).and_then(|p| realm(&p).map(String::from));
                let build = if cfg!(feature = "kerberos") {
                    ""
                } else {
                    "; and run an rmfc built with the kerberos feature (this one is not)"
                };
                self.push(
                    Severity::Error,
                    format!(
                        "{AUTHENTICATION}=kerberos (in {f}): the RMs accept only Kerberos (SASL GSSAPI) callers, but \
                         security.authentication is simple in {cfg}, so every HA call would be refused (\"SIMPLE \
                         authentication is not enabled.  Available:[TOKEN, KERBEROS]\"); set \
                         security.authentication: kerberos in {cfg}, with security.principal (rmfc's own, e.g. \
                         rmfc/_HOST@{}), security.keytab and security.rm_principal: {rm_principal} (see \
                         deploy/rmfc-kerberos.yaml){build}",
                        realm.as_deref().unwrap_or("EXAMPLE.COM")
                    ),
                );
                None
            }
            (false, Authentication::Kerberos) => {
                self.push(
                    Severity::Error,
                    format!(
                        "{AUTHENTICATION}=simple (in {f}): the RMs do not use Kerberos, but security.authentication \
                         is kerberos in {cfg}, and rmfc never falls back to SIMPLE (as Hadoop's own clients do not, \
                         unless told to), so every HA call would fail; set security.authentication: simple in {cfg} \
                         and remove security.principal, security.keytab, security.rm_principal and \
                         security.rpc_protection there"
                    ),
                );
                None
            }
            _ => Some(kerberos),
        }
    }

    /// rmfc's own principal with `_HOST` resolved the way the daemon resolves it: the host of
    /// this RM's admin address.
    fn own_principal(&self, k: &KerberosConfig) -> String {
        let host = self
            .cfg
            .resource_managers
            .get(&self.cfg.rm_id)
            .and_then(|ep| Addr::parse_host_port(&ep.admin_address, 8033));
        host.map_or_else(|| k.principal.clone(), |a| resolve_host(&k.principal, &a.host))
    }

    /// `security.rm_principal` must name the principal each RM logs in as: rmfc asks the KDC
    /// for a ticket to it and refuses an RM that is anyone else.
    fn rm_principal(&mut self, k: &KerberosConfig) {
        let cfg = self.cfg_file;
        let ours = &k.rm_principal;
        let Some(theirs) = self.known(RM_PRINCIPAL) else {
            if self.site.raw(RM_PRINCIPAL).is_none() {
                self.push(
                    Severity::Warning,
                    format!(
                        "{RM_PRINCIPAL} is not set in {}: the RMs log in as it, so security.rm_principal ({ours} in \
                         {cfg}) was not compared; give check-config the file that sets it, or set \
                         {RM_PRINCIPAL}={ours} in {} if that is the RMs' principal",
                        self.site.all_files(),
                        self.file(RM_PRINCIPAL)
                    ),
                );
            }
            return;
        };
        let f = self.file(RM_PRINCIPAL).to_string();
        // With _HOST the value holds for every RM; without, it is the principal of the one RM
        // whose host this file is from (yarn.resourcemanager.ha.id, else rmfc's own rm_id).
        let this_rm = self.known(HA_ID).filter(|id| self.cfg.resource_managers.contains_key(id));
        let this_rm = this_rm.unwrap_or_else(|| self.cfg.rm_id.clone());
        let hosts: Vec<(String, String)> = self
            .cfg
            .resource_managers
            .iter()
            .filter(|(id, _)| has_host_pattern(&theirs) || **id == this_rm)
            .filter_map(|(id, ep)| Addr::parse_host_port(&ep.admin_address, 8033).map(|a| (id.clone(), a.host)))
            .collect();
        let wrong: Vec<(String, String, String)> = hosts
            .iter()
            .map(|(id, host)| (id.clone(), resolve_host(ours, host), resolve_host(&theirs, host)))
            .filter(|(_, have, want)| have != want)
            .collect();
        let Some((id, have, want)) = wrong.first() else { return };
        let more = if wrong.len() > 1 {
            let rest: Vec<&str> = wrong[1..].iter().map(|(id, _, _)| id.as_str()).collect();
            format!(" (and likewise for {})", rest.join(", "))
        } else {
            String::new()
        };
        // A host-specific value generalises to _HOST when its host is this RM's.
        let fix = match (theirs.split_once('/'), hosts.iter().find(|(i, _)| i == id)) {
            (Some((service, rest)), Some((_, host))) if !has_host_pattern(&theirs) => match rest.split_once('@') {
                Some((instance, realm)) if instance.eq_ignore_ascii_case(host) => format!("{service}/_HOST@{realm}"),
                _ => theirs.clone(),
            },
            _ => theirs.clone(),
        };
        self.push(
            Severity::Error,
            format!(
                "{RM_PRINCIPAL} is {theirs} (in {f}), but security.rm_principal is {ours} in {cfg}: for {id} rmfc \
                 would expect {have} where the RM logs in as {want}{more}, and rmfc refuses an RM that is not the \
                 principal it expects (the KDC may not even know {have}), so every HA call would fail; set \
                 security.rm_principal: {fix} in {cfg}"
            ),
        );
    }

    /// The RM offers its `hadoop.rpc.protection`; rmfc takes the first of its own list offered.
    fn rpc_protection(&mut self, k: &KerberosConfig) {
        let cfg = self.cfg_file;
        let (text, shown, f) = match self.known(RPC_PROTECTION) {
            Some(v) => (
                v.clone(),
                format!("{RPC_PROTECTION}={v} (in {})", self.file(RPC_PROTECTION)),
                self.file(RPC_PROTECTION),
            ),
            None if self.site.raw(RPC_PROTECTION).is_some() => return, // noted as unresolved
            None => (
                "authentication".to_string(),
                format!("{RPC_PROTECTION}=authentication (not set: Hadoop's default)"),
                self.file(AUTHENTICATION),
            ),
        };
        let offered = match parse_offer(&text) {
            Ok(o) if !o.is_empty() => o,
            Ok(_) => return,
            Err(why) => {
                self.push(
                    Severity::Warning,
                    format!(
                        "{RPC_PROTECTION} is {text:?} in {f}: {why} (the RMs do not start with it); the protections \
                         were not compared"
                    ),
                );
                return;
            }
        };
        if negotiate(&k.rpc_protection, &offered).is_some() {
            return;
        }
        let offered_text = Qop::list_to_string(&offered);
        let strongest = offered.iter().max().copied().unwrap_or(Qop::Authentication);
        let ours = Qop::list_to_string(&k.rpc_protection);
        let ours_first = k.rpc_protection.first().copied().unwrap_or(Qop::Authentication);
        self.push(
            Severity::Error,
            format!(
                "{shown}: the RMs offer {offered_text}, but rmfc accepts only {ours} (security.rpc_protection in \
                 {cfg}; authentication when not set), so no connection can agree on a protection and rmfc refuses \
                 every RM; set security.rpc_protection: {strongest} in {cfg} (or add {ours_first} to \
                 {RPC_PROTECTION} in {f} on every RM)"
            ),
        );
    }

    /// Hadoop's DEFAULT rule maps only principals of the RMs' default realm; a principal of
    /// another realm needs a rule of the RMs' own, or every connection fails before any ACL.
    fn realm_mapping(&mut self, k: &KerberosConfig, principal: &str) {
        let rm_principal = self.known(RM_PRINCIPAL).unwrap_or_else(|| k.rm_principal.clone());
        let (Some(ours), Some(theirs)) = (realm(principal), realm(&rm_principal)) else { return };
        if ours == theirs {
            return;
        }
        let rules = self.known(AUTH_TO_LOCAL).unwrap_or_default();
        if rules.contains(&format!("@{ours}")) {
            return; // a rule of the RMs' names rmfc's realm: trust the operator wrote it for this
        }
        let cfg = self.cfg_file;
        self.push(
            Severity::Warning,
            format!(
                "security.principal {} (in {cfg}) is in realm {ours}, the RMs' principal {rm_principal} in {theirs}: \
                 Hadoop's DEFAULT auth_to_local rule maps only principals of the RMs' default realm to a user, so \
                 unless {ours} is their default realm the RMs may refuse every call from rmfc (\"No rules applied \
                 to {principal}\"); use a principal of {theirs} for rmfc, or add a rule for {ours} to \
                 {AUTH_TO_LOCAL} in the RMs' core-site.xml",
                k.principal
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_rule_keeps_the_first_component() {
        assert_eq!(short_name("rmfc/rm1.example.com@EXAMPLE.COM"), "rmfc");
        assert_eq!(short_name("rmfc@EXAMPLE.COM"), "rmfc");
        assert_eq!(realm("rmfc/h@EXAMPLE.COM"), Some("EXAMPLE.COM"));
    }

    #[test]
    fn the_first_protection_of_ours_the_server_offers_wins() {
        use Qop::*;
        for (ours, offered, want) in [
            (&[Privacy][..], &[Privacy][..], Some(Privacy)),
            (&[Authentication, Privacy], &[Privacy, Authentication], Some(Authentication)),
            (&[Privacy, Integrity], &[Authentication, Integrity], Some(Integrity)),
            (&[Authentication], &[Privacy], None),
            (&[Integrity, Privacy], &[Authentication], None),
        ] {
            assert_eq!(negotiate(ours, offered), want, "{ours:?} against {offered:?}");
        }
        assert_eq!(parse_offer(" Privacy, integrity,privacy,").unwrap(), [Privacy, Integrity]);
        assert!(parse_offer("auth-conf").unwrap_err().contains("not one of"));
    }
}
