//! `rmfc check-config -c FILE [--yarn-site FILE]`: loads and validates a config file, prints what
//! it describes, the timing budget its settings imply and every warning. With `--yarn-site`, it
//! also checks the RMs' yarn-site.xml against the config and prints each finding after the
//! budget as `yarn-site: error|warning|note: ...`. Exit 0 when the file is valid (warnings and
//! notes included), 1 when it is not (every problem on stderr as `path: reason`) or when the
//! yarn-site check found an error.
//!
//! Owns: the command's output. Must not: contact ZooKeeper or an RM (it may run on a workstation),
//! or decide anything about validity itself (that is `crate::config`).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use humantime::format_duration as fmt;
use serde_json::{json, Value};

use crate::config::yarn_site::{self, Report, YarnSite};
use crate::config::{Config, ConfigError, TimingBudget, Warning, ZkAcl};

#[derive(Debug, Clone, clap::Args)]
pub struct CheckConfigArgs {
    /// The config file to check (YAML; see config.example.yaml).
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: PathBuf,
    /// Print the result as JSON on stdout instead of text (errors still go to stderr too).
    #[arg(long)]
    pub json: bool,
    /// The RMs' yarn-site.xml: checks their HA mode, RM ids and addresses, state store (and its
    /// ZooKeeper ACL), authentication (Kerberos: principal, protection) and access lists against
    /// the config. Repeat it for the other files, in Hadoop's order: core-site.xml first (it
    /// usually holds hadoop.security.* and hadoop.rpc.protection), hadoop-policy.xml last for the
    /// service ACLs (`--yarn-site core-site.xml --yarn-site yarn-site.xml`).
    #[arg(long = "yarn-site", value_name = "FILE")]
    pub yarn_site: Vec<PathBuf>,
}

/// The yarn-site check: a report, or why the files could not be read.
pub type YarnSiteOutcome = Result<Report, String>;

/// Reads the files and checks them against `cfg` (read from `cfg_file`).
pub fn check_yarn_site(paths: &[PathBuf], cfg: &Config, cfg_file: &str) -> YarnSiteOutcome {
    YarnSite::load(paths).map(|site| yarn_site::check(&site, cfg, cfg_file))
}

/// The number of errors in a yarn-site outcome (an unreadable file is one).
pub fn yarn_site_errors(outcome: &YarnSiteOutcome) -> usize {
    outcome.as_ref().map_or(1, Report::errors)
}

/// Runs the command; returns the process exit code.
pub fn run(args: CheckConfigArgs) -> i32 {
    let file = args.config.display().to_string();
    match Config::load(&args.config) {
        Err(e) => {
            eprintln!("rmfc check-config: {e}");
            if args.json {
                emit(&format!("{:#}\n", error_json(&file, &e)));
            }
            1
        }
        Ok(cfg) => {
            let mut warnings = cfg.lint();
            warnings.extend(cfg.check_files());
            let budget = cfg.timing_budget();
            let site = (!args.yarn_site.is_empty()).then(|| check_yarn_site(&args.yarn_site, &cfg, &file));
            let errors = site.as_ref().map_or(0, yarn_site_errors);
            if args.json {
                let mut v = summary_json(&file, &cfg, &budget, &warnings);
                if let Some(site) = &site {
                    v["yarn_site"] = yarn_site_json(&args.yarn_site, site);
                    for line in yarn_site_error_lines(site) {
                        eprintln!("rmfc check-config: {line}");
                    }
                }
                emit(&format!("{v:#}\n"));
            } else {
                let mut text = summary_text(&file, &cfg, &budget, &warnings);
                if let Some(site) = &site {
                    text.push_str(&yarn_site_text(&args.yarn_site, site));
                }
                emit(&text);
                if errors > 0 {
                    eprintln!(
                        "rmfc check-config: the RM settings do not fit {file}: {errors} error{} (the yarn-site: error: \
                         lines above)",
                        if errors == 1 { "" } else { "s" }
                    );
                }
            }
            if errors > 0 {
                1
            } else {
                0
            }
        }
    }
}

