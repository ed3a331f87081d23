//! Prometheus metrics (`rmfc_*`, every series labelled with `cluster`): gauges refreshed from
//! the core's status after every step, counters and histograms fed by the actions the core
//! emits and the answers the adapters report.
//!
//! Owns: metric names, labels and buckets (documented in the README). Must not: decide anything.

use std::collections::HashMap;
use std::time::Instant;

use prometheus::{
    Encoder, Gauge, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry,
};

use crate::core::health::{ProbeOutcome, RmHealth};
use crate::core::io::{Action, AnnouncementKind, FenceStep};
use crate::core::types::{OpId, Trigger};
use crate::core::{Event, Status};
use crate::hadoop_ipc::HaState;

const HA_STATES: [&str; 4] = ["active", "standby", "initializing", "unknown"];
const HEALTHS: [&str; 7] = ["healthy", "slow", "hung", "unhealthy", "dead", "failing", "unknown"];

pub struct Metrics {
    registry: Registry,
    leader: IntGauge,
    ha_state: GaugeVec,
    health: GaugeVec,
    zk_connected: IntGauge,
    zk_expirations: IntCounter,
    epoch: IntGauge,
    paused: IntGauge,
    failovers: IntCounterVec,
    phase_seconds: HistogramVec,
    probes: IntCounterVec,
    probe_seconds: Histogram,
    fencing: IntCounterVec,
    drift: IntCounter,
    budget_remaining: IntGauge,
    last_transition: Gauge,
    worst_case: Gauge,
    probe_started: HashMap<OpId, Instant>,
    fence_started: HashMap<OpId, String>,
    fence_methods: Vec<String>,
}

fn opts(name: &str, help: &str, cluster: &str) -> Opts {
    Opts::new(name, help).const_label("cluster", cluster)
}

