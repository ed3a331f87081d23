//! `rmfc demo`: a whole rmfc cluster on this machine — a standalone ZooKeeper (Debian's
//! package), two simulated RMs (`rmfc sim-rm` with the fenced state store) and two controllers
//! (`rmfc run`, one beside each RM) — that prints what runs and how to try a failover, then
//! reports every change of the active RM until Ctrl-C or SIGTERM.
//!
//! Owns: starting, watching and stopping those processes, and what the operator reads on
//! stdout. Must not: contain controller logic (the children are the real binaries) or leave
//! anything behind: every child runs in a process group led by a watchdog (see [`procs`]), and
//! the run directory is removed on exit unless the operator named it with `--dir`.

mod ports;
mod procs;
mod report;
pub mod zookeeper;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::config::Config;
use crate::hadoop_ipc::{HaClient, HaError, HaState, RequestSource};
use ports::Ports;
use procs::{describe_exit, Group, Proc};

pub use zookeeper::INSTALL_COMMAND;

/// Prints a line on stdout; a closed stdout is no reason to stop (or to panic).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}
pub(crate) use say;

/// What `rmfc demo` was asked for.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Keep everything (configs, logs, journals, ZooKeeper data) in this directory and leave it
    /// there on exit; `None`: a temporary directory, removed on exit.
    pub dir: Option<PathBuf>,
    /// First port to try; see [`ports`] for the layout.
    pub base_port: u16,
}

/// The RM ids of the demo cluster.
const RM_IDS: [&str; 2] = ["rm1", "rm2"];
/// The demo cluster's `cluster_id`.
const CLUSTER_ID: &str = "demo";
/// Log lines shown when a process fails to start.
const LOG_TAIL: usize = 12;
/// Deadlines for start-up (a cold JVM on a busy 2-core machine takes a few seconds).
const ZK_START_DEADLINE: Duration = Duration::from_secs(60);
const RM_START_DEADLINE: Duration = Duration::from_secs(30);
const ACTIVE_DEADLINE: Duration = Duration::from_secs(60);
/// How often the active RM is looked at once everything runs.
const WATCH_EVERY: Duration = Duration::from_secs(1);
/// Deadline of one `getServiceStatus` probe (a stopped RM never answers).
const PROBE_TIMEOUT: Duration = Duration::from_millis(800);

/// One simulated RM and the controller beside it.
struct Member {
    id: &'static str,
    admin: SocketAddr,
    web: SocketAddr,
    admin_api: SocketAddr,
    config: PathBuf,
}

impl Member {
    fn admin_url(&self) -> String {
        format!("http://{}", self.admin_api)
    }
}

/// Everything the demo started.
struct Demo {
    exe: PathBuf,
    dir: PathBuf,
    temporary: bool,
    watchdog_pid: u32,
    zk_addr: SocketAddr,
    members: Vec<Member>,
    zk: Option<Proc>,
    rms: Vec<Proc>,
    controllers: Vec<Proc>,
}

/// Runs the demo until Ctrl-C / SIGTERM / SIGHUP (`Ok`) or until it cannot go on (`Err`: it
/// could not start, or ZooKeeper died). Everything started is stopped either way. An error
/// met once processes run is printed on stderr when it happens; the `Err` then only says so.
pub async fn run(opts: DemoOptions) -> anyhow::Result<()> {
    let mut stop = StopSignals::new()?;
    let install = zookeeper::find_install()?;
    let exe = std::env::current_exe().context("cannot find the rmfc binary (current_exe)")?;
    let ports = Ports::plan(opts.base_port)?;
    let (dir, temporary) = match &opts.dir {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("--dir {}: cannot create it", d.display()))?;
            (std::fs::canonicalize(d).unwrap_or_else(|_| d.clone()), false)
        }
        None => (make_temp_dir()?, true),
    };
    let group = match Group::start(temporary.then_some(dir.as_path())) {
        Ok(g) => g,
        Err(e) => {
            if temporary {
                let _ = std::fs::remove_dir_all(&dir);
            }
            return Err(e);
        }
    };
    let members = RM_IDS
        .iter()
        .enumerate()
        .map(|(i, id)| Member {
            id,
            admin: ports.rm_admin[i],
            web: ports.rm_web[i],
            admin_api: ports.controller_admin[i],
            config: dir.join(format!("controller-{id}.yaml")),
        })
        .collect();
    let mut demo = Demo {
        exe,
        dir,
        temporary,
        watchdog_pid: group.pgid(),
        zk_addr: ports.zk,
        members,
        zk: None,
        rms: Vec::new(),
        controllers: Vec::new(),
    };
    let outcome = tokio::select! {
        r = demo.start_and_watch(&install, &group) => r,
        name = stop.recv() => {
            say!("\n{name}: stopping everything the demo started ...");
            Ok(())
        }
    };
    if let Err(e) = &outcome {
        eprintln!("\nrmfc demo cannot go on: {e:#}");
        say!("stopping everything the demo started ...");
    }
    demo.shutdown();
    group.finish();
    demo.remove_dir();
    outcome.map_err(|_| anyhow!("stopped after the error above"))
}