/// Writes to stdout; a closed pipe (`| head`) is not worth a panic.
fn emit(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// What rmfc's ZooKeeper sessions authenticate with: `digest`, `sasl gssapi`, ... or `none`.
fn zk_credentials(cfg: &Config) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(auth) = &cfg.zookeeper.auth {
        if auth.digest_file.is_some() {
            out.push("digest".to_string());
        }
        if let Some(sasl) = &auth.sasl {
            out.push(format!("sasl {}", sasl.mechanism()));
        }
    }
    if out.is_empty() {
        out.push("none".into());
    }
    out
}

/// The ACL rmfc's znodes get, as `zookeeper.acl` would spell it.
fn zk_acl(cfg: &Config) -> String {
    match &cfg.zookeeper.acl {
        Some(ZkAcl::Entries(entries)) => entries.iter().map(ToString::to_string).collect::<Vec<_>>().join(","),
        Some(ZkAcl::File(file)) => format!("@{}", file.display()),
        None if cfg.zookeeper.auth.is_some() => "auth::rwcda (default)".into(),
        None => "world:anyone:rwcda (default)".into(),
    }
}

/// The human-readable report of a valid config.
pub fn summary_text(file: &str, cfg: &Config, budget: &TimingBudget, warnings: &[Warning]) -> String {
    let mut out = String::new();
    let zk = &cfg.zookeeper;
    let _ = writeln!(out, "{file}: valid");
    let _ = writeln!(out, "cluster:   {} (znodes under {})", cfg.cluster_id, cfg.cluster_znode());
    let _ = writeln!(out, "this RM:   {}", cfg.rm_id);
    let _ = writeln!(out, "RMs:");
    let width = cfg.resource_managers.keys().map(String::len).max().unwrap_or(0);
    for (id, rm) in &cfg.resource_managers {
        let this = if *id == cfg.rm_id { "  (this RM)" } else { "" };
        let _ = writeln!(out, "  {id:<width$}  admin {}  web {}{this}", rm.admin_address, rm.web_address);
    }
    let granted = if budget.effective_session_timeout == zk.session_timeout {
        String::new()
    } else {
        format!(" (the servers will grant {})", fmt(budget.effective_session_timeout))
    };
    let _ = writeln!(out, "ZooKeeper: {}  session {}{granted}", zk.connect, fmt(zk.session_timeout));
    let _ = writeln!(
        out,
        "           credentials {}, znode ACL {}, {}",
        zk_credentials(cfg).join(" + "),
        zk_acl(cfg),
        if zk.tls.is_some() { "TLS" } else { "plain TCP" }
    );
    let methods: Vec<&str> = cfg.fencing.methods.iter().map(|m| m.type_name()).collect();
    let _ = writeln!(
        out,
        "fencing:   graceful ({}), then {}",
        fmt(cfg.fencing.graceful_timeout),
        if methods.is_empty() { "nothing".to_string() } else { methods.join(", ") }
    );

    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Timing budget (worst cases; failover = detect + fence + transition.timeout {}):",
        fmt(budget.promotion_worst)
    );
    let rows: Vec<[String; 4]> = budget
        .kinds
        .iter()
        .map(|k| {
            [
                k.kind.describe().to_string(),
                fmt(k.detect).to_string(),
                fmt(k.fence).to_string(),
                fmt(k.failover).to_string(),
            ]
        })
        .collect();
    let header = ["failure", "detect", "fence", "failover"].map(str::to_string);
    let widths: Vec<usize> = (0..4)
        .map(|i| std::iter::once(&header).chain(&rows).map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row.iter().zip(&widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        let _ = writeln!(out, "  {}", line.join("  ").trim_end());
    }
    let _ = writeln!(
        out,
        "  self-fencing after losing ZooKeeper: {} (must stay under the session, {})",
        fmt(budget.self_fence_worst),
        fmt(budget.effective_session_timeout)
    );
    if let Some(verify) = budget.store_verify {
        let _ = writeln!(out, "  zk_state_store check after a promotion: up to {}", fmt(verify));
    }

    if !warnings.is_empty() {
        let _ = writeln!(out);
    }
    for w in warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}