impl Metrics {
    /// `fence_methods` names `fencing.methods[i]` for the fencing counter's `method` label.
    pub fn new(cluster: &str, fence_methods: Vec<String>, worst_case_seconds: f64) -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let o = |n: &str, h: &str| opts(n, h, cluster);
        let buckets = vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0];
        let m = Metrics {
            leader: IntGauge::with_opts(o("rmfc_leader", "1 while this controller holds the election"))?,
            ha_state: GaugeVec::new(
                o("rmfc_local_rm_ha_state", "1 for the local RM's HA state as last probed"),
                &["state"],
            )?,
            health: GaugeVec::new(o("rmfc_local_rm_health", "1 for the local RM's health verdict"), &["health"])?,
            zk_connected: IntGauge::with_opts(o(
                "rmfc_zk_session_connected",
                "1 while the ZooKeeper session is connected",
            ))?,
            zk_expirations: IntCounter::with_opts(o(
                "rmfc_zk_session_expirations_total",
                "ZooKeeper sessions lost for good",
            ))?,
            epoch: IntGauge::with_opts(o("rmfc_epoch", "The latest epoch (fencing token) this controller knows"))?,
            paused: IntGauge::with_opts(o("rmfc_paused", "1 while automatic failover is paused"))?,
            failovers: IntCounterVec::new(
                o(
                    "rmfc_failovers_total",
                    "Promotions and refusals, by trigger and result (success: the RM ended ACTIVE)",
                ),
                &["trigger", "result"],
            )?,
            phase_seconds: HistogramVec::new(
                HistogramOpts::new("rmfc_failover_phase_seconds", "Duration of promotion phases")
                    .const_label("cluster", cluster)
                    .buckets(buckets.clone()),
                &["phase"],
            )?,
            probes: IntCounterVec::new(
                o("rmfc_health_probes_total", "Probes of the local RM, by result"),
                &["result"],
            )?,
            probe_seconds: Histogram::with_opts(
                HistogramOpts::new("rmfc_health_probe_seconds", "Duration of one probe of the local RM")
                    .const_label("cluster", cluster)
                    .buckets(buckets),
            )?,
            fencing: IntCounterVec::new(
                o("rmfc_fencing_attempts_total", "Fencing steps, by method and result"),
                &["method", "result"],
            )?,
            drift: IntCounter::with_opts(o("rmfc_drift_corrections_total", "RM states corrected (drift)"))?,
            budget_remaining: IntGauge::with_opts(o(
                "rmfc_failover_budget_remaining",
                "Automatic failovers left in the window (leader's last read)",
            ))?,
            last_transition: Gauge::with_opts(o(
                "rmfc_last_transition_timestamp_seconds",
                "Unix time of the last promotion or refusal journaled",
            ))?,
            worst_case: Gauge::with_opts(o(
                "rmfc_worst_case_failover_seconds",
                "Worst-case failover time the configuration implies",
            ))?,
            registry,
            probe_started: HashMap::new(),
            fence_started: HashMap::new(),
            fence_methods,
        };
        let r = &m.registry;
        r.register(Box::new(m.leader.clone()))?;
        r.register(Box::new(m.ha_state.clone()))?;
        r.register(Box::new(m.health.clone()))?;
        r.register(Box::new(m.zk_connected.clone()))?;
        r.register(Box::new(m.zk_expirations.clone()))?;
        r.register(Box::new(m.epoch.clone()))?;
        r.register(Box::new(m.paused.clone()))?;
        r.register(Box::new(m.failovers.clone()))?;
        r.register(Box::new(m.phase_seconds.clone()))?;
        r.register(Box::new(m.probes.clone()))?;
        r.register(Box::new(m.probe_seconds.clone()))?;
        r.register(Box::new(m.fencing.clone()))?;
        r.register(Box::new(m.drift.clone()))?;
        r.register(Box::new(m.budget_remaining.clone()))?;
        r.register(Box::new(m.last_transition.clone()))?;
        r.register(Box::new(m.worst_case.clone()))?;
        m.worst_case.set(worst_case_seconds);
        Ok(m)
    }

    /// The text exposition format for `/metrics`.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = prometheus::TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// Refreshes the gauges from the core's status.
    pub fn observe_status(&self, s: &Status) {
        self.leader.set(i64::from(s.leader));
        self.zk_connected.set(i64::from(s.session_connected));
        self.epoch.set(s.epoch as i64);
        let state = match s.rm_state {
            Some(HaState::Active) => "active",
            Some(HaState::Standby) => "standby",
            Some(HaState::Initializing) => "initializing",
            _ => "unknown",
        };
        for st in HA_STATES {
            self.ha_state.with_label_values(&[st]).set(f64::from(u8::from(st == state)));
        }
        let health = health_name(s.health);
        for h in HEALTHS {
            self.health.with_label_values(&[h]).set(f64::from(u8::from(h == health)));
        }
        self.paused.set(i64::from(s.paused));
        if let Some(b) = s.budget_remaining {
            self.budget_remaining.set(i64::from(b));
        }
    }

    /// Counts what an action starts.
    pub fn on_action(&mut self, now: Instant, a: &Action) {
        match a {
            Action::Probe { op } => {
                self.probe_started.insert(*op, now);
            }
            Action::Fence { op, step, .. } => {
                let method = match step {
                    FenceStep::Graceful => "graceful".to_string(),
                    FenceStep::Method(i) => self.fence_methods.get(*i).cloned().unwrap_or_else(|| format!("method{i}")),
                };
                self.fence_started.insert(*op, method);
            }
            // A failsafe entry records no failover.
            Action::AppendHistory { entry, .. } if entry.trigger == Trigger::Failsafe => {}
            Action::AppendHistory { entry, .. } => {
                let trigger = match &entry.trigger {
                    Trigger::Startup => "startup",
                    Trigger::Failover { .. } => "failover",
                    Trigger::Reassert => "reassert",
                    Trigger::Refused => "refused",
                    Trigger::Switchover { .. } => "switchover",
                    Trigger::Failsafe => return,
                };
                let result = if entry.succeeded() { "success" } else { "failure" };
                self.failovers.with_label_values(&[trigger, result]).inc();
                // Refusals and abandoned switchovers had no phases to time.
                if entry.trigger != Trigger::Refused && (result == "success" || entry.promote_ms > 0) {
                    self.phase_seconds.with_label_values(&["fence"]).observe(entry.fence_ms as f64 / 1000.0);
                    self.phase_seconds.with_label_values(&["promote"]).observe(entry.promote_ms as f64 / 1000.0);
                }
                self.last_transition.set(crate::wall_clock::now_ms() as f64 / 1000.0);
            }
            Action::Announce(a) if a.kind == AnnouncementKind::DriftCorrected => self.drift.inc(),
            _ => {}
        }
    }

    /// Counts what an answer reports.
    pub fn on_event(&mut self, now: Instant, e: &Event) {
        match e {
            Event::Probed { op, outcome } => {
                let result = match outcome {
                    ProbeOutcome::Healthy { .. } => "healthy",
                    ProbeOutcome::Unhealthy { .. } => "unhealthy",
                    ProbeOutcome::Refused => "refused",
                    ProbeOutcome::TimedOut => "timeout",
                    ProbeOutcome::AuthFailed { .. } => "auth_failed",
                    ProbeOutcome::Failed { .. } => "failed",
                };
                self.probes.with_label_values(&[result]).inc();
                if let Some(t) = self.probe_started.remove(op) {
                    self.probe_seconds.observe(now.saturating_duration_since(t).as_secs_f64());
                }
            }
            Event::FenceDone { op, result } => {
                if let Some(method) = self.fence_started.remove(op) {
                    let r = if result.is_ok() { "success" } else { "failure" };
                    self.fencing.with_label_values(&[&method, r]).inc();
                }
            }
            Event::SessionExpired { .. } => self.zk_expirations.inc(),
            _ => {}
        }
    }
}

