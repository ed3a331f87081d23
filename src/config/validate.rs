//! Pass 2 of loading: the mirror structs of `raw` into a [`Config`], defaults filled in from the
//! sections' `Default` impls. Every problem is collected with its key's full path and all of
//! them are returned together, so an operator fixes a file in one round.
//!
//! Owns: what counts as a valid value and each key's default. Must not: warn about combinations
//! that are merely unwise (that is `lint`), or do any I/O.

use std::collections::BTreeMap;
use std::time::Duration;

use super::raw::*;
use super::syntax;
use super::*;

/// Collects problems while building the config.
#[derive(Default)]
pub(super) struct Check {
    problems: Vec<Problem>,
}

impl Check {
    pub(super) fn fail(&mut self, path: impl Into<String>, reason: impl Into<String>) {
        self.problems.push(Problem { path: path.into(), reason: reason.into() });
    }

    /// A required string; `None` (and a problem) when missing or blank.
    pub(super) fn required(&mut self, path: &str, value: Option<String>) -> Option<String> {
        match value {
            Some(v) if !v.trim().is_empty() => Some(v.trim().to_string()),
            Some(_) => {
                self.fail(path, "must not be empty");
                None
            }
            None => {
                self.fail(path, "missing (required)");
                None
            }
        }
    }

    /// An optional string that must not be blank when given.
    pub(super) fn optional(&mut self, path: &str, value: Option<String>) -> Option<String> {
        match value {
            Some(v) if v.trim().is_empty() => {
                self.fail(path, "must not be empty (leave the key out instead)");
                None
            }
            v => v.map(|v| v.trim().to_string()),
        }
    }

    /// A duration, `default` when missing; zero is refused unless `zero_ok`.
    pub(super) fn duration(&mut self, path: &str, value: Option<String>, default: Duration, zero_ok: bool) -> Duration {
        let Some(text) = value else { return default };
        match syntax::duration(&text) {
            Ok(d) if d.is_zero() && !zero_ok => {
                self.fail(path, format!("{text:?} is zero; it must be longer"));
                default
            }
            Ok(d) => d,
            Err(why) => {
                self.fail(path, why);
                default
            }
        }
    }

    /// A count that must be at least 1, `default` when missing.
    pub(super) fn at_least_one(&mut self, path: &str, value: Option<u32>, default: u32, why_not_zero: &str) -> u32 {
        match value {
            Some(0) => {
                self.fail(path, format!("must be at least 1 ({why_not_zero})"));
                default
            }
            Some(n) => n,
            None => default,
        }
    }

    pub(super) fn check(&mut self, path: &str, result: Result<(), String>) {
        if let Err(why) = result {
            self.fail(path, why);
        }
    }

    /// A string required in one `context` (`type shell`, `mechanism: digest-md5`).
    pub(super) fn required_for(&mut self, path: &str, value: Option<String>, context: &str) -> Option<String> {
        match value {
            None => {
                self.fail(path, format!("missing (required for {context})"));
                None
            }
            v => self.required(path, v),
        }
    }
}

