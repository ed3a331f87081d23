//! The security keys of the `zookeeper` section, with Hadoop's meanings: `auth` is what
//! `hadoop.zk.auth` (digest) and the RM's JAAS `Client` section (SASL) give the RM, `acl` is
//! `hadoop.zk.acl` (`scheme:id:perms`, comma-separated, or `@/path/file` holding that text, as
//! Hadoop's `ZKUtil` reads it), `tls` is the client side of ZooKeeper's `secureClientPort`.
//!
//! Owns: these keys, their validation and the ACL grammar (pure string work). Must not: read
//! the files they name (passwords, PEMs and an `@file` ACL are read once by the daemon at
//! start-up, see `daemon::wiring`), or choose the default ACL (the ZooKeeper adapter does, from
//! whether credentials are configured: `zk::layout::ZnodeAcl`).

use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

use super::security::Authentication;
use super::syntax;
use super::validate::Check;

/// Default `zookeeper.auth.sasl.service`: the primary of ZooKeeper's server principal
/// (`zookeeper/<host>@REALM`), Java's `zookeeper.sasl.client.username`.
pub const DEFAULT_SASL_SERVICE: &str = "zookeeper";

/// `zookeeper.auth`: the credentials rmfc's sessions present. At least one is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkAuth {
    /// A file holding `user:password` for the `digest` scheme (`addauth digest user:password`).
    pub digest_file: Option<PathBuf>,
    /// SASL authentication (ZooKeeper's `SASLAuthenticationProvider`, ids `sasl:<name>`).
    pub sasl: Option<ZkSasl>,
}

/// `zookeeper.auth.sasl`, by `mechanism`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZkSasl {
    /// Kerberos with rmfc's own login (`security.principal`, `security.keytab`). The server's
    /// principal is `<service>/<hostname>@REALM`.
    Gssapi {
        service: String,
        /// `None`: each server's host as written in `zookeeper.connect`.
        hostname: Option<String>,
    },
    /// A user of the servers' JAAS `Server` section (`user_<name>="<password>"`).
    DigestMd5 { username: String, password_file: PathBuf },
}

impl ZkSasl {
    /// The `mechanism` key's value.
    pub fn mechanism(&self) -> &'static str {
        match self {
            ZkSasl::Gssapi { .. } => "gssapi",
            ZkSasl::DigestMd5 { .. } => "digest-md5",
        }
    }
}

/// `zookeeper.tls`: connect to the servers' `secureClientPort` (PEM files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkTls {
    /// The CA (or CAs) that signed the servers' certificates.
    pub ca_file: PathBuf,
    /// rmfc's own certificate, for servers with `ssl.clientAuth=need`.
    pub identity: Option<ZkTlsIdentity>,
}

/// `zookeeper.tls.cert_file` and `zookeeper.tls.key_file`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkTlsIdentity {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

/// `zookeeper.acl` as written: the entries, or the file holding them (read at start-up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZkAcl {
    Entries(Vec<ZkAclEntry>),
    File(PathBuf),
}

/// One `scheme:id:perms` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkAclEntry {
    pub scheme: String,
    pub id: String,
    pub perms: ZkPerms,
}

impl fmt::Display for ZkAclEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.scheme, self.id, self.perms)
    }
}

/// ZooKeeper's permission bits (`ZooDefs.Perms`), written as Hadoop writes them (`rwcda`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ZkPerms(pub u8);

impl ZkPerms {
    pub const READ: ZkPerms = ZkPerms(1);
    pub const WRITE: ZkPerms = ZkPerms(2);
    pub const CREATE: ZkPerms = ZkPerms(4);
    pub const DELETE: ZkPerms = ZkPerms(8);
    pub const ADMIN: ZkPerms = ZkPerms(16);
    pub const ALL: ZkPerms = ZkPerms(31);
    /// What rmfc needs on its own znodes: read them, write the state, create and delete
    /// children (election candidates, the first state znode).
    pub const NEEDED: ZkPerms = ZkPerms(1 | 2 | 4 | 8);
    /// Letters in Hadoop's order.
    const LETTERS: [(char, ZkPerms); 5] = [
        ('r', ZkPerms::READ),
        ('w', ZkPerms::WRITE),
        ('c', ZkPerms::CREATE),
        ('d', ZkPerms::DELETE),
        ('a', ZkPerms::ADMIN),
    ];