pub fn health_name(h: RmHealth) -> &'static str {
    match h {
        RmHealth::Unknown => "unknown",
        RmHealth::Healthy => "healthy",
        RmHealth::Slow { .. } => "slow",
        RmHealth::Hung => "hung",
        RmHealth::Unhealthy => "unhealthy",
        RmHealth::Dead => "dead",
        RmHealth::Failing => "failing",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::types::{HistoryEntry, SessionGen};

    #[test]
    fn every_metric_is_exported_with_the_cluster_label() {
        let mut m = Metrics::new("prod", vec!["zk_state_store".into()], 78.0).expect("metrics");
        let now = Instant::now();
        m.on_action(now, &Action::Probe { op: OpId(1) });
        m.on_event(now, &Event::Probed { op: OpId(1), outcome: ProbeOutcome::Refused });
        m.on_action(now, &Action::Fence { op: OpId(2), target: "rm2".into(), step: FenceStep::Method(0), epoch: 3 });
        m.on_event(now, &Event::FenceDone { op: OpId(2), result: Ok(()) });
        let text = m.render();
        assert!(text.contains(r#"rmfc_health_probes_total{cluster="prod",result="refused"} 1"#), "{text}");
        assert!(
            text.contains(r#"rmfc_fencing_attempts_total{cluster="prod",method="zk_state_store",result="success"} 1"#),
            "{text}"
        );
        assert!(text.contains(r#"rmfc_worst_case_failover_seconds{cluster="prod"} 78"#), "{text}");
    }

    #[test]
    fn a_switchover_to_the_rm_already_active_counts_as_a_success_and_an_abandoned_one_as_a_failure() {
        let mut m = Metrics::new("prod", vec![], 78.0).expect("metrics");
        let entry = |outcome: &str| HistoryEntry {
            epoch: 3,
            trigger: Trigger::Switchover { id: "sw-1".into(), by: "ops".into(), reason: "test".into() },
            from: Some("rm1".into()),
            to: "rm2".into(),
            fenced_by: String::new(),
            outcome: outcome.into(),
            fence_ms: 0,
            promote_ms: 0,
        };
        for outcome in [crate::core::types::OUTCOME_ALREADY_ACTIVE, "failed: not completed before its deadline"] {
            m.on_action(Instant::now(), &Action::AppendHistory { gen: SessionGen(1), entry: Box::new(entry(outcome)) });
        }
        let text = m.render();
        for result in ["success", "failure"] {
            let line = format!(r#"rmfc_failovers_total{{cluster="prod",result="{result}",trigger="switchover"}} 1"#);
            assert!(text.contains(&line), "{line}\n{text}");
        }
    }
}