fn files_text(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}

/// The yarn-site section of the text report: the mode, the RMs as the files describe them, then
/// one `yarn-site: SEVERITY: ...` line per finding.
pub fn yarn_site_text(paths: &[PathBuf], outcome: &YarnSiteOutcome) -> String {
    let mut out = String::new();
    let _ = writeln!(out);
    let _ = writeln!(out, "yarn-site.xml: {}", files_text(paths));
    match outcome {
        Err(e) => {
            let _ = writeln!(out, "yarn-site: error: {e}");
        }
        Ok(r) => {
            let _ = writeln!(out, "  mode: {}", r.mode.describe());
            let width = r.resource_managers.keys().map(String::len).max().unwrap_or(0);
            for (id, rm) in &r.resource_managers {
                let _ = writeln!(
                    out,
                    "  {id:<width$}  admin {}  web {}",
                    rm.admin_address.as_deref().unwrap_or("?"),
                    rm.web_address.as_deref().unwrap_or("?")
                );
            }
            if r.findings.is_empty() {
                let _ = writeln!(out, "  no findings: the RM settings fit this config");
            }
            for f in &r.findings {
                let _ = writeln!(out, "{f}");
            }
        }
    }
    out
}

/// The yarn-site check as JSON (the `yarn_site` key of `--json`).
pub fn yarn_site_json(paths: &[PathBuf], outcome: &YarnSiteOutcome) -> Value {
    let files: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    match outcome {
        Err(e) => json!({
            "files": files,
            "ok": false,
            "mode": null,
            "errors": 1,
            "warnings": 0,
            "findings": [{ "severity": "error", "message": e }],
        }),
        Ok(r) => {
            let rms: serde_json::Map<String, Value> = r
                .resource_managers
                .iter()
                .map(|(id, rm)| {
                    (id.clone(), json!({ "admin_address": rm.admin_address, "web_address": rm.web_address }))
                })
                .collect();
            json!({
                "files": files,
                "ok": r.errors() == 0,
                "mode": r.mode.name(),
                "rm_ids": r.rm_ids,
                "resource_managers": rms,
                "errors": r.errors(),
                "warnings": r.warnings(),
                "findings": r.findings.iter().map(|f| json!({ "severity": f.severity.name(), "message": f.message })).collect::<Vec<_>>(),
            })
        }
    }
}

