//! Warnings about a valid config: settings that contradict each other (health detection slower
//! than a lost controller's, a session timeout ZooKeeper will clamp, self-fencing that cannot
//! finish before the session expires) or that invite trouble (promoting unfenced, an open admin
//! port). And, for `check-config` only, a look at the files the config names.
//!
//! Owns: the judgment of what deserves a warning; each one names a key and says what to do.
//! Must not: refuse a config (warnings never fail a start-up), or warn about defaults.

use std::path::Path;

use humantime::format_duration as fmt;

use super::budget::{DISCONNECT_DETECT_DEN, DISCONNECT_DETECT_NUM};
use super::{Config, FenceMethod};

/// Something an operator should look at: the key's path and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub key: String,
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

pub(super) fn warn(out: &mut Vec<Warning>, key: impl Into<String>, message: impl Into<String>) {
    out.push(Warning { key: key.into(), message: message.into() });
}

pub(super) fn lint(cfg: &Config) -> Vec<Warning> {
    let mut out = Vec::new();
    let b = cfg.timing_budget();
    let zk = &cfg.zookeeper;
    let h = &cfg.health;
    let session = b.effective_session_timeout;

    // Health detection should not be the slowest path: ZooKeeper session expiry (a lost
    // controller) is the detector of last resort, an RM's own health checks must beat it.
    let probe = format!("{} + {}", fmt(h.interval), fmt(h.timeout));
    for (key, count, detect, what) in [
        ("health.hung_after", h.hung_after, b.hung_rm, "a hung RM"),
        ("health.unhealthy_after", h.unhealthy_after, b.unhealthy_rm, "an unhealthy RM"),
    ] {
        if detect > b.lost_controller {
            warn(
                &mut out,
                key,
                format!(
                    "{what} is detected only after up to {} ({count} × ({probe})), later than a lost controller's \
                     session expires ({}); lower {key}, health.timeout or health.interval",
                    fmt(detect),
                    fmt(b.lost_controller),
                ),
            );
        }
    }

    let (min, max) = (zk.server_tick_time * 2, zk.server_tick_time * 20);
    if zk.session_timeout < min || zk.session_timeout > max {
        let (side, factor) = if zk.session_timeout < min { ("below", 2) } else { ("above", 20) };
        warn(
            &mut out,
            "zookeeper.session_timeout",
            format!(
                "{} is {side} {factor} × zookeeper.server_tick_time ({}): ZooKeeper will clamp it to {} (unless \
                 its servers set {}SessionTimeout); the timing budget uses {}",
                fmt(zk.session_timeout),
                fmt(zk.server_tick_time * factor),
                fmt(session),
                if factor == 2 { "min" } else { "max" },
                fmt(session),
            ),
        );
    }

    // Safety rule 2: the local RM must be demoted before the server can expire the session.
    if b.self_fence_worst > session {
        warn(
            &mut out,
            "fencing.graceful_timeout",
            format!(
                "self-fencing may not finish before the ZooKeeper session expires: the client notices the lost \
                 connection up to {} in (0.{:02} × {}), then demoting the local RM may take {} more = {} > {}; a \
                 peer could promote its RM while this one is still active; lower fencing.graceful_timeout or \
                 raise zookeeper.session_timeout",
                fmt(session * DISCONNECT_DETECT_NUM / DISCONNECT_DETECT_DEN),
                DISCONNECT_DETECT_NUM * 100 / DISCONNECT_DETECT_DEN,
                fmt(session),
                fmt(cfg.fencing.graceful_timeout),
                fmt(b.self_fence_worst),
                fmt(session),
            ),
        );
    }

    if h.timeout >= session {
        warn(
            &mut out,
            "health.timeout",
            format!(
                "{} is not shorter than the ZooKeeper session timeout ({}): one probe may outlast a whole session; \
                 an RM that slow should count as hung long before that",
                fmt(h.timeout),
                fmt(session)
            ),
        );
    }

    fencing(cfg, &mut out);

    let f = &cfg.failover;
    if f.budget > 1 && !f.cooldown.is_zero() && f.cooldown * (f.budget - 1) >= f.window {
        let fit = (f.window.as_nanos().saturating_sub(1) / f.cooldown.as_nanos()) + 1;
        warn(
            &mut out,
            "failover.cooldown",
            format!(
                "with a cooldown of {} at most {fit} failover(s) fit in the {} window, so failover.budget ({}) is \
                 never reached",
                fmt(f.cooldown),
                fmt(f.window),
                f.budget
            ),
        );
    }

    if !cfg.admin.listen.ip().is_loopback() && cfg.admin.token_file.is_none() {
        warn(
            &mut out,
            "admin.listen",
            format!(
                "{} is reachable from other hosts and admin.token_file is not set: anyone who can reach it could \
                 switch over or pause failover; set admin.token_file or listen on 127.0.0.1",
                cfg.admin.listen
            ),
        );
    } else if !cfg.admin.listen.ip().is_loopback() && cfg.admin.tls.is_none() {
        warn(
            &mut out,
            "admin.listen",
            format!(
                "{} is reachable from other hosts without TLS: the bearer token crosses the network in clear; set \
                 admin.tls_cert_file and admin.tls_key_file",
                cfg.admin.listen
            ),
        );
    }
    super::security_lint::lint(cfg, &mut out);
    super::zk_lint::lint(cfg, &mut out);
    out
}

