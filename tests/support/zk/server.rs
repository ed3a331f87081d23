//! A standalone ZooKeeper server on 127.0.0.1.

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use tempfile::TempDir;

use super::node::{wait_nodes_up, write_file, Node, StartOutcome};
use super::*;

/// A real standalone ZooKeeper server on 127.0.0.1. Killed and cleaned up on drop.
pub struct ZkServer {
    node: Node,
    /// The TLS client port, when the server runs TLS.
    secure_port: Option<u16>,
    config: ZkBuilder,
    // Dropped after `Drop::drop` killed the process.
    dir: TempDir,
}

impl ZkServer {
    /// Starts a server with the default settings (tickTime 500 ms) and waits until it serves.
    pub fn start() -> ZkServer {
        ZkServer::builder().start()
    }

    /// Settings for a server; finish with [`ZkBuilder::start`].
    pub fn builder() -> ZkBuilder {
        ZkBuilder::default()
    }

    pub(super) fn start_with(config: ZkBuilder) -> ZkServer {
        install();
        let dir = tempfile::Builder::new().prefix("rmfc-zk-").tempdir().expect("create temp dir for ZooKeeper");
        let jvm = config.security.jvm(dir.path());
        let node =
            Node { myid: 0, host: ZkHost::loopback(), dir: dir.path().to_owned(), client_port: 0, jvm, running: None };
        let mut server = ZkServer { node, secure_port: None, config, dir };
        for attempt in 1..=START_ATTEMPTS {
            server.node.client_port = free_port();
            server.secure_port = server.config.security.tls.is_some().then(free_port);
            let data_dir = server.dir.path().join("data");
            fs::create_dir_all(&data_dir).expect("create ZooKeeper data dir");
            let cfg = format!(
                "{}{}",
                server.config.common_config(&data_dir, LOOPBACK, server.node.client_port),
                server.config.security.zoo_cfg(server.secure_port)
            );
            write_file(&server.node.config_path(), &cfg);
            server.node.spawn();
            match wait_nodes_up(std::slice::from_ref(&server.node), START_DEADLINE, |modes| modes[0].is_some()) {
                StartOutcome::Up => return server,
                StartOutcome::PortClash if attempt < START_ATTEMPTS => {
                    server.node.kill();
                    let _ = fs::remove_dir_all(&data_dir);
                }
                StartOutcome::PortClash => {
                    panic!("{}: ports kept clashing\n{}", server.node.name(), server.node.log_tail(LOG_TAIL_LINES))
                }
                StartOutcome::Failed(msg) => panic!("{msg}"),
            }
        }
        unreachable!()
    }

    /// `127.0.0.1:PORT`, for a ZooKeeper client.
    pub fn connect_string(&self) -> String {
        self.client_addr().to_string()
    }

    pub fn client_addr(&self) -> SocketAddr {
        self.node.client_addr()
    }

    /// `127.0.0.1:PORT` of the TLS client port; panics when the server was started without TLS.
    pub fn secure_connect_string(&self) -> String {
        let port = self.secure_port.expect("the server was started without ZkBuilder::tls");
        SocketAddr::from((LOOPBACK, port)).to_string()
    }

    /// The mode `srvr` reports (probe bounded by [`PROBE_TIMEOUT`]); `None` when not serving.
    pub fn mode(&self) -> Option<Mode> {
        self.node.mode(PROBE_TIMEOUT)
    }

    /// Like [`ZkServer::mode`] with a caller-chosen probe timeout.
    pub fn mode_within(&self, timeout: Duration) -> Option<Mode> {
        self.node.mode(timeout)
    }

    /// PID of the JVM, `None` after [`ZkServer::kill`].
    pub fn pid(&self) -> Option<u32> {
        self.node.pid()
    }

    /// Crash: SIGKILL the JVM and reap it. Its port is then closed (connections refused).
    pub fn kill(&mut self) {
        self.node.kill();
    }

    /// Freeze: SIGSTOP. The kernel still accepts connections, nothing answers.
    pub fn stop(&self) {
        self.node.signal("STOP");
    }

    /// Thaw after [`ZkServer::stop`]: SIGCONT.
    pub fn cont(&self) {
        self.node.signal("CONT");
    }

    /// Starts the server again after [`ZkServer::kill`] on the same port with the same data,
    /// and waits until it serves. Panics if it is still running.
    pub fn restart(&mut self) {
        self.node.spawn();
        self.wait_serving(START_DEADLINE);
    }

    /// Waits until the server serves; panics with its log tail after `deadline`.
    pub fn wait_serving(&self, deadline: Duration) -> Mode {
        match wait_nodes_up(std::slice::from_ref(&self.node), deadline, |modes| modes[0].is_some()) {
            StartOutcome::Up => self.mode().expect("served a moment ago"),
            StartOutcome::PortClash => {
                panic!("{}: its port was taken\n{}", self.node.name(), self.node.log_tail(LOG_TAIL_LINES))
            }
            StartOutcome::Failed(msg) => panic!("{msg}"),
        }
    }

    /// The last `lines` lines of the server's log (stdout and stderr of the JVM).
    pub fn log_tail(&self, lines: usize) -> String {
        self.node.log_tail(lines)
    }

    pub fn log_path(&self) -> PathBuf {
        self.node.log_path()
    }
}

impl Drop for ZkServer {
    fn drop(&mut self) {
        if std::thread::panicking() && self.node.running.is_some() {
            eprintln!("{}", self.node.log_tail(LOG_TAIL_LINES));
        }
        self.node.kill();
    }
}
