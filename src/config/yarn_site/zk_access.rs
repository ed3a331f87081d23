//! Whether rmfc may read what the `zk_state_store` fencing method reads: the ACL of the RMs'
//! ZKRMStateStore root. The RMs give that root the entries of `hadoop.zk.acl` (CREATE and DELETE
//! taken out) plus CREATE and DELETE for the active RM's own digest identity, and reading a
//! node's ACL takes READ or ADMIN on it. `hadoop.zk.auth` is how the RMs authenticate; rmfc's
//! store session authenticates with `zookeeper.auth`. If no entry grants rmfc READ or ADMIN, the
//! fencing step cannot record the root's holders, no promotion is ever confirmed fenced, and
//! rmfc does not fail over (safety rule 1).
//!
//! Owns: ZKUtil's syntax for `hadoop.zk.auth` and `hadoop.zk.acl` (and their deprecated
//! `yarn.resourcemanager.zk-auth`/`zk-acl` names), which entry may admit rmfc, and the wording.
//! Must not: read the files those keys may point to (`@/path`), or show a password or a digest
//! hash.

use std::path::PathBuf;

use super::{Checker, Severity, ZK_ACL, ZK_ACL_OLD, ZK_AUTH, ZK_AUTH_OLD};
use crate::config::zk_security::sasl_identities;
use crate::config::{Config, FenceMethod};

/// Hadoop's default `hadoop.zk.acl`.
const DEFAULT_ZK_ACL: &str = "world:anyone:rwcda";

/// One credential rmfc's ZooKeeper sessions present. The one place that knows them: a new
/// `zookeeper.auth` kind (SASL) is a variant here, its line in [`credentials`] and its arm in
/// [`admits`].
#[derive(Debug, Clone, PartialEq, Eq)]
enum Credential {
    /// `zookeeper.auth.digest_file`: `user:password` (the file is not read here).
    Digest { file: PathBuf },
    /// `zookeeper.auth.sasl`: the SASL ids the servers may give rmfc's session, most likely
    /// first (DIGEST-MD5: the user name; GSSAPI: the principal and the forms the servers'
    /// kerberos.* settings shorten it to; their auth_to_local rules may still map it elsewhere).
    Sasl { mechanism: &'static str, ids: Vec<String> },
}

impl Credential {
    fn describe(&self) -> String {
        match self {
            Credential::Digest { file } => format!("digest from zookeeper.auth.digest_file {}", file.display()),
            Credential::Sasl { mechanism, ids } => match ids.first() {
                Some(id) => format!("SASL {mechanism} as sasl:{id} (zookeeper.auth.sasl)"),
                None => format!("SASL {mechanism} (zookeeper.auth.sasl)"),
            },
        }
    }
}

fn credentials(cfg: &Config) -> Vec<Credential> {
    let Some(auth) = &cfg.zookeeper.auth else { return Vec::new() };
    let digest = auth.digest_file.iter().map(|file| Credential::Digest { file: file.clone() });
    let sasl = auth.sasl.iter().map(|s| Credential::Sasl { mechanism: s.mechanism(), ids: sasl_identities(cfg) });
    digest.chain(sasl).collect()
}

/// One `scheme:id:perms` entry of `hadoop.zk.acl`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AclEntry {
    scheme: String,
    id: String,
    perms: String,
}

impl AclEntry {
    /// READ or ADMIN: what reading the node's ACL takes (CREATE and DELETE are taken out on
    /// the store root anyway).
    fn lets_read_acl(&self) -> bool {
        self.perms.contains(['r', 'a'])
    }

    /// The entry without secrets: a digest id is `user:hash`, and only the user is shown.
    fn shown(&self) -> String {
        match (self.scheme.as_str(), self.id.split_once(':')) {
            ("digest", Some((user, _))) => format!("digest:{user}:…:{}", self.perms),
            _ => format!("{}:{}:{}", self.scheme, self.id, self.perms),
        }
    }
}

