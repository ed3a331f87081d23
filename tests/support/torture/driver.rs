//! The torture test's driver: builds the cluster (on network-namespace hosts when it can, else on
//! loopback), executes a [`Step`] schedule (inject, hold, operator call, heal, gap), records when
//! each fault was injected and healed and when RM processes were dead or frozen, issues operator
//! calls without blocking the schedule, and collects the controllers' history as it goes (the
//! znode keeps only the newest 100 entries).
//!
//! Owns: the mapping of [`Fault`]s to actions on processes and hosts, and undoing them. Must not:
//! judge the results (that is `report.rs`) or sleep except for the schedule's own holds and gaps.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rmfc::sim::events::now_ms;
use serde_json::Value;

use super::report::{RunRecord, Span};
use super::schedule::{Fault, OperatorOp, Step};
use crate::support::cluster::{Cluster, ClusterOptions, Placement, Zk};
use crate::support::netns::{self, NetHost, NetLab};
use crate::support::procs::{http_get, http_with_headers};
use crate::support::wait::{poll_until, wait_for};
use crate::support::zk::ZkEnsemble;

type OpCounts = Arc<Mutex<BTreeMap<(String, String), u64>>>;

/// The failover budget (rule 5) would stop automatic failover after 3 failovers in 30 minutes:
/// the torture test wants every fault failed over, so it lifts the budget and the cooldown.
const FAILOVER_YAML: &str = "failover:\n  budget: 100000\n  window: 1m\n  cooldown: 0s\n";

/// Where the controllers' logs (all their runs) and the RMs' stderr are kept after a run.
pub fn log_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("target dir").join("torture-logs")
}

pub struct Torture {
    // Field order is drop order: processes go before the namespaces they live in.
    pub cluster: Cluster,
    rm_hosts: Vec<NetHost>,
    zk_hosts: Vec<NetHost>,
    _lab: Option<NetLab>,
    pub record: RunRecord,
    ops: OpCounts,
    op_threads: Vec<JoinHandle<()>>,
    history: Arc<Mutex<Vec<Value>>>,
    controller_stopped: Vec<bool>,
    t0: Instant,
}

/// Hosts h1..h3 (RM + controller) and z1..z3 (ZooKeeper), or why they cannot be made.
fn make_hosts() -> Result<(NetLab, Vec<NetHost>, Vec<NetHost>), String> {
    let mut lab = NetLab::create()?;
    let rm_hosts = (1..=3).map(|i| lab.add_host(&format!("h{i}"))).collect::<Result<Vec<_>, _>>()?;
    let zk_hosts = (1..=3).map(|i| lab.add_host(&format!("z{i}"))).collect::<Result<Vec<_>, _>>()?;
    Ok((lab, rm_hosts, zk_hosts))
}

impl Torture {
    /// Builds the cluster and waits for its first ACTIVE RM.
    pub fn setup(seed: u64, fault_secs: u64) -> Torture {
        let hosts = match std::env::var_os("RMFC_TORTURE_NO_NETNS") {
            Some(_) => Err("RMFC_TORTURE_NO_NETNS is set".to_string()),
            None => make_hosts(),
        };
        let (lab, rm_hosts, zk_hosts) = match hosts {
            Ok((lab, r, z)) => (Some(lab), r, z),
            // Not root: say so and run the other faults (the issue's contract). As root the lab
            // must work: a broken one would silently drop every partition from CI.
            Err(e) if netns::is_root() && std::env::var_os("RMFC_TORTURE_NO_NETNS").is_none() => {
                panic!("the network-namespace lab cannot be built as root: {e} (install iproute2, or set RMFC_TORTURE_NO_NETNS=1 to run without partitions)")
            }
            Err(e) => {
                println!(
                    "*** NETWORK NAMESPACES UNAVAILABLE: {e}\n*** running process and ZooKeeper faults on loopback; \
                     NO network partitions in this run (they need root and iproute2)"
                );
                (None, Vec::new(), Vec::new())
            }
        };
        let placement = lab.as_ref().map(|_| Placement {
            rms: rm_hosts.iter().map(NetHost::host).collect(),
            zk: zk_hosts.iter().map(NetHost::host).collect(),
        });
        let netns = placement.is_some();
        let cluster = Cluster::start(ClusterOptions {
            rms: 3,
            ensemble: true,
            placement,
            extra_yaml: FAILOVER_YAML.to_string(),
            ..ClusterOptions::default()
        });
        let logs = log_dir();
        let _ = std::fs::remove_dir_all(&logs);
        std::fs::create_dir_all(&logs).expect("create target/torture-logs");
        let t0 = Instant::now();
        let mut me = Torture {
            cluster,
            rm_hosts,
            zk_hosts,
            _lab: lab,
            record: RunRecord { seed, fault_secs, netns, ..RunRecord::default() },
            ops: OpCounts::default(),
            op_threads: Vec::new(),
            history: Arc::default(),
            controller_stopped: vec![false; 3],
            t0,
        };
        let first = wait_for("a first ACTIVE RM", Duration::from_secs(90), || me.active_rm());
        me.record.started_ms = now_ms();
        me.log(&format!("cluster up, rm{} ACTIVE", first + 1));
        me
    }

