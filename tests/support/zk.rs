//! Real ZooKeeper servers for the integration tests: one standalone server ([`ZkServer`]) or a
//! quorum of nodes on loopback ([`ZkEnsemble`]), each a real `QuorumPeerMain` JVM from the Debian
//! `zookeeper` package (3.8.0), started on free ports with its own temporary data directory.
//!
//! What this module owns: launching those processes, knowing when they serve (the `srvr`
//! four-letter command answers with a `Mode:` line), process faults on them (SIGKILL, SIGSTOP,
//! SIGCONT, restart with the same ports and data), and cleaning up: dropping a [`ZkServer`] or
//! [`ZkEnsemble`] SIGKILLs and reaps every process it started (stopped ones included, and also
//! when the test panicked) and removes its temporary directory.
//!
//! What it must not do: mock ZooKeeper or skip a test. If ZooKeeper or Java is not installed the
//! test panics with the command that installs it; if a server does not come up in time the test
//! panics with the tail of that server's log.
//!
//! Everything here is blocking std code (processes, sockets, threads), usable from any test,
//! synchronous or async (call it outside the async runtime's worker threads, or accept that it
//! blocks one for a few seconds).
//!
//! Orphans: each JVM runs under a tiny `/bin/sh` guard whose stdin is a pipe from the test
//! process. When the test process goes away for any reason (even SIGKILL, where no `Drop` runs)
//! the pipe closes and the guard SIGKILLs and reaps its JVM. The guard also keeps the JVM's pid
//! reserved (unreaped) until we are done with it, so signals sent by pid never hit a stranger.

use std::collections::hash_map::RandomState;
use std::collections::HashSet;
use std::fmt;
use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The one line that tells a developer how to get the peer this module needs.
pub const INSTALL_HINT: &str = "ZooKeeper is not installed: run \
     `apt-get install -y --no-install-recommends zookeeper` (or .ci/run)";

const LOOPBACK: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// How long one start attempt may take before it is given up (a cold JVM on a busy 2-CPU
/// machine running several test binaries takes a few seconds, never this long).
const START_DEADLINE: Duration = Duration::from_secs(40);
/// Start attempts (each with fresh ports) when a port turned out to be taken.
const START_ATTEMPTS: usize = 4;
/// Default time a single `srvr` probe may take. A stopped (SIGSTOP) JVM still has its listening
/// socket accepted by the kernel, so the probe only ends by this timeout.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Lines of a server log shown when something about that server fails.
const LOG_TAIL_LINES: usize = 40;

/// What a server says about itself in the `Mode:` line of `srvr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    Standalone,
    Leader,
    Follower,
    Observer,
    ReadOnly,
}

impl Mode {
    fn parse(srvr: &str) -> Option<Mode> {
        let mode = srvr.lines().find_map(|l| l.trim().strip_prefix("Mode:"))?.trim();
        Some(match mode {
            "standalone" => Mode::Standalone,
            "leader" => Mode::Leader,
            "follower" => Mode::Follower,
            "observer" => Mode::Observer,
            "read-only" => Mode::ReadOnly,
            other => panic!("unknown ZooKeeper mode {other:?} in srvr answer:\n{srvr}"),
        })
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Standalone => "standalone",
            Mode::Leader => "leader",
            Mode::Follower => "follower",
            Mode::Observer => "observer",
            Mode::ReadOnly => "read-only",
        })
    }
}

/// Sends a four-letter command (e.g. `srvr`, `ruok`, `mntr`) to `addr` and reads the answer to
/// EOF. `None` when the server cannot be reached or does not answer completely within `timeout`
/// (connect, write and read each bounded by it).
pub fn four_letter(addr: SocketAddr, cmd: &str, timeout: Duration) -> Option<String> {
    let started = Instant::now();
    let mut stream = TcpStream::connect_timeout(&addr, timeout).ok()?;
    let left = |started: Instant| timeout.checked_sub(started.elapsed()).filter(|d| !d.is_zero());
    stream.set_write_timeout(Some(left(started)?)).ok()?;
    stream.write_all(cmd.as_bytes()).ok()?;
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        // Re-arm so the whole exchange stays within `timeout`, not each read.
        stream.set_read_timeout(Some(left(started)?)).ok()?;
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        }
    }
    Some(String::from_utf8_lossy(&answer).into_owned())
}

