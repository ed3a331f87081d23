//! A ZooKeeper ensemble: `n` nodes, each with its own client, quorum and election port, and the
//! faults tests inject on them (kill, stop, restart, quorum loss).

use std::fs;
use std::time::Duration;

use tempfile::TempDir;

use super::node::{probe_all, wait_nodes_up, write_file, Node, StartOutcome};
use super::*;

/// A real ZooKeeper ensemble: `n` nodes on 127.0.0.1, each with its own client, quorum and
/// election port. Nodes are indexed from 0 (`myid` is index + 1). Killed and cleaned up on drop.
pub struct ZkEnsemble {
    nodes: Vec<Node>,
    config: ZkBuilder,
    // Dropped after `Drop::drop` killed the processes.
    dir: TempDir,
}

impl ZkEnsemble {
    /// Starts `n` nodes with the default settings (tickTime 500 ms, initLimit 10, syncLimit 5)
    /// and waits until every node serves and exactly one is the leader.
    pub fn start(n: usize) -> ZkEnsemble {
        ZkEnsemble::builder().start_ensemble(n)
    }

    /// Settings for an ensemble; finish with [`ZkBuilder::start_ensemble`].
    pub fn builder() -> ZkBuilder {
        ZkBuilder::default()
    }

    pub(super) fn start_with(config: ZkBuilder, n: usize) -> ZkEnsemble {
        assert!(n >= 1, "an ensemble needs at least one node");
        install();
        let dir =
            tempfile::Builder::new().prefix("rmfc-zk-ensemble-").tempdir().expect("create temp dir for ZooKeeper");
        if let Some(hosts) = &config.hosts {
            assert_eq!(hosts.len(), n, "ZkBuilder::hosts names {} hosts for {n} nodes", hosts.len());
        }
        assert!(config.security.tls.is_none(), "ZkBuilder::tls is for standalone servers only");
        let host = |myid: usize| config.hosts.as_ref().map_or_else(ZkHost::loopback, |h| h[myid - 1].clone());
        let jvm = config.security.jvm(dir.path());
        let nodes = (1..=n)
            .map(|myid| Node {
                myid,
                host: host(myid),
                dir: dir.path().join(format!("node{myid}")),
                client_port: 0,
                jvm: jvm.clone(),
                running: None,
            })
            .collect();
        let mut ensemble = ZkEnsemble { nodes, config, dir };
        for attempt in 1..=START_ATTEMPTS {
            ensemble.configure();
            for node in &mut ensemble.nodes {
                node.spawn();
            }
            let all_up_one_leader = |modes: &[Option<Mode>]| {
                modes.iter().all(Option::is_some)
                    && (n == 1 || modes.iter().filter(|m| **m == Some(Mode::Leader)).count() == 1)
            };
            match wait_nodes_up(&ensemble.nodes, START_DEADLINE, all_up_one_leader) {
                StartOutcome::Up => return ensemble,
                StartOutcome::PortClash if attempt < START_ATTEMPTS => ensemble.nodes.iter_mut().for_each(Node::kill),
                StartOutcome::PortClash => panic!("ensemble ports kept clashing\n{}", ensemble.log_tails()),
                StartOutcome::Failed(msg) => panic!("{msg}"),
            }
        }
        unreachable!()
    }

