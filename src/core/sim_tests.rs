//! The core against an in-memory world: 2–3 controllers, a model of ZooKeeper (sessions,
//! sequential ephemeral nodes, the versioned state znode, the breadcrumb), model RMs that can
//! die or hang, and virtual time. Scenario tests read like specifications; property tests drive
//! random interleavings of deliveries and faults and check the safety rules at every step:
//!
//! - rule 1: never two RMs told ACTIVE in one epoch; never a promotion while another RM is
//!   ACTIVE and not fenced;
//! - rule 3: never a promotion without a live session holding the election.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::budget::FailoverBudget;
use super::controller::{Controller, CoreConfig, FenceMethodKind, Role};
use super::health::ProbeOutcome;
use super::io::{Action, Event, FenceStep, TargetState, WriteFailure};
use super::types::*;
use crate::hadoop_ipc::HaState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proc {
    Alive,
    Hung,
    Dead,
}

#[derive(Debug, Clone)]
struct ModelRm {
    state: HaState,
    proc: Proc,
    /// Fenced by the state store or a method while it could not answer: it must not be active
    /// when it comes back.
    fenced: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sess {
    Connected,
    Disconnected,
    Expired,
}

struct Node {
    rm: RmId,
    ctl: Option<Controller>,
    session: Option<(SessionGen, i64)>,
    /// ZooKeeper answers arrive in order (one connection); RM and fencing answers too.
    zk_q: VecDeque<Event>,
    io_q: VecDeque<Event>,
}

struct World {
    t0: Instant,
    now_ms: u64,
    sessions: HashMap<i64, Sess>,
    next_session: i64,
    next_seq: u64,
    election: BTreeMap<u64, Candidate>,
    state: ClusterState,
    version: Option<i32>,
    breadcrumb: Option<Breadcrumb>,
    rms: BTreeMap<RmId, ModelRm>,
    nodes: Vec<Node>,
    promoted_epochs: HashMap<u64, RmId>,
    violations: Vec<String>,
    /// The state znode holds bytes that do not parse.
    corrupt: bool,
}

fn cfg(rm: &str) -> CoreConfig {
    CoreConfig {
        rm_id: rm.into(),
        probe_interval: Duration::from_millis(1000),
        hung_after: 3,
        unhealthy_after: 1,
        fence_methods: vec![FenceMethodKind::ZkStateStore],
        promote_unfenced: false,
        budget: FailoverBudget { max: 1000, window_ms: 60_000, cooldown_ms: 0 },
        self_fence_after: Duration::from_millis(2000),
        rejoin_delay: Duration::from_millis(1000),
        retry_initial: Duration::from_millis(500),
        retry_max: Duration::from_millis(5000),
        peer_report_fresh_ms: 10_000,
    }
}

impl World {
    fn new(n: usize) -> Self {
        let t0 = Instant::now();
        let mut w = World {
            t0,
            now_ms: 0,
            sessions: HashMap::new(),
            next_session: 100,
            next_seq: 0,
            election: BTreeMap::new(),
            state: ClusterState::default(),
            version: None,
            breadcrumb: None,
            rms: BTreeMap::new(),
            nodes: Vec::new(),
            promoted_epochs: HashMap::new(),
            violations: Vec::new(),
            corrupt: false,
        };
        for i in 1..=n {
            let rm = format!("rm{i}");
            w.rms.insert(rm.clone(), ModelRm { state: HaState::Standby, proc: Proc::Alive, fenced: false });
            w.nodes.push(Node { rm, ctl: None, session: None, zk_q: VecDeque::new(), io_q: VecDeque::new() });
        }
        for i in 0..n {
            w.start_controller(i);
        }
        w
    }

    fn now(&self) -> Instant {
        self.t0 + Duration::from_millis(self.now_ms)
    }

    fn start_controller(&mut self, i: usize) {
        self.start_controller_with(i, cfg(&self.nodes[i].rm));
    }

    fn start_controller_with(&mut self, i: usize, cfg: CoreConfig) {
        let now = self.now();
        let mut ctl = Controller::new(cfg, now);
        let actions = ctl.start(now);
        self.nodes[i].ctl = Some(ctl);
        self.nodes[i].session = None;
        self.nodes[i].zk_q.clear();
        self.nodes[i].io_q.clear();
        self.execute(i, actions);
    }

