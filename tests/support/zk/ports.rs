//! Ports for test servers: random, below the kernel's ephemeral range, never handed out twice
//! by this process. Must not: promise a port stays free (starts retry when one was taken).

use std::collections::hash_map::RandomState;
use std::collections::HashSet;
use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use super::LOOPBACK;

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