/// Turns the raw mirror into a config, or returns every problem found.
pub(super) fn validate(raw: RawConfig) -> Result<Config, Vec<Problem>> {
    let mut c = Check::default();

    let cluster_id = c.required("cluster_id", raw.cluster_id).unwrap_or_default();
    if !cluster_id.is_empty() {
        c.check("cluster_id", syntax::id(&cluster_id));
    }
    let rm_id = c.required("rm_id", raw.rm_id).unwrap_or_default();
    // Checked against the ids as written, so a mistake inside an RM's entry does not also
    // make `rm_id` look wrong.
    let known: Vec<String> = raw.resource_managers.iter().flat_map(|m| m.keys().cloned()).collect();
    if !rm_id.is_empty() && !known.is_empty() && !known.contains(&rm_id) {
        c.fail("rm_id", format!("{rm_id:?} is not a key of resource_managers (known: {})", known.join(", ")));
    }
    let resource_managers = resource_managers(&mut c, raw.resource_managers);
    let authentication = raw.security.as_ref().and_then(|s| s.authentication).unwrap_or_default();
    let zookeeper = zookeeper(&mut c, raw.zookeeper, authentication);
    let health = health(&mut c, raw.health.unwrap_or_default());
    let transition = transition(&mut c, raw.transition.unwrap_or_default());
    let fencing = fencing(&mut c, raw.fencing.unwrap_or_default());
    let failover = failover(&mut c, raw.failover.unwrap_or_default());
    let admin = admin(&mut c, raw.admin.unwrap_or_default());
    let logging = LoggingConfig { format: raw.logging.and_then(|l| l.format).unwrap_or_default() };
    let rm_hosts: Vec<(String, String)> = resource_managers
        .iter()
        .filter_map(|(id, e)| syntax::host_port(&e.admin_address).ok().map(|(h, _)| (id.clone(), h.to_string())))
        .collect();
    let security = security::validate(raw.security, &rm_hosts, &mut c.problems);

    if !c.problems.is_empty() {
        return Err(c.problems);
    }
    Ok(Config {
        cluster_id,
        rm_id,
        resource_managers,
        zookeeper,
        health,
        transition,
        fencing,
        failover,
        admin,
        logging,
        security,
    })
}

fn resource_managers(c: &mut Check, raw: Option<BTreeMap<String, Option<RawRm>>>) -> BTreeMap<String, RmEndpoint> {
    const KEY: &str = "resource_managers";
    let Some(raw) = raw else {
        c.fail(KEY, "missing (required: every RM of the cluster by id, at least 2)");
        return BTreeMap::new();
    };
    if raw.len() < 2 {
        c.fail(KEY, format!("{} RM(s) given; high availability needs at least 2", raw.len()));
    }
    let mut out = BTreeMap::new();
    // Two ids naming the same RM would let rmfc "fence" the RM it is about to promote.
    let mut seen_admin: BTreeMap<String, String> = BTreeMap::new();
    let mut seen_web: BTreeMap<String, String> = BTreeMap::new();
    for (id, rm) in raw {
        let base = format!("{KEY}.{id}");
        c.check(&base, syntax::id(&id).map_err(|why| format!("bad RM id: {why}")));
        let rm = rm.unwrap_or_default();
        let admin_path = format!("{base}.admin_address");
        let admin_address = c.required(&admin_path, rm.admin_address).and_then(|a| match syntax::host_port(&a) {
            Ok(_) => Some(a),
            Err(why) => {
                c.fail(&admin_path, why);
                None
            }
        });
        let web_path = format!("{base}.web_address");
        let web_address = c.required(&web_path, rm.web_address).and_then(|w| match syntax::http_url(&w, false) {
            Ok(w) => Some(w),
            Err(why) => {
                c.fail(&web_path, why);
                None
            }
        });
        if let Some(a) = &admin_address {
            if let Some(other) = seen_admin.insert(a.to_ascii_lowercase(), id.clone()) {
                c.fail(&admin_path, format!("{a:?} is also the admin_address of {other}: each RM needs its own"));
            }
        }
        if let Some(w) = &web_address {
            if let Some(other) = seen_web.insert(w.to_ascii_lowercase(), id.clone()) {
                c.fail(&web_path, format!("{w:?} is also the web_address of {other}: each RM needs its own"));
            }
        }
        if let (Some(admin_address), Some(web_address)) = (admin_address, web_address) {
            out.insert(id, RmEndpoint { admin_address, web_address });
        }
    }
    out
}

