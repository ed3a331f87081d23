//! The `security` section: how rmfc authenticates to the RMs' admin ports, with Hadoop's own
//! names and semantics — `authentication` is `hadoop.security.authentication`, `rm_principal` is
//! `yarn.resourcemanager.principal` (with `_HOST`), `rpc_protection` is `hadoop.rpc.protection` —
//! and rmfc's own Kerberos identity (`principal` and `keytab`, like `yarn.resourcemanager.keytab`).
//!
//! Owns: these keys, their validation and `_HOST` substitution (pure string work, as Hadoop's
//! `SecurityUtil.getServerPrincipal` does it). Must not: read the keytab or talk to a KDC (the
//! login lives in `crate::security`).

use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

use super::Problem;

/// `security.authentication` (`hadoop.security.authentication`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Authentication {
    /// The RM trusts the user name rmfc sends (`health.user` or the OS user).
    #[default]
    Simple,
    /// SASL GSSAPI: rmfc logs in from `keytab` and authenticates as `principal`.
    Kerberos,
}

/// One quality of protection of `hadoop.rpc.protection`, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Qop {
    /// Authentication only (SASL `auth`): the RPCs themselves travel in the clear.
    Authentication,
    /// Every RPC signed (SASL `auth-int`).
    Integrity,
    /// Every RPC signed and encrypted (SASL `auth-conf`).
    Privacy,
}

impl Qop {
    /// Hadoop's word for it, as `hadoop.rpc.protection` spells it.
    pub fn hadoop_name(self) -> &'static str {
        match self {
            Qop::Authentication => "authentication",
            Qop::Integrity => "integrity",
            Qop::Privacy => "privacy",
        }
    }

    /// The SASL GSSAPI security-layer bit (RFC 4752 §3.3).
    pub fn layer_bit(self) -> u8 {
        match self {
            Qop::Authentication => 1,
            Qop::Integrity => 2,
            Qop::Privacy => 4,
        }
    }

    pub fn from_hadoop_name(s: &str) -> Option<Qop> {
        match s.trim().to_ascii_lowercase().as_str() {
            "authentication" => Some(Qop::Authentication),
            "integrity" => Some(Qop::Integrity),
            "privacy" => Some(Qop::Privacy),
            _ => None,
        }
    }

    /// Parses Hadoop's comma-separated list, keeping its order (the order is the preference, as
    /// in Hadoop's `SaslPropertiesResolver`). Empty entries and duplicates are refused.
    pub fn parse_list(s: &str) -> Result<Vec<Qop>, String> {
        let mut out = Vec::new();
        for word in s.split(',') {
            let Some(q) = Qop::from_hadoop_name(word) else {
                return Err(format!("{:?} is not one of: authentication, integrity, privacy", word.trim()));
            };
            if out.contains(&q) {
                return Err(format!("{} is listed twice", q.hadoop_name()));
            }
            out.push(q);
        }
        Ok(out)
    }

    /// The list back in Hadoop's syntax.
    pub fn list_to_string(list: &[Qop]) -> String {
        list.iter().map(|q| q.hadoop_name()).collect::<Vec<_>>().join(",")
    }
}

impl fmt::Display for Qop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.hadoop_name())
    }
}

/// `security`, validated.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecurityConfig {
    pub authentication: Authentication,
    /// Present exactly when `authentication` is `kerberos`.
    pub kerberos: Option<KerberosConfig>,
}

/// The Kerberos keys of `security` (all required with `authentication: kerberos`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KerberosConfig {
    /// rmfc's own principal as written (may hold `_HOST`: see [`resolve_host`]).
    pub principal: String,
    /// The keytab rmfc logs in from; tickets are renewed from it, no `kinit` is needed.
    pub keytab: PathBuf,
    /// `yarn.resourcemanager.principal` as written (usually `rm/_HOST@REALM`): `_HOST` becomes
    /// each RM's admin-address host.
    pub rm_principal: String,
    /// The protections rmfc accepts, in order of preference; the RM offers its own list and the
    /// first of ours it offers is used.
    pub rpc_protection: Vec<Qop>,
}

