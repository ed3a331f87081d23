//! A real MIT Kerberos KDC (Debian's `krb5-kdc`) for secure-cluster tests: its own realm
//! `RMFC.TEST` on a free loopback port, its database, `krb5.conf` and ticket caches in a temp dir,
//! principals with random keys exported to keytabs — no system service, nothing outside the
//! temp dir (never `/etc/krb5.conf` or the user's ticket cache).
//!
//! Owns: the KDC process (killed on drop) and the files it uses. Must not: be shared between
//! tests (each test starts its own) or be reached through anything but loopback.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::wait::wait_for;
use super::zk::free_port;

const HINT: &str = "apt-get install krb5-kdc krb5-admin-server krb5-user (or run .ci/setup)";
pub const REALM: &str = "RMFC.TEST";
/// Every ticket of this realm lives at most this long (principals may ask for less).
const REALM_MAX_LIFE: &str = "1h";

pub struct Kdc {
    dir: tempfile::TempDir,
    port: u16,
    child: Child,
}

/// Options of one principal.
#[derive(Debug, Clone, Default)]
pub struct PrincipalOpts {
    /// The longest ticket the KDC issues for it (e.g. 20 s, for expiry and renewal tests).
    pub max_life: Option<Duration>,
}

fn tool(name: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin"] {
        let p = Path::new(dir).join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!("{name} not found: {HINT}");
}

impl Kdc {
    pub fn start() -> Kdc {
        let dir = tempfile::tempdir().expect("temp dir for the KDC");
        let port = free_port();
        let d = dir.path();
        std::fs::write(
            d.join("krb5.conf"),
            format!(
                "[libdefaults]\n  default_realm = {REALM}\n  dns_lookup_kdc = false\n  dns_lookup_realm = false\n  \
                 rdns = false\n  dns_canonicalize_hostname = false\n  udp_preference_limit = 1\n  \
                 default_ccache_name = FILE:{ccache}\n  forwardable = false\n\n[realms]\n  {REALM} = {{\n    \
                 kdc = 127.0.0.1:{port}\n  }}\n\n[domain_realm]\n  localhost = {REALM}\n  127.0.0.1 = {REALM}\n",
                ccache = d.join("default.ccache").display(),
            ),
        )
        .expect("write krb5.conf");
        std::fs::write(
            d.join("kdc.conf"),
            format!(
                "[kdcdefaults]\n  kdc_ports = {port}\n  kdc_tcp_ports = {port}\n\n[realms]\n  {REALM} = {{\n    \
                 database_name = {db}\n    key_stash_file = {stash}\n    acl_file = {acl}\n    \
                 max_life = {REALM_MAX_LIFE}\n    max_renewable_life = 0\n  }}\n\n[logging]\n  kdc = FILE:{log}\n",
                db = d.join("principal").display(),
                stash = d.join("stash").display(),
                acl = d.join("kadm5.acl").display(),
                log = d.join("kdc.log").display(),
            ),
        )
        .expect("write kdc.conf");
        std::fs::write(d.join("kadm5.acl"), "").expect("write kadm5.acl");
        let mut kdb = Command::new(tool("kdb5_util"));
        kdb.args(["create", "-s", "-r", REALM, "-P", "rmfc-test-master-key"]);
        Self::run_env(&mut kdb, d, port);
        let out = kdb.output().expect("run kdb5_util");
        assert!(out.status.success(), "kdb5_util create failed: {}", String::from_utf8_lossy(&out.stderr));
        let mut krb5kdc = Command::new(tool("krb5kdc"));
        krb5kdc.arg("-n").stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
        Self::run_env(&mut krb5kdc, d, port);
        let child = krb5kdc.spawn().expect("start krb5kdc");
        let kdc = Kdc { dir, port, child };
        // Serving means answering TCP on its port (it binds before it serves).
        wait_for("the KDC to listen", Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", kdc.port)).ok()
        });
        kdc
    }

    fn run_env(cmd: &mut Command, dir: &Path, _port: u16) {
        cmd.env("KRB5_CONFIG", dir.join("krb5.conf"))
            .env("KRB5_KDC_PROFILE", dir.join("kdc.conf"))
            .env("KRB5CCNAME", format!("FILE:{}", dir.join("default.ccache").display()))
            .env_remove("KRB5_CLIENT_KTNAME")
            .env_remove("KRB5_KTNAME");
    }

    pub fn realm(&self) -> &'static str {
        REALM
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn krb5_conf(&self) -> PathBuf {
        self.dir.path().join("krb5.conf")
    }

    /// The environment a Kerberos client of this realm needs (MIT tools, rmfc).
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("KRB5_CONFIG".into(), self.krb5_conf().display().to_string()),
            ("KRB5_KDC_PROFILE".into(), self.dir.path().join("kdc.conf").display().to_string()),
        ]
    }

    /// Applies [`Kdc::env`] to `cmd`, and keeps it off the machine's own ticket cache.
    pub fn configure(&self, cmd: &mut Command) {
        Self::run_env(cmd, self.dir.path(), self.port);
    }

    fn kadmin(&self, query: &str) {
        let mut cmd = Command::new(tool("kadmin.local"));
        cmd.args(["-q", query]);
        self.configure(&mut cmd);
        let out = cmd.output().expect("run kadmin.local");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && !stderr.contains("rror"), "kadmin.local -q {query:?} failed: {stderr}");
    }

    /// `name` (e.g. `rm/localhost`) with a random key, exported to its own keytab; returns it.
    pub fn add_principal(&self, name: &str) -> PathBuf {
        self.add_principal_with(name, PrincipalOpts::default())
    }

    pub fn add_principal_with(&self, name: &str, opts: PrincipalOpts) -> PathBuf {
        let life = opts.max_life.map(|d| format!(" -maxlife \"{} seconds\"", d.as_secs())).unwrap_or_default();
        self.kadmin(&format!("addprinc -randkey{life} {name}@{REALM}"));
        let keytab = self.dir.path().join(format!("{}.keytab", name.replace('/', "_")));
        self.kadmin(&format!("ktadd -k {} -norandkey {name}@{REALM}", keytab.display()));
        keytab
    }

    /// The full principal of `name`.
    pub fn principal(&self, name: &str) -> String {
        format!("{name}@{REALM}")
    }

    /// A ticket cache holding a ticket of `lifetime` for `principal`, from `keytab` (`kinit`).
    pub fn kinit(&self, principal: &str, keytab: &Path, ccache: &Path, lifetime: Duration) {
        let mut cmd = Command::new(tool("kinit"));
        cmd.args(["-k", "-t"]).arg(keytab).args(["-l", &format!("{}s", lifetime.as_secs().max(1)), "-c"]);
        cmd.arg(format!("FILE:{}", ccache.display())).arg(principal);
        self.configure(&mut cmd);
        let out = cmd.output().expect("run kinit");
        assert!(out.status.success(), "kinit {principal} failed: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// What the KDC logged (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("kdc.log")).unwrap_or_default()
    }
}

impl Drop for Kdc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
