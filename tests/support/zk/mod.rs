//! Real ZooKeeper servers for the integration tests: one standalone server ([`ZkServer`]) or a
//! quorum of nodes on loopback ([`ZkEnsemble`]), each a real `QuorumPeerMain` JVM from the Debian
//! `zookeeper` package (3.8.0), started on free ports with its own temporary data directory.
//!
//! Servers may run secured (`ZkBuilder::sasl_user`, `sasl_kerberos`, `require_sasl`, `tls`):
//! SASL through a JAAS file, TLS on a secure client port (see `security`).
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

use std::fmt;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rmfc::demo::zookeeper::Install;

mod config;
mod ensemble;
mod node;
mod ports;
mod security;
mod server;

pub use config::{ZkBuilder, ZkHost};
pub use ensemble::ZkEnsemble;
pub use ports::free_port;
// Used by the security tests only.
#[allow(unused_imports)]
pub use security::{ZkKerberos, ZkServerTls};
pub use server::ZkServer;

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

/// Java and Debian's ZooKeeper, found once (the same lookup the demo uses); missing ones fail
/// the test loudly with the install hint.
fn install() -> &'static Install {
    static INSTALL: OnceLock<Install> = OnceLock::new();
    INSTALL.get_or_init(|| rmfc::demo::zookeeper::find_install().unwrap_or_else(|e| panic!("{INSTALL_HINT}\n{e:#}")))
}
