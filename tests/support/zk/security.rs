//! The security a launched server runs with: SASL through a JAAS `Server` section (DIGEST-MD5
//! users, or a Kerberos service principal from a keytab) with ZooKeeper's
//! `SASLAuthenticationProvider`, optionally refusing every session that did not authenticate
//! with SASL; and TLS on a `secureClientPort` (Netty, PEM key and trust stores; the plain client
//! port stays open for the launcher's `srvr` probes).
//!
//! Owns: the `zoo.cfg` lines, the JAAS file and the JVM options for these. Must not: make keys,
//! certificates or principals (tests do, with `support::pki` and the KDC), or start processes.

use std::path::{Path, PathBuf};

use super::node::write_file;
use super::LOOPBACK;

/// Jars the Netty connection factory needs beyond those the zookeeper.jar manifest names
/// (measured: without netty-codec the TLS handshake fails with NoClassDefFoundError
/// io/netty/handler/codec/ByteToMessageDecoder).
const NETTY_EXTRA_JARS: [&str; 1] = ["/usr/share/java/netty-codec.jar"];
const NETTY_HINT: &str = "Debian's netty jars are missing: run `apt-get install -y --no-install-recommends \
     libnetty-java` (the zookeeper package depends on it)";

/// TLS on the secure client port.
#[derive(Clone, Debug)]
pub struct ZkServerTls {
    /// PEM: the server's private key followed by its certificate chain (`ssl.keyStore.type=PEM`).
    pub keystore: PathBuf,
    /// PEM: the CA certificates clients' certificates are checked against.
    pub truststore: PathBuf,
    /// `ssl.clientAuth=need` (with the x509 auth provider, a client certificate becomes the
    /// session identity `x509:<subject>`); `false`: `none`.
    pub need_client_auth: bool,
}

/// The server side of Kerberos: ZooKeeper's own principal (`zookeeper/localhost@REALM`).
#[derive(Clone, Debug)]
pub struct ZkKerberos {
    pub principal: String,
    pub keytab: PathBuf,
    /// Given to the JVM as `java.security.krb5.conf`.
    pub krb5_conf: PathBuf,
}

/// What a server runs with beyond the defaults (all off by default).
#[derive(Clone, Debug, Default)]
pub(super) struct ServerSecurity {
    pub(super) digest_users: Vec<(String, String)>,
    pub(super) kerberos: Option<ZkKerberos>,
    pub(super) require_sasl: bool,
    pub(super) tls: Option<ZkServerTls>,
}

/// JVM options and extra jars of one server.
#[derive(Clone, Debug, Default)]
pub(super) struct JvmExtras {
    pub(super) options: Vec<String>,
    pub(super) classpath: Vec<String>,
}

impl ServerSecurity {
    fn sasl(&self) -> bool {
        !self.digest_users.is_empty() || self.kerberos.is_some()
    }

    /// `zoo.cfg` lines; `secure_port` is given exactly when TLS is on. Keys ZooKeeper does not
    /// know itself (`enforce.auth.*`, `ssl.*`) become `zookeeper.*` system properties.
    pub(super) fn zoo_cfg(&self, secure_port: Option<u16>) -> String {
        assert!(
            self.digest_users.is_empty() || self.kerberos.is_none(),
            "ZooKeeper's SASL server runs one mechanism: GSSAPI when its JAAS login has a Kerberos principal, \
             DIGEST-MD5 otherwise; choose digest users or Kerberos"
        );
        assert_eq!(secure_port.is_some(), self.tls.is_some(), "a secure port exactly when TLS is on");
        let mut cfg = String::new();
        if self.sasl() {
            cfg.push_str("authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\n");
        }
        if self.require_sasl {
            assert!(self.sasl(), "require_sasl needs SASL users or a Kerberos principal");
            // ZooKeeper 3.8's names (3.6's was requireClientAuthScheme=sasl): a session that has
            // not authenticated with SASL is closed at its first request.
            cfg.push_str("enforce.auth.enabled=true\nenforce.auth.schemes=sasl\n");
        }
        if let (Some(tls), Some(port)) = (&self.tls, secure_port) {
            cfg.push_str(&format!(
                "secureClientPort={port}\n\
                 secureClientPortAddress={LOOPBACK}\n\
                 serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory\n\
                 ssl.keyStore.location={}\n\
                 ssl.keyStore.type=PEM\n\
                 ssl.trustStore.location={}\n\
                 ssl.trustStore.type=PEM\n\
                 ssl.clientAuth={}\n",
                tls.keystore.display(),
                tls.truststore.display(),
                if tls.need_client_auth { "need" } else { "none" },
            ));
            if tls.need_client_auth {
                cfg.push_str("authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider\n");
            }
        }
        cfg
    }

    /// The JVM options (writing the JAAS file into `dir` when SASL is on) and extra jars.
    pub(super) fn jvm(&self, dir: &Path) -> JvmExtras {
        let mut extras = JvmExtras::default();
        if self.sasl() {
            let jaas = dir.join("jaas.conf");
            write_file(&jaas, &self.jaas());
            extras.options.push(format!("-Djava.security.auth.login.config={}", jaas.display()));
        }
        if let Some(k) = &self.kerberos {
            extras.options.push(format!("-Djava.security.krb5.conf={}", k.krb5_conf.display()));
        }
        if self.tls.is_some() {
            for jar in NETTY_EXTRA_JARS {
                assert!(Path::new(jar).is_file(), "{jar} is missing. {NETTY_HINT}");
                extras.classpath.push(jar.to_string());
            }
        }
        extras
    }

    fn jaas(&self) -> String {
        let module = match &self.kerberos {
            Some(k) => format!(
                "com.sun.security.auth.module.Krb5LoginModule required\n  useKeyTab=true\n  keyTab=\"{}\"\n  \
                 storeKey=true\n  useTicketCache=false\n  principal=\"{}\";",
                k.keytab.display(),
                k.principal
            ),
            None => {
                let users: Vec<String> = self.digest_users.iter().map(|(u, p)| format!("  user_{u}=\"{p}\"")).collect();
                format!("org.apache.zookeeper.server.auth.DigestLoginModule required\n{};", users.join("\n"))
            }
        };
        format!("Server {{\n  {module}\n}};\n")
    }
}