/// `ZKUtil.parseACLs`: comma-separated, `scheme` up to the first colon, `perms` after the last.
fn parse_acl(text: &str) -> Result<Vec<AclEntry>, String> {
    let mut out = Vec::new();
    for a in text.split(',').map(str::trim).filter(|a| !a.is_empty()) {
        let (Some(first), Some(last)) = (a.find(':'), a.rfind(':')) else {
            return Err(format!("ACL '{a}' not of expected form scheme:id:perm"));
        };
        if first == last {
            return Err(format!("ACL '{a}' not of expected form scheme:id:perm"));
        }
        let perms = &a[last + 1..];
        if let Some(c) = perms.chars().find(|c| !"rwcda".contains(*c)) {
            return Err(format!("Invalid permission '{c}' in permission string '{perms}'"));
        }
        out.push(AclEntry { scheme: a[..first].into(), id: a[first + 1..last].into(), perms: perms.into() });
    }
    Ok(out)
}

/// `ZKUtil.parseAuth`, shown without secrets: `digest:user` for a digest, the scheme for others.
fn auth_identities(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| match a.split_once(':') {
            Some(("digest", auth)) => format!("digest:{}", auth.split_once(':').map_or(auth, |(u, _)| u)),
            Some((scheme, _)) => scheme.to_string(),
            None => "(malformed)".to_string(),
        })
        .collect()
}

/// How sure it is that an entry admits rmfc's session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Admits {
    No,
    /// Depends on what only the ZooKeeper servers know (a client address, a certificate).
    Maybe,
    /// Same scheme; the secret itself cannot be compared here.
    Likely,
    Yes,
}

fn admits(entry: &AclEntry, creds: &[Credential]) -> Admits {
    if !entry.lets_read_acl() {
        return Admits::No;
    }
    match entry.scheme.as_str() {
        "world" if entry.id == "anyone" => Admits::Yes,
        "digest" if creds.iter().any(|c| matches!(c, Credential::Digest { .. })) => Admits::Likely,
        "sasl" if creds.iter().any(|c| matches!(c, Credential::Sasl { ids, .. } if ids.contains(&entry.id))) => {
            Admits::Likely
        }
        // A Kerberos principal the servers may map to another id (auth_to_local).
        "sasl" if creds.iter().any(|c| matches!(c, Credential::Sasl { mechanism: "gssapi", .. })) => Admits::Maybe,
        // Schemes rmfc has no (matching) credential of.
        "digest" | "world" | "sasl" => Admits::No,
        // ip (the address the servers see), x509, auth (the creator's ids) and the rest.
        _ => Admits::Maybe,
    }
}

