//! Hadoop's own secure RPC server as a test peer: `tests/java/SecureHaServer.java` (Hadoop 3.5.0,
//! `hadoop.security.authentication=kerberos`, logged in from a keytab of the test's KDC), hosting
//! HAServiceProtocol like the RM's AdminService, and telling on stdout whom it authenticated.
//!
//! Owns: that JVM (killed on drop) and its line protocol. Must not: start a KDC (the test does,
//! with `support::kdc`).

use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::hadoop::java;
use super::kdc::Kdc;
use super::procs::collect_lines;
use super::wait::wait_for;

pub struct SecureHaServer {
    child: Child,
    port: u16,
    lines: Arc<Mutex<Vec<String>>>,
}

/// One `AUTH <method> <user> <auth-method>` line: who the server authenticated for a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    pub method: String,
    pub user: String,
    pub auth_method: String,
}

impl SecureHaServer {
    /// Logged in as `principal` (a service principal, e.g. `rm/localhost@RMFC.TEST`) from
    /// `keytab`, offering `protection` (`hadoop.rpc.protection`).
    pub fn start(kdc: &Kdc, principal: &str, keytab: &Path, protection: &str) -> Self {
        let mut cmd = java("SecureHaServer");
        // JVM options must come before the main class: java_args puts them first, so insert.
        let args: Vec<String> = cmd.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
        let mut with_krb = vec![format!("-Djava.security.krb5.conf={}", kdc.krb5_conf().display())];
        if std::env::var_os("RMFC_KRB5_DEBUG").is_some() {
            with_krb.push("-Dsun.security.krb5.debug=true".into());
        }
        let mut c = std::process::Command::new("java");
        c.args(with_krb).args(args).arg(principal).arg(keytab).arg(protection);
        kdc.configure(&mut c);
        cmd = c;
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start java SecureHaServer");
        let lines = collect_lines(child.stdout.take().expect("stdout"), |line| line);
        let port = wait_for("SecureHaServer to be READY", Duration::from_secs(60), || {
            let l = lines.lock().unwrap();
            let ready = l.iter().any(|l| l == "READY");
            let port = l.iter().find_map(|l| l.strip_prefix("LISTEN ").and_then(|p| p.trim().parse::<u16>().ok()));
            if let Ok(Some(status)) = child.try_wait() {
                panic!("SecureHaServer exited ({status}) before READY: {:?}", *l);
            }
            port.filter(|_| ready)
        });
        SecureHaServer { child, port, lines }
    }

    /// `localhost:PORT`: a host name, since the RM's principal is `rm/localhost` (`_HOST`).
    pub fn addr(&self) -> String {
        format!("localhost:{}", self.port)
    }

    pub fn authenticated(&self) -> Vec<Authenticated> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.len() == 4 && f[0] == "AUTH").then(|| Authenticated {
                    method: f[1].into(),
                    user: f[2].into(),
                    auth_method: f[3].into(),
                })
            })
            .collect()
    }

    /// The calls authenticated for `method`, once at least one has arrived.
    pub fn wait_authenticated(&self, method: &str) -> Vec<Authenticated> {
        wait_for(&format!("the secure server to see {method}"), Duration::from_secs(30), || {
            let seen: Vec<_> = self.authenticated().into_iter().filter(|a| a.method == method).collect();
            (!seen.is_empty()).then_some(seen)
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

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
