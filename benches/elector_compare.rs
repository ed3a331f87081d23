//! Side-by-side benchmark: rmfc (a `rmfc run` controller beside each RM, DEFAULT configuration)
//! against YARN's embedded elector (Hadoop's own `ActiveStandbyElector` inside the RM process,
//! with YARN's defaults: `tests/java/EmbeddedElectorRm.java`), on the same machine in one run.
//!
//! Scenarios, each run N times per side on fresh processes: the active RM crashes (SIGKILL),
//! hangs (SIGSTOP; the embedded elector freezes with it), its host is cut off from ZooKeeper
//! (network namespaces, `tests/support/netns.rs`: blackhole routes from the RM's host — for rmfc
//! the RM and its controller — to every ZooKeeper node), and ZooKeeper loses its quorum (2 of 3
//! nodes killed for 25 s, then restarted). Failover time is from the fault to the other RM
//! reporting ACTIVE: the sim RM's journal for rmfc, the stand-in's JSON line for the embedded
//! side. Then the steady-state RSS of an rmfc controller against the stand-in JVM's.
//!
//! Owns only measuring; must not assert behaviour (tests do that) or change either side's
//! defaults. `cargo bench --bench elector_compare` (RMFC_BENCH_RUNS=N, default 5). Needs what
//! `.ci/setup` installs, and root for the partition scenario.

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rmfc::sim::events::{now_ms, SimEventKind};
use support::cluster::{Cluster, ClusterOptions, Host, Placement, Zk};
use support::hadoop::ElectorRm;
use support::netns::{NetHost, NetLab};
use support::wait::wait_for;
use support::zk::{ZkEnsemble, ZkServer};

/// How long a side may take to elect a new active before the run counts as "no failover".
const FAILOVER_DEADLINE: Duration = Duration::from_secs(90);
/// How long the quorum stays lost.
const QUORUM_OUTAGE: Duration = Duration::from_secs(25);
/// Settling time after the first election, so the standby is joined and probing (as in
/// benches/failover.rs).
const SETTLE: Duration = Duration::from_secs(3);
const CLUSTER: &str = "bench";

#[derive(Clone, Copy, PartialEq)]
enum Scenario {
    Crash,
    Hang,
    Partition,
    QuorumLoss,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Crash => "active RM crash (kill -9)",
            Scenario::Hang => "active RM hang (SIGSTOP)",
            Scenario::Partition => "active RM host cut from ZooKeeper",
            Scenario::QuorumLoss => "ZooKeeper quorum lost 25s (no-active time)",
        }
    }
}

/// One measured run of one side.
#[derive(Default)]
struct Sample {
    /// Scenario metric: failover time, or for quorum loss the time without any active RM.
    metric_ms: Option<u64>,
    /// When the old active stopped reporting ACTIVE, relative to the fault (or to SIGCONT for
    /// a hang), if it did while alive.
    old_demoted_ms: Option<u64>,
    /// Quorum loss: when an RM was active again, relative to the restart of the two nodes.
    reactivated_ms: Option<u64>,
    /// Both RMs reported ACTIVE at the same time for this long.
    both_active_ms: u64,
}

/// What the benchmark needs from either side.
trait Side {
    fn states(&self, i: usize) -> Vec<(u64, String)>;
    fn kill_rm(&mut self, i: usize);
    fn stop_rm(&self, i: usize);
    fn cont_rm(&self, i: usize);
    fn zk(&mut self) -> &mut ZkEnsemble;
}

fn current(states: &[(u64, String)]) -> Option<&str> {
    states.last().map(|(_, s)| s.as_str())
}

fn first_active_since(side: &dyn Side, i: usize, since: u64) -> Option<u64> {
    side.states(i).into_iter().find(|(t, s)| *t >= since && s == "active").map(|(t, _)| t)
}

fn first_not_active_since(side: &dyn Side, i: usize, since: u64) -> Option<u64> {
    side.states(i).into_iter().find(|(t, s)| *t >= since && s != "active").map(|(t, _)| t)
}

/// Whether RM `i` reported ACTIVE at time `t` (its last state change at or before `t`).
fn active_at(states: &[(u64, String)], t: u64) -> bool {
    states.iter().rev().find(|(ts, _)| *ts <= t).is_some_and(|(_, s)| s == "active")
}