impl Checker<'_> {
    /// Only with a `zk_state_store` method and the RMs on ZKRMStateStore (`zk_store`): nothing
    /// else of rmfc reads the store.
    pub(super) fn zk_access(&mut self, zk_store: bool) {
        let methods: Vec<usize> = (self.cfg.fencing.methods.iter().enumerate())
            .filter(|(_, m)| matches!(m, FenceMethod::ZkStateStore { .. }))
            .map(|(i, _)| i)
            .collect();
        let Some(&i) = methods.first().filter(|_| zk_store) else { return };
        let cfg = self.cfg_file;
        let creds = credentials(self.cfg);
        let session = match creds.as_slice() {
            [] => format!("has no credentials (zookeeper.auth is not set in {cfg})"),
            c => format!("authenticates with {}", c.iter().map(Credential::describe).collect::<Vec<_>>().join(", ")),
        };
        let method = format!("fencing.methods[{i}] (zk_state_store) in {cfg}");
        let auth_key = self.renamed(ZK_AUTH, ZK_AUTH_OLD, true);
        let auth = auth_key.and_then(|k| self.known(k).map(|v| (k, v)));
        let rm_auth = auth.as_ref().map(|(k, v)| {
            let f = self.file(k);
            match v.strip_prefix('@') {
                Some(path) => format!(
                    "the RMs authenticate to ZooKeeper with {k} in {f}, read from {} (not read here)",
                    path.trim()
                ),
                None => format!("the RMs authenticate to ZooKeeper as {} by {k} in {f}", auth_identities(v).join(", ")),
            }
        });
        let rm_ids = rm_auth.as_ref().map(|a| format!(" ({a})")).unwrap_or_default();
        let acl_key = self.renamed(ZK_ACL, ZK_ACL_OLD, false);
        let Some(acl_key) = acl_key else {
            if let (Some(rm_auth), true) = (&rm_auth, creds.is_empty()) {
                self.push(
                    Severity::Note,
                    format!(
                        "{rm_auth}, but {ZK_ACL} is not set, so the RMs' store root stays readable by anyone \
                         (Hadoop's default {DEFAULT_ZK_ACL}) and {method} needs no credentials; if you restrict \
                         {ZK_ACL}, grant read (r) to an identity rmfc authenticates as (zookeeper.auth in {cfg}) too"
                    ),
                );
            }
            return;
        };
        let f = self.file(acl_key).to_string();
        let Some(text) = self.known(acl_key) else { return }; // noted as unresolved
        if let Some(path) = text.strip_prefix('@') {
            if creds.is_empty() {
                self.push(
                    Severity::Warning,
                    format!(
                        "{acl_key}={text} (in {f}): the RMs read their store ACL from {} (not read here){rm_ids}, \
                         and rmfc's ZooKeeper session {session}: unless that ACL grants world:anyone read (r), {method} \
                         cannot read the store root's ACL and rmfc would not fail over; set zookeeper.auth.digest_file \
                         in {cfg} to a user:password that ACL grants read",
                        path.trim()
                    ),
                );
            }
            return;
        }
        let entries = match parse_acl(&text) {
            Ok(e) => e,
            Err(why) => {
                self.push(
                    Severity::Warning,
                    format!(
                        "{acl_key} is {text:?} in {f}: {why} (ZKUtil refuses it: the RMs do not start); the store's \
                         ACL was not checked"
                    ),
                );
                return;
            }
        };
        let best = entries.iter().map(|e| admits(e, &creds)).max().unwrap_or(Admits::No);
        let readers: Vec<String> = entries.iter().filter(|e| e.lets_read_acl()).map(AclEntry::shown).collect();
        let readers = if readers.is_empty() { "nobody".to_string() } else { readers.join(", ") };
        let shown: Vec<String> = entries.iter().map(AclEntry::shown).collect();
        let shown = shown.join(",");
        let digest_user = entries.iter().find(|e| e.scheme == "digest" && e.lets_read_acl()).map(|e| {
            let user = e.id.split_once(':').map_or(e.id.as_str(), |(u, _)| u);
            format!("digest:{user}")
        });
        let hash = "HASH from `java -cp zookeeper.jar org.apache.zookeeper.server.auth.DigestAuthenticationProvider \
                    USER:PASSWORD`";
        let sasl_id = creds.iter().find_map(|c| match c {
            Credential::Sasl { ids, .. } => ids.first().cloned(),
            Credential::Digest { .. } => None,
        });
        let fix = match (&digest_user, creds.is_empty()) {
            (Some(user), true) => format!(
                "set zookeeper.auth.digest_file in {cfg} to a file holding the user:password of {user} (or of a \
                 user you add to {acl_key} with r)"
            ),
            (_, true) => format!(
                "add an entry for rmfc with read to {acl_key} in {f}, e.g. digest:rmfc:HASH:r ({hash}), and set \
                 zookeeper.auth.digest_file in {cfg} to a file holding rmfc:PASSWORD"
            ),
            (_, false) => match sasl_id {
                Some(id) => format!("add sasl:{id}:r (rmfc's SASL login) to {acl_key} in {f}"),
                None => format!(
                    "add digest:USER:HASH:r for the user of zookeeper.auth.digest_file to {acl_key} in {f} ({hash})"
                ),
            },
        };
        match best {
            Admits::Yes | Admits::Likely => {}
            Admits::Maybe => self.push(
                Severity::Warning,
                format!(
                    "{acl_key}={shown} (in {f}) grants read on the RMs' store root to {readers}{rm_ids}; rmfc's \
                     ZooKeeper session {session}, and whether an entry admits it only the ZooKeeper servers can tell \
                     (a client address, a certificate): if none does, {method} cannot read the store root's ACL and \
                     rmfc would not fail over; to be sure, {fix}"
                ),
            ),
            Admits::No => self.push(
                Severity::Error,
                format!(
                    "{acl_key}={shown} (in {f}) grants read on the RMs' store root only to {readers}{rm_ids}, and \
                     rmfc's ZooKeeper session {session}: {method} cannot read the store root's ACL (NoAuth), so no \
                     promotion could be confirmed fenced and rmfc would not fail over; {fix}"
                ),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(s: &str) -> AclEntry {
        parse_acl(s).unwrap().remove(0)
    }

    #[test]
    fn acls_parse_like_zkutil_with_colons_inside_the_id() {
        assert_eq!(
            parse_acl(" sasl:rm:rwcda , digest:rm-store:aGFzaA==:r,,").unwrap(),
            [
                AclEntry { scheme: "sasl".into(), id: "rm".into(), perms: "rwcda".into() },
                AclEntry { scheme: "digest".into(), id: "rm-store:aGFzaA==".into(), perms: "r".into() },
            ]
        );
        assert!(parse_acl("world:anyone").unwrap_err().contains("not of expected form scheme:id:perm"));
        assert!(parse_acl("world:anyone:rx").unwrap_err().contains("Invalid permission 'x'"));
        assert_eq!(entry("digest:rm-store:aGFzaA==:rwa").shown(), "digest:rm-store:…:rwa", "no hash shown");
    }

    #[test]
    fn auth_is_shown_without_its_password() {
        assert_eq!(auth_identities("digest:rm-store:s3cret, sasl:x"), ["digest:rm-store", "sasl"]);
    }

    #[test]
    fn which_entries_may_admit_rmfcs_session() {
        let digest = [Credential::Digest { file: "/etc/rmfc/zk-digest".into() }];
        let none: [Credential; 0] = [];
        let ids = vec!["rmfc/h1@R".to_string(), "rmfc/h1".into(), "rmfc".into(), "rmfc@R".into()];
        let gssapi = [Credential::Sasl { mechanism: "gssapi", ids }];
        let md5 = [Credential::Sasl { mechanism: "digest-md5", ids: vec!["rmfc".into()] }];
        for (acl, creds, want) in [
            ("world:anyone:r", &none[..], Admits::Yes),
            ("world:anyone:a", &none[..], Admits::Yes),
            ("world:anyone:cdw", &digest[..], Admits::No),
            ("digest:rmfc:h:r", &digest[..], Admits::Likely),
            ("digest:rmfc:h:r", &none[..], Admits::No),
            ("sasl:rm:rwcda", &digest[..], Admits::No),
            ("sasl:rmfc:r", &gssapi[..], Admits::Likely),
            ("sasl:rmfc/h1@R:r", &gssapi[..], Admits::Likely),
            ("sasl:yarn:r", &gssapi[..], Admits::Maybe),
            ("sasl:rmfc:r", &md5[..], Admits::Likely),
            ("sasl:yarn:r", &md5[..], Admits::No),
            ("ip:10.0.0.0/8:r", &none[..], Admits::Maybe),
            ("x509:CN=rmfc:r", &none[..], Admits::Maybe),
        ] {
            assert_eq!(admits(&entry(acl), creds), want, "{acl} with {creds:?}");
        }
    }
}
