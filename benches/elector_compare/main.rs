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

#[path = "../../tests/support/mod.rs"]
mod support;

mod measure;
mod report;
mod sides;

use measure::wait_first_active;
use report::{idle_jvm_rss_kb, mib, rss_kb, secs, summarize, Summary};
use sides::{run_embedded, run_rmfc, EmbeddedSide};

use std::process::{Command, Stdio};
use std::time::Duration;

use rmfc::sim::events::{now_ms, SimEventKind};
use support::cluster::{Cluster, ClusterOptions, Placement, Zk};
use support::hadoop::ElectorRm;
use support::netns::{NetHost, NetLab};
use support::wait::{poll_until, wait_for};
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

/// A run that panicked (e.g. a process did not start) counts as "no failover" instead of
/// ending the benchmark; the panic message is on stderr.
fn guarded(run: impl FnOnce() -> Sample) -> Sample {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).unwrap_or_default()
}

fn main() {
    let runs: usize = std::env::var("RMFC_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let only: Option<String> = std::env::var("RMFC_BENCH_SCENARIOS").ok();
    // Peers first, outside the runs' catch_unwind: a missing JDK, Hadoop jar or ZooKeeper must
    // stop the benchmark with its install hint, not show up as rows of "none".
    support::hadoop::classes_dir();
    drop(ZkServer::start());
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
            lab = poll_until(Duration::from_secs(wait), || match NetLab::create() {
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
