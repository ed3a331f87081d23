//! Hadoop's own secure RPC peers: `tests/java/SecureHaServer.java` (Hadoop 3.5.0,
//! `hadoop.security.authentication=kerberos`, logged in from a keytab of the test's KDC), hosting
//! HAServiceProtocol like HaTestServer's `manual` behaviour and telling on stdout whom it
//! authenticated for each call; and Hadoop's own client (`HaTestClient`) logged in from a keytab.
//!
//! Owns: those JVMs (the server is killed on drop), their Kerberos JVM options and the server's
//! line protocol. Must not: start a KDC or make principals (the test does, with `support::kdc`),
//! or decide whether an authentication should succeed (Hadoop and the JDK do).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::hadoop::{java_args, run_capped};
use super::kdc::Kdc;
use super::procs::collect_lines;
use super::wait::wait_for;

/// Set (to anything) to run the JVMs with the JDK's Kerberos and GSS debug output (on stdout;
/// the server's reader echoes it to stderr).
pub const DEBUG_ENV: &str = "RMFC_KRB5_DEBUG";

/// One `CALL <method> <source> <user> <auth> <qop> <short-user> <real-user>` line: a call the
/// server took, and who it authenticated for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// `getServiceStatus`, `transitionToActive`, ...
    pub method: String,
    /// The `RequestSource` name (`REQUEST_BY_USER`, ...) or `-`.
    pub source: String,
    /// `Server.getRemoteUser().getUserName()`: the client's full principal under Kerberos
    /// (`rmfc/localhost@RMFC.TEST`), or the user it claimed when that differs (a proxy user).
    pub user: String,
    /// `getAuthenticationMethod()`: `KERBEROS`; `PROXY` when the claimed user differs.
    pub auth_method: String,
    /// The connection's negotiated SASL QOP: `auth`, `auth-int`, `auth-conf`; `None` without one.
    pub qop: Option<String>,
    /// `getShortUserName()`: `user` through `hadoop.security.auth_to_local` (`rmfc`).
    pub short_user: String,
    /// The authenticated user behind a proxy user.
    pub real_user: Option<String>,
}

/// What the server printed, line by line.
#[derive(Debug, Clone)]
enum Line {
    Listen(u16),
    Ready,
    Call(Authenticated),
    /// `AUTH <LEVEL> <message>`: Hadoop's authentication log.
    Auth(String),
    Other,
}

fn parse_line(line: String) -> Line {
    let dash = |s: &str| (s != "-").then(|| s.to_string());
    let f: Vec<&str> = line.split_whitespace().collect();
    match f.as_slice() {
        ["LISTEN", port] => Line::Listen(port.parse().unwrap_or_else(|e| panic!("bad LISTEN line {line:?}: {e}"))),
        ["READY"] => Line::Ready,
        ["CALL", method, source, user, auth, qop, short_user, real_user] => Line::Call(Authenticated {
            method: method.to_string(),
            source: source.to_string(),
            user: user.to_string(),
            auth_method: auth.to_string(),
            qop: dash(qop),
            short_user: short_user.to_string(),
            real_user: dash(real_user),
        }),
        ["CALL", ..] => panic!("SecureHaServer wrote a CALL line this reader does not know: {line:?}"),
        _ if line.starts_with("AUTH ") => Line::Auth(line["AUTH ".len()..].to_string()),
        // The JDK's Kerberos debug output shares stdout.
        _ => {
            eprintln!("SecureHaServer: {line}");
            Line::Other
        }
    }
}

/// JVM options for a Hadoop program in `kdc`'s realm: the JDK reads the KDC's `krb5.conf`
/// (never `/etc/krb5.conf`), with debug output when [`DEBUG_ENV`] is set.
pub fn krb5_jvm_options(kdc: &Kdc) -> Vec<String> {
    let mut opts = vec![format!("-Djava.security.krb5.conf={}", kdc.krb5_conf().display())];
    if std::env::var_os(DEBUG_ENV).is_some() {
        opts.extend(["-Dsun.security.krb5.debug=true".into(), "-Dsun.security.jgss.debug=true".into()]);
    }
    opts
}

/// `java OPTIONS... MAIN` with Hadoop on the classpath, in `kdc`'s realm (its environment too).
fn secure_java(kdc: &Kdc, options: &[String], main: &str) -> Command {
    let mut cmd = Command::new("java");
    // JVM options go before java_args, which ends with the main class.
    cmd.args(krb5_jvm_options(kdc)).args(options).args(java_args(main));
    kdc.configure(&mut cmd);
    cmd
}

/// A JVM running `SecureHaServer`.
pub struct SecureHaServer {
    child: Child,
    port: u16,
    lines: Arc<Mutex<Vec<Line>>>,
    stderr: tempfile::NamedTempFile,
}

impl SecureHaServer {
    /// Logged in as `principal` (a service principal with a host part, e.g.
    /// `rm/localhost@RMFC.TEST`) from `keytab`, accepting `protection` (`hadoop.rpc.protection`:
    /// `authentication`, `integrity`, `privacy` or a comma list). Returns once it serves.
    pub fn start(kdc: &Kdc, principal: &str, keytab: &Path, protection: &str) -> Self {
        Self::start_with_conf(kdc, principal, keytab, protection, &[])
    }