impl Demo {
    async fn start_and_watch(&mut self, install: &zookeeper::Install, group: &Group) -> anyhow::Result<()> {
        say!("rmfc demo: starting ZooKeeper, two simulated RMs and two controllers");
        say!("directory: {}{}", self.dir.display(), if self.temporary { " (removed on exit)" } else { "" });
        self.start_zookeeper(install, group).await?;
        self.start_rms(group).await?;
        self.start_controllers(group)?;
        let active = self.wait_for_active().await?;
        report::print_running(self);
        report::print_status(self).await;
        report::print_hints(self, &active);
        self.watch(active).await
    }

    async fn start_zookeeper(&mut self, install: &zookeeper::Install, group: &Group) -> anyhow::Result<()> {
        let zk_dir = self.dir.join("zookeeper");
        let cmd = zookeeper::prepare(install, &zk_dir, self.zk_addr.port())?;
        let log = self.dir.join("zookeeper.log");
        self.zk = Some(group.spawn("ZooKeeper", cmd, &log, &log)?);
        let started = Instant::now();
        loop {
            if let Some(mode) = zookeeper::mode(self.zk_addr, Duration::from_secs(2)).await {
                say!("  ZooKeeper serves at {} (mode {mode}, {:.1}s)", self.zk_addr, started.elapsed().as_secs_f64());
                return Ok(());
            }
            let zk = self.zk.as_mut().expect("just started");
            if let Some(status) = zk.newly_exited() {
                let tail = zk.log_tail(LOG_TAIL);
                let hint = if tail.contains("Address already in use") || tail.contains("BindException") {
                    format!("\nport {} is taken: pick other ports with --base-port", self.zk_addr.port())
                } else {
                    String::new()
                };
                bail!(
                    "ZooKeeper exited ({}) before serving; end of {}:\n{tail}{hint}",
                    describe_exit(status),
                    zk.log.display()
                );
            }
            if started.elapsed() > ZK_START_DEADLINE {
                bail!(
                    "ZooKeeper did not serve within {ZK_START_DEADLINE:?}; end of {}:\n{}",
                    zk.log.display(),
                    zk.log_tail(LOG_TAIL)
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn start_rms(&mut self, group: &Group) -> anyhow::Result<()> {
        for m in &self.members {
            let mut cmd = Command::new(&self.exe);
            cmd.arg("sim-rm")
                .args(["--id", m.id])
                .args(["--admin-address", &m.admin.to_string()])
                .args(["--web-address", &m.web.to_string()])
                .args(["--zk", &self.zk_addr.to_string()])
                .args(["--zk-session-timeout", "6s"]);
            let journal = self.dir.join(format!("{}.journal.jsonl", m.id));
            let log = self.dir.join(format!("{}.log", m.id));
            self.rms.push(group.spawn(&format!("sim-rm {}", m.id), cmd, &journal, &log)?);
        }
        let started = Instant::now();
        for (i, m) in self.members.iter().enumerate() {
            loop {
                if probe(m.admin).await.is_ok() {
                    break;
                }
                let rm = &mut self.rms[i];
                if let Some(status) = rm.newly_exited() {
                    bail!(
                        "{} exited ({}) at start; end of {}:\n{}",
                        rm.name,
                        describe_exit(status),
                        rm.log.display(),
                        rm.log_tail(LOG_TAIL)
                    );
                }
                if started.elapsed() > RM_START_DEADLINE {
                    bail!(
                        "{} did not answer on {} within {RM_START_DEADLINE:?}; end of {}:\n{}",
                        rm.name,
                        m.admin,
                        rm.log.display(),
                        rm.log_tail(LOG_TAIL)
                    );
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        say!("  simulated RMs rm1 and rm2 serve (both standby)");
        Ok(())
    }

    fn start_controllers(&mut self, group: &Group) -> anyhow::Result<()> {
        for m in &self.members {
            let yaml = controller_yaml(m.id, &self.members, self.zk_addr);
            std::fs::write(&m.config, &yaml).with_context(|| format!("cannot write {}", m.config.display()))?;
            // The file must be one `rmfc run` accepts; say so here rather than in its log.
            Config::load(&m.config).map_err(|e| anyhow!("the demo wrote a config rmfc rejects: {e}"))?;
            let mut cmd = Command::new(&self.exe);
            cmd.arg("run").arg("-c").arg(&m.config);
            let log = self.dir.join(format!("controller-{}.log", m.id));
            self.controllers.push(group.spawn(&format!("controller {}", m.id), cmd, &log, &log)?);
        }
        say!("  controllers started; waiting for them to elect a leader and promote an RM ...");
        Ok(())
    }

    /// Waits until exactly one RM answers ACTIVE; any child dying meanwhile is a failure.
    async fn wait_for_active(&mut self) -> anyhow::Result<String> {
        let started = Instant::now();
        loop {
            self.check_children_at_start()?;
            let states = self.rm_states().await;
            let active: Vec<&str> =
                states.iter().filter(|(_, s)| matches!(s, Ok(HaState::Active))).map(|(id, _)| *id).collect();
            if let [one] = active.as_slice() {
                return Ok(one.to_string());
            }
            if started.elapsed() > ACTIVE_DEADLINE {
                let logs: Vec<String> = self.controllers.iter().map(|c| c.log.display().to_string()).collect();
                bail!(
                    "no single active RM after {ACTIVE_DEADLINE:?} ({}); see {}",
                    describe_states(&states),
                    logs.join(", ")
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    fn check_children_at_start(&mut self) -> anyhow::Result<()> {
        for p in self.zk.iter_mut().chain(self.rms.iter_mut()).chain(self.controllers.iter_mut()) {
            if let Some(status) = p.newly_exited() {
                bail!(
                    "{} exited ({}) during start-up; end of {}:\n{}",
                    p.name,
                    describe_exit(status),
                    p.log.display(),
                    p.log_tail(LOG_TAIL)
                );
            }
        }
        Ok(())
    }

    /// Every second: reports children that exit (ZooKeeper's exit ends the demo) and every
    /// change of the active RM.
    async fn watch(&mut self, first: String) -> anyhow::Result<()> {
        let mut shown: Vec<String> = vec![first.clone()];
        let mut last_active = first;
        let mut tick = tokio::time::interval(WATCH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            for p in self.rms.iter_mut().chain(self.controllers.iter_mut()) {
                if let Some(status) = p.newly_exited() {
                    say!(
                        "[{}] {} (pid {}) exited: {}; log: {}",
                        now(),
                        p.name,
                        p.pid,
                        describe_exit(status),
                        p.log.display()
                    );
                }
            }
            if let Some(zk) = self.zk.as_mut() {
                if let Some(status) = zk.newly_exited() {
                    bail!(
                        "[{}] ZooKeeper (pid {}) exited: {}; end of {}:\n{}",
                        now(),
                        zk.pid,
                        describe_exit(status),
                        zk.log.display(),
                        zk.log_tail(LOG_TAIL)
                    );
                }
            }
            let states = self.rm_states().await;
            let active: Vec<String> =
                states.iter().filter(|(_, s)| matches!(s, Ok(HaState::Active))).map(|(id, _)| id.to_string()).collect();
            if active == shown {
                continue;
            }
            let line = match active.as_slice() {
                [] => format!("active RM: none (was {last_active}) — {}", describe_states(&states)),
                // Back from several answering active: the others stepped down.
                [one] if shown.len() > 1 => {
                    format!("active RM: {one} (the other RM stepped down) — {}", describe_states(&states))
                }
                [one] if *one == last_active => format!("active RM: {one} (again)"),
                [one] => format!("active RM: {one} (was {last_active})"),
                many => format!(
                    "active RM: {} all answer ACTIVE (was {last_active}) — an RM that was frozen answers active until \
                     its next state-store write is refused (fenced) and it steps down; see its journal",
                    many.join(" and ")
                ),
            };
            say!("[{}] {line}", now());
            if let [one] = active.as_slice() {
                last_active = one.clone();
            }
            shown = active;
        }
    }

    /// Every RM's HA state, probed concurrently.
    async fn rm_states(&self) -> Vec<(&'static str, Result<HaState, HaError>)> {
        let probes: Vec<_> = self.members.iter().map(|m| tokio::spawn(probe(m.admin))).collect();
        let mut out = Vec::new();
        for (m, p) in self.members.iter().zip(probes) {
            let state = p.await.unwrap_or_else(|e| {
                Err(HaError::Unreachable { addr: m.admin.to_string(), reason: format!("probe task failed: {e}") })
            });
            out.push((m.id, state));
        }
        out
    }

    /// Stops every child: controllers first (they close their sessions while ZooKeeper still
    /// runs), then the RMs, then ZooKeeper.
    fn shutdown(&mut self) {
        let mut phases: Vec<(&str, Vec<Proc>)> = vec![
            ("controllers", std::mem::take(&mut self.controllers)),
            ("simulated RMs", std::mem::take(&mut self.rms)),
            ("ZooKeeper", self.zk.take().into_iter().collect()),
        ];
        for (what, procs) in &mut phases {
            if procs.is_empty() {
                continue;
            }
            let started = Instant::now();
            procs::stop_all(procs);
            say!("  stopped {what} ({:.1}s)", started.elapsed().as_secs_f64());
        }
    }

    fn remove_dir(&self) {
        if self.temporary {
            match std::fs::remove_dir_all(&self.dir) {
                Ok(()) => say!("removed {}", self.dir.display()),
                Err(e) => say!("could not remove {}: {e}", self.dir.display()),
            }
        } else {
            say!("kept {} (configs, logs, journals)", self.dir.display());
        }
    }
}

/// The config of the controller beside `rm_id`: fast timings that still pass `check-config`
/// without a warning against the demo's ZooKeeper (tickTime 500 ms).
fn controller_yaml(rm_id: &str, members: &[Member], zk: SocketAddr) -> String {
    let me = members.iter().find(|m| m.id == rm_id).expect("a member of the demo");
    let mut yaml = format!(
        "# Written by `rmfc demo`: the controller beside simulated RM {rm_id}.\n\
         cluster_id: {CLUSTER_ID}\nrm_id: {rm_id}\nresource_managers:\n"
    );
    for m in members {
        yaml.push_str(&format!(
            "  {}: {{ admin_address: \"{}\", web_address: \"http://{}\" }}\n",
            m.id, m.admin, m.web
        ));
    }
    yaml.push_str(&format!(
        "zookeeper:\n  connect: \"{zk}\"\n  root: /rmfc\n  session_timeout: 6s\n  server_tick_time: 500ms\n\
         health:\n  interval: 500ms\n  timeout: 1s\n\
         transition:\n  timeout: 10s\n\
         fencing:\n  graceful_timeout: 2s\n\
         admin:\n  listen: \"{}\"\n",
        me.admin_api
    ));
    yaml
}

/// `getServiceStatus` on one RM.
async fn probe(admin: SocketAddr) -> Result<HaState, HaError> {
    let mut client = HaClient::new(admin.to_string(), None, RequestSource::User);
    client.get_service_status(PROBE_TIMEOUT).await.map(|s| s.state)
}

/// "rm1: down (connection refused), rm2: standby".
fn describe_states(states: &[(&str, Result<HaState, HaError>)]) -> String {
    states
        .iter()
        .map(|(id, s)| match s {
            Ok(state) => format!("{id}: {state}"),
            Err(HaError::ProcessGone { .. }) => format!("{id}: down (connection refused)"),
            Err(HaError::Timeout { .. }) => format!("{id}: not answering (stopped or hung?)"),
            Err(e) => format!("{id}: {e}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// UTC wall clock with milliseconds, as in the controllers' logs: `12:00:01.234Z`.
fn now() -> String {
    let t = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
    t.get(11..).unwrap_or(&t).to_string()
}

fn make_temp_dir() -> anyhow::Result<PathBuf> {
    let base = std::env::temp_dir();
    for _ in 0..10 {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let dir = base.join(format!("rmfc-demo-{}", &id[..12]));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot create a directory in {}", base.display())),
        }
    }
    bail!("cannot create a fresh directory in {}", base.display())
}

/// SIGINT (Ctrl-C), SIGTERM and SIGHUP (terminal closed), registered before anything starts.
struct StopSignals {
    int: Signal,
    term: Signal,
    hup: Signal,
}

impl StopSignals {
    fn new() -> anyhow::Result<Self> {
        let mk = |k| signal(k).context("cannot install signal handlers");
        Ok(StopSignals {
            int: mk(SignalKind::interrupt())?,
            term: mk(SignalKind::terminate())?,
            hup: mk(SignalKind::hangup())?,
        })
    }

    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.int.recv() => "Ctrl-C",
            _ = self.term.recv() => "SIGTERM",
            _ = self.hup.recv() => "SIGHUP",
        }
    }
}

/// The way to run this very binary in the hints: `rmfc` when that is what PATH finds, else a
/// path relative to the working directory when it is under it, else the absolute path.
fn display_exe(exe: &Path) -> String {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("rmfc"))
        .find(|p| p.is_file());
    if let Some(p) = on_path {
        if std::fs::canonicalize(&p).ok().as_deref() == Some(exe) {
            return "rmfc".into();
        }
    }
    if let Ok(cwd) = std::env::current_dir() {
        if let Ok(rel) = exe.strip_prefix(&cwd) {
            return rel.display().to_string();
        }
    }
    exe.display().to_string()
}
