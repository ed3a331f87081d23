//! A real MIT Kerberos KDC (Debian's `krb5-kdc`) for secure-cluster tests: its own realm
//! `RMFC.TEST` on a free loopback port, its database, `krb5.conf`, `kdc.conf`, keytabs and
//! ticket caches in a temp dir, principals with random keys exported to keytabs.
//!
//! Owns: the `krb5kdc` process (killed on drop) and every file it and the MIT tools use. Must
//! not: run as a system service, touch the machine's `/etc/krb5.conf`, `/etc/krb5.keytab` or
//! ticket cache (every command gets [`Kdc::configure`]), listen anywhere but 127.0.0.1, or be
//! shared between tests (each test starts its own; starting one costs ~50 ms).
//!
//! Facts measured here (MIT 1.20): `kadmin.local -q` exits 0 even when the query fails, so
//! each query is checked by what it prints; `krb5kdc` binds 0.0.0.0 unless `kdc_listen` says
//! otherwise and exits 1 when its port is taken; ticket lifetimes of 1 s are issued (there is
//! no minimum), capped by the principal's, the realm's and krbtgt's max life.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::wait::wait_for;
use super::zk::free_port;

const HINT: &str = "apt-get install krb5-kdc krb5-admin-server krb5-user (or run .ci/setup)";
pub const REALM: &str = "RMFC.TEST";
/// The realm's longest ticket (a principal's own max life can only lower it).
const REALM_MAX_LIFE: &str = "1h";
/// The principal whose `kinit` tells that this KDC (not some other process on the port) serves.
const PROBE: &str = "kdc-probe";
/// Starts retried on a fresh port when another process took ours (krb5kdc then exits).
const START_ATTEMPTS: usize = 3;

/// A running KDC; dropping it stops the KDC and removes its files.
pub struct Kdc {
    dir: tempfile::TempDir,
    krb5_conf: PathBuf,
    kdc_conf: PathBuf,
    port: u16,
    child: Child,
}

/// Options of one principal.
#[derive(Debug, Clone, Default)]
pub struct PrincipalOpts {
    /// The longest ticket the KDC issues to it (e.g. 20 s, for renewal and expiry tests). The
    /// realm's max life (1 h) caps it. `None`: the realm's.
    pub max_life: Option<Duration>,
}

