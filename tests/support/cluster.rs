//! A whole rmfc cluster on this machine for end-to-end tests: a real ZooKeeper (standalone or a
//! 3-node ensemble), N `rmfc sim-rm` processes with the fenced ZooKeeper state store, and N
//! `rmfc run` controllers, one beside each RM. Faults come from outside, as in production:
//! signals to processes, killed ZooKeeper nodes.

use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::Duration;

use rmfc::sim::checker::{overlapping_writes, write_intervals};
use rmfc::sim::events::SimEvent;

use super::procs::{rmfc_in, signal};
use super::sim::SimRmProcess;
use super::wait::wait_for;
use super::zk::{ZkEnsemble, ZkHost, ZkServer};

/// Where a process runs: its address and network namespace (see `netns::NetHost`).
pub type Host = ZkHost;

/// Hosts for every process of a cluster, instead of all on 127.0.0.1 in the test's namespace.
#[derive(Clone, Debug)]
pub struct Placement {
    /// Host of RM `i` and of the controller beside it.
    pub rms: Vec<Host>,
    /// Hosts of the ZooKeeper ensemble's nodes (requires `ensemble: true`).
    pub zk: Vec<Host>,
}

pub enum Zk {
    Standalone(ZkServer),
    Ensemble(ZkEnsemble),
}

impl Zk {
    pub fn connect_string(&self) -> String {
        match self {
            Zk::Standalone(z) => z.connect_string(),
            Zk::Ensemble(z) => z.connect_string(),
        }
    }
}

/// Per-test knobs written into every controller's config.
#[derive(Clone)]
pub struct ClusterOptions {
    pub rms: usize,
    pub ensemble: bool,
    /// Extra YAML appended to every controller config (e.g. a `failover:` or `fencing:` block).
    pub extra_yaml: String,
    /// Use rmfc's default timings (10 s session, 1 s probes) instead of the fast test timings.
    pub default_timings: bool,
    /// Controllers log JSON lines (for the benchmark's parsing).
    pub json_logs: bool,
    /// Start the controllers right away (false: the test starts them).
    pub start_controllers: bool,
    /// Run each RM+controller pair and each ZooKeeper node on its own host. Controllers then
    /// listen on their host's address and need the bearer token ([`Cluster::admin_token`]).
    pub placement: Option<Placement>,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            rms: 2,
            ensemble: false,
            extra_yaml: String::new(),
            default_timings: false,
            json_logs: false,
            start_controllers: true,
            placement: None,
        }
    }
}

pub struct ControllerProcess {
    pub child: Child,
    pub pid: u32,
    pub log: PathBuf,
}

pub struct Cluster {
    pub zk: Zk,
    pub rms: Vec<SimRmProcess>,
    pub controllers: Vec<Option<ControllerProcess>>,
    dir: tempfile::TempDir,
    opts: ClusterOptions,
    /// Journals of RM processes replaced by [`Cluster::restart_rm`].
    retired_events: Vec<SimEvent>,
    /// The extra `sim-rm` arguments every RM was started with (for restarts).
    rm_extra: Vec<String>,
}

/// Settings chosen so failures are noticed in a few seconds on a loaded 2-core machine.
const BASE_YAML: &str = "
health:
  interval: 300ms
  timeout: 1s
  hung_after: 3
transition:
  timeout: 10s
";

/// Fencing defaults for tests, unless a test brings its own `fencing:` block.
const BASE_FENCING_YAML: &str = "fencing:\n  graceful_timeout: 1s\n";