    /// Fresh ports, empty data dirs with `myid`, and a config for every node.
    fn configure(&mut self) {
        let ports: Vec<(u16, u16, u16)> = self.nodes.iter().map(|_| (free_port(), free_port(), free_port())).collect();
        let servers: String = ports
            .iter()
            .zip(&self.nodes)
            .enumerate()
            .map(|(i, ((client, quorum, election), node))| {
                let ip = node.host.ip;
                format!("server.{}={ip}:{quorum}:{election};{ip}:{client}\n", i + 1)
            })
            .collect();
        for (node, (client, _, _)) in self.nodes.iter_mut().zip(&ports) {
            node.client_port = *client;
            let data_dir = node.dir.join("data");
            let _ = fs::remove_dir_all(&data_dir);
            fs::create_dir_all(&data_dir).expect("create ZooKeeper data dir");
            write_file(&data_dir.join("myid"), &format!("{}\n", node.myid));
            let cfg = format!(
                "{}{}initLimit=10\nsyncLimit=5\n{servers}",
                self.config.common_config(&data_dir, node.host.ip, node.client_port),
                self.config.security.zoo_cfg(None)
            );
            write_file(&node.config_path(), &cfg);
        }
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// `127.0.0.1:P1,127.0.0.1:P2,...`, all nodes, for a ZooKeeper client.
    pub fn connect_string(&self) -> String {
        self.nodes.iter().map(|n| n.client_addr().to_string()).collect::<Vec<_>>().join(",")
    }

    pub fn client_addr(&self, i: usize) -> SocketAddr {
        self.nodes[i].client_addr()
    }

    /// The mode node `i` reports (probe bounded by [`PROBE_TIMEOUT`]); `None` when not serving.
    pub fn mode(&self, i: usize) -> Option<Mode> {
        self.nodes[i].mode(PROBE_TIMEOUT)
    }

    /// Like [`ZkEnsemble::mode`] with a caller-chosen probe timeout.
    pub fn mode_within(&self, i: usize, timeout: Duration) -> Option<Mode> {
        self.nodes[i].mode(timeout)
    }

    /// Every node's mode, probed in parallel.
    pub fn modes(&self) -> Vec<Option<Mode>> {
        probe_all(&self.nodes, PROBE_TIMEOUT)
    }

    /// The index of the leader, when exactly one node reports `Mode: leader`.
    pub fn leader(&self) -> Option<usize> {
        let modes = self.modes();
        let mut leaders = (0..modes.len()).filter(|&i| modes[i] == Some(Mode::Leader));
        match (leaders.next(), leaders.next()) {
            (Some(i), None) => Some(i),
            _ => None,
        }
    }

    /// Waits until exactly one node is the leader and returns its index.
    pub fn wait_leader(&self, deadline: Duration) -> usize {
        self.wait_for_state("exactly one leader", deadline, |e| e.leader())
    }

    /// Waits until node `i` serves (leader or follower) and returns its mode. Panics with the
    /// node's log tail after `deadline` or when its process died.
    pub fn wait_serving(&self, i: usize, deadline: Duration) -> Mode {
        self.wait_for_state(&format!("node {i} to serve"), deadline, |e| {
            assert!(
                e.nodes[i].alive(),
                "{} is not running\n{}",
                e.nodes[i].name(),
                e.nodes[i].log_tail(LOG_TAIL_LINES)
            );
            e.mode(i)
        })
    }

    /// Waits until node `i` stops serving (e.g. after it lost the quorum).
    pub fn wait_not_serving(&self, i: usize, deadline: Duration) {
        self.wait_for_state(&format!("node {i} to stop serving"), deadline, |e| e.mode(i).is_none().then_some(()))
    }

    fn wait_for_state<T>(&self, what: &str, deadline: Duration, mut probe: impl FnMut(&Self) -> Option<T>) -> T {
        let start = Instant::now();
        loop {
            if let Some(v) = probe(self) {
                return v;
            }
            if start.elapsed() > deadline {
                panic!(
                    "timed out after {deadline:?} waiting for {what}; modes now {:?}\n{}",
                    self.modes(),
                    self.log_tails()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// PID of node `i`'s JVM, `None` after [`ZkEnsemble::kill`].
    pub fn pid(&self, i: usize) -> Option<u32> {
        self.nodes[i].pid()
    }

    /// Crash node `i`: SIGKILL its JVM and reap it.
    pub fn kill(&mut self, i: usize) {
        self.nodes[i].kill();
    }

    /// Freeze node `i`: SIGSTOP.
    pub fn stop(&self, i: usize) {
        self.nodes[i].signal("STOP");
    }

    /// Thaw node `i` after [`ZkEnsemble::stop`]: SIGCONT.
    pub fn cont(&self, i: usize) {
        self.nodes[i].signal("CONT");
    }

    /// Starts node `i` again after [`ZkEnsemble::kill`], same ports, config and data. Does not
    /// wait: it can only serve once it is part of a quorum; use [`ZkEnsemble::wait_serving`].
    pub fn restart(&mut self, i: usize) {
        self.nodes[i].spawn();
    }

    /// The last `lines` lines of node `i`'s log.
    pub fn log_tail(&self, i: usize, lines: usize) -> String {
        self.nodes[i].log_tail(lines)
    }

    fn log_tails(&self) -> String {
        self.nodes.iter().map(|n| n.log_tail(LOG_TAIL_LINES)).collect::<Vec<_>>().join("\n")
    }
}

impl Drop for ZkEnsemble {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "ZooKeeper ensemble at {} (modes {:?})",
                self.connect_string(),
                probe_all(&self.nodes, Duration::from_millis(300))
            );
            for node in self.nodes.iter().filter(|n| n.running.is_some()) {
                eprintln!("{}", node.log_tail(LOG_TAIL_LINES / 2));
            }
        }
        self.nodes.iter_mut().for_each(Node::kill);
    }
}