/// The mode a server at `addr` reports, `None` when it does not serve (unreachable, frozen,
/// or "This ZooKeeper instance is not currently serving requests").
pub fn probe_mode(addr: SocketAddr, timeout: Duration) -> Option<Mode> {
    Mode::parse(&four_letter(addr, "srvr", timeout)?)
}

// ---------------------------------------------------------------------------------------------
// Installation and ports

use rmfc::demo::zookeeper::Install;

/// Java and Debian's ZooKeeper, found once (the same lookup the demo uses); missing ones fail
/// the test loudly with the install hint.
fn install() -> &'static Install {
    static INSTALL: OnceLock<Install> = OnceLock::new();
    INSTALL.get_or_init(|| rmfc::demo::zookeeper::find_install().unwrap_or_else(|e| panic!("{INSTALL_HINT}\n{e:#}")))
}

/// A pseudo-random number (std only): a randomly keyed hasher over a process-wide counter.
fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    h.finish()
}

/// Ports handed out by this process; never handed out twice, so parallel tests in one binary
/// cannot collide and a killed node can be restarted on its ports.
fn taken_ports() -> &'static Mutex<HashSet<u16>> {
    static TAKEN: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    TAKEN.get_or_init(Default::default)
}

/// Range to draw ports from: below the kernel's ephemeral range (where outgoing connections
/// get their local ports, and where a "bind port 0" answer would come from, so other test
/// binaries doing that cannot race us there).
fn port_range() -> (u16, u16) {
    let ephemeral_low = fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    if ephemeral_low > 12_000 {
        (10_000, ephemeral_low)
    } else {
        (ephemeral_low.max(1024), 65_000)
    }
}