    fn session_state(&self, i: usize) -> Option<Sess> {
        self.nodes[i].session.and_then(|(_, id)| self.sessions.get(&id).copied())
    }

    fn views_changed(&mut self) {
        let view: Vec<Candidate> = self.election.values().cloned().collect();
        for n in &mut self.nodes {
            if let (Some(_), Some((gen, id))) = (&n.ctl, n.session) {
                if self.sessions.get(&id) == Some(&Sess::Connected) {
                    n.zk_q.push_back(Event::ElectionView { gen, candidates: view.clone() });
                }
            }
        }
    }

    fn check_promotion(&mut self, i: usize, rm: &RmId, epoch: u64) {
        if let Some(other) = self.promoted_epochs.insert(epoch, rm.clone()) {
            self.violations.push(format!("rule 1: epoch {epoch} promoted both {other} and {rm}"));
        }
        let Some((_, sid)) = self.nodes[i].session else {
            return self.violations.push(format!("rule 3: {rm} promoted without a session"));
        };
        if self.sessions.get(&sid) == Some(&Sess::Expired) {
            self.violations.push(format!("rule 3: {rm} promoted with an expired session"));
        }
        match self.election.values().next() {
            Some(c) if c.owner == sid => {}
            other => self.violations.push(format!("rule 3: {rm} promoted while the lowest node is {other:?}")),
        }
        for (other, m) in &self.rms {
            if other != rm && m.state == HaState::Active && !(m.fenced && m.proc != Proc::Alive) {
                self.violations.push(format!("rule 1: {rm} promoted while {other} is ACTIVE and not fenced ({m:?})"));
            }
        }
    }

    fn execute(&mut self, i: usize, actions: Vec<Action>) {
        for a in actions {
            self.execute_one(i, a);
        }
    }

    fn zk_usable(&self, i: usize, gen: SessionGen) -> Option<i64> {
        let (g, id) = self.nodes[i].session?;
        (g == gen && self.sessions.get(&id) == Some(&Sess::Connected)).then_some(id)
    }