/// Milliseconds within `[from, to]` during which no RM, resp. both RMs, reported ACTIVE.
fn coverage(side: &dyn Side, from: u64, to: u64) -> (u64, u64) {
    let timelines: Vec<Vec<(u64, String)>> = (0..2).map(|i| side.states(i)).collect();
    let mut cuts: Vec<u64> =
        timelines.iter().flatten().map(|(t, _)| *t).filter(|t| *t > from && *t < to).chain([from, to]).collect();
    cuts.sort();
    cuts.dedup();
    let (mut none, mut both) = (0, 0);
    for w in cuts.windows(2) {
        let n = timelines.iter().filter(|tl| active_at(tl, w[0])).count();
        match n {
            0 => none += w[1] - w[0],
            2 => both += w[1] - w[0],
            _ => {}
        }
    }
    (none, both)
}

fn wait_first_active(side: &dyn Side) -> usize {
    wait_for("a first active RM", FAILOVER_DEADLINE, || (0..2).find(|i| current(&side.states(*i)) == Some("active")))
}

/// Runs the fault on an already elected `side`; `partition`/`heal` cut the active's host.
fn run_fault(s: Scenario, side: &mut dyn Side, partition: &mut dyn FnMut(usize, bool)) -> Sample {
    let first = wait_first_active(side);
    std::thread::sleep(SETTLE);
    let other = 1 - first;
    let fault = now_ms();
    let mut sample = Sample::default();
    match s {
        Scenario::Crash | Scenario::Hang | Scenario::Partition => {
            match s {
                Scenario::Crash => side.kill_rm(first),
                Scenario::Hang => side.stop_rm(first),
                _ => partition(first, true),
            }
            let promoted = (|| {
                let start = Instant::now();
                while start.elapsed() < FAILOVER_DEADLINE {
                    if let Some(t) = first_active_since(side, other, fault) {
                        return Some(t);
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                None
            })();
            sample.metric_ms = promoted.map(|t| t.saturating_sub(fault));
            match s {
                Scenario::Hang => {
                    // What the frozen RM does when it runs again.
                    let resumed = now_ms();
                    side.cont_rm(first);
                    let demoted =
                        wait_until_or(Duration::from_secs(30), || first_not_active_since(side, first, resumed));
                    sample.old_demoted_ms = demoted.map(|t| t.saturating_sub(resumed));
                    let end = demoted.unwrap_or_else(now_ms);
                    sample.both_active_ms = coverage(side, fault, end).1;
                }
                Scenario::Partition => {
                    // The cut-off RM demotes itself (or is fenced) at some point, or never.
                    let demoted = wait_until_or(Duration::from_secs(40), || first_not_active_since(side, first, fault));
                    sample.old_demoted_ms = demoted.map(|t| t.saturating_sub(fault));
                    let end = demoted.unwrap_or_else(now_ms);
                    sample.both_active_ms = coverage(side, fault, end).1;
                    partition(first, false);
                }
                _ => {}
            }
        }
        Scenario::QuorumLoss => {
            let zk = side.zk();
            // Two followers or the leader and a follower: either way no quorum is left.
            zk.kill(0);
            zk.kill(1);
            std::thread::sleep(QUORUM_OUTAGE);
            let restarted = now_ms();
            let zk = side.zk();
            zk.restart(0);
            zk.restart(1);
            zk.wait_leader(Duration::from_secs(60));
            let demoted = first_not_active_since(side, first, fault);
            sample.old_demoted_ms = demoted.map(|t| t.saturating_sub(fault));
            // Wait for an active RM after the restart (at once if one stayed active throughout).
            let back = wait_until_or(FAILOVER_DEADLINE, || {
                (0..2).find(|i| current(&side.states(*i)) == Some("active")).map(|_| now_ms())
            });
            let reactivated = (0..2).filter_map(|i| first_active_since(side, i, fault)).min();
            sample.reactivated_ms = reactivated.map(|t| t.saturating_sub(restarted));
            if let Some(end) = back {
                let (none, both) = coverage(side, fault, end);
                sample.metric_ms = Some(none);
                sample.both_active_ms = both;
            }
        }
    }
    sample
}

fn wait_until_or<T>(deadline: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = probe() {
            return Some(v);
        }
        if start.elapsed() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---- rmfc ----

struct RmfcSide {
    c: Cluster,
}

impl Side for RmfcSide {
    fn states(&self, i: usize) -> Vec<(u64, String)> {
        self.c.rms[i]
            .events()
            .into_iter()
            .filter_map(|e| match e.kind {
                SimEventKind::State { to, .. } => Some((e.ts_ms, to)),
                _ => None,
            })
            .collect()
    }
    fn kill_rm(&mut self, i: usize) {
        self.c.rms[i].kill();
    }
    fn stop_rm(&self, i: usize) {
        self.c.rms[i].stop();
    }
    fn cont_rm(&self, i: usize) {
        self.c.rms[i].cont();
    }
    fn zk(&mut self) -> &mut ZkEnsemble {
        match &mut self.c.zk {
            Zk::Ensemble(e) => e,
            Zk::Standalone(_) => panic!("quorum scenario needs an ensemble"),
        }
    }
}

// ---- embedded elector ----

enum EmbeddedZk {
    Standalone(ZkServer),
    Ensemble(ZkEnsemble),
}

struct EmbeddedSide {
    zk: EmbeddedZk,
    rms: Vec<ElectorRm>,
}

impl EmbeddedSide {
    fn start(ensemble: Option<ZkEnsemble>, hosts: Option<&[NetHost]>) -> Self {
        let zk = match ensemble {
            Some(e) => EmbeddedZk::Ensemble(e),
            None => EmbeddedZk::Standalone(ZkServer::builder().tick_time(500).start()),
        };
        let connect = match &zk {
            EmbeddedZk::Standalone(z) => z.connect_string(),
            EmbeddedZk::Ensemble(z) => z.connect_string(),
        };
        let rms = (0..2)
            .map(|i| {
                let id = format!("rm{}", i + 1);
                match hosts {
                    Some(h) => ElectorRm::start_via(h[i].command("java"), &id, &connect, CLUSTER),
                    None => ElectorRm::start(&id, &connect, CLUSTER),
                }
            })
            .collect();
        EmbeddedSide { zk, rms }
    }
}

impl Side for EmbeddedSide {
    fn states(&self, i: usize) -> Vec<(u64, String)> {
        self.rms[i].states()
    }
    fn kill_rm(&mut self, i: usize) {
        self.rms[i].kill();
    }
    fn stop_rm(&self, i: usize) {
        self.rms[i].stop();
    }
    fn cont_rm(&self, i: usize) {
        self.rms[i].cont();
    }
    fn zk(&mut self) -> &mut ZkEnsemble {
        match &mut self.zk {
            EmbeddedZk::Ensemble(e) => e,
            EmbeddedZk::Standalone(_) => panic!("quorum scenario needs an ensemble"),
        }
    }
}

// ---- one run per side ----

/// Five hosts for a partition run: two RM hosts and three ZooKeeper hosts.
struct Hosts {
    rms: Vec<NetHost>,
    zk: Vec<NetHost>,
}

fn make_hosts(lab: &mut NetLab, tag: &str) -> Hosts {
    let mk = |lab: &mut NetLab, n: String| lab.add_host(&n).unwrap_or_else(|e| panic!("netns host {n}: {e}"));
    Hosts {
        rms: (1..=2).map(|i| mk(lab, format!("{tag}r{i}"))).collect(),
        zk: (1..=3).map(|i| mk(lab, format!("{tag}z{i}"))).collect(),
    }
}

fn host_of(h: &NetHost) -> Host {
    Host { ip: h.ip(), netns: Some(h.netns().to_string()) }
}

fn cut(hosts: &mut Hosts, i: usize, on: bool) {
    let zk_ips: Vec<_> = hosts.zk.iter().map(NetHost::ip).collect();
    if on {
        hosts.rms[i].cut_from(&zk_ips);
    } else {
        hosts.rms[i].heal();
    }
}

fn run_rmfc(s: Scenario, lab: &mut Option<NetLab>, tag: &str) -> Sample {
    let mut hosts = (s == Scenario::Partition).then(|| make_hosts(lab.as_mut().expect("lab"), tag));
    let placement = hosts
        .as_ref()
        .map(|h| Placement { rms: h.rms.iter().map(host_of).collect(), zk: h.zk.iter().map(host_of).collect() });
    let ensemble = matches!(s, Scenario::Partition | Scenario::QuorumLoss);
    let c = Cluster::start(ClusterOptions { rms: 2, default_timings: true, ensemble, placement, ..Default::default() });
    let mut side = RmfcSide { c };
    let mut part = |i: usize, on: bool| cut(hosts.as_mut().expect("hosts"), i, on);
    let sample = run_fault(s, &mut side, &mut part);
    drop(side);
    drop(hosts);
    sample
}

fn run_embedded(s: Scenario, lab: &mut Option<NetLab>, tag: &str) -> Sample {
    let mut hosts = (s == Scenario::Partition).then(|| make_hosts(lab.as_mut().expect("lab"), tag));
    let ensemble = match (&hosts, s) {
        (Some(h), _) => {
            Some(ZkEnsemble::builder().tick_time(500).hosts(h.zk.iter().map(host_of).collect()).start_ensemble(3))
        }
        (None, Scenario::QuorumLoss) => Some(ZkEnsemble::builder().tick_time(500).start_ensemble(3)),
        _ => None,
    };
    let mut side = EmbeddedSide::start(ensemble, hosts.as_ref().map(|h| h.rms.as_slice()));
    let mut part = |i: usize, on: bool| cut(hosts.as_mut().expect("hosts"), i, on);
    let sample = run_fault(s, &mut side, &mut part);
    drop(side);
    drop(hosts);
    sample
}

// ---- report ----

fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn secs(ms: Option<u64>) -> String {
    ms.map(|m| format!("{:.2}s", m as f64 / 1000.0)).unwrap_or_else(|| "-".into())
}

struct Summary {
    p50: Option<u64>,
    p99: Option<u64>,
    failed: usize,
    what: String,
}

fn summarize(s: Scenario, samples: &[Sample], embedded: bool) -> Summary {
    let mut m: Vec<u64> = samples.iter().filter_map(|x| x.metric_ms).collect();
    m.sort();
    let med = |f: &dyn Fn(&Sample) -> Option<u64>| {
        let mut v: Vec<u64> = samples.iter().filter_map(f).collect();
        v.sort();
        (percentile(&v, 50.0), v.len())
    };
    let (demoted, n_demoted) = med(&|x| x.old_demoted_ms);
    let (both, _) = med(&|x| Some(x.both_active_ms));
    let n = samples.len();
    let what = match (s, embedded) {
        (Scenario::Crash, false) => {
            "controllers saw the RM gone; standby's controller won the lock and promoted".into()
        }
        (Scenario::Crash, true) => "dead RM's ZK session expired (<=10s); standby's elector took the lock".into(),
        (Scenario::Hang, _) => format!(
            "{}; after SIGCONT old active demoted in {} ({n_demoted}/{n}); both active p50 {}",
            if embedded { "frozen elector's session expired" } else { "probes missed, controller fenced" },
            secs(demoted),
            secs(both)
        ),
        (Scenario::Partition, _) => {
            format!("old active demoted at +{} ({n_demoted}/{n}); both active p50 {}", secs(demoted), secs(both))
        }
        (Scenario::QuorumLoss, _) => {
            let (re, _) = med(&|x| x.reactivated_ms);
            format!(
                "active demoted at +{} ({n_demoted}/{n}); active again {} after restart; both active p50 {}",
                secs(demoted),
                secs(re),
                secs(both)
            )
        }
    };
    Summary { p50: percentile(&m, 50.0), p99: percentile(&m, 99.0), failed: n - m.len(), what }
}

/// A run that panicked (e.g. a process did not start) counts as "no failover" instead of
/// ending the benchmark; the panic message is on stderr.
fn guarded(run: impl FnOnce() -> Sample) -> Sample {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).unwrap_or_default()
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

fn mib(kb: u64) -> String {
    format!("{:.1} MiB", kb as f64 / 1024.0)
}

/// RSS of an idle JVM with the stand-in's flags: what the elector adds to an RM is the
/// stand-in's RSS minus this.
fn idle_jvm_rss_kb() -> u64 {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("Idle.java"),
        "public class Idle { public static void main(String[] a) throws Exception { \
         System.out.println(\"up\"); System.out.flush(); while (System.in.read() != -1) {} } }",
    )
    .expect("write Idle.java");
    let ok = Command::new("javac").arg("-d").arg(dir.path()).arg(dir.path().join("Idle.java")).status();
    assert!(ok.is_ok_and(|s| s.success()), "javac Idle.java failed");
    let mut child = Command::new("java")
        .args(["-Xmx256m", "-XX:+UseSerialGC", "-cp"])
        .arg(dir.path())
        .arg("Idle")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("java Idle");
    let mut line = String::new();
    let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().expect("stdout")), &mut line);
    std::thread::sleep(Duration::from_secs(5));
    let rss = rss_kb(child.id());
    let _ = child.kill();
    let _ = child.wait();
    rss
}

