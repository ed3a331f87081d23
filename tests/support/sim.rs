//! `rmfc sim-rm` processes for tests: started on ephemeral ports (the RM reports its real
//! addresses in its first journal line), their JSON journal collected from stdout as it comes,
//! and fault injection by signal or through the control endpoint.

use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmfc::sim::events::{SimEvent, SimEventKind};

use super::procs::{collect_lines, http, http_get, rmfc, rmfc_in, signal, HttpReply};
use super::wait::wait_for;

pub struct SimRmProcess {
    pub id: String,
    pub admin: String,
    pub web: String,
    pub pid: u32,
    child: Child,
    events: Arc<Mutex<Vec<SimEvent>>>,
    stderr: tempfile::NamedTempFile,
}

impl SimRmProcess {
    /// Starts `rmfc sim-rm --id ID` on 127.0.0.1 ephemeral ports with `extra` arguments.
    pub fn start(id: &str, extra: &[&str]) -> Self {
        Self::start_at(id, "127.0.0.1:0", extra)
    }

    /// Like [`SimRmProcess::start`] with a fixed admin address (to restart on the same port).
    pub fn start_at(id: &str, admin: &str, extra: &[&str]) -> Self {
        Self::start_on(id, admin, "127.0.0.1:0", extra, None)
    }

    /// Starts `rmfc sim-rm --id ID` with the given admin and web addresses (port 0: ephemeral),
    /// inside network namespace `netns` when given (see `netns::NetHost`). Restarting a killed RM
    /// on its previous [`SimRmProcess::admin`] and [`SimRmProcess::web`] keeps the addresses the
    /// controllers know.
    pub fn start_on(id: &str, admin: &str, web: &str, extra: &[&str], netns: Option<&str>) -> Self {
        let stderr = tempfile::NamedTempFile::new().expect("temp file for stderr");
        let mut child = rmfc_in(netns, &["sim-rm", "--id", id, "--admin-address", admin, "--web-address", web])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr.reopen().expect("reopen stderr file"))
            .spawn()
            .expect("spawn rmfc sim-rm");
        let events = collect_lines(child.stdout.take().expect("piped stdout"), |line| {
            serde_json::from_str::<SimEvent>(&line)
                .unwrap_or_else(|e| panic!("sim-rm wrote a line that is not a journal record ({e}): {line}"))
        });
        let mut me = SimRmProcess {
            id: id.to_string(),
            admin: String::new(),
            web: String::new(),
            pid: child.id(),
            child,
            events,
            stderr,
        };
        let (admin, web) = wait_for(&format!("sim-rm {id} to start"), Duration::from_secs(20), || {
            if let Ok(Some(status)) = me.child.try_wait() {
                panic!("sim-rm {id} exited early ({status}): {}", me.stderr_text());
            }
            me.events().into_iter().find_map(|e| match e.kind {
                SimEventKind::Started { admin, web, .. } => Some((admin, web)),
                _ => None,
            })
        });
        me.admin = admin;
        me.web = web;
        me
    }

    /// Every journal record so far.
    pub fn events(&self) -> Vec<SimEvent> {
        self.events.lock().unwrap().clone()
    }

    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(self.stderr.path()).unwrap_or_default()
    }

    /// Runs `rmfc rm-admin --address <this RM> ARGS...`; returns (exit code, stdout, stderr).
    pub fn rm_admin(&self, args: &[&str]) -> (i32, String, String) {
        let out = rmfc(&["rm-admin", "--address", &self.admin]).args(args).output().expect("run rmfc rm-admin");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        )
    }

    /// The HA state reported over IPC, or None when it does not answer.
    pub fn ha_state(&self) -> Option<String> {
        let (code, out, _) = self.rm_admin(&["get-service-state", "--timeout", "2s"]);
        (code == 0).then_some(out)
    }

    pub fn get(&self, path: &str) -> HttpReply {
        http_get(&self.web, path).unwrap_or_else(|e| panic!("GET {path} on sim-rm {}: {e}", self.id))
    }

    pub fn set_faults(&self, json: &str) -> HttpReply {
        http("POST", &self.web, "/sim/v1/faults", Some(json)).expect("POST /sim/v1/faults")
    }

    pub fn stop(&self) {
        signal(self.pid, "STOP");
    }

    pub fn cont(&self) {
        signal(self.pid, "CONT");
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for SimRmProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