    pub fn partitions_available(&self) -> bool {
        !self.rm_hosts.is_empty()
    }

    fn log(&self, msg: &str) {
        println!("[{:>7.1}s] {msg}", self.t0.elapsed().as_secs_f64());
    }

    fn ensemble(&mut self) -> &mut ZkEnsemble {
        match &mut self.cluster.zk {
            Zk::Ensemble(e) => e,
            Zk::Standalone(_) => unreachable!("the torture cluster runs an ensemble"),
        }
    }

    /// The RM answering ACTIVE on REST when exactly one does (`None` otherwise).
    pub fn active_rm(&self) -> Option<usize> {
        let active: Vec<usize> = (0..self.cluster.rms.len())
            .filter(|&i| {
                // Only RMs whose host the test can reach now (an isolated host would hang the probe).
                self.rm_hosts.get(i).is_none_or(|h| !h.is_partitioned())
                    && http_get(&self.cluster.rms[i].web, "/ws/v1/cluster/info")
                        .ok()
                        .and_then(|r| serde_json::from_str::<Value>(&r.body).ok())
                        .is_some_and(|v| v["clusterInfo"]["haState"] == "ACTIVE")
            })
            .collect();
        match active.as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }

    /// Runs the schedule; stops starting new steps once `budget` has passed.
    pub fn run(&mut self, steps: &[Step], budget: Duration) {
        let start = Instant::now();
        for (n, step) in steps.iter().enumerate() {
            if start.elapsed() >= budget {
                self.log(&format!("fault budget of {budget:?} used up after {n} steps"));
                break;
            }
            let injected_ms = now_ms();
            self.log(&format!("step {n}: inject {} for {:?}", step.fault, step.hold));
            self.inject(&step.fault);
            match &step.op {
                Some((at, op, ctl)) => {
                    std::thread::sleep(*at);
                    self.operator(op, *ctl);
                    std::thread::sleep(step.hold.saturating_sub(*at));
                }
                None => std::thread::sleep(step.hold),
            }
            self.heal(&step.fault);
            if matches!(step.op, Some((_, OperatorOp::Pause, _))) {
                self.resume();
            }
            let healed_ms = now_ms();
            self.log(&format!("step {n}: healed {}; next in {:?}", step.fault, step.gap));
            self.record.faults.push(super::report::FaultRecord {
                kind: step.fault.kind(),
                what: step.fault.to_string(),
                injected_ms,
                healed_ms,
            });
            self.poll_history(false);
            std::thread::sleep(step.gap);
        }
    }

    fn zk_ips(&self) -> Vec<Ipv4Addr> {
        self.zk_hosts.iter().map(NetHost::ip).collect()
    }