    fn execute_one(&mut self, i: usize, a: Action) {
        let rm_id = self.nodes[i].rm.clone();
        match a {
            Action::OpenSession { gen } => {
                self.next_session += 1;
                let id = self.next_session;
                self.sessions.insert(id, Sess::Connected);
                self.nodes[i].session = Some((gen, id));
                self.nodes[i].zk_q.push_back(Event::SessionConnected { gen, session_id: id });
            }
            Action::JoinElection { gen } => match self.zk_usable(i, gen) {
                Some(id) => {
                    self.next_seq += 1;
                    let znode = format!("{rm_id}_g-n_{:010}", self.next_seq);
                    self.election.insert(
                        self.next_seq,
                        Candidate { znode: znode.clone(), rm_id, seq: self.next_seq, owner: id },
                    );
                    self.nodes[i].zk_q.push_back(Event::Joined { gen, znode });
                    self.views_changed();
                }
                None => self.nodes[i].zk_q.push_back(Event::JoinFailed { gen, reason: "not connected".into() }),
            },
            Action::LeaveElection { gen, znode } => {
                if self.zk_usable(i, gen).is_some() {
                    self.election.retain(|_, c| c.znode != znode);
                    self.nodes[i].zk_q.push_back(Event::Left { gen });
                    self.views_changed();
                }
            }
            Action::ReadElection { gen } => {
                if self.zk_usable(i, gen).is_some() {
                    let candidates = self.election.values().cloned().collect();
                    self.nodes[i].zk_q.push_back(Event::ElectionView { gen, candidates });
                }
            }
            Action::ReadState { op, gen } => {
                let result = match self.zk_usable(i, gen) {
                    Some(_) if self.corrupt => Err("state znode is not valid JSON".into()),
                    Some(_) => Ok(StateSnapshot {
                        state: self.state.clone(),
                        version: self.version,
                        breadcrumb: self.breadcrumb.clone(),
                        peer_health: vec![],
                        read_at_ms: self.now_ms,
                    }),
                    None => Err("ZooKeeper unavailable".into()),
                };
                self.nodes[i].zk_q.push_back(Event::StateRead { op, result });
            }
            Action::WriteState { op, gen, own_znode, expected_version, state, breadcrumb, .. } => {
                let result = match self.zk_usable(i, gen) {
                    None => Err(WriteFailure::Unavailable("not connected".into())),
                    Some(id) if !self.election.values().any(|c| c.znode == own_znode && c.owner == id) => {
                        Err(WriteFailure::Conflict("own node gone".into()))
                    }
                    Some(_) if expected_version != self.version => Err(WriteFailure::Conflict("bad version".into())),
                    Some(_) => {
                        self.state = *state;
                        self.version = Some(self.version.map_or(0, |v| v + 1));
                        self.breadcrumb = Some(breadcrumb);
                        Ok(())
                    }
                };
                self.nodes[i].zk_q.push_back(Event::StateWritten { op, result });
            }
            Action::PublishHealth { .. } | Action::Announce(_) => {}
            Action::Probe { op } => {
                let m = &self.rms[&rm_id];
                let outcome = match m.proc {
                    Proc::Alive => ProbeOutcome::Healthy { state: m.state },
                    Proc::Hung => ProbeOutcome::TimedOut,
                    Proc::Dead => ProbeOutcome::Refused,
                };
                self.nodes[i].io_q.push_back(Event::Probed { op, outcome });
            }
            Action::Transition { op, rm, to, epoch, .. } => {
                if to == TargetState::Active {
                    self.check_promotion(i, &rm, epoch);
                }
                let result = self.transition(&rm, to);
                self.nodes[i].io_q.push_back(Event::TransitionDone { op, result });
            }
            Action::Fence { op, target, step, .. } => {
                let result = match step {
                    FenceStep::Graceful => self.transition(&target, TargetState::Standby),
                    FenceStep::Method(_) => {
                        // zk_state_store: the new active takes the store; the target can no
                        // longer write and demotes itself as soon as it runs.
                        if let Some(m) = self.rms.get_mut(&target) {
                            m.fenced = true;
                            if m.proc == Proc::Alive {
                                m.state = HaState::Standby;
                            }
                        }
                        Ok(())
                    }
                };
                self.nodes[i].io_q.push_back(Event::FenceDone { op, result });
            }
            Action::VerifyStoreFence { op, .. } => {
                self.nodes[i].io_q.push_back(Event::StoreFenceVerified { op, result: Ok(()) })
            }
        }
    }

    fn transition(&mut self, rm: &str, to: TargetState) -> Result<(), String> {
        let Some(m) = self.rms.get_mut(rm) else { return Err("unknown rm".into()) };
        match m.proc {
            Proc::Alive => {
                m.state = if to == TargetState::Active { HaState::Active } else { HaState::Standby };
                if to == TargetState::Active {
                    m.fenced = false;
                }
                Ok(())
            }
            Proc::Hung => Err("timed out".into()),
            Proc::Dead => Err("connection refused".into()),
        }
    }

    /// Delivers the head of one queue of controller `i` (zk if `zk`, else io).
    fn deliver(&mut self, i: usize, zk: bool) {
        let ev = if zk { self.nodes[i].zk_q.pop_front() } else { self.nodes[i].io_q.pop_front() };
        let Some(ev) = ev else { return };
        self.step(i, ev);
    }

    fn step(&mut self, i: usize, ev: Event) {
        let now = self.now();
        let Some(ctl) = self.nodes[i].ctl.as_mut() else { return };
        let actions = ctl.step(now, ev);
        self.execute(i, actions);
    }

    fn tick_all(&mut self, ms: u64) {
        self.now_ms += ms;
        for i in 0..self.nodes.len() {
            self.step(i, Event::Tick);
        }
    }

    /// Delivers every queued answer (bounded), without moving time.
    fn drain(&mut self) {
        for _ in 0..200 {
            let busy: Vec<(usize, bool)> = (0..self.nodes.len())
                .flat_map(|i| [(i, true), (i, false)])
                .filter(|(i, zk)| if *zk { !self.nodes[*i].zk_q.is_empty() } else { !self.nodes[*i].io_q.is_empty() })
                .collect();
            let Some(&(i, zk)) = busy.first() else { break };
            self.deliver(i, zk);
        }
    }

