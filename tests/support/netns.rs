//! Network namespaces as "hosts" for tests that need real network partitions on one machine.
//!
//! A [`NetLab`] owns one Linux bridge in the root namespace with an address in a private
//! `10.213.0.0/24` subnet; each [`NetHost`] is a network namespace joined to that bridge by a veth
//! pair, with its own address. The test process (in the root namespace) reaches every host through
//! the bridge; processes started with [`NetHost::command`] live inside the host.
//!
//! Partitions use only `ip` (iproute2), no iptables/nft (not installed here): [`NetHost::cut_from`]
//! adds blackhole routes inside the host for the given peers (new connections fail, established ones
//! hang: their packets go nowhere), [`NetHost::isolate`] takes the host's link down (everything,
//! including the test process, loses it), [`NetHost::heal`] undoes both.
//!
//! Owns: every namespace, veth and bridge whose name starts with [`PREFIX`], and their cleanup: on
//! drop (also while a test panics) and, at [`NetLab::create`], the leftovers of a previous run that
//! was killed (their processes are SIGKILLed first). A lock file stops two runs from sharing the
//! prefix. Must not: touch any other interface, route or namespace, or start anything itself.
//!
//! Needs root (CAP_NET_ADMIN). [`NetLab::create`] returns `Err` with the reason when it cannot
//! build the lab, so a caller can say so and fall back to loopback.

use std::net::Ipv4Addr;
use std::process::Command;

use super::zk::ZkHost;

/// Name prefix of everything this module creates (interface names are limited to 15 bytes).
pub const PREFIX: &str = "rmfct-";
const BRIDGE: &str = "rmfct-br0";
const SUBNET_PREFIX: [u8; 3] = [10, 213, 0];
const LOCK_FILE: &str = "/run/rmfct.lock";

fn ip(args: &[&str]) -> Result<String, String> {
    let out = Command::new("ip").args(args).output().map_err(|e| format!("cannot run `ip`: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!("`ip {}` failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// The bridge and the lock; hosts are made with [`NetLab::add_host`].
pub struct NetLab {
    next_octet: u8,
}

/// Whether this process runs as root (effective uid 0, read from /proc: no libc dependency).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("Uid:")).and_then(|l| l.split_whitespace().nth(2).map(str::to_owned))
        })
        .is_some_and(|euid| euid == "0")
}

impl NetLab {
    /// Removes leftovers of a killed run and creates the bridge. `Err` (with why) when not root,
    /// when `ip` is missing, or when another run holds the lock.
    pub fn create() -> Result<NetLab, String> {
        if !is_root() {
            return Err("not running as root".to_string());
        }
        take_lock()?;
        // From here on, dropping `lab` (also on an early return) releases the lock.
        let lab = NetLab { next_octet: 10 };
        cleanup_stale();
        let subnet = format!("{}.{}.{}.0/24", SUBNET_PREFIX[0], SUBNET_PREFIX[1], SUBNET_PREFIX[2]);
        let routes = ip(&["-4", "route", "show"])?;
        if routes.lines().any(|l| l.starts_with(&subnet)) {
            return Err(format!("{subnet} is already routed on this machine: {routes}"));
        }
        ip(&["link", "add", BRIDGE, "type", "bridge"])?;
        ip(&["addr", "add", &format!("{}/24", lab.bridge_ip()), "dev", BRIDGE])?;
        ip(&["link", "set", BRIDGE, "up"])?;
        Ok(lab)
    }

    /// The root namespace's address on the bridge (what hosts see the test process as).
    pub fn bridge_ip(&self) -> Ipv4Addr {
        Ipv4Addr::new(SUBNET_PREFIX[0], SUBNET_PREFIX[1], SUBNET_PREFIX[2], 1)
    }

    /// A new host `rmfct-<name>` (name at most 8 bytes) on the bridge with the next free address.
    pub fn add_host(&mut self, name: &str) -> Result<NetHost, String> {
        let ns = format!("{PREFIX}{name}");
        if ns.len() > 14 {
            return Err(format!("host name {name:?} too long (interface names are limited to 15 bytes)"));
        }
        if self.next_octet == u8::MAX {
            return Err(format!("the lab's addresses are used up (host {name})"));
        }
        let addr = Ipv4Addr::new(SUBNET_PREFIX[0], SUBNET_PREFIX[1], SUBNET_PREFIX[2], self.next_octet);
        self.next_octet += 1;
        // The host owns its namespace and veth from here on: Drop removes whatever was made.
        let host = NetHost { ns: ns.clone(), ip: addr, cuts: Vec::new(), isolated: false };
        ip(&["netns", "add", &ns])?;
        let peer = format!("{ns}p");
        ip(&["link", "add", &ns, "type", "veth", "peer", "name", &peer])?;
        ip(&["link", "set", &peer, "netns", &ns])?;
        ip(&["-n", &ns, "link", "set", &peer, "name", "eth0"])?;
        ip(&["-n", &ns, "addr", "add", &format!("{addr}/24"), "dev", "eth0"])?;
        ip(&["-n", &ns, "link", "set", "eth0", "up"])?;
        ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        ip(&["link", "set", &ns, "master", BRIDGE])?;
        ip(&["link", "set", &ns, "up"])?;
        Ok(host)
    }
}

impl Drop for NetLab {
    fn drop(&mut self) {
        let _ = ip(&["link", "del", BRIDGE]);
        release_lock();
    }
}