    fn inject(&mut self, fault: &Fault) {
        let rm_name = |i: &usize| format!("rm{}", i + 1);
        match fault {
            Fault::KillController(i) => self.cluster.kill_controller(*i),
            Fault::KillRm(i) => {
                self.cluster.kill_rm(*i);
                self.record.dead.push(Span { rm: rm_name(i), from_ms: now_ms(), to_ms: u64::MAX });
            }
            Fault::PauseRm(i) => {
                self.cluster.rms[*i].stop();
                self.record.frozen.push(Span { rm: rm_name(i), from_ms: now_ms(), to_ms: u64::MAX });
            }
            Fault::PauseController(i) => {
                self.cluster.controller_signal(*i, "STOP");
                self.controller_stopped[*i] = true;
            }
            Fault::KillZk(j) => self.ensemble().kill(*j),
            Fault::LoseQuorum(a, b) => {
                self.ensemble().kill(*a);
                self.ensemble().kill(*b);
            }
            Fault::CutHostFromZk(i) => {
                let zk = self.zk_ips();
                self.rm_hosts[*i].cut_from(&zk);
            }
            Fault::CutHostFromPeers(i) => {
                let peers: Vec<Ipv4Addr> =
                    self.rm_hosts.iter().enumerate().filter(|(j, _)| j != i).map(|(_, h)| h.ip()).collect();
                self.rm_hosts[*i].cut_from(&peers);
            }
            Fault::IsolateHost(i) => self.rm_hosts[*i].isolate(),
            Fault::IsolateZk(j) => self.zk_hosts[*j].isolate(),
        }
    }

    fn heal(&mut self, fault: &Fault) {
        fn close(spans: &mut [Span], rm: usize) {
            let name = format!("rm{}", rm + 1);
            if let Some(s) = spans.iter_mut().rev().find(|s| s.rm == name && s.to_ms == u64::MAX) {
                s.to_ms = now_ms();
            }
        }
        match fault {
            Fault::KillController(i) => {
                self.save_controller_log(*i);
                self.cluster.start_controller(*i);
            }
            Fault::KillRm(i) => {
                close(&mut self.record.dead, *i);
                self.save_rm_stderr(*i);
                self.cluster.restart_rm(*i);
            }
            Fault::PauseRm(i) => {
                self.cluster.rms[*i].cont();
                close(&mut self.record.frozen, *i);
            }
            Fault::PauseController(i) => {
                self.cluster.controller_signal(*i, "CONT");
                self.controller_stopped[*i] = false;
            }
            Fault::KillZk(j) => self.ensemble().restart(*j),
            Fault::LoseQuorum(a, b) => {
                self.ensemble().restart(*a);
                self.ensemble().restart(*b);
            }
            Fault::CutHostFromZk(i) | Fault::CutHostFromPeers(i) | Fault::IsolateHost(i) => self.rm_hosts[*i].heal(),
            Fault::IsolateZk(j) => self.zk_hosts[*j].heal(),
        }
    }

    /// A controller that can answer now, starting with `preferred`: running, not frozen, and on
    /// a host the test can reach.
    fn reachable_controller(&self, preferred: usize) -> Option<usize> {
        let n = self.cluster.controllers.len();
        (0..n).map(|k| (preferred + k) % n).find(|&i| {
            self.cluster.controllers[i].is_some()
                && !self.controller_stopped[i]
                && self.rm_hosts.get(i).is_none_or(|h| !h.is_partitioned())
        })
    }

    /// POSTs on a background thread; with `retry_for`, repeats a call refused with 503 (ZooKeeper
    /// not back yet) once a second until it is answered otherwise or the time is up.
    fn post(&self, ctl: usize, path: &'static str, body: String, call: String, retry_for: Duration) -> JoinHandle<()> {
        let url = self.cluster.admin_url(ctl);
        let token = self.cluster.admin_token();
        let ops = self.ops.clone();
        std::thread::spawn(move || {
            let auth = token.map(|t| format!("Bearer {t}"));
            let headers: Vec<(&str, &str)> = auth.as_deref().map(|a| ("Authorization", a)).into_iter().collect();
            let started = Instant::now();
            let class = loop {
                let class = match http_with_headers("POST", &url, path, Some(&body), &headers) {
                    Ok(r) if (200..300).contains(&r.status) => "accepted".to_string(),
                    Ok(r) if r.status == 404 => "404 (no endpoint)".to_string(),
                    Ok(r) => format!("refused {}", r.status),
                    Err(_) => "no answer".to_string(),
                };
                if class != "refused 503" || started.elapsed() >= retry_for {
                    break class;
                }
                std::thread::sleep(Duration::from_secs(1));
            };
            *ops.lock().unwrap_or_else(|p| p.into_inner()).entry((call, class)).or_default() += 1;
        })
    }

