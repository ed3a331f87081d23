//! What the demo prints once the cluster runs: the processes, the URLs, the cluster's status
//! as a controller's admin API reports it, and what to try.

use std::time::Duration;

use clap::CommandFactory;
use serde_json::Value;

use super::{display_exe, now, say, Demo};

/// Processes, addresses, URLs and files.
pub(super) fn print_running(d: &Demo) {
    say!("\nRunning (everything on 127.0.0.1):");
    if let Some(zk) = &d.zk {
        say!("  {:<16} pid {:<8} {}", "ZooKeeper", zk.pid, d.zk_addr);
    }
    for (m, p) in d.members.iter().zip(&d.rms) {
        say!("  {:<16} pid {:<8} admin {}  web http://{}", p.name, p.pid, m.admin, m.web);
    }
    for (m, p) in d.members.iter().zip(&d.controllers) {
        say!("  {:<16} pid {:<8} admin API {}", p.name, p.pid, m.admin_url());
    }
    say!("  {:<16} pid {:<8} (stops all of the above if this demo is killed)", "watchdog", d.watchdog_pid);
    say!("\nAdmin API of each controller (any one answers for the whole cluster):");
    for m in &d.members {
        let u = m.admin_url();
        say!("  {}: {u}/v1/status  {u}/v1/history  {u}/metrics", m.id);
    }
    say!("RM web (REST):");
    for m in &d.members {
        say!("  {}: http://{}/ws/v1/cluster/info  http://{}/isActive", m.id, m.web, m.web);
    }
    say!(
        "Files in {}: zookeeper.log; per RM rmN.log and rmN.journal.jsonl (its state-store journal); \
         per controller controller-rmN.yaml and controller-rmN.log",
        d.dir.display()
    );
}

/// The cluster as the first controller's `GET /v1/status` shows it: through `rmfc status` when
/// this build has it (the operator's own view), else as a table of the JSON.
pub(super) async fn print_status(d: &Demo) {
    let Some(m) = d.members.first() else { return };
    let admin = m.admin_url();
    let url = format!("{admin}/v1/status");
    // Also waits until both controllers have reported their RM's health.
    let status = fetch_status(&url).await;
    if has_subcommand("status") {
        if let Some(text) = run_status_command(d, &admin).await {
            say!("\nCluster status ({} status --admin {admin}):", display_exe(&d.exe));
            for line in text.lines() {
                if line.trim().is_empty() {
                    say!("");
                } else {
                    say!("  {line}");
                }
            }
            return;
        }
    }
    say!("\nCluster status (GET {url}):");
    match status {
        Ok(v) => print_table(&v),
        Err(e) => say!("  (no answer: {e})"),
    }
}

/// The output of `rmfc status --admin URL`, `None` if it did not succeed in time.
async fn run_status_command(d: &Demo, admin: &str) -> Option<String> {
    let run = tokio::process::Command::new(&d.exe)
        .args(["status", "--admin", admin])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(10), run).await.ok()?.ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim_end().to_string())
}