/// An MIT tool, looked up where Debian installs it (not on `PATH`: root's `PATH` has the sbin
/// directories, other users' do not).
fn tool(name: &str) -> PathBuf {
    ["/usr/sbin", "/usr/bin"]
        .iter()
        .map(|dir| Path::new(dir).join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} not found: {HINT}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

impl Kdc {
    /// Creates the realm's database and starts `krb5kdc -n` (foreground); returns once a
    /// `kinit` against it succeeds.
    pub fn start() -> Kdc {
        for attempt in 1..=START_ATTEMPTS {
            match Self::try_start() {
                Ok(kdc) => return kdc,
                Err(e) if attempt < START_ATTEMPTS => eprintln!("kdc: start {attempt} failed, retrying: {e}"),
                Err(e) => panic!("the test KDC did not start: {e}"),
            }
        }
        unreachable!()
    }

    fn try_start() -> Result<Kdc, String> {
        let dir = tempfile::tempdir().expect("temp dir for the KDC");
        let d = dir.path();
        let port = free_port();
        let krb5_conf = d.join("krb5.conf");
        let kdc_conf = d.join("kdc.conf");
        std::fs::write(&krb5_conf, krb5_conf_text(port, &d.join("default.ccache"))).expect("write krb5.conf");
        std::fs::write(&kdc_conf, kdc_conf_text(port, d)).expect("write kdc.conf");
        let mut kdb = Command::new(tool("kdb5_util"));
        // -P: the master key's password; -s: stash it so krb5kdc starts without asking.
        kdb.args(["create", "-s", "-r", REALM, "-P", "rmfc-test-master-key"]);
        configure_cmd(&mut kdb, d, &krb5_conf, &kdc_conf);
        let out = kdb.output().unwrap_or_else(|e| panic!("kdb5_util: {e}: {HINT}"));
        if !out.status.success() {
            panic!("kdb5_util create failed: {}", text(&out.stderr));
        }
        let stderr = std::fs::File::create(d.join("krb5kdc.stderr")).expect("krb5kdc stderr file");
        let mut krb5kdc = Command::new(tool("krb5kdc"));
        // -n: stay in the foreground, so the child is the KDC and Drop can kill it.
        krb5kdc.arg("-n").stdin(Stdio::null()).stdout(Stdio::null()).stderr(stderr);
        configure_cmd(&mut krb5kdc, d, &krb5_conf, &kdc_conf);
        let child = krb5kdc.spawn().unwrap_or_else(|e| panic!("krb5kdc: {e}: {HINT}"));
        let mut kdc = Kdc { dir, krb5_conf, kdc_conf, port, child };
        let keytab = kdc.add_principal(PROBE);
        let probe_cache = kdc.dir().join("probe.ccache");
        let principal = kdc.principal(PROBE);
        // Serving means issuing a ticket from our own database: a TCP accept alone could be
        // another process that got the port first.
        let served = wait_for("the KDC to issue a ticket", Duration::from_secs(30), || {
            if let Ok(Some(status)) = kdc.child.try_wait() {
                return Some(Err(format!("krb5kdc exited ({status}): {}", kdc.log())));
            }
            kdc.try_kinit(&principal, &keytab, &probe_cache, Duration::from_secs(60)).ok().map(Ok)
        });
        served.map(|()| kdc)
    }

    pub fn realm(&self) -> &'static str {
        REALM
    }

    /// The KDC's port on 127.0.0.1 (UDP and TCP).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The temp dir holding the KDC's files; a good place for a test's keytabs and caches.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The client configuration (`KRB5_CONFIG`, Java's `-Djava.security.krb5.conf`). Owned, as
    /// launchers store it (`ZkServer::builder().sasl_kerberos(.., kdc.krb5_conf())`).
    pub fn krb5_conf(&self) -> PathBuf {
        self.krb5_conf.clone()
    }

    /// The full name of `name` in this realm: `rm/localhost` → `rm/localhost@RMFC.TEST`.
    pub fn principal(&self, name: &str) -> String {
        format!("{name}@{REALM}")
    }

    /// The environment of a Kerberos client of this realm (MIT tools, rmfc): `KRB5_CONFIG`,
    /// `KRB5_KDC_PROFILE`, and `KRB5CCNAME` inside the temp dir (an inherited `KRB5CCNAME`
    /// would beat `default_ccache_name`). [`Kdc::configure`] also removes the keytab variables.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("KRB5_CONFIG".into(), self.krb5_conf.display().to_string()),
            ("KRB5_KDC_PROFILE".into(), self.kdc_conf.display().to_string()),
            ("KRB5CCNAME".into(), format!("FILE:{}", self.dir().join("default.ccache").display())),
        ]
    }

    /// Applies [`Kdc::env`] to `cmd` and removes `KRB5_KTNAME`/`KRB5_CLIENT_KTNAME`, so `cmd`
    /// sees this realm only.
    pub fn configure(&self, cmd: &mut Command) {
        configure_cmd(cmd, self.dir(), &self.krb5_conf, &self.kdc_conf);
    }

    /// Runs one `kadmin.local` query; `expect` is the text it prints on success (it exits 0 on
    /// failure too).
    fn kadmin(&self, query: &str, expect: &str) -> String {
        let mut cmd = Command::new(tool("kadmin.local"));
        cmd.args(["-q", query]);
        self.configure(&mut cmd);
        let out = cmd.output().unwrap_or_else(|e| panic!("kadmin.local: {e}: {HINT}"));
        let stdout = text(&out.stdout);
        assert!(
            out.status.success() && stdout.contains(expect),
            "kadmin.local -q {query:?} failed: {}{stdout}",
            text(&out.stderr)
        );
        stdout
    }

    /// Adds `name` (e.g. `rm/localhost`) with a random key and exports it to its own keytab,
    /// `<dir>/<name with / as _>.keytab`; returns the keytab's path.
    pub fn add_principal(&self, name: &str) -> PathBuf {
        self.add_principal_with(name, PrincipalOpts::default())
    }

    /// [`Kdc::add_principal`] with options (a short max life).
    pub fn add_principal_with(&self, name: &str, opts: PrincipalOpts) -> PathBuf {
        let full = self.principal(name);
        let life = opts.max_life.map(|d| format!("-maxlife \"{} seconds\" ", d.as_secs().max(1))).unwrap_or_default();
        self.kadmin(&format!("addprinc -randkey {life}{full}"), &format!("Principal \"{full}\" created"));
        let keytab = self.dir().join(format!("{}.keytab", name.replace('/', "_")));
        // -norandkey: export the key addprinc made (ktadd would otherwise make a new one).
        self.kadmin(&format!("ktadd -k {} -norandkey {full}", keytab.display()), "added to keytab");
        keytab
    }

    /// Removes `name` from the database (its keytab stays, and is then refused).
    pub fn delete_principal(&self, name: &str) {
        let full = self.principal(name);
        self.kadmin(&format!("delprinc -force {full}"), &format!("Principal \"{full}\" deleted"));
    }

    /// `kinit -k -t KEYTAB -l LIFETIME -c CCACHE PRINCIPAL`: a ticket cache file holding a TGT of
    /// `lifetime` (whole seconds, at least 1; capped by the principal's max life). Panics when
    /// the KDC refuses.
    pub fn kinit(&self, principal: &str, keytab: &Path, ccache: &Path, lifetime: Duration) {
        if let Err(e) = self.try_kinit(principal, keytab, ccache, lifetime) {
            panic!("kinit {principal} failed: {e}\nKDC log:\n{}", self.log());
        }
    }

    /// [`Kdc::kinit`] that returns kinit's error output instead of panicking.
    pub fn try_kinit(&self, principal: &str, keytab: &Path, ccache: &Path, lifetime: Duration) -> Result<(), String> {
        let mut cmd = Command::new(tool("kinit"));
        cmd.args(["-k", "-t"]).arg(keytab).arg("-l").arg(format!("{}s", lifetime.as_secs().max(1)));
        cmd.arg("-c").arg(format!("FILE:{}", ccache.display())).arg(principal);
        self.configure(&mut cmd);
        let out = cmd.output().unwrap_or_else(|e| panic!("kinit: {e}: {HINT}"));
        if out.status.success() {
            Ok(())
        } else {
            Err(text(&out.stderr).trim().to_string())
        }
    }

    /// `klist -c CCACHE`'s output (panics when klist fails, e.g. no such cache).
    pub fn klist(&self, ccache: &Path) -> String {
        let mut cmd = Command::new(tool("klist"));
        cmd.arg("-c").arg(format!("FILE:{}", ccache.display()));
        self.configure(&mut cmd);
        let out = cmd.output().unwrap_or_else(|e| panic!("klist: {e}: {HINT}"));
        assert!(out.status.success(), "klist -c {} failed: {}", ccache.display(), text(&out.stderr));
        text(&out.stdout)
    }

    /// What the KDC logged (one line per request: `AS_REQ ... ISSUE`, `CLIENT_NOT_FOUND`, ...),
    /// and its stderr; for assertions and failure messages.
    pub fn log(&self) -> String {
        let read = |f: &str| std::fs::read_to_string(self.dir().join(f)).unwrap_or_default();
        format!("{}{}", read("kdc.log"), read("krb5kdc.stderr"))
    }
}