    /// `rounds` times: deliver everything queued, then move time 250 ms forward.
    fn settle(&mut self, rounds: usize) {
        for _ in 0..rounds {
            self.drain();
            self.tick_all(250);
        }
        self.drain();
    }

    fn expire_session_of(&mut self, i: usize) {
        if let Some((gen, id)) = self.nodes[i].session {
            self.sessions.insert(id, Sess::Expired);
            self.election.retain(|_, c| c.owner != id);
            self.nodes[i].zk_q.push_back(Event::SessionExpired { gen });
            self.views_changed();
        }
    }

    fn disconnect(&mut self, i: usize) {
        if let Some((gen, id)) = self.nodes[i].session {
            if self.sessions.get(&id) == Some(&Sess::Connected) {
                self.sessions.insert(id, Sess::Disconnected);
                self.nodes[i].zk_q.push_back(Event::SessionDisconnected { gen });
            }
        }
    }

    fn reconnect(&mut self, i: usize) {
        if let Some((gen, id)) = self.nodes[i].session {
            if self.sessions.get(&id) == Some(&Sess::Disconnected) {
                self.sessions.insert(id, Sess::Connected);
                self.nodes[i].zk_q.push_back(Event::SessionConnected { gen, session_id: id });
            }
        }
    }

    fn kill_controller(&mut self, i: usize) {
        self.nodes[i].ctl = None;
        self.nodes[i].zk_q.clear();
        self.nodes[i].io_q.clear();
    }

    fn active_rms(&self) -> Vec<RmId> {
        self.rms
            .iter()
            .filter(|(_, m)| m.state == HaState::Active && m.proc == Proc::Alive)
            .map(|(k, _)| k.clone())
            .collect()
    }

