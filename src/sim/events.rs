//! The simulated RM's event journal: one JSON object per line on stdout, so a checker can
//! replay what each RM did (state changes, accepted state-store writes with their ZooKeeper zxid)
//! and prove that no two RMs wrote in overlapping intervals.
//!
//! Owns: the record format and its ordering (one lock around stdout). Must not: log anything
//! else to stdout (diagnostics go to stderr through tracing).

use std::io::Write;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimEvent {
    /// Wall time, milliseconds since the Unix epoch.
    pub ts_ms: u64,
    pub rm: String,
    #[serde(flatten)]
    pub kind: SimEventKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SimEventKind {
    /// The RM is serving; `pid` lets a test find it.
    Started { admin: String, web: String, pid: u32 },
    /// An HA state change. `term` counts activations of this process.
    State { from: String, to: String, term: u64, reason: String },
    /// A state-store write ZooKeeper accepted; `zxid` orders it against every other RM's writes.
    Write { term: u64, seq: u64, zxid: i64 },
    /// The store refused a write: another RM took the store's ACL.
    Fenced { term: u64, error: String },
    /// An admin RPC was handled.
    Call { method: String, source: Option<String>, result: String },
}

pub use crate::wall_clock::now_ms;

/// Writes journal lines to stdout, whole lines only.
pub struct EventLog {
    rm: String,
    out: Mutex<()>,
}

impl EventLog {
    pub fn new(rm: &str) -> Self {
        EventLog { rm: rm.to_string(), out: Mutex::new(()) }
    }

    pub fn emit(&self, kind: SimEventKind) {
        let ev = SimEvent { ts_ms: now_ms(), rm: self.rm.clone(), kind };
        let Ok(line) = serde_json::to_string(&ev) else { return };
        let _guard = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let mut stdout = std::io::stdout().lock();
        // A closed stdout must not take the RM down; the journal is best effort for the reader.
        let _ = writeln!(stdout, "{line}");
        let _ = stdout.flush();
    }
}