impl Drop for Kdc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn configure_cmd(cmd: &mut Command, dir: &Path, krb5_conf: &Path, kdc_conf: &Path) {
    cmd.env("KRB5_CONFIG", krb5_conf)
        .env("KRB5_KDC_PROFILE", kdc_conf)
        .env("KRB5CCNAME", format!("FILE:{}", dir.join("default.ccache").display()))
        .env_remove("KRB5_KTNAME")
        .env_remove("KRB5_CLIENT_KTNAME")
        .env_remove("KRB5_TRACE");
}

/// The client side, read by MIT (rmfc, kinit) and Java alike.
fn krb5_conf_text(port: u16, default_ccache: &Path) -> String {
    format!(
        "[libdefaults]
  default_realm = {REALM}
  # No DNS: the realm and its KDC are written here; host names are taken as given, so
  # rm/localhost stays rm/localhost on MIT and Java (which reads these two keys too).
  dns_lookup_kdc = false
  dns_lookup_realm = false
  rdns = false
  dns_canonicalize_hostname = false
  # TCP only: Java and MIT then agree, and no UDP retry timers slow a failure.
  udp_preference_limit = 1
  default_ccache_name = FILE:{ccache}
  forwardable = false

[realms]
  {REALM} = {{
    kdc = 127.0.0.1:{port}
  }}

[domain_realm]
  localhost = {REALM}
  .localhost = {REALM}
  127.0.0.1 = {REALM}
",
        ccache = default_ccache.display(),
    )
}

/// The KDC side (`KRB5_KDC_PROFILE`): database, stash and log in `dir`, loopback only.
fn kdc_conf_text(port: u16, dir: &Path) -> String {
    format!(
        "[kdcdefaults]
  # kdc_listen, not kdc_ports: the ports alone bind 0.0.0.0.
  kdc_listen = 127.0.0.1:{port}
  kdc_tcp_listen = 127.0.0.1:{port}

[realms]
  {REALM} = {{
    database_name = {db}
    key_stash_file = {stash}
    acl_file = {acl}
    max_life = {REALM_MAX_LIFE}
    max_renewable_life = 0
    # What Java 17 and MIT both take by default; written down so neither side guesses.
    supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
  }}

[logging]
  kdc = FILE:{log}
",
        db = dir.join("principal").display(),
        stash = dir.join("stash").display(),
        acl = dir.join("kadm5.acl").display(),
        log = dir.join("kdc.log").display(),
    )
}

/// A realm as a secure cluster has it: the KDC, the RMs' principal `rm/localhost` and rmfc's
/// `rmfc/localhost`, each with its keytab.
pub struct ClusterRealm {
    pub kdc: Kdc,
    pub rm_keytab: PathBuf,
    pub rmfc_keytab: PathBuf,
}

impl ClusterRealm {
    pub fn start() -> Self {
        let kdc = Kdc::start();
        let rm_keytab = kdc.add_principal("rm/localhost");
        let rmfc_keytab = kdc.add_principal("rmfc/localhost");
        ClusterRealm { kdc, rm_keytab, rmfc_keytab }
    }
}
