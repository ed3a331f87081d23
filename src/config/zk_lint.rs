//! Warnings about the security of rmfc's ZooKeeper sessions: a Kerberos cluster whose rmfc
//! state anyone may rewrite, an ACL that locks rmfc out of its own znodes or lets everyone in
//! despite credentials, a digest password sent in clear. And, for `check-config`, a look at the
//! files the keys name (password, PEMs, an `@file` ACL), judged by the same code the daemon
//! loads them with.
//!
//! Owns: these judgments. Must not: refuse a config, print a secret, or warn about defaults.

use super::lint::{secret_file, warn, world_readable, Warning};
use super::security::Authentication;
use super::zk_security::{sasl_identities, ZkAcl, ZkAclEntry, ZkPerms, ZkSasl, KNOWN_SCHEMES};
use super::Config;

pub(super) fn lint(cfg: &Config, out: &mut Vec<Warning>) {
    let zk = &cfg.zookeeper;
    if cfg.security.authentication == Authentication::Kerberos && zk.auth.is_none() {
        let world_writes = match &zk.acl {
            None => true,
            Some(ZkAcl::Entries(entries)) => entries.iter().any(|e| e.scheme == "world" && e.perms.has(ZkPerms::WRITE)),
            Some(ZkAcl::File(_)) => false,
        };
        if world_writes {
            warn(
                out,
                "zookeeper.auth",
                "security.authentication is kerberos, but rmfc presents no credentials to ZooKeeper and its \
                 znodes are writable by world:anyone: any host that reaches ZooKeeper can rewrite rmfc's state \
                 (and so choose which RM is active); set zookeeper.auth.sasl with mechanism: gssapi (as the RMs \
                 do with their JAAS Client section and hadoop.zk.acl)",
            );
        }
    }
    if let Some(ZkAcl::Entries(entries)) = &zk.acl {
        acl(cfg, entries, out);
    }
    if let Some(file) = zk.auth.as_ref().and_then(|a| a.digest_file.as_ref()) {
        if zk.tls.is_none() {
            warn(
                out,
                "zookeeper.auth.digest_file",
                format!(
                    "{}: the digest scheme sends user:password in clear at every connect, so anyone who can watch \
                     the network can take rmfc's identity; set zookeeper.tls, or use zookeeper.auth.sasl instead",
                    file.display()
                ),
            );
        }
    }
}

/// Warnings about ACL `entries` (written in the config or read from its `@file`).
pub(super) fn acl(cfg: &Config, entries: &[ZkAclEntry], out: &mut Vec<Warning>) {
    const KEY: &str = "zookeeper.acl";
    for e in entries.iter().filter(|e| !KNOWN_SCHEMES.contains(&e.scheme.as_str())) {
        warn(
            out,
            KEY,
            format!(
                "{e}: {:?} is not one of ZooKeeper's own schemes ({}); the servers refuse the ACL (InvalidACL) \
                 unless they run an authProvider for it",
                e.scheme,
                KNOWN_SCHEMES.join(", ")
            ),
        );
    }
    let ours = entries.iter().filter(|e| may_be_rmfc(cfg, e)).fold(ZkPerms::default(), |p, e| p.union(e.perms));
    let missing = ZkPerms::NEEDED.missing_from(ours);
    if missing != ZkPerms::default() {
        warn(
            out,
            KEY,
            format!(
                "no entry gives an identity rmfc authenticates as ({}) the rights {missing}: rmfc reads its znodes, \
                 writes the state and creates and deletes election candidates (it needs rwcd), so its sessions \
                 would fail with NoAuth; add e.g. {}",
                identities(cfg).join(", "),
                suggestion(cfg)
            ),
        );
    }
    if cfg.zookeeper.auth.is_some() {
        let open = ZkPerms(ZkPerms::ALL.0 & !ZkPerms::READ.0);
        let world = entries.iter().filter(|e| e.scheme == "world").fold(ZkPerms::default(), |p, e| p.union(e.perms));
        if ZkPerms(world.0 & open.0) != ZkPerms::default() {
            warn(
                out,
                KEY,
                format!(
                    "world:anyone may {} rmfc's znodes, so the credentials of zookeeper.auth protect nothing: give \
                     those rights to rmfc's own identities only",
                    ZkPerms(world.0 & open.0)
                ),
            );
        }
    }
}

/// Could `e` name one of the identities rmfc's sessions hold? Schemes rmfc cannot judge from
/// the config (ip, an unknown provider; digest without seeing the secret) count as yes.
fn may_be_rmfc(cfg: &Config, e: &ZkAclEntry) -> bool {
    let auth = cfg.zookeeper.auth.as_ref();
    match e.scheme.as_str() {
        "world" => true,
        "auth" => auth.is_some() || cfg.zookeeper.tls.as_ref().is_some_and(|t| t.identity.is_some()),
        "digest" => auth.is_some_and(|a| a.digest_file.is_some()),
        "sasl" => sasl_identities(cfg).contains(&e.id),
        "x509" => cfg.zookeeper.tls.as_ref().is_some_and(|t| t.identity.is_some()),
        _ => true,
    }
}