impl Cluster {
    pub fn start(opts: ClusterOptions) -> Self {
        assert!(opts.placement.is_none() || opts.ensemble, "a placement needs ensemble: true (ZooKeeper on its hosts)");
        let zk = if opts.ensemble {
            let mut builder = ZkEnsemble::builder().tick_time(500);
            if let Some(p) = &opts.placement {
                builder = builder.hosts(p.zk.clone());
            }
            Zk::Ensemble(builder.start_ensemble(3))
        } else {
            Zk::Standalone(ZkServer::builder().tick_time(500).start())
        };
        let connect = zk.connect_string();
        let store_session = if opts.default_timings { "10s" } else { "4s" };
        let rm_extra: Vec<String> =
            ["--zk", &connect, "--zk-session-timeout", store_session].iter().map(|s| s.to_string()).collect();
        let extra: Vec<&str> = rm_extra.iter().map(String::as_str).collect();
        let rms = (1..=opts.rms)
            .map(|i| match opts.placement.as_ref().map(|p| &p.rms[i - 1]) {
                None => SimRmProcess::start(&format!("rm{i}"), &extra),
                Some(h) => {
                    let any_port = format!("{}:0", h.ip);
                    SimRmProcess::start_on(&format!("rm{i}"), &any_port, &any_port, &extra, h.netns.as_deref())
                }
            })
            .collect();
        let dir = tempfile::Builder::new().prefix("rmfc-e2e-").tempdir().expect("temp dir");
        if opts.placement.is_some() {
            let token = dir.path().join("admin-token");
            std::fs::write(&token, format!("rmfc-test-{}\n", std::process::id())).expect("write admin token");
        }
        let mut c = Cluster { zk, rms, controllers: Vec::new(), dir, opts, retired_events: Vec::new(), rm_extra };
        for i in 0..c.opts.rms {
            c.controllers.push(None);
            if c.opts.start_controllers {
                c.start_controller(i);
            }
        }
        c
    }