fn fencing(cfg: &Config, out: &mut Vec<Warning>) {
    let fencing = &cfg.fencing;
    if fencing.promote_unfenced {
        warn(
            out,
            "fencing.promote_unfenced",
            "UNSAFE: true means an RM is promoted even when the old active could not be confirmed standby or \
             fenced, so two RMs may be active at once (safety rule 1 is off by the operator's choice)",
        );
    } else if fencing.methods.is_empty() {
        warn(
            out,
            "fencing.methods",
            "empty: only graceful fencing (transitionToStandby) is tried, which a hung RM or an unreachable host \
             never answers, so failing over from them stops until an operator acts; keep the default \
             zk_state_store method or add a shell or http method",
        );
    }
    // The chain stops at the first method that succeeds, and zk_state_store succeeds as soon as
    // it applies (the store fences the old active when the new one activates).
    if let Some(store) = fencing.methods.iter().position(|m| matches!(m, FenceMethod::ZkStateStore { .. })) {
        for (i, m) in fencing.methods.iter().enumerate().skip(store + 1) {
            warn(
                out,
                format!("fencing.methods[{i}]"),
                format!(
                    "this {} method runs only when fencing.methods[{store}] (zk_state_store) fails, which counts as \
                     fenced whenever the store is in use; list it first if it must always run",
                    m.type_name()
                ),
            );
        }
    }
}

/// Looks at the files the config names. Warnings, not errors: `check-config` may run on another
/// host than the daemon. Secrets are never printed.
pub(super) fn check_files(cfg: &Config) -> Vec<Warning> {
    let mut out = Vec::new();
    super::zk_lint::check_files(cfg, &mut out);
    if let Some(token) = &cfg.admin.token_file {
        let key = "admin.token_file";
        if secret_file(&mut out, key, token).is_some_and(|t| t.trim().is_empty()) {
            warn(&mut out, key, format!("{}: is empty", token.display()));
        }
    }
    if let Some(tls) = &cfg.admin.tls {
        // A private key is a secret like the token (its loading is checked just below).
        if world_readable(&tls.key_file) {
            let msg = format!("{}: is readable by every user; chmod o-rwx it", tls.key_file.display());
            warn(&mut out, "admin.tls_key_file", msg);
        }
        if let Err(e) = crate::admin::tls::server_config(tls) {
            let key = e.split(':').next().unwrap_or("admin.tls_cert_file").to_string();
            warn(&mut out, key.clone(), e.trim_start_matches(&format!("{key}: ")).to_string());
        }
    }
    for (i, m) in cfg.fencing.methods.iter().enumerate() {
        let FenceMethod::Shell { command, .. } = m else { continue };
        let Some(program) = command.split_whitespace().next().filter(|p| p.starts_with('/')) else { continue };
        let key = format!("fencing.methods[{i}].command");
        match std::fs::metadata(program) {
            Err(e) => warn(&mut out, key, format!("{program}: {e}")),
            Ok(meta) if !is_executable(&meta) => warn(&mut out, key, format!("{program}: is not executable")),
            Ok(_) => {}
        }
    }
    super::security_lint::check_files(cfg, &mut out);
    out
}