/// One host: a network namespace with one address on the lab's bridge.
pub struct NetHost {
    ns: String,
    ip: Ipv4Addr,
    cuts: Vec<Ipv4Addr>,
    isolated: bool,
}

impl NetHost {
    pub fn ip(&self) -> Ipv4Addr {
        self.ip
    }

    /// The namespace name (for `ip netns exec`).
    pub fn netns(&self) -> &str {
        &self.ns
    }

    /// Where a process on this host runs, for `cluster::Placement` and `ZkBuilder::hosts`.
    pub fn host(&self) -> ZkHost {
        ZkHost { ip: self.ip, netns: Some(self.ns.clone()) }
    }

    /// A `Command` that runs `program` inside this host (`ip netns exec` execs it, so the child's
    /// pid is the program's own: signals sent to it reach the program).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns]).arg(program);
        c
    }

    /// Cuts this host off from `peers`: its packets to them are dropped (new connections fail at
    /// once, established ones hang, as behind a broken router). Cumulative until [`heal`].
    ///
    /// [`heal`]: NetHost::heal
    pub fn cut_from(&mut self, peers: &[Ipv4Addr]) {
        for p in peers {
            if !self.cuts.contains(p) {
                let target = format!("{p}/32");
                ip(&["-n", &self.ns, "route", "add", "blackhole", &target])
                    .unwrap_or_else(|e| panic!("partition {} from {p}: {e}", self.ns));
                self.cuts.push(*p);
            }
        }
    }

    /// Takes the host's link down: nothing reaches it or leaves it (not even the test process).
    pub fn isolate(&mut self) {
        ip(&["-n", &self.ns, "link", "set", "eth0", "down"]).unwrap_or_else(|e| panic!("isolate {}: {e}", self.ns));
        self.isolated = true;
    }

    /// Removes every cut and brings the link back up.
    pub fn heal(&mut self) {
        for p in std::mem::take(&mut self.cuts) {
            let target = format!("{p}/32");
            ip(&["-n", &self.ns, "route", "del", "blackhole", &target])
                .unwrap_or_else(|e| panic!("heal {} from {p}: {e}", self.ns));
        }
        if std::mem::take(&mut self.isolated) {
            ip(&["-n", &self.ns, "link", "set", "eth0", "up"]).unwrap_or_else(|e| panic!("heal {}: {e}", self.ns));
            // The address's route comes back with the link; nothing else to restore.
        }
    }

    /// Whether a cut or isolation is in force.
    pub fn is_partitioned(&self) -> bool {
        self.isolated || !self.cuts.is_empty()
    }
}

impl Drop for NetHost {
    fn drop(&mut self) {
        kill_netns_pids(&self.ns);
        let _ = ip(&["link", "del", &self.ns]);
        let _ = ip(&["netns", "del", &self.ns]);
    }
}

/// SIGKILLs whatever still runs inside `ns` (the owners of those processes normally reaped them).
fn kill_netns_pids(ns: &str) {
    if let Ok(pids) = ip(&["netns", "pids", ns]) {
        for pid in pids.split_whitespace() {
            let _ = Command::new("kill").args(["-KILL", pid]).status();
        }
    }
}

/// Refuses to run beside a live run; takes over the lock of a dead one. The file is created
/// exclusively, so two runs starting at once cannot both believe they hold it.
fn take_lock() -> Result<(), String> {
    let me = std::process::id().to_string();
    for _ in 0..3 {
        match std::fs::OpenOptions::new().write(true).create_new(true).open(LOCK_FILE) {
            Ok(mut f) => {
                use std::io::Write;
                return f.write_all(me.as_bytes()).map_err(|e| format!("cannot write {LOCK_FILE}: {e}"));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let holder = std::fs::read_to_string(LOCK_FILE).unwrap_or_default();
                let holder = holder.trim();
                if holder == me {
                    return Ok(());
                }
                if !holder.is_empty() && std::path::Path::new(&format!("/proc/{holder}")).exists() {
                    return Err(format!(
                        "another test process (pid {holder}) holds {LOCK_FILE}: its namespaces are in use"
                    ));
                }
                // The holder is gone (or was killed while writing): take over.
                let _ = std::fs::remove_file(LOCK_FILE);
            }
            Err(e) => return Err(format!("cannot create {LOCK_FILE}: {e}")),
        }
    }
    Err(format!("could not take {LOCK_FILE}: another run keeps taking it"))
}

/// Removes the lock file if this process holds it (never another run's).
fn release_lock() {
    let holder = std::fs::read_to_string(LOCK_FILE).unwrap_or_default();
    if holder.trim() == std::process::id().to_string() {
        let _ = std::fs::remove_file(LOCK_FILE);
    }
}

/// Removes namespaces and links named [`PREFIX`]* left by a run that was killed.
fn cleanup_stale() {
    if let Ok(list) = ip(&["netns", "list"]) {
        for ns in list.lines().filter_map(|l| l.split_whitespace().next()).filter(|n| n.starts_with(PREFIX)) {
            eprintln!("netns: removing stale namespace {ns} from a previous run");
            kill_netns_pids(ns);
            let _ = ip(&["netns", "del", ns]);
        }
    }
    if let Ok(links) = ip(&["-o", "link", "show"]) {
        for name in links.lines().filter_map(|l| l.split(": ").nth(1)) {
            let name = name.split('@').next().unwrap_or(name);
            if name.starts_with(PREFIX) {
                eprintln!("netns: removing stale link {name} from a previous run");
                let _ = ip(&["link", "del", name]);
            }
        }
    }
}