    fn role(&self, i: usize) -> Option<Role> {
        self.nodes[i].ctl.as_ref().map(|c| c.status().role)
    }
}

// ---- scenarios ---------------------------------------------------------------------------------

#[test]
fn start_up_elects_exactly_one_active() {
    for n in [2, 3] {
        let mut w = World::new(n);
        w.settle(10);
        assert_eq!(w.active_rms().len(), 1, "{:?}", w.rms);
        assert_eq!(w.state.epoch, 1);
        assert!(w.violations.is_empty(), "{:?}", w.violations);
    }
}

#[test]
fn a_dead_active_rm_is_replaced_after_the_store_fences_it() {
    let mut w = World::new(2);
    w.settle(10);
    let first = w.active_rms()[0].clone();
    w.rms.get_mut(&first).unwrap().proc = Proc::Dead;
    w.settle(20);
    let now_active = w.active_rms();
    assert_eq!(now_active.len(), 1);
    assert_ne!(now_active[0], first);
    assert_eq!(w.state.epoch, 2);
    assert!(w.violations.is_empty(), "{:?}", w.violations);
}

#[test]
fn a_hung_active_rm_is_replaced_and_comes_back_standby() {
    let mut w = World::new(3);
    w.settle(10);
    let first = w.active_rms()[0].clone();
    w.rms.get_mut(&first).unwrap().proc = Proc::Hung;
    w.settle(30);
    assert_eq!(w.active_rms().len(), 1);
    w.rms.get_mut(&first).unwrap().proc = Proc::Alive;
    w.settle(10);
    assert_eq!(w.rms[&first].state, HaState::Standby, "the fenced RM does not come back active");
    assert_eq!(w.active_rms().len(), 1);
    assert!(w.violations.is_empty(), "{:?}", w.violations);
}

#[test]
fn a_dead_controller_is_replaced_and_its_rm_fenced_gracefully() {
    let mut w = World::new(2);
    w.settle(10);
    let leader = (0..2).find(|i| matches!(w.role(*i), Some(Role::Active { .. }))).expect("a leader");
    let old_rm = w.nodes[leader].rm.clone();
    w.kill_controller(leader);
    w.expire_session_of(leader);
    w.settle(10);
    let active = w.active_rms();
    assert_eq!(active.len(), 1);
    assert_ne!(active[0], old_rm, "the other RM took over");
    assert_eq!(w.rms[&old_rm].state, HaState::Standby, "the old RM was demoted gracefully");
    assert!(w.violations.is_empty(), "{:?}", w.violations);
}

#[test]
fn a_leader_that_loses_its_session_demotes_its_rm() {
    let mut w = World::new(2);
    w.settle(10);
    let leader = (0..2).find(|i| matches!(w.role(*i), Some(Role::Active { .. }))).expect("a leader");
    let rm = w.nodes[leader].rm.clone();
    w.disconnect(leader);
    w.settle(1);
    assert!(matches!(w.role(leader), Some(Role::Neutral { .. })), "{:?}", w.role(leader));
    assert_eq!(w.rms[&rm].state, HaState::Active, "a short disconnection does not demote at once");
    w.settle(12);
    assert_eq!(w.rms[&rm].state, HaState::Standby, "self-fenced before the session could expire");
    w.expire_session_of(leader);
    w.settle(20);
    assert_eq!(w.active_rms().len(), 1);
    assert!(w.violations.is_empty(), "{:?}", w.violations);
}

#[test]
fn a_corrupt_state_znode_makes_nobody_active_until_it_is_repaired() {
    let mut w = World::new(2);
    w.corrupt = true;
    w.settle(20);
    assert!(w.active_rms().is_empty(), "{:?}", w.rms);
    let blocked = (0..2).filter(|i| matches!(w.role(*i), Some(Role::Blocked { .. }))).count();
    assert_eq!(blocked, 1, "the leader says why it does not promote");
    w.corrupt = false;
    w.settle(40);
    assert_eq!(w.active_rms().len(), 1, "after the repair the leader retries and promotes");
    assert!(w.violations.is_empty(), "{:?}", w.violations);
}

#[test]
fn failed_fencing_blocks_promotion() {
    let mut w = World::new(2);
    w.settle(10);
    let leader = (0..2).find(|i| matches!(w.role(*i), Some(Role::Active { .. }))).expect("a leader");
    let old_rm = w.nodes[leader].rm.clone();
    // The old active hangs and its controller dies: graceful fencing cannot work, and with no
    // fencing method configured nothing can confirm the old RM is harmless.
    let other = 1 - leader;
    let mut c = cfg(&w.nodes[other].rm);
    c.fence_methods.clear();
    w.kill_controller(other);
    w.expire_session_of(other);
    w.start_controller_with(other, c);
    w.settle(5);
    w.rms.get_mut(&old_rm).unwrap().proc = Proc::Hung;
    w.kill_controller(leader);
    w.expire_session_of(leader);
    w.settle(30);
    assert!(matches!(w.role(other), Some(Role::Blocked { .. })), "{:?}", w.role(other));
    assert_eq!(w.rms[&w.nodes[other].rm].state, HaState::Standby, "no promotion without fencing");
    assert!(w.violations.is_empty(), "{:?}", w.violations);
}

#[test]
fn the_failover_budget_stops_automatic_failover() {
    let mut w = World::new(2);
    w.settle(10);
    // Two failovers already happened a moment ago.
    w.state.recent_failovers_ms = vec![w.now_ms, w.now_ms];
    let first = w.active_rms()[0].clone();
    w.rms.get_mut(&first).unwrap().proc = Proc::Dead;
    // Rebuild both controllers with a budget of 2 per window.
    for i in 0..2 {
        let mut c = cfg(&w.nodes[i].rm);
        c.budget = FailoverBudget { max: 2, window_ms: 600_000, cooldown_ms: 0 };
        w.kill_controller(i);
        w.expire_session_of(i);
        w.start_controller_with(i, c);
    }
    w.settle(30);
    assert!(w.active_rms().is_empty(), "past the budget nobody is promoted: {:?}", w.rms);
    let survivor = (0..2).find(|i| w.nodes[*i].rm != first).unwrap();
    match w.role(survivor) {
        Some(Role::Blocked { reason, .. }) => assert!(reason.contains("failover budget exhausted"), "{reason}"),
        other => panic!("expected Blocked, got {other:?}"),
    }
}

// ---- properties ---------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Fault {
    Deliver { node: usize, zk: bool },
    Tick { ms: u64 },
    KillRm(usize),
    HangRm(usize),
    ReviveRm(usize),
    KillController(usize),
    RestartController(usize),
    Disconnect(usize),
    Reconnect(usize),
    Expire(usize),
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        12 => (0usize..3, any::<bool>()).prop_map(|(node, zk)| Fault::Deliver { node, zk }),
        4 => (0u64..3000).prop_map(|ms| Fault::Tick { ms }),
        1 => (0usize..3).prop_map(Fault::KillRm),
        1 => (0usize..3).prop_map(Fault::HangRm),
        2 => (0usize..3).prop_map(Fault::ReviveRm),
        1 => (0usize..3).prop_map(Fault::KillController),
        2 => (0usize..3).prop_map(Fault::RestartController),
        1 => (0usize..3).prop_map(Fault::Disconnect),
        1 => (0usize..3).prop_map(Fault::Reconnect),
        1 => (0usize..3).prop_map(Fault::Expire),
    ]
}