fn identities(cfg: &Config) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(a) = &cfg.zookeeper.auth {
        if a.digest_file.is_some() {
            out.push("digest:<user of zookeeper.auth.digest_file>".to_string());
        }
        out.extend(sasl_identities(cfg).into_iter().take(1).map(|n| format!("sasl:{n}")));
    }
    if out.is_empty() {
        out.push("none: rmfc presents no credentials, only world:anyone applies".into());
    }
    out
}

fn suggestion(cfg: &Config) -> String {
    match sasl_identities(cfg).first() {
        Some(n) => format!("sasl:{n}:rwcda"),
        None if cfg.zookeeper.auth.is_some() => "auth::rwcda".into(),
        None => "world:anyone:rwcda (or configure zookeeper.auth)".into(),
    }
}

/// `check-config`'s look at the files of the `zookeeper` keys.
pub(super) fn check_files(cfg: &Config, out: &mut Vec<Warning>) {
    let zk = &cfg.zookeeper;
    if let Some(auth) = &zk.auth {
        if let Some(file) = &auth.digest_file {
            let key = "zookeeper.auth.digest_file";
            if let Some(text) = secret_file(out, key, file) {
                let line = text.trim();
                if !line.split_once(':').is_some_and(|(u, p)| !u.is_empty() && !p.is_empty()) {
                    warn(out, key, format!("{}: does not hold user:password", file.display()));
                }
            }
        }
        if let Some(ZkSasl::DigestMd5 { password_file, .. }) = &auth.sasl {
            let key = "zookeeper.auth.sasl.password_file";
            if secret_file(out, key, password_file).is_some_and(|t| t.trim_end_matches(['\r', '\n']).is_empty()) {
                warn(out, key, format!("{}: is empty", password_file.display()));
            }
        }
    }
    if let Some(tls) = &zk.tls {
        if let Some(id) = tls.identity.as_ref().filter(|id| world_readable(&id.key_file)) {
            let msg = format!("{}: is readable by every user; chmod o-rwx it", id.key_file.display());
            warn(out, "zookeeper.tls.key_file", msg);
        }
        if let Err(e) = crate::daemon::wiring::zk_tls(tls) {
            let (key, rest) = e.split_once(' ').unwrap_or(("zookeeper.tls.ca_file", e.as_str()));
            warn(out, key, format!("{rest} (the daemon would refuse to start)"));
        }
    }
    if let Some(ZkAcl::File(file)) = &zk.acl {
        match crate::daemon::wiring::read_acl_file(file) {
            Ok(entries) => acl(cfg, &entries, out),
            Err(e) => {
                let msg = e.trim_start_matches("zookeeper.acl ");
                warn(out, "zookeeper.acl", format!("{msg} (the daemon would refuse to start)"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::zk_security::{parse_acl, ZkAuth, ZkTls, ZkTlsIdentity};
    use super::super::{KerberosConfig, Qop};
    use super::*;
    use crate::config::tests::minimal;

    fn digest() -> Option<ZkAuth> {
        Some(ZkAuth { digest_file: Some("/etc/rmfc/zk-digest".into()), sasl: None })
    }

    /// A Kerberized rmfc (no REST probe: it has no SPNEGO).
    fn kerberos(c: &mut Config) {
        c.health.rest = false;
        c.security.authentication = Authentication::Kerberos;
        c.security.kerberos = Some(KerberosConfig {
            principal: "rmfc/_HOST@EXAMPLE.COM".into(),
            keytab: "/etc/rmfc.keytab".into(),
            rm_principal: "rm/_HOST@EXAMPLE.COM".into(),
            rpc_protection: vec![Qop::Authentication],
        });
    }

    fn gssapi(c: &mut Config) {
        kerberos(c);
        let sasl = ZkSasl::Gssapi { service: "zookeeper".into(), hostname: None };
        c.zookeeper.auth = Some(ZkAuth { digest_file: None, sasl: Some(sasl) });
        c.zookeeper.tls = Some(ZkTls { ca_file: "/ca.pem".into(), identity: None });
    }

    fn acl_of(c: &mut Config, text: &str) {
        c.zookeeper.acl = Some(ZkAcl::Entries(parse_acl(text).unwrap()));
    }

    /// Each row: a change to the defaults, the one key warned about, a phrase of the message.
    #[test]
    fn each_zookeeper_lint_fires_alone() {
        type Change = fn(&mut Config);
        let cases: &[(&str, Change, &str, &str)] = &[
            ("kerberos without ZooKeeper credentials", kerberos, "zookeeper.auth", "any host that reaches ZooKeeper can rewrite rmfc's state"),
            ("digest in clear", |c| c.zookeeper.auth = digest(), "zookeeper.auth.digest_file", "sends user:password in clear"),
            ("an ACL for someone else", |c| { gssapi(c); acl_of(c, "sasl:yarn:rwcda") }, "zookeeper.acl", "no entry gives an identity rmfc authenticates as (sasl:rmfc/rm1.example.com@EXAMPLE.COM) the rights rwcd"),
            ("read-only for rmfc", |c| { gssapi(c); acl_of(c, "sasl:rmfc:r") }, "zookeeper.acl", "the rights wcd"),
            ("world may write despite credentials", |c| { gssapi(c); acl_of(c, "sasl:rmfc:rwcda,world:anyone:rw") }, "zookeeper.acl", "world:anyone may w rmfc's znodes"),
            ("unknown scheme", |c| acl_of(c, "world:anyone:rwcda,ldap:rmfc:r"), "zookeeper.acl", "\"ldap\" is not one of ZooKeeper's own schemes"),
            ("only world read without credentials", |c| acl_of(c, "world:anyone:r"), "zookeeper.acl", "(none: rmfc presents no credentials, only world:anyone applies) the rights wcd"),
        ];
        for (name, change, key, phrase) in cases {
            let mut c = minimal();
            change(&mut c);
            let warnings = c.lint();
            let keys: Vec<&str> = warnings.iter().map(|w| w.key.as_str()).collect();
            assert_eq!(keys, [*key], "{name}: {warnings:#?}");
            assert!(warnings[0].message.contains(phrase), "{name}:\n got: {}\nwant: {phrase}", warnings[0].message);
        }
    }

    #[test]
    fn quiet_on_good_zookeeper_security() {
        let quiet: &[fn(&mut Config)] = &[
            gssapi,
            |c| {
                gssapi(c);
                acl_of(c, "sasl:rmfc:rwcda,world:anyone:r");
            },
            |c| {
                gssapi(c);
                // ZooKeeper with kerberos.removeHostFromPrincipal and removeRealmFromPrincipal.
                acl_of(c, "sasl:rmfc:rwcda,sasl:yarn:r");
            },
            |c| {
                gssapi(c);
                acl_of(c, "auth::rwcda");
            },
            |c| {
                kerberos(c);
                acl_of(c, "ip:10.1.0.0/16:rwcda");
            },
            |c| {
                c.zookeeper.auth = digest();
                c.zookeeper.tls = Some(ZkTls { ca_file: "/ca.pem".into(), identity: None });
                acl_of(c, "digest:rmfc:hash=:rwcda");
            },
            |c| {
                let id = ZkTlsIdentity { cert_file: "/c.pem".into(), key_file: "/c.key".into() };
                c.zookeeper.tls = Some(ZkTls { ca_file: "/ca.pem".into(), identity: Some(id) });
                acl_of(c, "x509:CN=rmfc:rwcda");
            },
            |c| {
                kerberos(c);
                c.zookeeper.acl = Some(ZkAcl::File("/etc/rmfc/zk-acl".into()));
            },
        ];
        for (i, change) in quiet.iter().enumerate() {
            let mut c = minimal();
            change(&mut c);
            assert!(c.lint().is_empty(), "case {i}: {:#?}", c.lint());
        }
    }

    #[test]
    fn files_of_the_zookeeper_keys_are_checked_as_the_daemon_loads_them() {
        let dir = tempfile::tempdir().unwrap();
        let password = dir.path().join("password");
        std::fs::write(&password, "\n").unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "not a certificate\n").unwrap();
        let acl_file = dir.path().join("acl");
        std::fs::write(&acl_file, "sasl:rmfc:rwx\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&password, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let mut c = minimal();
        let sasl = ZkSasl::DigestMd5 { username: "rmfc".into(), password_file: password };
        c.zookeeper.auth = Some(ZkAuth { digest_file: None, sasl: Some(sasl) });
        c.zookeeper.tls = Some(ZkTls { ca_file: ca, identity: None });
        c.zookeeper.acl = Some(ZkAcl::File(acl_file.clone()));
        let warnings = c.check_files();
        let text: Vec<String> = warnings.iter().map(ToString::to_string).collect();
        let want = [
            ("zookeeper.auth.sasl.password_file", "is empty"),
            ("zookeeper.tls.ca_file", "no usable PEM CA certificate"),
            ("zookeeper.acl", "invalid permission 'x'"),
        ];
        assert_eq!(warnings.len(), want.len(), "{text:#?}");
        for ((key, phrase), w) in want.iter().zip(&warnings) {
            assert_eq!(w.key, *key, "{text:#?}");
            assert!(w.message.contains(phrase), "{text:#?}");
        }
        // A readable ACL file is linted like an inline one.
        std::fs::write(&acl_file, "sasl:yarn:rwcda\n").unwrap();
        let warnings = c.check_files();
        assert!(
            warnings.iter().any(|w| w.key == "zookeeper.acl" && w.message.contains("the rights rwcd")),
            "{warnings:#?}"
        );
    }
}