fn main() {
    let runs: usize = std::env::var("RMFC_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let only: Option<String> = std::env::var("RMFC_BENCH_SCENARIOS").ok();
    println!(
        "rmfc vs YARN's embedded elector (Hadoop 3.5.0 ActiveStandbyElector): {runs} runs per scenario and side, 2 RMs"
    );
    println!("rmfc: default configuration (session 10s, probe every 1s, 3s timeout, hung after 3 misses)");
    println!(
        "embedded: YARN defaults (yarn.resourcemanager.zk-timeout-ms 10000, 3 ZK op retries); ZooKeeper tickTime 500ms"
    );
    println!();

    println!(
        "{:<44} {:>15} {:>15} {:>7}   what each side did (medians)",
        "scenario", "rmfc p50/p99", "embedded p50/p99", "ratio"
    );
    let mut lab: Option<NetLab> = None;
    let scenarios = [Scenario::Crash, Scenario::Hang, Scenario::QuorumLoss, Scenario::Partition];
    for (si, s) in scenarios.into_iter().enumerate() {
        if only.as_deref().is_some_and(|o| !o.split(',').any(|x| x == si.to_string())) {
            continue;
        }
        if s == Scenario::Partition && lab.is_none() {
            // Another test run may hold the lab's lock for a while; wait for it, then give up
            // on this scenario only (RMFC_BENCH_LAB_WAIT seconds, default 1800).
            let wait = std::env::var("RMFC_BENCH_LAB_WAIT").ok().and_then(|v| v.parse().ok()).unwrap_or(1800);
            lab = wait_until_or(Duration::from_secs(wait), || match NetLab::create() {
                Ok(l) => Some(l),
                Err(e) => {
                    eprintln!("elector_compare: netns lab not available yet: {e}");
                    std::thread::sleep(Duration::from_secs(5));
                    None
                }
            });
            if lab.is_none() {
                println!("{:<44} skipped: the network-namespace lab stayed busy for {wait}s", s.name());
                continue;
            }
        }
        let mut r = Vec::new();
        let mut e = Vec::new();
        for run in 0..runs {
            r.push(guarded(|| run_rmfc(s, &mut lab, &format!("f{run}"))));
            e.push(guarded(|| run_embedded(s, &mut lab, &format!("e{run}"))));
            eprintln!(
                "elector_compare: {} run {}: rmfc {} embedded {}",
                s.name(),
                run + 1,
                secs(r.last().and_then(|x| x.metric_ms)),
                secs(e.last().and_then(|x| x.metric_ms))
            );
        }
        // Each row as soon as its scenario is done, so a later failure loses nothing.
        let (r, e) = (summarize(s, &r, false), summarize(s, &e, true));
        let ratio = match (r.p50, e.p50) {
            (Some(a), Some(b)) if b > 0 => format!("{:.2}", a as f64 / b as f64),
            _ => "-".into(),
        };
        let pp = |x: &Summary| {
            let fail = if x.failed > 0 { format!(" ({} none)", x.failed) } else { String::new() };
            format!("{}/{}{fail}", secs(x.p50), secs(x.p99))
        };
        println!("{:<44} {:>15} {:>15} {:>7}   rmfc: {}", s.name(), pp(&r), pp(&e), ratio, r.what);
        println!("{:<44} {:>15} {:>15} {:>7}   embedded: {}", "", "", "", "", e.what);
    }
    println!("(ratio = rmfc p50 / embedded p50; below 1 means rmfc is faster)");

    // Memory in steady state: an rmfc controller vs the stand-in JVM.
    let c = Cluster::start(ClusterOptions { rms: 2, default_timings: true, ..Default::default() });
    let active = c.wait_one_active(FAILOVER_DEADLINE, None);
    let side = EmbeddedSide::start(None, None);
    let emb_active = wait_first_active(&side);
    std::thread::sleep(Duration::from_secs(15));
    println!();
    for (i, p) in c.controllers.iter().enumerate() {
        if let Some(p) = p {
            let role = if i == active { "leader" } else { "follower" };
            println!("steady state RSS, rmfc controller rm{} ({role}): {}", i + 1, mib(rss_kb(p.pid)));
        }
    }
    for (i, rm) in side.rms.iter().enumerate() {
        let role = if i == emb_active { "active" } else { "standby" };
        println!(
            "steady state RSS, EmbeddedElectorRm JVM rm{} ({role}): {} (whole JVM, -Xmx256m SerialGC: Hadoop client + elector + ZooKeeper client, no RM services)",
            i + 1,
            mib(rss_kb(rm.pid))
        );
    }
    drop(side);
    drop(c);
    println!(
        "steady state RSS, idle JVM with the same flags: {} (the elector's added cost inside an RM is roughly the difference)",
        mib(idle_jvm_rss_kb())
    );
}