    pub fn has(self, other: ZkPerms) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn union(self, other: ZkPerms) -> ZkPerms {
        ZkPerms(self.0 | other.0)
    }

    /// The bits of `self` that `other` lacks.
    pub fn missing_from(self, other: ZkPerms) -> ZkPerms {
        ZkPerms(self.0 & !other.0)
    }
}

impl fmt::Display for ZkPerms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (c, p) in ZkPerms::LETTERS {
            if self.has(p) {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// ZooKeeper's built-in ACL schemes (`super` authenticates, it is never an ACL's scheme).
pub const KNOWN_SCHEMES: [&str; 6] = ["world", "auth", "digest", "ip", "sasl", "x509"];

/// Parses `hadoop.zk.acl` text the way Hadoop's `ZKUtil.parseACLs` does (entries split on `,`
/// and trimmed, empty ones skipped; the scheme ends at the first `:`, the perms start after the
/// last), and refuses what ZooKeeper would refuse at the first create: no entry, a permission
/// letter outside `rwcda`, no permission at all, `world` with an id other than `anyone`, a
/// `digest` id that is not `user:hash`, an `ip` id that is not an address or network.
pub fn parse_acl(text: &str) -> Result<Vec<ZkAclEntry>, String> {
    let mut out = Vec::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (Some(first), Some(last)) = (entry.find(':'), entry.rfind(':')) else {
            return Err(format!("{entry:?} is not scheme:id:perms"));
        };
        if first == last {
            return Err(format!("{entry:?} is not scheme:id:perms"));
        }
        let (scheme, id, letters) = (&entry[..first], &entry[first + 1..last], &entry[last + 1..]);
        let mut perms = ZkPerms::default();
        for c in letters.chars() {
            let Some((_, p)) = ZkPerms::LETTERS.iter().find(|(l, _)| *l == c) else {
                return Err(format!("invalid permission {c:?} in {entry:?} (the letters are r, w, c, d, a)"));
            };
            perms = perms.union(*p);
        }
        if perms == ZkPerms::default() {
            return Err(format!("{entry:?} grants no permission (give some of rwcda)"));
        }
        if scheme.is_empty() {
            return Err(format!("{entry:?} has no scheme"));
        }
        check_id(scheme, id).map_err(|why| format!("{entry:?}: {why}"))?;
        out.push(ZkAclEntry { scheme: scheme.to_string(), id: id.to_string(), perms });
    }
    if out.is_empty() {
        return Err("names no ACL entry (write scheme:id:perms, e.g. sasl:rmfc:rwcda)".into());
    }
    Ok(out)
}

/// What the servers' providers accept as ids (`isValid`), for the built-in schemes.
fn check_id(scheme: &str, id: &str) -> Result<(), String> {
    match scheme {
        "world" if id != "anyone" => Err("the only world id is anyone".into()),
        "digest" if id.split(':').count() != 2 || id.split(':').any(str::is_empty) => {
            Err("a digest id is user:base64(sha1(user:password)), as DigestAuthenticationProvider -generate prints it"
                .into())
        }
        "ip" => {
            let (addr, bits) = id.split_once('/').map_or((id, None), |(a, b)| (a, Some(b)));
            let max = match addr.parse::<std::net::IpAddr>() {
                Ok(std::net::IpAddr::V4(_)) => 32,
                Ok(std::net::IpAddr::V6(_)) => 128,
                Err(_) => return Err(format!("{addr:?} is not an IP address")),
            };
            match bits.map(str::parse::<u8>) {
                None => Ok(()),
                Some(Ok(b)) if b <= max => Ok(()),
                Some(_) => Err(format!("the network bits must be 0-{max}")),
            }
        }
        "sasl" | "x509" if id.is_empty() => Err(format!("a {scheme} id must not be empty")),
        _ => Ok(()),
    }
}

/// `zookeeper.auth` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping")]
pub(super) struct RawZkAuth {
    pub digest_file: Option<String>,
    pub sasl: Option<RawZkSasl>,
}

/// `zookeeper.auth.sasl` as written: the union of both mechanisms' keys; `validate` refuses
/// the keys of the other mechanism, so all such mistakes are reported together.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping")]
pub(super) struct RawZkSasl {
    pub mechanism: Option<RawMechanism>,
    pub service: Option<String>,
    pub hostname: Option<String>,
    pub username: Option<String>,
    pub password_file: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum RawMechanism {
    Gssapi,
    DigestMd5,
}

/// `zookeeper.tls` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping")]
pub(super) struct RawZkTls {
    pub ca_file: Option<String>,
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
}

/// Validates `zookeeper.auth`; `authentication` is `security.authentication` as written.
pub(super) fn auth(c: &mut Check, raw: Option<RawZkAuth>, authentication: Authentication) -> Option<ZkAuth> {
    let raw = raw?;
    if raw.digest_file.is_none() && raw.sasl.is_none() {
        c.fail("zookeeper.auth", "empty: set digest_file, sasl or both (or leave auth out)");
        return None;
    }
    let digest_file = c.optional("zookeeper.auth.digest_file", raw.digest_file).map(PathBuf::from);
    let sasl = raw.sasl.and_then(|s| sasl(c, s, authentication));
    (digest_file.is_some() || sasl.is_some()).then_some(ZkAuth { digest_file, sasl })
}

fn sasl(c: &mut Check, raw: RawZkSasl, authentication: Authentication) -> Option<ZkSasl> {
    const BASE: &str = "zookeeper.auth.sasl";
    let at = |key: &str| format!("{BASE}.{key}");
    let Some(mechanism) = raw.mechanism else {
        c.fail(at("mechanism"), "missing (required: gssapi or digest-md5)");
        return None;
    };
    let (name, other) = match mechanism {
        RawMechanism::Gssapi => {
            ("gssapi", [("username", raw.username.is_some()), ("password_file", raw.password_file.is_some())])
        }
        RawMechanism::DigestMd5 => {
            ("digest-md5", [("service", raw.service.is_some()), ("hostname", raw.hostname.is_some())])
        }
    };
    let owner = if mechanism == RawMechanism::Gssapi { "digest-md5" } else { "gssapi" };
    for (key, given) in other {
        if given {
            c.fail(at(key), format!("only means something with mechanism: {owner} (this one is {name})"));
        }
    }
    match mechanism {
        RawMechanism::Gssapi => {
            if !cfg!(feature = "kerberos") {
                c.fail(
                    at("mechanism"),
                    "gssapi needs an rmfc built with the cargo feature `kerberos` (this build has no Kerberos \
                     support; the .deb has it)",
                );
            } else if authentication != Authentication::Kerberos {
                c.fail(
                    at("mechanism"),
                    "gssapi logs in with rmfc's own Kerberos identity: it needs security.authentication: kerberos \
                     (with security.principal and security.keytab)",
                );
            }
            let service = match c.optional(&at("service"), raw.service) {
                None => DEFAULT_SASL_SERVICE.to_string(),
                Some(s) => {
                    if let Some(ch) = s.chars().find(|ch| matches!(ch, '/' | '@') || ch.is_whitespace()) {
                        c.fail(
                            at("service"),
                            format!(
                                "{s:?} contains {ch:?}: give only the primary of the servers' principal (zookeeper)"
                            ),
                        );
                    }
                    s
                }
            };
            let hostname = c.optional(&at("hostname"), raw.hostname);
            if let Some(h) = &hostname {
                c.check(&at("hostname"), syntax::hostname(h).map_err(|why| format!("{h:?}: {why}")));
            }
            Some(ZkSasl::Gssapi { service, hostname })
        }
        RawMechanism::DigestMd5 => {
            let username = c.required_for(&at("username"), raw.username, "mechanism: digest-md5");
            let password_file = c.required_for(&at("password_file"), raw.password_file, "mechanism: digest-md5");
            Some(ZkSasl::DigestMd5 { username: username?, password_file: password_file?.into() })
        }
    }
}

/// Validates `zookeeper.acl`; `can_authenticate`: some credential (or a TLS client
/// certificate) is configured, without which the `auth` scheme expands to nobody.
pub(super) fn acl(c: &mut Check, raw: Option<String>, can_authenticate: bool) -> Option<ZkAcl> {
    const KEY: &str = "zookeeper.acl";
    let text = c.optional(KEY, raw)?;
    if let Some(file) = text.strip_prefix('@') {
        let file = file.trim();
        if file.is_empty() {
            c.fail(KEY, "\"@\" names no file (write @/path/to/file)");
            return None;
        }
        return Some(ZkAcl::File(file.into()));
    }
    match parse_acl(&text) {
        Ok(entries) => {
            if !can_authenticate && entries.iter().any(|e| e.scheme == "auth") {
                c.fail(
                    KEY,
                    "the auth scheme means \"the identities this session authenticated as\", and none is configured \
                     (zookeeper.auth): ZooKeeper would refuse every create (InvalidACL)",
                );
            }
            Some(ZkAcl::Entries(entries))
        }
        Err(why) => {
            c.fail(KEY, why);
            None
        }
    }
}

/// Validates `zookeeper.tls`.
pub(super) fn tls(c: &mut Check, raw: Option<RawZkTls>) -> Option<ZkTls> {
    let raw = raw?;
    let ca_file = c.required("zookeeper.tls.ca_file", raw.ca_file);
    let cert = c.optional("zookeeper.tls.cert_file", raw.cert_file);
    let key = c.optional("zookeeper.tls.key_file", raw.key_file);
    let identity = match (cert, key) {
        (Some(cert_file), Some(key_file)) => {
            Some(ZkTlsIdentity { cert_file: cert_file.into(), key_file: key_file.into() })
        }
        (None, None) => None,
        (Some(_), None) => {
            c.fail("zookeeper.tls.key_file", "required when zookeeper.tls.cert_file is set (the PEM private key)");
            None
        }
        (None, Some(_)) => {
            c.fail("zookeeper.tls.cert_file", "required when zookeeper.tls.key_file is set (the PEM certificate)");
            None
        }
    };
    Some(ZkTls { ca_file: ca_file?.into(), identity })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(scheme: &str, id: &str, perms: ZkPerms) -> ZkAclEntry {
        ZkAclEntry { scheme: scheme.into(), id: id.into(), perms }
    }

    #[test]
    fn hadoop_acl_text_parses_like_zkutil() {
        assert_eq!(
            parse_acl(" sasl:rmfc:rwcda , world:anyone:r,").unwrap(),
            [entry("sasl", "rmfc", ZkPerms::ALL), entry("world", "anyone", ZkPerms::READ)]
        );
        // The id runs from the first to the last colon: digest ids hold one themselves.
        assert_eq!(
            parse_acl("digest:rmfc:Cf9tZ2Vz+Xh0Yg==:cdrw").unwrap(),
            [entry("digest", "rmfc:Cf9tZ2Vz+Xh0Yg==", ZkPerms::NEEDED)]
        );
        assert_eq!(parse_acl("auth::rwcda").unwrap(), [entry("auth", "", ZkPerms::ALL)]);
        assert_eq!(parse_acl("ip:10.0.0.0/8:r,ip:::1:ra").unwrap().len(), 2);
        assert_eq!(parse_acl("x509:CN=rmfc:rwcd").unwrap(), [entry("x509", "CN=rmfc", ZkPerms::NEEDED)]);
        assert_eq!(ZkPerms::ALL.to_string(), "rwcda");
        assert_eq!(entry("sasl", "rm", ZkPerms::NEEDED).to_string(), "sasl:rm:rwcd");
    }

    #[test]
    fn what_zookeeper_would_refuse_is_refused_with_the_entry() {
        for (text, why) in [
            ("", "names no ACL entry"),
            (" , ", "names no ACL entry"),
            ("sasl:rmfc", "\"sasl:rmfc\" is not scheme:id:perms"),
            ("rwcda", "is not scheme:id:perms"),
            ("sasl:rmfc:rwx", "invalid permission 'x' in \"sasl:rmfc:rwx\""),
            ("sasl:rmfc:", "grants no permission"),
            (":rmfc:r", "has no scheme"),
            ("world:everyone:r", "the only world id is anyone"),
            ("digest:rmfc:r", "a digest id is user:base64"),
            ("ip:10.0.0:r", "\"10.0.0\" is not an IP address"),
            ("ip:10.0.0.0/33:r", "the network bits must be 0-32"),
            ("sasl::r", "a sasl id must not be empty"),
        ] {
            let got = parse_acl(text).expect_err(text);
            assert!(got.contains(why), "{text:?}: {got}");
        }
    }

    #[test]
    fn perms_arithmetic() {
        assert!(ZkPerms::ALL.has(ZkPerms::NEEDED));
        assert_eq!(ZkPerms::NEEDED.missing_from(ZkPerms::READ.union(ZkPerms::WRITE)).to_string(), "cd");
        assert_eq!(ZkPerms::NEEDED.missing_from(ZkPerms::ALL), ZkPerms::default());
    }
}