/// Reads a secret file for checks; warns when it is missing, unreadable or readable by anyone.
pub(super) fn secret_file(out: &mut Vec<Warning>, key: &str, path: &Path) -> Option<String> {
    match std::fs::read_to_string(path) {
        Err(e) => {
            warn(out, key, format!("{}: {e} (the daemon needs to read it)", path.display()));
            None
        }
        Ok(text) => {
            if world_readable(path) {
                warn(out, key, format!("{}: is readable by every user; chmod o-rwx it", path.display()));
            }
            Some(text)
        }
    }
}

#[cfg(unix)]
pub(super) fn world_readable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o004 != 0)
}

#[cfg(not(unix))]
pub(super) fn world_readable(_: &Path) -> bool {
    false
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.is_file() && meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    meta.is_file()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::tests::minimal;

    fn s(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    fn keys(cfg: &Config) -> Vec<String> {
        cfg.lint().into_iter().map(|w| w.key).collect()
    }

    /// Each row: a change to the defaults, the one key warned about, and a phrase of the message.
    #[test]
    fn each_lint_fires_alone() {
        type Change = fn(&mut Config);
        let cases: &[(&str, Change, &str, &str)] = &[
            ("hung detection slower than a lost controller", |c| c.health.hung_after = 4, "health.hung_after", "a hung RM is detected only after up to 16s (4 × (1s + 3s)), later than a lost controller's session expires (13s)"),
            ("unhealthy detection slower than a lost controller", |c| c.health.unhealthy_after = 4, "health.unhealthy_after", "an unhealthy RM is detected only after up to 16s"),
            ("session below 2 ticks", |c| { c.zookeeper.session_timeout = s(15); c.zookeeper.server_tick_time = s(10) }, "zookeeper.session_timeout", "15s is below 2 × zookeeper.server_tick_time (20s): ZooKeeper will clamp it to 20s (unless its servers set minSessionTimeout)"),
            ("session above 20 ticks", |c| c.zookeeper.session_timeout = s(50), "zookeeper.session_timeout", "50s is above 20 × zookeeper.server_tick_time (40s): ZooKeeper will clamp it to 40s (unless its servers set maxSessionTimeout)"),
            ("self-fencing too slow", |c| c.fencing.graceful_timeout = s(6), "fencing.graceful_timeout", "up to 4s 500ms in (0.45 × 10s), then demoting the local RM may take 6s more = 10s 500ms > 10s"),
            ("probe timeout as long as the session", |c| { c.health.timeout = s(10); c.health.hung_after = 1; c.health.unhealthy_after = 1; c.health.interval = s(1) }, "health.timeout", "10s is not shorter than the ZooKeeper session timeout (10s)"),
            ("promote_unfenced", |c| c.fencing.promote_unfenced = true, "fencing.promote_unfenced", "UNSAFE"),
            ("graceful fencing only", |c| c.fencing.methods.clear(), "fencing.methods", "only graceful fencing"),
            ("open admin port", |c| c.admin.listen = "0.0.0.0:9123".parse().unwrap(), "admin.listen", "0.0.0.0:9123 is reachable from other hosts and admin.token_file is not set"),
            ("token in clear", |c| { c.admin.listen = "0.0.0.0:9123".parse().unwrap(); c.admin.token_file = Some("/t".into()); }, "admin.listen", "without TLS: the bearer token crosses the network in clear"),
            ("budget out of reach", |c| c.failover.cooldown = s(15 * 60), "failover.cooldown", "at most 2 failover(s) fit in the 30m window, so failover.budget (3) is never reached"),
            ("a method behind zk_state_store", |c| c.fencing.methods.push(FenceMethod::Shell { command: "x".into(), timeout: s(1) }), "fencing.methods[1]", "this shell method runs only when fencing.methods[0] (zk_state_store) fails"),
        ];
        for (name, change, key, phrase) in cases {
            let mut c = minimal();
            change(&mut c);
            let warnings = c.lint();
            assert_eq!(keys(&c), [*key], "{name}: {warnings:#?}");
            assert!(warnings[0].message.contains(phrase), "{name}:\n got: {}\nwant: {phrase}", warnings[0].message);
        }
    }

    #[test]
    fn quiet_on_good_settings() {
        let quiet: &[fn(&mut Config)] = &[
            |_| {},
            |c| c.zookeeper.session_timeout = s(20),
            |c| c.zookeeper.session_timeout = s(40),
            |c| c.fencing.graceful_timeout = Duration::from_millis(5500),
            |c| c.health.hung_after = 3,
            |c| c.failover.cooldown = Duration::ZERO,
            |c| c.failover.budget = 1,
            |c| c.admin.listen = "[::1]:9123".parse().unwrap(),
            |c| {
                c.admin.listen = "0.0.0.0:9123".parse().unwrap();
                c.admin.token_file = Some("/etc/rmfc/token".into());
                c.admin.tls = Some(crate::config::AdminTls {
                    cert_file: "/etc/rmfc/admin.pem".into(),
                    key_file: "/etc/rmfc/admin.key".into(),
                });
            },
            |c| c.fencing.methods.insert(0, FenceMethod::Shell { command: "x".into(), timeout: s(1) }),
            |c| c.fencing.methods = vec![FenceMethod::Http { url: "http://pdu".into(), timeout: s(1) }],
            |c| c.fencing.methods = vec![FenceMethod::ZkStateStore { path: "/other".into(), verify_timeout: s(1) }],
        ];
        for (i, change) in quiet.iter().enumerate() {
            let mut c = minimal();
            change(&mut c);
            assert!(c.lint().is_empty(), "case {i}: {:#?}", c.lint());
        }
    }

    #[test]
    fn the_budget_uses_the_clamped_session_for_self_fencing() {
        // Asking for 60s gets 40s from the servers: 0.45 × 40s + 20s = 38s fits, 0.45 × 60s + 20s
        // would too, but 0.45 × 40s + 25s = 43s > 40s does not.
        let mut c = minimal();
        c.zookeeper.session_timeout = s(60);
        c.fencing.graceful_timeout = s(25);
        assert_eq!(keys(&c), ["zookeeper.session_timeout", "fencing.graceful_timeout"]);
    }

    #[test]
    fn files_are_checked_without_printing_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let digest = dir.path().join("digest");
        std::fs::write(&digest, "rmfc-secret-password\n").unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "\n").unwrap();
        let script = dir.path().join("fence.sh");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&digest, std::fs::Permissions::from_mode(0o600)).unwrap();
            std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let mut c = minimal();
        c.zookeeper.auth = Some(crate::config::ZkAuth { digest_file: Some(digest), sasl: None });
        c.admin.token_file = Some(token);
        c.fencing.methods = vec![
            FenceMethod::Shell { command: format!("{} --now", script.display()), timeout: s(1) },
            FenceMethod::Shell { command: "/nonexistent/fence".into(), timeout: s(1) },
            FenceMethod::Shell { command: "fence-rm".into(), timeout: s(1) },
        ];
        let warnings = c.check_files();
        let text: Vec<String> = warnings.iter().map(ToString::to_string).collect();
        assert!(text.iter().all(|w| !w.contains("rmfc-secret-password")), "{text:#?}");
        let want = [
            ("zookeeper.auth.digest_file", "does not hold user:password"),
            #[cfg(unix)]
            ("admin.token_file", "readable by every user"),
            ("admin.token_file", "is empty"),
            #[cfg(unix)]
            ("fencing.methods[0].command", "is not executable"),
            ("fencing.methods[1].command", "No such file"),
        ];
        assert_eq!(warnings.len(), want.len(), "{text:#?}");
        for ((key, phrase), w) in want.iter().zip(&warnings) {
            assert_eq!(w.key, *key, "{text:#?}");
            assert!(w.message.contains(phrase), "{text:#?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_tls_key_readable_by_every_user_is_reported() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("admin.key");
        std::fs::write(&key, "not a key\n").unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut c = minimal();
        c.admin.tls = Some(crate::config::AdminTls { cert_file: dir.path().join("admin.pem"), key_file: key });
        let warnings = c.check_files();
        let text: Vec<String> = warnings.iter().map(ToString::to_string).collect();
        assert!(
            warnings.iter().any(|w| w.key == "admin.tls_key_file" && w.message.contains("readable by every user")),
            "{text:#?}"
        );
    }
}