    /// [`SecureHaServer::start`] with more Hadoop settings (e.g. `hadoop.security.auth_to_local`).
    pub fn start_with_conf(kdc: &Kdc, principal: &str, keytab: &Path, protection: &str, conf: &[(&str, &str)]) -> Self {
        let options: Vec<String> = conf.iter().map(|(k, v)| format!("-Dhadoop.conf.{k}={v}")).collect();
        let stderr = tempfile::NamedTempFile::new().expect("temp file for stderr");
        // stdin stays a pipe held by `child`: the server exits when it closes, so it never
        // outlives this process even when no Drop runs.
        let mut child = secure_java(kdc, &options, "SecureHaServer")
            .arg(principal)
            .arg(keytab)
            .arg(protection)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr.reopen().expect("reopen stderr file"))
            .spawn()
            .expect("start java SecureHaServer");
        let lines = collect_lines(child.stdout.take().expect("stdout"), parse_line);
        let port = wait_for("SecureHaServer to be READY", Duration::from_secs(90), || {
            if let Ok(Some(status)) = child.try_wait() {
                let err = std::fs::read_to_string(stderr.path()).unwrap_or_default();
                panic!("SecureHaServer exited ({status}) before READY: {err}\nKDC log:\n{}", kdc.log());
            }
            let lines = lines.lock().unwrap();
            let port = lines.iter().find_map(|l| if let Line::Listen(p) = l { Some(*p) } else { None });
            port.filter(|_| lines.iter().any(|l| matches!(l, Line::Ready)))
        });
        SecureHaServer { child, port, lines, stderr }
    }

    /// `localhost:PORT`: a host name, since the server's principal is `rm/localhost` (what
    /// `_HOST` becomes for this address). It listens on 127.0.0.1 only.
    pub fn addr(&self) -> String {
        format!("localhost:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every call the server took so far, in order, with who it authenticated.
    pub fn authenticated(&self) -> Vec<Authenticated> {
        let lines = self.lines.lock().unwrap();
        lines.iter().filter_map(|l| if let Line::Call(c) = l { Some(c.clone()) } else { None }).collect()
    }

    /// The calls of `method`, once at least one has arrived (the server prints them as it
    /// handles them; the reader may see them a moment after the client got its answer).
    pub fn wait_authenticated(&self, method: &str) -> Vec<Authenticated> {
        wait_for(&format!("the secure server to see {method}"), Duration::from_secs(30), || {
            let seen: Vec<_> = self.authenticated().into_iter().filter(|a| a.method == method).collect();
            (!seen.is_empty()).then_some(seen)
        })
    }

    /// Hadoop's authentication log so far (`INFO Auth successful for rmfc/localhost@RMFC.TEST
    /// (auth:KERBEROS) from ...`, `WARN Auth failed for 127.0.0.1:PORT:null`, and `INFO ...
    /// readAndProcess from client ... threw exception [...]` with the cause of a refusal).
    pub fn auth_log(&self) -> Vec<String> {
        let lines = self.lines.lock().unwrap();
        lines.iter().filter_map(|l| if let Line::Auth(a) = l { Some(a.clone()) } else { None }).collect()
    }

    /// The first authentication log line containing `needle`, waiting for it.
    pub fn wait_auth_log(&self, needle: &str) -> String {
        wait_for(&format!("the secure server to log {needle:?}"), Duration::from_secs(30), || {
            self.auth_log().into_iter().find(|l| l.contains(needle))
        })
    }

    /// What the JVM wrote to stderr (Hadoop's WARN and ERROR logs).
    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(self.stderr.path()).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, reaped: the RM dies.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for SecureHaServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// How Hadoop's own client logs in and what it expects of the server.
#[derive(Debug, Clone)]
pub struct ClientLogin {
    /// The client's principal, e.g. `rmfc/localhost@RMFC.TEST`, and its keytab.
    pub principal: String,
    pub keytab: PathBuf,
    /// The server's principal (`hadoop.security.service.user.name.key`, HAServiceProtocol's
    /// `@KerberosInfo` key; `_HOST` allowed), e.g. `rm/localhost@RMFC.TEST`.
    pub server_principal: String,
    /// The client's `hadoop.rpc.protection`.
    pub protection: String,
}

/// `HaTestClient ADDR CMD...` (Hadoop's `HAServiceProtocolClientSideTranslatorPB`) logged in
/// with `login`: one line per command, `OK ...` or `ERR <cmd> <exception class> <message>`,
/// or the single line `ERR login ...` when the login failed. For a SIMPLE client use
/// [`super::hadoop::java_ha_client`].
pub fn secure_ha_client(kdc: &Kdc, login: &ClientLogin, addr: &str, cmds: &[&str]) -> Vec<String> {
    let options = [
        format!("-Dlogin.principal={}", login.principal),
        format!("-Dlogin.keytab={}", login.keytab.display()),
        format!("-Dhadoop.conf.hadoop.security.service.user.name.key={}", login.server_principal),
        format!("-Dhadoop.conf.hadoop.rpc.protection={}", login.protection),
    ];
    let mut cmd = secure_java(kdc, &options, "HaTestClient");
    cmd.arg(addr).args(cmds);
    let ran = run_capped(cmd, "", Duration::from_secs(120));
    let lines: Vec<String> =
        ran.stdout.lines().filter(|l| l.starts_with("OK ") || l.starts_with("ERR ")).map(str::to_string).collect();
    let login_failed = lines.first().is_some_and(|l| l.starts_with("ERR login "));
    assert!(
        ran.code == Some(0) || (ran.code == Some(1) && login_failed),
        "HaTestClient failed ({:?}): {}{}",
        ran.code,
        ran.stdout,
        ran.stderr
    );
    lines
}