fn zookeeper(c: &mut Check, raw: Option<RawZk>, authentication: Authentication) -> ZkConfig {
    let Some(raw) = raw else {
        c.fail("zookeeper", "missing (required: at least zookeeper.connect)");
        return ZkConfig {
            connect: String::new(),
            root: DEFAULT_ZK_ROOT.into(),
            session_timeout: DEFAULT_SESSION_TIMEOUT,
            server_tick_time: DEFAULT_SERVER_TICK_TIME,
            auth: None,
            acl: None,
            tls: None,
        };
    };
    let connect = c
        .required("zookeeper.connect", raw.connect)
        .and_then(|s| match syntax::zk_connect(&s) {
            Ok(s) => Some(s),
            Err(why) => {
                c.fail("zookeeper.connect", why);
                None
            }
        })
        .unwrap_or_default();
    let root = match c.optional("zookeeper.root", raw.root) {
        Some(root) => {
            c.check("zookeeper.root", syntax::znode_path(&root));
            root
        }
        None => DEFAULT_ZK_ROOT.to_string(),
    };
    if root == "/zookeeper" || root.starts_with("/zookeeper/") {
        c.fail("zookeeper.root", format!("{root:?} is inside /zookeeper, which ZooKeeper reserves for itself"));
    }
    let session_timeout = c.duration("zookeeper.session_timeout", raw.session_timeout, DEFAULT_SESSION_TIMEOUT, false);
    let server_tick_time =
        c.duration("zookeeper.server_tick_time", raw.server_tick_time, DEFAULT_SERVER_TICK_TIME, false);
    let auth = zk_security::auth(c, raw.auth, authentication);
    let tls = zk_security::tls(c, raw.tls);
    let can_authenticate = auth.is_some() || tls.as_ref().is_some_and(|t| t.identity.is_some());
    let acl = zk_security::acl(c, raw.acl, can_authenticate);
    ZkConfig { connect, root, session_timeout, server_tick_time, auth, acl, tls }
}

fn health(c: &mut Check, raw: RawHealth) -> HealthConfig {
    let d = HealthConfig::default();
    HealthConfig {
        interval: c.duration("health.interval", raw.interval, d.interval, false),
        timeout: c.duration("health.timeout", raw.timeout, d.timeout, false),
        rest: raw.rest.unwrap_or(d.rest),
        hung_after: c.at_least_one("health.hung_after", raw.hung_after, d.hung_after, "probes in a row that timed out"),
        unhealthy_after: c.at_least_one(
            "health.unhealthy_after",
            raw.unhealthy_after,
            d.unhealthy_after,
            "failed health checks in a row",
        ),
        user: c.optional("health.user", raw.user),
    }
}

fn transition(c: &mut Check, raw: RawTransition) -> TransitionConfig {
    let d = TransitionConfig::default();
    TransitionConfig {
        request_source: raw.request_source.unwrap_or(d.request_source),
        timeout: c.duration("transition.timeout", raw.timeout, d.timeout, false),
    }
}

fn fencing(c: &mut Check, raw: RawFencing) -> FencingConfig {
    let d = FencingConfig::default();
    let methods = match raw.methods {
        None => d.methods,
        Some(list) => list.into_iter().enumerate().filter_map(|(i, m)| fence_method(c, i, m)).collect(),
    };
    FencingConfig {
        graceful_timeout: c.duration("fencing.graceful_timeout", raw.graceful_timeout, d.graceful_timeout, false),
        methods,
        promote_unfenced: raw.promote_unfenced.unwrap_or(d.promote_unfenced),
    }
}

/// The keys each method type accepts (besides `type`).
const METHOD_KEYS: [(&str, &[&str]); 3] = [
    ("zk_state_store", &["path", "verify_timeout"]),
    ("shell", &["command", "timeout"]),
    ("http", &["url", "timeout"]),
];