    /// Writes `data` to `path` (creating it and its parents) with a plain ZooKeeper client.
    pub fn write_znode(&self, path: &str, data: &[u8]) {
        use zookeeper_client as zk;
        let connect = self.zk.connect_string();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async {
            let client = zk::Client::connect(&connect).await.expect("connect to ZooKeeper");
            let opts = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
            if let Some((parent, _)) = path.rsplit_once('/') {
                if !parent.is_empty() {
                    let _ = client.mkdir(parent, &opts).await;
                }
            }
            match client.create(path, data, &opts).await {
                Ok(_) => {}
                Err(zk::Error::NodeExists) => {
                    client.set_data(path, data, None).await.expect("set znode data");
                }
                Err(e) => panic!("create {path}: {e}"),
            }
        });
    }

    /// The config file of the controller beside RM `i` (0-based).
    pub fn config_path(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("rmfc-rm{}.yaml", i + 1))
    }

    fn write_config(&self, i: usize) -> PathBuf {
        let mut yaml = format!("cluster_id: e2e\nrm_id: rm{}\nresource_managers:\n", i + 1);
        for (j, rm) in self.rms.iter().enumerate() {
            yaml.push_str(&format!(
                "  rm{}: {{ admin_address: \"{}\", web_address: \"http://{}\" }}\n",
                j + 1,
                rm.admin,
                rm.web
            ));
        }
        let session = if self.opts.default_timings { "10s" } else { "4s" };
        yaml.push_str(&format!(
            "zookeeper:\n  connect: \"{}\"\n  root: /rmfc\n  session_timeout: {session}\n  server_tick_time: 500ms\n",
            self.zk.connect_string()
        ));
        if !self.opts.default_timings {
            yaml.push_str(BASE_YAML);
            if !self.opts.extra_yaml.contains("fencing:") {
                yaml.push_str(BASE_FENCING_YAML);
            }
        }
        // Each controller's admin API on an ephemeral port (read back from its log).
        if !self.opts.extra_yaml.contains("admin:") {
            match self.host(i) {
                // Off loopback, mutating calls need the token.
                Some(h) => yaml.push_str(&format!(
                    "admin:\n  listen: \"{}:0\"\n  token_file: \"{}\"\n",
                    h.ip,
                    self.dir.path().join("admin-token").display()
                )),
                None => yaml.push_str("admin:\n  listen: 127.0.0.1:0\n"),
            }
        }
        if self.opts.json_logs {
            yaml.push_str("logging:\n  format: json\n");
        }
        yaml.push_str(&self.opts.extra_yaml);
        let path = self.config_path(i);
        std::fs::write(&path, yaml).expect("write config");
        path
    }

    pub fn start_controller(&mut self, i: usize) {
        let config = self.write_config(i);
        let log = self.dir.path().join(format!("controller-rm{}.log", i + 1));
        // A fresh log per start, so what is read back (e.g. the admin address) is this process's.
        let file = std::fs::File::create(&log).expect("log file");
        let netns = self.host(i).and_then(|h| h.netns.clone());
        let child = rmfc_in(netns.as_deref(), &["run", "-c", config.to_str().expect("utf-8 path")])
            .env("RUST_LOG", "info,rmfc=debug")
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("dup log"))
            .stderr(file)
            .spawn()
            .expect("spawn rmfc run");
        let pid = child.id();
        self.controllers[i] = Some(ControllerProcess { child, pid, log });
    }

    /// The host of RM `i` and its controller, when the cluster has a [`Placement`].
    pub fn host(&self, i: usize) -> Option<&Host> {
        self.opts.placement.as_ref().map(|p| &p.rms[i])
    }

    /// The bearer token for the admin API's mutating calls (only with a [`Placement`]).
    pub fn admin_token(&self) -> Option<String> {
        let text = std::fs::read_to_string(self.dir.path().join("admin-token")).ok()?;
        Some(text.trim().to_string())
    }

    /// Crash RM `i`: SIGKILL. Its journal stays readable until [`Cluster::restart_rm`].
    pub fn kill_rm(&mut self, i: usize) {
        self.rms[i].kill();
    }

    /// Starts RM `i` again after [`Cluster::kill_rm`] on the same addresses and host; the old
    /// process's journal is kept in [`Cluster::all_events`].
    pub fn restart_rm(&mut self, i: usize) {
        self.rms[i].kill();
        let extra: Vec<&str> = self.rm_extra.iter().map(String::as_str).collect();
        let (id, admin, web) = (self.rms[i].id.clone(), self.rms[i].admin.clone(), self.rms[i].web.clone());
        let netns = self.host(i).and_then(|h| h.netns.clone());
        let new = SimRmProcess::start_on(&id, &admin, &web, &extra, netns.as_deref());
        let old = std::mem::replace(&mut self.rms[i], new);
        self.retired_events.extend(old.events());
    }

    /// SIGKILL: the controller vanishes; its session expires on the server later.
    pub fn kill_controller(&mut self, i: usize) {
        if let Some(mut c) = self.controllers[i].take() {
            let _ = c.child.kill();
            let _ = c.child.wait();
        }
    }

    /// SIGTERM and wait: an orderly stop.
    pub fn stop_controller(&mut self, i: usize) {
        if let Some(mut c) = self.controllers[i].take() {
            signal(c.pid, "TERM");
            let _ = c.child.wait();
        }
    }

    pub fn controller_signal(&self, i: usize, sig: &str) {
        let c = self.controllers[i].as_ref().expect("controller running");
        signal(c.pid, sig);
    }

    /// `http://127.0.0.1:PORT` of controller `i`'s admin API (from its start-up log line).
    pub fn admin_url(&self, i: usize) -> String {
        super::wait::wait_for(&format!("controller rm{} to listen", i + 1), Duration::from_secs(30), || {
            let log = self.controller_log(i);
            let line = log.lines().rev().find(|l| l.contains("admin API listening"))?;
            let addr =
                line.split("admin=").nth(1)?.split(|c: char| c.is_whitespace() || c == '"' || c == ',').next()?;
            Some(format!("http://{addr}"))
        })
    }

    pub fn controller_log(&self, i: usize) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("controller-rm{}.log", i + 1))).unwrap_or_default()
    }

    /// Indexes of the RMs that answer ACTIVE over IPC right now.
    pub fn active_rms(&self) -> Vec<usize> {
        (0..self.rms.len()).filter(|i| self.rms[*i].ha_state().as_deref() == Some("active")).collect()
    }

    /// Waits until exactly one RM (other than `not`) answers ACTIVE; returns it.
    pub fn wait_one_active(&self, deadline: Duration, not: Option<usize>) -> usize {
        wait_for("exactly one active RM", deadline, || match self.active_rms().as_slice() {
            [one] if Some(*one) != not => Some(*one),
            _ => None,
        })
    }

    /// Every journal record of every RM process this cluster ran (restarted ones included).
    pub fn all_events(&self) -> Vec<SimEvent> {
        self.retired_events.iter().cloned().chain(self.rms.iter().flat_map(|r| r.events())).collect()
    }

    /// No two RMs ever accepted state-store writes in overlapping intervals.
    pub fn assert_no_split_brain(&self) {
        let ev = self.all_events();
        let overlaps = overlapping_writes(&ev);
        assert!(overlaps.is_empty(), "split brain: {overlaps:?}\nintervals: {:?}", write_intervals(&ev));
    }

    /// Dumps the controllers' logs (for a failing test's output).
    pub fn dump_logs(&self) -> String {
        (0..self.rms.len()).map(|i| format!("==== controller rm{} ====\n{}", i + 1, self.controller_log(i))).collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.controllers.len() {
            self.kill_controller(i);
        }
        if std::thread::panicking() {
            eprintln!("{}", self.dump_logs());
        }
    }
}