async fn fetch_status(url: &str) -> anyhow::Result<Value> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?;
    let mut last = Err(anyhow::anyhow!("no answer"));
    // Right after the first promotion the API may not serve yet, and the controllers may not
    // have reported their RM's health yet: give them a few seconds.
    for _ in 0..20 {
        last = match client.get(url).send().await {
            Ok(r) if r.status().is_success() => Ok(r.json::<Value>().await?),
            Ok(r) => Err(anyhow::anyhow!("HTTP {}", r.status())),
            Err(e) => Err(e.into()),
        };
        if let Ok(v) = &last {
            let reported = v["rms"].as_array().is_some_and(|rms| rms.iter().all(|rm| !rm["health"].is_null()));
            if reported {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    last
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
        other => other.to_string(),
    }
}

fn print_table(v: &Value) {
    let rows: Vec<[String; 5]> = v["rms"]
        .as_array()
        .map(|rms| {
            rms.iter()
                .map(|rm| {
                    [
                        text(&rm["id"]),
                        text(&rm["ha_state"]),
                        text(&rm["health"]),
                        text(&rm["candidate"]),
                        text(&rm["leader"]),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    let header = ["RM", "HA STATE", "HEALTH", "CANDIDATE", "LEADER"].map(String::from);
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        say!("  {}", cells.join("  ").trim_end());
    }
    let worst = v["worst_case_failover_seconds"].as_f64().map(|s| format!("{s:.1}s")).unwrap_or_else(|| "-".into());
    say!(
        "  leader: {}  active RM: {}  epoch: {}  paused: {}  failover budget left: {}  worst-case failover: {worst}",
        text(&v["leader"]),
        text(&v["active_rm"]),
        text(&v["epoch"]),
        if v["paused"].is_null() { "no".to_string() } else { text(&v["paused"]["reason"]) },
        text(&v["failover_budget_remaining"]),
    );
    if let Some(problems) = v["problems"].as_array().filter(|p| !p.is_empty()) {
        for p in problems {
            say!("  problem: {}", text(p));
        }
    }
}

/// Whether this build's command line has `rmfc NAME`.
fn has_subcommand(name: &str) -> bool {
    crate::cli::Cli::command().get_subcommands().any(|c| c.get_name() == name)
}

/// How to try things, with the real pids and addresses.
pub(super) fn print_hints(d: &Demo, active: &str) {
    let rmfc = display_exe(&d.exe);
    let Some(i) = d.members.iter().position(|m| m.id == active) else { return };
    let (m, pid) = (&d.members[i], d.rms[i].pid);
    let other = d.members.iter().find(|o| o.id != active).map_or("rm2", |o| o.id);
    let admin = d.members[0].admin_url();
    say!("\n[{}] active RM: {active}", now());
    say!("\nTry it, from another terminal:");
    say!("  failover, RM crash:  kill -9 {pid}   ({active} is active; {other} takes over within a second or two)");
    say!(
        "  failover, RM hang:   kill -STOP {pid}   then later: kill -CONT {pid}   (found hung after ~5 s; {active} \
         comes back as standby)"
    );
    say!("  ask an RM:           {rmfc} rm-admin --address {} get-service-state", m.admin);
    operator(&rmfc, "cluster status", "status", "", &admin, format!("curl -s {admin}/v1/status"));
    operator(&rmfc, "promotion journal", "history", "", &admin, format!("curl -s {admin}/v1/history"));
    say!("  {:<20} curl -s {admin}/metrics | grep '^rmfc_'", "metrics:");
    let pause_curl = format!("curl -s -XPOST {admin}/v1/pause -d '{{\"reason\": \"maintenance\", \"for\": \"10m\"}}'");
    operator(&rmfc, "pause failover", "pause", "--reason \"maintenance\" --for 10m ", &admin, pause_curl);
    operator(&rmfc, "resume", "resume", "", &admin, format!("curl -s -XPOST {admin}/v1/resume"));
    let cli = format!("{rmfc} switchover --to {other} --reason \"demo\" --admin {admin}");
    say!("  {:<20} {cli}{}", "switchover:", later("switchover"));
    let controller_pid = d.controllers.get(i).map_or(0, |c| c.pid);
    say!("  controller failure:  kill -9 {controller_pid}   (the controller beside {active}; its session expires in 6 s)");
    say!("A killed process is not restarted (kill -STOP / -CONT can be repeated). Ctrl-C stops everything.");
    say!("\nWatching the active RM (every second):");
}

/// `"   (when available)"` when this build has no `rmfc NAME` yet.
fn later(name: &str) -> &'static str {
    if has_subcommand(name) {
        ""
    } else {
        "   (when available)"
    }
}

/// One operator command: `rmfc NAME ARGS--admin URL` (marked when this build lacks it) and the
/// same call with curl.
fn operator(rmfc: &str, label: &str, name: &str, args: &str, admin: &str, curl: String) {
    say!("  {:<20} {rmfc} {name} {args}--admin {admin}{}", format!("{label}:"), later(name));
    say!("  {:<20} {curl}", "");
}