fn apply(w: &mut World, f: &Fault) {
    let n = w.nodes.len();
    match *f {
        Fault::Deliver { node, zk } => w.deliver(node % n, zk),
        Fault::Tick { ms } => w.tick_all(ms),
        Fault::KillRm(i) => w.rms.get_mut(&format!("rm{}", i % n + 1)).unwrap().proc = Proc::Dead,
        Fault::HangRm(i) => w.rms.get_mut(&format!("rm{}", i % n + 1)).unwrap().proc = Proc::Hung,
        Fault::ReviveRm(i) => {
            let m = w.rms.get_mut(&format!("rm{}", i % n + 1)).unwrap();
            if m.proc == Proc::Dead {
                // A restarted RM starts STANDBY.
                m.state = HaState::Standby;
            }
            if m.fenced {
                m.state = HaState::Standby;
            }
            m.proc = Proc::Alive;
        }
        Fault::KillController(i) => w.kill_controller(i % n),
        Fault::RestartController(i) => {
            if w.nodes[i % n].ctl.is_none() {
                // The dead controller's session expires on the server before its successor runs.
                w.expire_session_of(i % n);
                w.start_controller(i % n);
            }
        }
        Fault::Disconnect(i) => w.disconnect(i % n),
        Fault::Reconnect(i) => w.reconnect(i % n),
        Fault::Expire(i) => {
            // The server expires a session only after its client noticed the disconnection and
            // had the self-fence delay to act (the timing check-config verifies).
            let i = i % n;
            if w.session_state(i) == Some(Sess::Disconnected) && w.nodes[i].zk_q.is_empty() {
                w.tick_all(2500);
                w.expire_session_of(i);
            } else if w.nodes[i].ctl.is_none() {
                w.expire_session_of(i);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300), ..ProptestConfig::default() })]

    #[test]
    fn safety_rules_hold_under_random_faults(n in 2usize..=3, faults in proptest::collection::vec(fault(), 1..250)) {
        let mut w = World::new(n);
        for f in &faults {
            apply(&mut w, f);
            prop_assert!(w.violations.is_empty(), "after {:?}: {:?}", f, w.violations);
        }
        // Heal everything: an active RM must exist again.
        for i in 0..n {
            let m = w.rms.get_mut(&format!("rm{}", i + 1)).unwrap();
            if m.proc != Proc::Alive {
                m.state = HaState::Standby;
                m.proc = Proc::Alive;
            }
            if w.nodes[i].ctl.is_none() {
                w.expire_session_of(i);
                w.start_controller(i);
            }
            w.reconnect(i);
        }
        w.settle(60);
        prop_assert!(w.violations.is_empty(), "{:?}", w.violations);
        prop_assert_eq!(w.active_rms().len(), 1, "after healing exactly one RM is active: {:?}", w.rms);
        let epochs: HashSet<u64> = w.promoted_epochs.keys().copied().collect();
        prop_assert_eq!(epochs.len(), w.promoted_epochs.len());
    }
}
