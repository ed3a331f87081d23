//! The report: percentiles, each scenario's summary line, and RSS.

use super::*;

// ---- report ----

/// The percentile, `None` without samples.
pub(super) fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    (!sorted.is_empty()).then(|| support::stats::percentile(sorted, p))
}

pub(super) fn secs(ms: Option<u64>) -> String {
    ms.map(|m| format!("{:.2}s", m as f64 / 1000.0)).unwrap_or_else(|| "-".into())
}

pub(super) struct Summary {
    pub(super) p50: Option<u64>,
    pub(super) p99: Option<u64>,
    pub(super) failed: usize,
    pub(super) what: String,
}

pub(super) fn summarize(s: Scenario, samples: &[Sample], embedded: bool) -> Summary {
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

pub(super) fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

pub(super) fn mib(kb: u64) -> String {
    format!("{:.1} MiB", kb as f64 / 1024.0)
}

/// RSS of an idle JVM with the stand-in's flags: what the elector adds to an RM is the
/// stand-in's RSS minus this.
pub(super) fn idle_jvm_rss_kb() -> u64 {
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