fn fence_method(c: &mut Check, i: usize, raw: RawFenceMethod) -> Option<FenceMethod> {
    let base = format!("fencing.methods[{i}]");
    let at = |key: &str| format!("{base}.{key}");
    let known: Vec<&str> = METHOD_KEYS.iter().map(|(t, _)| *t).collect();
    let Some(kind) = raw.kind.map(|k| k.trim().to_string()) else {
        c.fail(at("type"), format!("missing (required: one of {})", known.join(", ")));
        return None;
    };
    let Some((_, allowed)) = METHOD_KEYS.iter().find(|(t, _)| *t == kind) else {
        c.fail(at("type"), format!("unknown fencing method {kind:?} (known: {})", known.join(", ")));
        return None;
    };
    let given = [
        ("path", raw.path.is_some()),
        ("verify_timeout", raw.verify_timeout.is_some()),
        ("command", raw.command.is_some()),
        ("timeout", raw.timeout.is_some()),
        ("url", raw.url.is_some()),
    ];
    for (key, present) in given {
        if present && !allowed.contains(&key) {
            c.fail(at(key), format!("not a key of type {kind} (its keys: type, {})", allowed.join(", ")));
        }
    }
    let context = format!("type {kind}");
    match kind.as_str() {
        "zk_state_store" => {
            let path = c.optional(&at("path"), raw.path).unwrap_or_else(|| DEFAULT_STORE_PATH.to_string());
            c.check(&at("path"), syntax::znode_path(&path));
            let verify_timeout =
                c.duration(&at("verify_timeout"), raw.verify_timeout, DEFAULT_STORE_VERIFY_TIMEOUT, false);
            Some(FenceMethod::ZkStateStore { path, verify_timeout })
        }
        "shell" => {
            let command = c.required_for(&at("command"), raw.command, &context);
            let timeout = c.duration(&at("timeout"), raw.timeout, DEFAULT_SHELL_TIMEOUT, false);
            command.map(|command| FenceMethod::Shell { command, timeout })
        }
        _ => {
            let url = c.required_for(&at("url"), raw.url, &context).and_then(|u| match syntax::http_url(&u, true) {
                Ok(u) => Some(u),
                Err(why) => {
                    c.fail(at("url"), why);
                    None
                }
            });
            let timeout = c.duration(&at("timeout"), raw.timeout, DEFAULT_HTTP_TIMEOUT, false);
            url.map(|url| FenceMethod::Http { url, timeout })
        }
    }
}

fn failover(c: &mut Check, raw: RawFailover) -> FailoverConfig {
    let d = FailoverConfig::default();
    FailoverConfig {
        budget: c.at_least_one(
            "failover.budget",
            raw.budget,
            d.budget,
            "automatic failovers per window; 0 would mean unlimited, which rmfc does not allow",
        ),
        window: c.duration("failover.window", raw.window, d.window, false),
        cooldown: c.duration("failover.cooldown", raw.cooldown, d.cooldown, true),
    }
}

fn admin(c: &mut Check, raw: RawAdmin) -> AdminConfig {
    let d = AdminConfig::default();
    let listen = match c.optional("admin.listen", raw.listen) {
        None => d.listen,
        Some(text) => text.parse().unwrap_or_else(|_| {
            c.fail(
                "admin.listen",
                format!("{text:?} is not IP:PORT (a literal address to bind, e.g. 127.0.0.1:9123 or [::1]:9123)"),
            );
            d.listen
        }),
    };
    let cert = c.optional("admin.tls_cert_file", raw.tls_cert_file);
    let key = c.optional("admin.tls_key_file", raw.tls_key_file);
    let tls = match (cert, key) {
        (Some(cert_file), Some(key_file)) => Some(AdminTls { cert_file: cert_file.into(), key_file: key_file.into() }),
        (None, None) => None,
        (Some(_), None) => {
            c.fail("admin.tls_key_file", "required when admin.tls_cert_file is set (the PEM private key)");
            None
        }
        (None, Some(_)) => {
            c.fail("admin.tls_cert_file", "required when admin.tls_key_file is set (the PEM certificate chain)");
            None
        }
    };
    AdminConfig { listen, token_file: c.optional("admin.token_file", raw.token_file).map(Into::into), tls }
}
