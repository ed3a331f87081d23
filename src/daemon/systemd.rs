//! systemd integration (`Type=notify`): READY once the ZooKeeper session is up and the local RM
//! has been probed, a STATUS line with the role, and WATCHDOG pings only while the loop runs and
//! the session is fresh — a controller stuck in its loop or cut off from ZooKeeper stops feeding
//! the watchdog and gets restarted. Without `NOTIFY_SOCKET` every call is a no-op.
//!
//! Owns: what is told to systemd and when. Must not: influence decisions.

use std::time::{Duration, Instant};

use sd_notify::NotifyState;

use crate::core::Status;

pub struct SystemdNotifier {
    enabled: bool,
    ready: bool,
    last_status: String,
    /// The session counts as fresh while disconnected for less than this.
    fresh_for: Duration,
    disconnected_since: Option<Instant>,
    last_ping: Option<Instant>,
}

impl SystemdNotifier {
    pub fn new(session_timeout: Duration) -> Self {
        SystemdNotifier {
            enabled: std::env::var_os("NOTIFY_SOCKET").is_some(),
            ready: false,
            last_status: String::new(),
            fresh_for: session_timeout,
            disconnected_since: None,
            last_ping: None,
        }
    }

    fn send(&self, states: &[NotifyState<'_>]) {
        if self.enabled {
            if let Err(e) = sd_notify::notify(states) {
                tracing::debug!(error = %e, "sd_notify failed");
            }
        }
    }

    /// Called after every step of the loop.
    pub fn after_step(&mut self, s: &Status, now: Instant) {
        if s.session_connected {
            self.disconnected_since = None;
        } else if self.disconnected_since.is_none() {
            self.disconnected_since = Some(now);
        }
        if !self.ready && s.session_connected && s.last_probe.is_some() {
            self.ready = true;
            self.send(&[NotifyState::Ready]);
        }
        let status = format!(
            "{}{}, epoch {}, local RM {}",
            s.role.name(),
            if s.leader { " (leader)" } else { "" },
            s.epoch,
            s.rm_state.map(|st| st.to_string()).unwrap_or_else(|| "unknown".into())
        );
        if status != self.last_status {
            self.send(&[NotifyState::Status(&status)]);
            self.last_status = status;
        }
        let fresh = self.disconnected_since.is_none_or(|t| now.duration_since(t) < self.fresh_for);
        let due = self.last_ping.is_none_or(|t| now.duration_since(t) >= Duration::from_secs(1));
        if fresh && due {
            self.last_ping = Some(now);
            self.send(&[NotifyState::Watchdog]);
        }
    }

    pub fn stopping(&self) {
        self.send(&[NotifyState::Stopping]);
    }
}