    /// Issues an operator call on a background thread (it may wait on ZooKeeper).
    fn operator(&mut self, op: &OperatorOp, preferred: usize) {
        let Some(ctl) = self.reachable_controller(preferred) else {
            self.log("operator call skipped: no controller reachable");
            return;
        };
        let (path, body, call) = match op {
            OperatorOp::Switchover(t) => (
                "/v1/switchover",
                format!(r#"{{"target":"rm{}","reason":"torture"}}"#, t + 1),
                "switchover".to_string(),
            ),
            OperatorOp::Pause => ("/v1/pause", r#"{"reason":"torture","for":"20s"}"#.to_string(), "pause".to_string()),
        };
        self.log(&format!("operator: POST {path} {body} via controller rm{}", ctl + 1));
        let h = self.post(ctl, path, body, call, Duration::ZERO);
        self.op_threads.push(h);
    }

    /// Resumes automatic failover, retrying while ZooKeeper is not back (a pause left in force
    /// would be counted as unavailability caused by the fault).
    fn resume(&mut self) {
        if let Some(ctl) = self.reachable_controller(0) {
            let h = self.post(ctl, "/v1/resume", "{}".into(), "resume".into(), Duration::from_secs(30));
            self.op_threads.push(h);
        }
    }

    /// Merges the controllers' history (as one reachable controller serves it) into what was
    /// collected so far. `wait`: block until it is read.
    pub fn poll_history(&mut self, wait: bool) {
        let Some(ctl) = self.reachable_controller(0) else { return };
        let url = self.cluster.admin_url(ctl);
        let sink = self.history.clone();
        let h = std::thread::spawn(move || {
            let Ok(r) = http_get(&url, "/v1/history") else { return };
            let Ok(v) = serde_json::from_str::<Value>(&r.body) else { return };
            let mut all = sink.lock().unwrap_or_else(|p| p.into_inner());
            for e in v["history"].as_array().into_iter().flatten() {
                if !all.contains(e) {
                    all.push(e.clone());
                }
            }
        });
        if wait {
            let _ = h.join();
        } else {
            self.op_threads.push(h);
        }
    }

    /// After the last step: waits for the operator calls, resumes automatic failover, and waits
    /// (up to `deadline`) for exactly one RM to answer ACTIVE. Returns the time that took, or
    /// `None` if it did not happen.
    pub fn finish(&mut self, deadline: Duration) -> Option<Duration> {
        for h in self.op_threads.drain(..) {
            let _ = h.join();
        }
        self.resume();
        for h in self.op_threads.drain(..) {
            let _ = h.join();
        }
        let healed = Instant::now();
        let found = poll_until(deadline, || self.active_rm());
        let took = healed.elapsed();
        match found {
            Some(i) => self.log(&format!("final: rm{} ACTIVE {took:?} after the final heal", i + 1)),
            None => self.log(&format!("final: NO ACTIVE RM {deadline:?} after the final heal")),
        }
        self.record.final_recovery_ms = took.as_millis() as u64;
        self.poll_history(true);
        self.record.ended_ms = now_ms();
        self.record.ops = self.ops.lock().unwrap_or_else(|p| p.into_inner()).clone();
        found.map(|_| took)
    }

    /// Appends controller `i`'s current log to `target/torture-logs/controller-rmN.log` (a
    /// restarted controller starts a fresh log).
    fn save_controller_log(&self, i: usize) {
        use std::io::Write;
        let path = log_dir().join(format!("controller-rm{}.log", i + 1));
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
            let _ = f.write_all(self.cluster.controller_log(i).as_bytes());
        }
    }

    fn save_rm_stderr(&self, i: usize) {
        use std::io::Write;
        let path = log_dir().join(format!("sim-rm{}.stderr", i + 1));
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
            let _ = f.write_all(self.cluster.rms[i].stderr_text().as_bytes());
        }
    }

    /// Saves every log still only in the cluster's temporary directory; returns where they are.
    pub fn save_logs(&self) -> std::path::PathBuf {
        for i in 0..self.cluster.rms.len() {
            self.save_controller_log(i);
            self.save_rm_stderr(i);
        }
        log_dir()
    }

    pub fn history(&self) -> Vec<Value> {
        self.history.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
