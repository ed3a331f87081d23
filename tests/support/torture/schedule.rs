//! The fault schedule of the torture test: a list of steps drawn from one seeded `StdRng`, so the
//! same seed (and duration and placement) replays the same faults, holds, operator calls and gaps.
//!
//! Owns: what faults exist and how likely each is. Must not: touch processes or the clock (the
//! driver in `driver.rs` executes a schedule; nothing here depends on what happened at run time).

use std::fmt;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// One fault, healed at the end of its step. Indexes are 0-based (RM `i` is `rm{i+1}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// SIGKILL the controller beside RM `i`; heal: start it again.
    KillController(usize),
    /// SIGKILL RM `i`; heal: start it again on the same addresses.
    KillRm(usize),
    /// SIGSTOP RM `i`; heal: SIGCONT (the hold decides whether it outlasts the session timeout).
    PauseRm(usize),
    /// SIGSTOP the controller beside RM `i`; heal: SIGCONT.
    PauseController(usize),
    /// SIGKILL one ZooKeeper node; heal: restart it.
    KillZk(usize),
    /// SIGKILL two ZooKeeper nodes (no quorum); heal: restart both.
    LoseQuorum(usize, usize),
    /// Host of RM `i` (RM and controller) cannot reach any ZooKeeper node. Network namespaces only.
    CutHostFromZk(usize),
    /// Host of RM `i` cannot reach the other RM hosts (ZooKeeper still reachable).
    CutHostFromPeers(usize),
    /// Host of RM `i` loses its link: cut from everything.
    IsolateHost(usize),
    /// ZooKeeper node `j`'s host loses its link.
    IsolateZk(usize),
}

impl Fault {
    /// The kind, for counting.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::KillController(_) => "kill -9 controller",
            Fault::KillRm(_) => "kill -9 RM",
            Fault::PauseRm(_) => "SIGSTOP RM",
            Fault::PauseController(_) => "SIGSTOP controller",
            Fault::KillZk(_) => "kill ZK node",
            Fault::LoseQuorum(..) => "ZK quorum loss (2 of 3)",
            Fault::CutHostFromZk(_) => "partition host|ZK",
            Fault::CutHostFromPeers(_) => "partition host|peers",
            Fault::IsolateHost(_) => "isolate host (link down)",
            Fault::IsolateZk(_) => "isolate ZK node (link down)",
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::KillController(i) | Fault::PauseController(i) => write!(f, "{} rm{}", self.kind(), i + 1),
            Fault::KillRm(i) | Fault::PauseRm(i) => write!(f, "{} rm{}", self.kind(), i + 1),
            Fault::CutHostFromZk(i) | Fault::CutHostFromPeers(i) | Fault::IsolateHost(i) => {
                write!(f, "{} h{}", self.kind(), i + 1)
            }
            Fault::KillZk(j) | Fault::IsolateZk(j) => write!(f, "{} zk{}", self.kind(), j + 1),
            Fault::LoseQuorum(a, b) => write!(f, "{} zk{}+zk{}", self.kind(), a + 1, b + 1),
        }
    }
}

/// An operator call issued in the middle of a fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OperatorOp {
    /// `POST /v1/switchover {"target": "rm{i+1}"}`.
    Switchover(usize),
    /// `POST /v1/pause {"for": "20s"}`; the driver resumes (`POST /v1/resume`) at the heal.
    Pause,
}

/// One step: inject `fault`, hold it, heal it, wait `gap`.
#[derive(Clone, Debug)]
pub struct Step {
    pub fault: Fault,
    pub hold: Duration,
    /// The operator call, when after the injection, and the controller (index) asked first.
    pub op: Option<(Duration, OperatorOp, usize)>,
    pub gap: Duration,
}

fn ms(rng: &mut StdRng, lo: u64, hi: u64) -> Duration {
    Duration::from_millis(rng.random_range(lo..=hi))
}

/// Steps until their holds and gaps add up to `total`. `session_ms` is the ZooKeeper session
/// timeout: pauses are drawn both shorter and longer than it. `partitions`: network namespaces
/// exist (the partition faults can run).
pub fn schedule(seed: u64, total: Duration, session_ms: u64, partitions: bool, rms: usize) -> Vec<Step> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut steps = Vec::new();
    let mut planned = Duration::ZERO;
    while planned < total {
        let rm = rng.random_range(0..rms);
        let zk = rng.random_range(0..3);
        // Weights: process faults everywhere; partitions only with namespaces.
        let kinds: u32 = if partitions { 10 } else { 6 };
        let (fault, hold) = match rng.random_range(0..kinds) {
            0 => (Fault::KillController(rm), ms(&mut rng, 500, 8_000)),
            1 => (Fault::KillRm(rm), ms(&mut rng, 500, 8_000)),
            2 => {
                // Half short (a GC hiccup), half longer than the session timeout.
                let long = rng.random_bool(0.5);
                let hold =
                    if long { ms(&mut rng, session_ms + 1_000, session_ms * 3) } else { ms(&mut rng, 200, 2_500) };
                (Fault::PauseRm(rm), hold)
            }
            3 => {
                let long = rng.random_bool(0.5);
                let hold =
                    if long { ms(&mut rng, session_ms + 1_000, session_ms * 3) } else { ms(&mut rng, 200, 2_500) };
                (Fault::PauseController(rm), hold)
            }
            4 => (Fault::KillZk(zk), ms(&mut rng, 1_000, 10_000)),
            5 => {
                let other = (zk + rng.random_range(1..3)) % 3;
                (Fault::LoseQuorum(zk, other), ms(&mut rng, 2_000, 15_000))
            }
            6 => (Fault::CutHostFromZk(rm), ms(&mut rng, 1_000, session_ms * 3)),
            7 => (Fault::CutHostFromPeers(rm), ms(&mut rng, 1_000, 12_000)),
            8 => (Fault::IsolateHost(rm), ms(&mut rng, 1_000, session_ms * 3)),
            _ => (Fault::IsolateZk(zk), ms(&mut rng, 1_000, 10_000)),
        };
        let op = rng.random_bool(0.35).then(|| {
            let at = hold.mul_f64(rng.random_range(0.2..0.8));
            let op =
                if rng.random_bool(0.7) { OperatorOp::Switchover(rng.random_range(0..rms)) } else { OperatorOp::Pause };
            (at, op, rng.random_range(0..rms))
        });
        let gap = ms(&mut rng, 1_000, 10_000);
        planned += hold + gap;
        steps.push(Step { fault, hold, op, gap });
    }
    steps
}