/// The `security` mapping as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping")]
pub(super) struct RawSecurity {
    pub authentication: Option<Authentication>,
    pub principal: Option<String>,
    pub keytab: Option<String>,
    pub rm_principal: Option<String>,
    pub rpc_protection: Option<String>,
}

/// `_HOST` as the host part of a three-part principal (`service/_HOST@REALM`) becomes `host`,
/// lower-cased — what Hadoop's `SecurityUtil.replacePattern` does. Anything else is returned as
/// written (Hadoop replaces `_HOST` only there).
pub fn resolve_host(principal: &str, host: &str) -> String {
    let Some((service, rest)) = principal.split_once('/') else { return principal.to_string() };
    let Some((instance, realm)) = rest.split_once('@') else { return principal.to_string() };
    if instance == "_HOST" {
        format!("{service}/{}@{realm}", host.to_ascii_lowercase())
    } else {
        principal.to_string()
    }
}

/// Whether `principal` asks for `_HOST` substitution.
pub fn has_host_pattern(principal: &str) -> bool {
    resolve_host(principal, "x") != principal
}

/// Checks the shape `primary[/instance]@REALM` (a realm is required: rmfc never guesses one).
fn principal_shape(p: &str) -> Result<(), String> {
    let Some((name, realm)) = p.rsplit_once('@') else {
        return Err(format!("{p:?} has no @REALM (write the full principal, e.g. rm/_HOST@EXAMPLE.COM)"));
    };
    if realm.is_empty() || name.is_empty() || name.split('/').any(str::is_empty) || name.split('/').count() > 2 {
        return Err(format!("{p:?} is not primary[/instance]@REALM"));
    }
    if p.chars().any(char::is_whitespace) {
        return Err(format!("{p:?} contains white space"));
    }
    Ok(())
}