/// A port on 127.0.0.1 that is free right now: random in [`port_range`], not handed out before
/// by this process, verified by binding it (and releasing it at once). Another process can
/// still take it before the server binds it; starts retry with fresh ports when that happens.
pub fn free_port() -> u16 {
    let (low, high) = port_range();
    let mut taken = taken_ports().lock().unwrap_or_else(|e| e.into_inner());
    for _ in 0..1000 {
        let port = low + (random_u64() % u64::from(high - low)) as u16;
        if !taken.contains(&port) && TcpListener::bind((LOOPBACK, port)).is_ok() {
            taken.insert(port);
            return port;
        }
    }
    // The range is crowded: let the kernel choose.
    loop {
        let port = TcpListener::bind((LOOPBACK, 0)).and_then(|l| l.local_addr()).expect("bind 127.0.0.1:0").port();
        if taken.insert(port) {
            return port;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// One ZooKeeper process

/// The guard around each JVM: prints the JVM's pid, then waits for its stdin (a pipe from the
/// test process) to close, then SIGKILLs and reaps the JVM. `$1` is the log file, the rest is
/// the JVM command line.
const GUARD_SCRIPT: &str = r#"log="$1"; shift
"$@" </dev/null >>"$log" 2>&1 &
echo $!
read _ignored
kill -9 $! 2>/dev/null
wait
"#;

struct Running {
    guard: Child,
    guard_stdin: ChildStdin,
    pid: u32,
    started: Instant,
}

struct Node {
    /// `myid` in an ensemble (1-based), 0 for a standalone server.
    myid: usize,
    /// Where the node listens and, when set, the network namespace it runs in.
    host: ZkHost,
    dir: PathBuf,
    client_port: u16,
    running: Option<Running>,
}

impl Node {
    fn config_path(&self) -> PathBuf {
        self.dir.join("zoo.cfg")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("zookeeper.log")
    }

    fn client_addr(&self) -> SocketAddr {
        SocketAddr::from((self.host.ip, self.client_port))
    }

    fn name(&self) -> String {
        if self.myid == 0 {
            format!("ZooKeeper standalone at {}", self.client_addr())
        } else {
            format!("ZooKeeper node {} (myid {}) at {}", self.myid - 1, self.myid, self.client_addr())
        }
    }

    fn spawn(&mut self) {
        assert!(self.running.is_none(), "{} is already running", self.name());
        let install = install();
        let log = self.log_path();
        let mut log_file = fs::OpenOptions::new().create(true).append(true).open(&log).expect("open ZooKeeper log");
        writeln!(log_file, "===== rmfc test support: starting {} =====", self.name()).expect("write ZooKeeper log");
        let mut guard = Command::new("/bin/sh")
            .arg("-c")
            .arg(GUARD_SCRIPT)
            .arg("rmfc-zk-guard")
            .arg(&log)
            .args(self.host.netns.iter().flat_map(|ns| ["ip", "netns", "exec", ns.as_str()]))
            .arg(&install.java)
            .args(install.server_args(&self.config_path()))
            .current_dir(&self.dir) // a JVM crash file (hs_err_pid*.log) lands in the temp dir
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run /bin/sh to start {}: {e}", self.name()));
        let guard_stdin = guard.stdin.take().expect("guard stdin");
        let mut line = String::new();
        BufReader::new(guard.stdout.take().expect("guard stdout"))
            .read_line(&mut line)
            .expect("read JVM pid from guard");
        let pid = line.trim().parse().unwrap_or_else(|_| {
            panic!("guard for {} printed {line:?} instead of a pid\n{}", self.name(), self.log_tail(LOG_TAIL_LINES))
        });
        self.running = Some(Running { guard, guard_stdin, pid, started: Instant::now() });
    }

    /// SIGKILL the JVM and reap it (and its guard). No-op when not running.
    fn kill(&mut self) {
        if let Some(Running { mut guard, guard_stdin, .. }) = self.running.take() {
            // Closing the pipe makes the guard SIGKILL the JVM (stopped or not) and reap it.
            drop(guard_stdin);
            let _ = guard.wait();
        }
    }

    fn pid(&self) -> Option<u32> {
        self.running.as_ref().map(|r| r.pid)
    }

    /// Whether the JVM process is alive (possibly stopped). A JVM that exited stays an unreaped
    /// zombie under its guard until [`Node::kill`], so its pid cannot have been reused.
    fn alive(&self) -> bool {
        let Some(pid) = self.pid() else { return false };
        match fs::read_to_string(format!("/proc/{pid}/stat")) {
            // The state follows the parenthesised command name.
            Ok(stat) => {
                !matches!(stat.rsplit_once(')').and_then(|(_, rest)| rest.trim_start().chars().next()), Some('Z' | 'X'))
            }
            Err(_) => false,
        }
    }

    fn signal(&self, signal: &str) {
        let pid = self.pid().unwrap_or_else(|| panic!("{} is not running; cannot send SIG{signal}", self.name()));
        super::procs::signal(pid, signal);
    }

    fn mode(&self, timeout: Duration) -> Option<Mode> {
        probe_mode(self.client_addr(), timeout)
    }

    fn log_tail(&self, lines: usize) -> String {
        let text = fs::read(self.log_path()).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        let tail = all[all.len().saturating_sub(lines)..].join("\n");
        format!(
            "--- last {lines} lines of {} ({}) ---\n{tail}\n--- end of log ---",
            self.log_path().display(),
            self.name()
        )
    }

    /// The log of the current run says a port could not be bound.
    fn failed_to_bind(&self) -> bool {
        let text = fs::read(self.log_path()).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
        let current_run = text.rsplit("===== rmfc test support: starting").next().unwrap_or("");
        current_run.contains("Address already in use") || current_run.contains("BindException")
    }
}

/// Outcome of waiting for nodes to come up.
enum StartOutcome {
    Up,
    /// A port was taken by someone else: retry on fresh ports.
    PortClash,
    /// Anything else: the message to panic with.
    Failed(String),
}

fn write_file(path: &Path, text: &str) {
    fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

// ---------------------------------------------------------------------------------------------
// Configuration

/// Settings shared by standalone servers and ensembles. Get one from [`ZkServer::builder`] or
/// [`ZkEnsemble::builder`].
///
/// Session timeouts a client asks for are clamped by the server to
/// [`min_session_timeout`, `max_session_timeout`], which default to 2 and 20 ticks (with the
/// default tick of 500 ms: 1 s to 10 s). Raise the maximum for tests that want 30 s sessions.
#[derive(Clone, Debug)]
pub struct ZkBuilder {
    tick_time_ms: u32,
    min_session_timeout_ms: Option<u32>,
    max_session_timeout_ms: Option<u32>,
    /// Per-node placement of an ensemble (default: every node on 127.0.0.1, root namespace).
    hosts: Option<Vec<ZkHost>>,
}

/// Where one ZooKeeper node runs: the address it binds (client, quorum and election ports) and
/// the network namespace to start it in (`ip netns exec`; `None`: the test's own). A node in a
/// namespace must be reachable from the test process at `ip` (see `netns::NetHost`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZkHost {
    pub ip: Ipv4Addr,
    pub netns: Option<String>,
}

impl ZkHost {
    fn loopback() -> ZkHost {
        ZkHost { ip: LOOPBACK, netns: None }
    }
}

impl Default for ZkBuilder {
    fn default() -> Self {
        ZkBuilder { tick_time_ms: 500, min_session_timeout_ms: None, max_session_timeout_ms: None, hosts: None }
    }
}

impl ZkBuilder {
    /// ZooKeeper's `tickTime` in milliseconds (default 500).
    pub fn tick_time(mut self, ms: u32) -> Self {
        assert!(ms > 0, "tickTime must be positive");
        self.tick_time_ms = ms;
        self
    }

    /// `minSessionTimeout` in milliseconds (default 2 × tickTime).
    pub fn min_session_timeout(mut self, ms: u32) -> Self {
        self.min_session_timeout_ms = Some(ms);
        self
    }

    /// `maxSessionTimeout` in milliseconds (default 20 × tickTime).
    pub fn max_session_timeout(mut self, ms: u32) -> Self {
        self.max_session_timeout_ms = Some(ms);
        self
    }

    /// Places ensemble node `i` on `hosts[i]` (its address and network namespace). Only for
    /// [`ZkBuilder::start_ensemble`] with `hosts.len()` nodes.
    pub fn hosts(mut self, hosts: Vec<ZkHost>) -> Self {
        self.hosts = Some(hosts);
        self
    }

    /// Starts a standalone server and waits until it serves.
    pub fn start(self) -> ZkServer {
        ZkServer::start_with(self)
    }

    /// Starts an ensemble of `n` nodes and waits until all serve with exactly one leader.
    pub fn start_ensemble(self, n: usize) -> ZkEnsemble {
        ZkEnsemble::start_with(self, n)
    }

    fn common_config(&self, data_dir: &Path, client_ip: Ipv4Addr, client_port: u16) -> String {
        let mut cfg = format!(
            "tickTime={}\n\
             dataDir={}\n\
             clientPort={client_port}\n\
             clientPortAddress={client_ip}\n\
             admin.enableServer=false\n\
             4lw.commands.whitelist=*\n\
             # Test data need not survive a machine crash; a killed process loses nothing.\n\
             forceSync=no\n",
            self.tick_time_ms,
            data_dir.display(),
        );
        if let Some(ms) = self.min_session_timeout_ms {
            cfg.push_str(&format!("minSessionTimeout={ms}\n"));
        }
        if let Some(ms) = self.max_session_timeout_ms {
            cfg.push_str(&format!("maxSessionTimeout={ms}\n"));
        }
        cfg
    }
}

// ---------------------------------------------------------------------------------------------
// Standalone server

/// A real standalone ZooKeeper server on 127.0.0.1. Killed and cleaned up on drop.
pub struct ZkServer {
    node: Node,
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

    fn start_with(config: ZkBuilder) -> ZkServer {
        install();
        let dir = tempfile::Builder::new().prefix("rmfc-zk-").tempdir().expect("create temp dir for ZooKeeper");
        let mut server = ZkServer {
            node: Node { myid: 0, host: ZkHost::loopback(), dir: dir.path().to_owned(), client_port: 0, running: None },
            config,
            dir,
        };
        for attempt in 1..=START_ATTEMPTS {
            server.node.client_port = free_port();
            let data_dir = server.dir.path().join("data");
            fs::create_dir_all(&data_dir).expect("create ZooKeeper data dir");
            write_file(
                &server.node.config_path(),
                &server.config.common_config(&data_dir, LOOPBACK, server.node.client_port),
            );
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

// ---------------------------------------------------------------------------------------------
// Ensemble

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

    fn start_with(config: ZkBuilder, n: usize) -> ZkEnsemble {
        assert!(n >= 1, "an ensemble needs at least one node");
        install();
        let dir =
            tempfile::Builder::new().prefix("rmfc-zk-ensemble-").tempdir().expect("create temp dir for ZooKeeper");
        if let Some(hosts) = &config.hosts {
            assert_eq!(hosts.len(), n, "ZkBuilder::hosts names {} hosts for {n} nodes", hosts.len());
        }
        let host = |myid: usize| config.hosts.as_ref().map_or_else(ZkHost::loopback, |h| h[myid - 1].clone());
        let nodes = (1..=n)
            .map(|myid| Node {
                myid,
                host: host(myid),
                dir: dir.path().join(format!("node{myid}")),
                client_port: 0,
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
                "{}initLimit=10\nsyncLimit=5\n{servers}",
                self.config.common_config(&data_dir, node.host.ip, node.client_port)
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

fn probe_all(nodes: &[Node], timeout: Duration) -> Vec<Option<Mode>> {
    std::thread::scope(|s| {
        let probes: Vec<_> = nodes.iter().map(|n| s.spawn(move || n.mode(timeout))).collect();
        probes.into_iter().map(|p| p.join().expect("srvr probe thread")).collect()
    })
}

/// Polls `srvr` on every node until `done(modes)`, a node's process dies, or `deadline`.
fn wait_nodes_up(nodes: &[Node], deadline: Duration, done: impl Fn(&[Option<Mode>]) -> bool) -> StartOutcome {
    let start = Instant::now();
    let mut last_log_check = Instant::now();
    loop {
        let modes = probe_all(nodes, PROBE_TIMEOUT);
        if done(&modes) {
            return StartOutcome::Up;
        }
        // A port clash shows up as a dead process (client port) or only in the log while the
        // process lives on (a leader that cannot bind its quorum port keeps re-electing).
        let check_log = last_log_check.elapsed() > Duration::from_secs(1);
        if check_log {
            last_log_check = Instant::now();
        }
        for node in nodes {
            let dead = node.running.is_some() && !node.alive();
            if (dead || check_log) && node.failed_to_bind() {
                return StartOutcome::PortClash;
            }
            if dead {
                let ran = node.running.as_ref().map_or(Duration::ZERO, |r| r.started.elapsed());
                return StartOutcome::Failed(format!(
                    "{} exited {ran:?} after it was started\n{}",
                    node.name(),
                    node.log_tail(LOG_TAIL_LINES)
                ));
            }
        }
        if start.elapsed() > deadline {
            let tails: Vec<String> = nodes.iter().map(|n| n.log_tail(LOG_TAIL_LINES)).collect();
            return StartOutcome::Failed(format!(
                "ZooKeeper did not serve within {deadline:?} (modes {modes:?})\n{}",
                tails.join("\n")
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