/// The error findings as `yarn-site: error: ...` lines (for stderr).
fn yarn_site_error_lines(outcome: &YarnSiteOutcome) -> Vec<String> {
    match outcome {
        Err(e) => vec![format!("yarn-site: error: {e}")],
        Ok(r) => {
            r.findings.iter().filter(|f| f.severity == yarn_site::Severity::Error).map(ToString::to_string).collect()
        }
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The same report as JSON (durations in milliseconds).
pub fn summary_json(file: &str, cfg: &Config, budget: &TimingBudget, warnings: &[Warning]) -> Value {
    let rms: serde_json::Map<String, Value> = cfg
        .resource_managers
        .iter()
        .map(|(id, rm)| (id.clone(), json!({ "admin_address": rm.admin_address, "web_address": rm.web_address })))
        .collect();
    let kinds: Vec<Value> = budget
        .kinds
        .iter()
        .map(|k| {
            json!({
                "kind": k.kind.name(),
                "detect_ms": ms(k.detect),
                "fence_ms": ms(k.fence),
                "failover_ms": ms(k.failover),
            })
        })
        .collect();
    json!({
        "file": file,
        "valid": true,
        "cluster_id": cfg.cluster_id,
        "rm_id": cfg.rm_id,
        "cluster_znode": cfg.cluster_znode(),
        "resource_managers": rms,
        "zookeeper": {
            "connect": cfg.zookeeper.connect,
            "session_timeout_ms": ms(cfg.zookeeper.session_timeout),
            "credentials": zk_credentials(cfg),
            "acl": zk_acl(cfg),
            "tls": cfg.zookeeper.tls.is_some(),
        },
        "timing_budget": {
            "kinds": kinds,
            "fencing_worst_ms": ms(budget.fencing_worst),
            "promotion_worst_ms": ms(budget.promotion_worst),
            "failover_worst_ms": ms(budget.failover_worst),
            "effective_session_timeout_ms": ms(budget.effective_session_timeout),
            "self_fence_worst_ms": ms(budget.self_fence_worst),
            "store_verify_ms": budget.store_verify.map(ms),
        },
        "warnings": warnings.iter().map(|w| json!({ "key": w.key, "message": w.message })).collect::<Vec<_>>(),
    })
}

fn error_json(file: &str, e: &ConfigError) -> Value {
    let errors: Vec<Value> = match e {
        ConfigError::Read { source, .. } => {
            vec![json!({ "path": "(file)", "reason": format!("cannot read: {source}") })]
        }
        ConfigError::Invalid { problems, .. } => {
            problems.iter().map(|p| json!({ "path": p.path, "reason": p.reason })).collect()
        }
    };
    json!({ "file": file, "valid": false, "errors": errors })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../config.example.yaml");

    #[test]
    fn the_text_report_shows_the_cluster_and_one_budget_line_per_failure_kind() {
        let cfg = Config::from_yaml_str(EXAMPLE).unwrap();
        let warnings = vec![Warning { key: "a.b".into(), message: "look".into() }];
        let text = summary_text("x.yaml", &cfg, &cfg.timing_budget(), &warnings);
        for want in [
            "x.yaml: valid\n",
            "cluster:   yarn-prod (znodes under /rmfc/yarn-prod)\n",
            "this RM:   rm1\n",
            "  rm1  admin rm1.example.com:8033  web http://rm1.example.com:8088  (this RM)\n",
            "  rm2  admin rm2.example.com:8033  web http://rm2.example.com:8088\n",
            "           credentials none, znode ACL world:anyone:rwcda (default), plain TCP\n",
            "fencing:   graceful (5s), then zk_state_store\n",
            "Timing budget (worst cases; failover = detect + fence + transition.timeout 1m):\n",
            "  failure          detect  fence  failover\n",
            "  RM process dead  4s      0s     1m 4s\n",
            "  RM hung          12s     5s     1m 17s\n",
            "  RM unhealthy     4s      5s     1m 9s\n",
            "  controller lost  13s     5s     1m 18s\n",
            "  self-fencing after losing ZooKeeper: 9s 500ms",
            "\nwarning: a.b: look\n",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
    }

    #[test]
    fn the_json_report_carries_the_budget_in_milliseconds() {
        let cfg = Config::from_yaml_str(EXAMPLE).unwrap();
        let v = summary_json("x.yaml", &cfg, &cfg.timing_budget(), &[]);
        assert_eq!(v["valid"], true);
        assert_eq!(v["timing_budget"]["kinds"][1]["kind"], "hung_rm");
        assert_eq!(v["timing_budget"]["kinds"][1]["detect_ms"], 12_000);
        assert_eq!(v["timing_budget"]["failover_worst_ms"], 78_000);
        assert_eq!(v["resource_managers"]["rm2"]["admin_address"], "rm2.example.com:8033");
        assert_eq!(v["zookeeper"]["credentials"], json!(["none"]));
        assert_eq!(v["zookeeper"]["acl"], "world:anyone:rwcda (default)");
        let secured = Config::from_yaml_str(&EXAMPLE.replace(
            "  server_tick_time: 2s\n",
            "  server_tick_time: 2s\n  auth: { digest_file: /d }\n  tls: { ca_file: /ca.pem }\n",
        ))
        .unwrap();
        let v = summary_json("x.yaml", &secured, &secured.timing_budget(), &[]);
        assert_eq!(
            (v["zookeeper"]["acl"].as_str(), v["zookeeper"]["tls"].as_bool()),
            (Some("auth::rwcda (default)"), Some(true))
        );
    }
}