/// Validates `security`; `rm_hosts` are the hosts of every RM's admin address (for `_HOST`).
pub(super) fn validate(
    raw: Option<RawSecurity>,
    rm_hosts: &[(String, String)],
    problems: &mut Vec<Problem>,
) -> SecurityConfig {
    let mut fail = |path: &str, reason: String| problems.push(Problem { path: path.to_string(), reason });
    let raw = raw.unwrap_or_default();
    let authentication = raw.authentication.unwrap_or_default();
    if authentication == Authentication::Kerberos && !cfg!(feature = "kerberos") {
        fail(
            "security.authentication",
            "kerberos needs an rmfc built with the `kerberos` feature (cargo build --features kerberos; the .deb \
             is built with it)"
                .into(),
        );
    }
    if authentication == Authentication::Simple {
        for (key, given) in [
            ("principal", raw.principal.is_some()),
            ("keytab", raw.keytab.is_some()),
            ("rm_principal", raw.rm_principal.is_some()),
            ("rpc_protection", raw.rpc_protection.is_some()),
        ] {
            if given {
                fail(&format!("security.{key}"), "only means something with security.authentication: kerberos".into());
            }
        }
        return SecurityConfig { authentication, kerberos: None };
    }
    let required = |key: &str, v: Option<String>, fail: &mut dyn FnMut(&str, String)| match v {
        Some(v) if !v.trim().is_empty() => Some(v.trim().to_string()),
        Some(_) => {
            fail(&format!("security.{key}"), "must not be empty".into());
            None
        }
        None => {
            fail(&format!("security.{key}"), "missing (required with security.authentication: kerberos)".into());
            None
        }
    };
    let principal = required("principal", raw.principal, &mut fail);
    let keytab = required("keytab", raw.keytab, &mut fail);
    let rm_principal = required("rm_principal", raw.rm_principal, &mut fail);
    if let Some(p) = &principal {
        if let Err(why) = principal_shape(p) {
            fail("security.principal", why);
        }
    }
    if let Some(k) = &keytab {
        if !k.starts_with('/') {
            fail("security.keytab", format!("{k:?} must be an absolute path (the daemon's working directory is /)"));
        }
    }
    if let Some(p) = &rm_principal {
        if let Err(why) = principal_shape(p) {
            fail("security.rm_principal", why);
        } else if has_host_pattern(p) {
            // Kerberos service principals carry host names: Hadoop would reverse-resolve an IP,
            // which rmfc does not do (DNS must not decide whom rmfc trusts).
            for (id, host) in rm_hosts {
                if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
                    fail(
                        &format!("resource_managers.{id}.admin_address"),
                        format!(
                            "{host:?} is an IP address, but security.rm_principal {p:?} needs the RM's host name for \
                             _HOST: write the host name the RM's principal was made for"
                        ),
                    );
                }
            }
        }
    }
    let rpc_protection = match raw.rpc_protection {
        None => vec![Qop::Authentication],
        Some(s) => match Qop::parse_list(&s) {
            Ok(l) => l,
            Err(why) => {
                fail("security.rpc_protection", why);
                vec![Qop::Authentication]
            }
        },
    };
    let kerberos = match (principal, keytab, rm_principal) {
        (Some(principal), Some(keytab), Some(rm_principal)) => {
            Some(KerberosConfig { principal, keytab: keytab.into(), rm_principal, rpc_protection })
        }
        _ => None,
    };
    SecurityConfig { authentication, kerberos }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    const BASE: &str = "cluster_id: c\nrm_id: rm1\nzookeeper: { connect: 'zk:1' }\nresource_managers:\n  rm1: { admin_address: 'rm1.example.com:8033', web_address: 'http://rm1:8088' }\n  rm2: { admin_address: 'rm2.example.com:8033', web_address: 'http://rm2:8088' }\n";

    fn load(security: &str) -> Result<Config, Vec<String>> {
        Config::from_yaml_str(&format!("{BASE}{security}"))
            .map_err(|e| e.problems().iter().map(ToString::to_string).collect())
    }

    #[test]
    fn simple_is_the_default_and_kerberos_keys_are_read_as_written() {
        let c = load("").expect("valid");
        assert_eq!(c.security, SecurityConfig::default());
        assert_eq!(c.security.authentication, Authentication::Simple);
        if !cfg!(feature = "kerberos") {
            return;
        }
        let c = load(
            "security:\n  authentication: kerberos\n  principal: rmfc/_HOST@EXAMPLE.COM\n  keytab: /etc/security/keytabs/rmfc.keytab\n  rm_principal: rm/_HOST@EXAMPLE.COM\n  rpc_protection: privacy,integrity\n",
        )
        .expect("valid");
        assert_eq!(
            c.security.kerberos,
            Some(KerberosConfig {
                principal: "rmfc/_HOST@EXAMPLE.COM".into(),
                keytab: "/etc/security/keytabs/rmfc.keytab".into(),
                rm_principal: "rm/_HOST@EXAMPLE.COM".into(),
                rpc_protection: vec![Qop::Privacy, Qop::Integrity],
            })
        );
        let c =
            load("security: { authentication: kerberos, principal: rmfc@R, keytab: /k, rm_principal: rm/_HOST@R }\n")
                .expect("valid");
        assert_eq!(c.security.kerberos.map(|k| k.rpc_protection), Some(vec![Qop::Authentication]), "Hadoop's default");
    }

    #[test]
    fn bad_security_settings_name_their_key() {
        let kerberos = "security:\n  authentication: kerberos\n";
        let cases: Vec<(String, &str)> = vec![
            (
                "security: { authentication: ntlm }\n".into(),
                "security.authentication: \"ntlm\" is not one of: simple, kerberos",
            ),
            (
                "security: { keytab: /k }\n".into(),
                "security.keytab: only means something with security.authentication: kerberos",
            ),
            (kerberos.into(), "security.principal: missing (required with security.authentication: kerberos)"),
            (kerberos.into(), "security.keytab: missing"),
            (kerberos.into(), "security.rm_principal: missing"),
            (format!("{kerberos}  principal: rmfc\n"), "security.principal: \"rmfc\" has no @REALM"),
            (format!("{kerberos}  keytab: rmfc.keytab\n"), "security.keytab: \"rmfc.keytab\" must be an absolute path"),
            (
                format!("{kerberos}  rpc_protection: auth-conf\n"),
                "security.rpc_protection: \"auth-conf\" is not one of",
            ),
            (format!("{kerberos}  principal: ''\n"), "security.principal: must not be empty"),
        ];
        for (text, want) in cases {
            let got = load(&text).expect_err("must be refused");
            assert!(got.iter().any(|p| p.starts_with(want)), "for\n{text}\n got: {got:?}\nwant: {want}");
        }
    }

    #[test]
    fn host_principals_need_rm_host_names_not_ips() {
        let text = "cluster_id: c\nrm_id: rm1\nzookeeper: { connect: 'zk:1' }\nresource_managers:\n  rm1: { admin_address: '10.0.0.1:8033', web_address: 'http://rm1:8088' }\n  rm2: { admin_address: 'rm2:8033', web_address: 'http://rm2:8088' }\nsecurity: { authentication: kerberos, principal: rmfc@R, keytab: /k, rm_principal: rm/_HOST@R }\n";
        let got: Vec<String> =
            Config::from_yaml_str(text).expect_err("refused").problems().iter().map(ToString::to_string).collect();
        assert!(
            got.iter().any(|p| p.starts_with("resource_managers.rm1.admin_address: \"10.0.0.1\" is an IP address")),
            "{got:?}"
        );
        assert!(!got.iter().any(|p| p.contains("rm2")), "rm2 names its host: {got:?}");
    }

    #[test]
    fn kerberos_without_the_feature_is_refused_at_load() {
        let got = load("security: { authentication: kerberos, principal: rmfc@R, keytab: /k, rm_principal: rm@R }\n");
        if cfg!(feature = "kerberos") {
            assert!(got.is_ok(), "{got:?}");
        } else {
            let got = got.expect_err("refused");
            assert!(got.iter().any(|p| p.contains("`kerberos` feature")), "{got:?}");
        }
    }

    #[test]
    fn host_is_replaced_only_as_the_instance_of_a_three_part_principal() {
        assert_eq!(resolve_host("rm/_HOST@EXAMPLE.COM", "RM1.Example.com"), "rm/rm1.example.com@EXAMPLE.COM");
        assert_eq!(resolve_host("rm/rm9.example.com@EXAMPLE.COM", "x"), "rm/rm9.example.com@EXAMPLE.COM");
        assert_eq!(resolve_host("_HOST@EXAMPLE.COM", "x"), "_HOST@EXAMPLE.COM");
        assert_eq!(resolve_host("rm/_HOST", "x"), "rm/_HOST");
        assert!(has_host_pattern("yarn/_HOST@R"));
        assert!(!has_host_pattern("yarn@R"));
    }

    #[test]
    fn protection_lists_keep_hadoops_order_and_refuse_unknown_words() {
        assert_eq!(Qop::parse_list("privacy, integrity").unwrap(), vec![Qop::Privacy, Qop::Integrity]);
        assert_eq!(Qop::parse_list("Authentication").unwrap(), vec![Qop::Authentication]);
        assert!(Qop::parse_list("auth-conf").unwrap_err().contains("not one of"));
        assert!(Qop::parse_list("privacy,privacy").unwrap_err().contains("twice"));
        assert!(Qop::parse_list("privacy,").is_err());
        assert_eq!(Qop::list_to_string(&[Qop::Integrity, Qop::Privacy]), "integrity,privacy");
    }

    #[test]
    fn principals_need_a_realm_and_at_most_one_instance() {
        assert!(principal_shape("rm/_HOST@EXAMPLE.COM").is_ok());
        assert!(principal_shape("rmfc@EXAMPLE.COM").is_ok());
        assert!(principal_shape("rm/_HOST").unwrap_err().contains("no @REALM"));
        assert!(principal_shape("a/b/c@R").is_err());
        assert!(principal_shape("rm/@R").is_err());
        assert!(principal_shape("rm/h@").is_err());
    }
}
