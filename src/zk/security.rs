//! How rmfc's ZooKeeper sessions prove who they are: `digest` credentials (`addauth`), SASL
//! (DIGEST-MD5 with a user of the servers' JAAS file, or GSSAPI with the process's Kerberos
//! credentials) and TLS to the servers' secure client port. The election/state adapter and the
//! `zk_state_store` fencing check connect through the same [`ZkSecurity`], so both sessions are
//! the same identity.
//!
//! Owns: turning these settings into a connected `zookeeper-client` session. Must not: read
//! files (the daemon reads every secret once at start-up: `daemon::wiring`), print a secret
//! (`Debug` hides passwords and keys), or choose an ACL (`layout::ZnodeAcl` does).

use std::fmt;

use zookeeper_client as zk;

/// The credentials and transport of rmfc's sessions. The default is anonymous, plain TCP.
#[derive(Clone, Default)]
pub struct ZkSecurity {
    /// `user:password` for the `digest` scheme, sent after each connect (the server then adds
    /// `digest:user:base64(sha1(user:password))` to the session's identities). The password
    /// crosses the network in clear unless `tls` is set.
    pub digest: Option<String>,
    /// SASL, run by the client right after each connect (identity `sasl:<name>`).
    pub sasl: Option<ZkSaslAuth>,
    /// TLS with these CAs (and client certificate): every server of the connect string is
    /// reached over TLS.
    pub tls: Option<zk::TlsOptions>,
}

/// The SASL mechanism of a session.
#[derive(Clone)]
pub enum ZkSaslAuth {
    /// Kerberos with the process's default credentials (the daemon points `KRB5CCNAME` and
    /// `KRB5_CLIENT_KTNAME` at rmfc's keytab login). The server's principal is
    /// `<service>/<hostname>@REALM`; `hostname: None` means each server's host as written in
    /// the connect string.
    #[cfg(feature = "kerberos")]
    Gssapi { service: String, hostname: Option<String> },
    /// A user of the servers' JAAS `Server` section.
    DigestMd5 { username: String, password: String },
}

impl ZkSecurity {
    /// Whether the session authenticates as someone (digest or SASL): then ZooKeeper's `auth`
    /// ACL scheme names that someone. TLS alone does not count: a client certificate becomes an
    /// identity only on servers that run the x509 provider, which rmfc cannot know.
    pub fn authenticates(&self) -> bool {
        self.digest.is_some() || self.sasl.is_some()
    }

    /// Connects to `connect` with `connector` (timeouts and the like already set) plus these
    /// credentials and transport.
    pub async fn connect(&self, mut connector: zk::Connector, connect: &str) -> Result<zk::Client, zk::Error> {
        if let Some(digest) = &self.digest {
            connector = connector.with_auth("digest", digest.as_bytes());
        }
        match &self.sasl {
            #[cfg(feature = "kerberos")]
            Some(ZkSaslAuth::Gssapi { service, hostname }) => {
                let mut options = zk::SaslOptions::gssapi().with_username(service.clone());
                if let Some(h) = hostname {
                    options = options.with_hostname(h.clone());
                }
                connector = connector.with_sasl(options);
            }
            Some(ZkSaslAuth::DigestMd5 { username, password }) => {
                connector = connector.with_sasl(zk::SaslOptions::digest_md5(username.clone(), password.clone()));
            }
            None => {}
        }
        match &self.tls {
            Some(tls) => connector.with_tls(tls.clone()).secure_connect(connect).await,
            None => connector.connect(connect).await,
        }
    }

    /// What the sessions use, for logs: `digest (user rmfc), SASL GSSAPI, TLS`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(d) = &self.digest {
            parts.push(format!("digest (user {})", digest_user(d)));
        }
        match &self.sasl {
            #[cfg(feature = "kerberos")]
            Some(ZkSaslAuth::Gssapi { service, hostname }) => {
                let host = hostname.as_deref().unwrap_or("<each server's host>");
                parts.push(format!("SASL GSSAPI (server principal {service}/{host}@REALM)"));
            }
            Some(ZkSaslAuth::DigestMd5 { username, .. }) => parts.push(format!("SASL DIGEST-MD5 (user {username})")),
            None => {}
        }
        if parts.is_empty() {
            parts.push("no credentials".into());
        }
        parts.push(if self.tls.is_some() { "TLS" } else { "plain TCP" }.into());
        parts.join(", ")
    }
}

fn digest_user(digest: &str) -> &str {
    digest.split(':').next().unwrap_or("")
}

impl fmt::Debug for ZkSecurity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the password or the private key.
        f.debug_struct("ZkSecurity")
            .field("digest", &self.digest.as_deref().map(|d| format!("{}:***", digest_user(d))))
            .field("sasl", &self.sasl)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl fmt::Debug for ZkSaslAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            #[cfg(feature = "kerberos")]
            ZkSaslAuth::Gssapi { service, hostname } => {
                f.debug_struct("Gssapi").field("service", service).field("hostname", hostname).finish()
            }
            ZkSaslAuth::DigestMd5 { username, .. } => {
                f.debug_struct("DigestMd5").field("username", username).field("password", &"***").finish()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_describe_never_show_a_secret() {
        let s = ZkSecurity {
            digest: Some("rmfc:digest-secret".into()),
            sasl: Some(ZkSaslAuth::DigestMd5 { username: "rmfc".into(), password: "sasl-secret".into() }),
            tls: None,
        };
        for text in [format!("{s:?}"), s.describe()] {
            assert!(!text.contains("secret"), "{text}");
            assert!(text.contains("rmfc"), "{text}");
        }
        assert_eq!(s.describe(), "digest (user rmfc), SASL DIGEST-MD5 (user rmfc), plain TCP");
        assert!(s.authenticates());
        assert!(!ZkSecurity::default().authenticates());
        assert_eq!(ZkSecurity::default().describe(), "no credentials, plain TCP");
    }
}
