//! Failover benchmark: runs each fault scenario N times on a fresh local cluster (real
//! ZooKeeper, two `rmfc sim-rm`, two `rmfc run` with the DEFAULT configuration) and prints, per
//! scenario, the failover time p50/p99/max (from the fault to the new RM reporting ACTIVE, read
//! from the simulated RMs' journals) and the controllers' own share (failover time minus
//! detection, where detection is the first controller reaction logged after the fault), then the
//! daemon's steady-state RSS and CPU.
//!
//! `cargo bench --bench failover` (RMFC_BENCH_RUNS=N, default 5). Needs what `.ci/setup` installs.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use rmfc::sim::events::{now_ms, SimEventKind};
use support::cluster::{Cluster, ClusterOptions};

const DEADLINE: Duration = Duration::from_secs(120);

#[derive(Clone, Copy)]
enum Scenario {
    RmKill,
    RmHang,
    ControllerKill,
    LeaderSessionExpiry,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::RmKill => "RM process killed (kill -9)",
            Scenario::RmHang => "RM hung (SIGSTOP)",
            Scenario::ControllerKill => "active's controller killed (kill -9)",
            Scenario::LeaderSessionExpiry => "leader's ZooKeeper session expires (controller SIGSTOP)",
        }
    }
}

/// Milliseconds since the Unix epoch of an RFC 3339 UTC timestamp ("2026-11-24T16:28:30.057794Z").
fn rfc3339_ms(s: &str) -> Option<u64> {
    let (date, time) = s.trim_end_matches('Z').split_once('T')?;
    let mut d = date.split('-').map(|x| x.parse::<i64>());
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let mut t = time.split(':');
    let (h, min) = (t.next()?.parse::<i64>().ok()?, t.next()?.parse::<i64>().ok()?);
    let sec: f64 = t.next()?.parse().ok()?;
    // Days from civil (Howard Hinnant).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some(((days * 86400 + h * 3600 + min * 60) * 1000 + (sec * 1000.0) as i64) as u64)
}

/// The first controller reaction (an announcement) logged at or after `since_ms`.
fn detection_ms(c: &Cluster, since_ms: u64) -> Option<u64> {
    (0..c.rms.len())
        .flat_map(|i| c.controller_log(i).lines().map(str::to_string).collect::<Vec<_>>())
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(&l).ok())
        .filter(|v| v["fields"]["kind"].is_string())
        .filter_map(|v| rfc3339_ms(v["timestamp"].as_str()?))
        .filter(|t| *t >= since_ms)
        .min()
}

fn run_once(s: Scenario) -> (u64, Option<u64>) {
    let mut c = Cluster::start(ClusterOptions { rms: 2, default_timings: true, json_logs: true, ..Default::default() });
    let first = c.wait_one_active(DEADLINE, None);
    // Let the standby's controller settle (joined, probing) before the fault.
    std::thread::sleep(Duration::from_secs(3));
    let fault_ms = now_ms();
    match s {
        Scenario::RmKill => c.rms[first].kill(),
        Scenario::RmHang => c.rms[first].stop(),
        Scenario::ControllerKill => c.kill_controller(first),
        Scenario::LeaderSessionExpiry => c.controller_signal(first, "STOP"),
    }
    let second = c.wait_one_active(DEADLINE, Some(first));
    let active_ms = c.rms[second]
        .events()
        .iter()
        .filter(|e| e.ts_ms >= fault_ms && matches!(&e.kind, SimEventKind::State { to, .. } if to == "active"))
        .map(|e| e.ts_ms)
        .min()
        .expect("the new active journaled its promotion");
    match s {
        Scenario::RmHang => c.rms[first].cont(),
        Scenario::LeaderSessionExpiry => c.controller_signal(first, "CONT"),
        _ => {}
    }
    c.assert_no_split_brain();
    let detect = detection_ms(&c, fault_ms);
    (active_ms - fault_ms, detect.map(|d| active_ms.saturating_sub(d)))
}

use support::stats::percentile;

fn fmt_s(ms: u64) -> String {
    format!("{:.2}s", ms as f64 / 1000.0)
}

fn proc_stat(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss_kb = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit_once(") ").map(|(_, r)| r.split_whitespace().collect()).unwrap_or_default();
    // utime and stime are fields 14 and 15 of stat; index 11 and 12 after the command name.
    let ticks = fields.get(11).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0)
        + fields.get(12).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    (rss_kb, ticks)
}

fn main() {
    let runs: usize = std::env::var("RMFC_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    println!("rmfc failover benchmark: {runs} runs per scenario, 2 RMs, default configuration (session 10s, probes every 1s with a 3s timeout, hung after 3 misses)");
    println!();
    println!("{:<58} {:>8} {:>8} {:>8}   {:>22}", "scenario", "p50", "p99", "max", "controller share p50/max");
    for s in [Scenario::RmKill, Scenario::RmHang, Scenario::ControllerKill, Scenario::LeaderSessionExpiry] {
        let mut total = Vec::new();
        let mut share = Vec::new();
        for _ in 0..runs {
            let (t, c) = run_once(s);
            total.push(t);
            share.extend(c);
        }
        total.sort();
        share.sort();
        println!(
            "{:<58} {:>8} {:>8} {:>8}   {:>10} / {:>9}",
            s.name(),
            fmt_s(percentile(&total, 50.0)),
            fmt_s(percentile(&total, 99.0)),
            fmt_s(*total.last().unwrap_or(&0)),
            fmt_s(percentile(&share, 50.0)),
            fmt_s(*share.last().unwrap_or(&0)),
        );
    }

    let c = Cluster::start(ClusterOptions { rms: 2, default_timings: true, ..Default::default() });
    let active = c.wait_one_active(DEADLINE, None);
    std::thread::sleep(Duration::from_secs(5));
    let window = Duration::from_secs(20);
    let pids: Vec<u32> = c.controllers.iter().flatten().map(|p| p.pid).collect();
    let before: Vec<(u64, u64)> = pids.iter().map(|p| proc_stat(*p)).collect();
    let started = Instant::now();
    std::thread::sleep(window);
    let elapsed = started.elapsed().as_secs_f64();
    println!();
    for (i, pid) in pids.iter().enumerate() {
        let (rss_kb, ticks) = proc_stat(*pid);
        let cpu = (ticks - before[i].1) as f64 / 100.0 / elapsed * 100.0;
        let role = if i == active { "leader, RM active" } else { "follower" };
        println!(
            "steady state, controller rm{} ({role}): RSS {:.1} MiB, CPU {cpu:.2}% of one core",
            i + 1,
            rss_kb as f64 / 1024.0
        );
    }
}
