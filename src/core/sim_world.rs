//! An in-memory world for testing the core: 2–3 controllers, a model of ZooKeeper (sessions,
//! sequential ephemeral nodes, the versioned state znode, the breadcrumb), model RMs that can die
//! or hang, and virtual time. It executes the core's actions the way the adapters would (election
//! views and state watches reach only whom ZooKeeper would tell), and records a violation when:
//!
//! - rule 1: two RMs are told ACTIVE in one epoch, a promotion happens while another RM is
//!   ACTIVE and not fenced, or, after any step, two unfenced RMs are ACTIVE at once;
//! - rule 3: a promotion happens without a live session holding the election;
//! - a controller's next deadline is already due after a step (its loop would spin).
//!
//! With `strict` (the failsafe model check, `failsafe_model.rs`), the network (`sim_net.rs`)
//! matters: graceful fencing needs a link to the target's host, and an RM fenced through the
//! state store stops being ACTIVE only once it reaches ZooKeeper (until then it still serves:
//! it just cannot write), so such an RM counts as ACTIVE for "two RMs ACTIVE at once".

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::budget::FailoverBudget;
use super::controller::{Controller, CoreConfig, FenceMethodKind, Role};
use super::health::ProbeOutcome;
use super::io::{Action, Event, FenceStep, TargetState, WriteFailure};
use super::sim_net::Net;
use super::types::*;
use crate::hadoop_ipc::HaState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Proc {
    Alive,
    Hung,
    Dead,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ModelRm {
    pub(super) state: HaState,
    pub(super) proc: Proc,
    /// Fenced by the state store or a method while it could not answer: it must not be active
    /// when it comes back.
    pub(super) fenced: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sess {
    Connected,
    Disconnected,
    Expired,
}

#[derive(Debug, Clone)]
pub(super) struct Node {
    pub(super) rm: RmId,
    pub(super) ctl: Option<Controller>,
    pub(super) session: Option<(SessionGen, i64)>,
    /// ZooKeeper answers arrive in order (one connection); RM and fencing answers too.
    pub(super) zk_q: VecDeque<Event>,
    pub(super) io_q: VecDeque<Event>,
}

#[derive(Debug, Clone)]
pub(super) struct World {
    pub(super) t0: Instant,
    pub(super) now_ms: u64,
    pub(super) sessions: HashMap<i64, Sess>,
    pub(super) next_session: i64,
    pub(super) next_seq: u64,
    pub(super) election: BTreeMap<u64, Candidate>,
    pub(super) state: ClusterState,
    pub(super) version: Option<i32>,
    pub(super) breadcrumb: Option<Breadcrumb>,
    pub(super) rms: BTreeMap<RmId, ModelRm>,
    pub(super) nodes: Vec<Node>,
    pub(super) promoted_epochs: HashMap<u64, RmId>,
    pub(super) violations: Vec<String>,
    /// The state znode holds bytes that do not parse.
    pub(super) corrupt: bool,
    /// The state store does not confirm the fence (`VerifyStoreFence` fails).
    pub(super) store_fence_fails: bool,
    /// `ReadState` actions executed, by anyone.
    pub(super) state_reads: usize,
    /// The journal the controllers appended.
    pub(super) history: Vec<HistoryEntry>,
    /// `/health/<rm>`: what each controller last published, and when (world ms).
    pub(super) health_reports: BTreeMap<RmId, (PeerHealth, u64)>,
    pub(super) net: Net,
    /// Judge ACTIVE RMs by what they serve, network included (see the module doc).
    pub(super) strict: bool,
    /// Failsafe messages the controllers sent, by sender, for a world that carries them.
    pub(super) peer_out: Vec<(usize, Action)>,
}

pub(super) fn cfg(rm: &str) -> CoreConfig {
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
        failsafe: None,
    }
}

impl World {
    pub(super) fn new(n: usize) -> Self {
        Self::new_with(n, cfg)
    }

    /// `n` controllers, `config(rm)` each.
    pub(super) fn new_with(n: usize, config: impl Fn(&str) -> CoreConfig) -> Self {
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
            store_fence_fails: false,
            state_reads: 0,
            history: Vec::new(),
            health_reports: BTreeMap::new(),
            net: Net::default(),
            strict: false,
            peer_out: Vec::new(),
        };
        for i in 1..=n {
            let rm = format!("rm{i}");
            w.rms.insert(rm.clone(), ModelRm { state: HaState::Standby, proc: Proc::Alive, fenced: false });
            w.nodes.push(Node { rm, ctl: None, session: None, zk_q: VecDeque::new(), io_q: VecDeque::new() });
        }
        for i in 0..n {
            let c = config(&w.nodes[i].rm);
            w.start_controller_with(i, c);
        }
        w
    }

    pub(super) fn now(&self) -> Instant {
        self.t0 + Duration::from_millis(self.now_ms)
    }

    pub(super) fn start_controller(&mut self, i: usize) {
        self.start_controller_with(i, cfg(&self.nodes[i].rm));
    }

    pub(super) fn start_controller_with(&mut self, i: usize, cfg: CoreConfig) {
        let now = self.now();
        let mut ctl = Controller::new(cfg, now);
        let actions = ctl.start(now);
        self.nodes[i].ctl = Some(ctl);
        self.nodes[i].session = None;
        self.nodes[i].zk_q.clear();
        self.nodes[i].io_q.clear();
        self.execute(i, actions);
    }

    pub(super) fn session_state(&self, i: usize) -> Option<Sess> {
        self.nodes[i].session.and_then(|(_, id)| self.sessions.get(&id).copied())
    }

    /// The election changed from `before`. As in ZooKeeper, a view reaches only the controllers
    /// that would read one: whoever just joined (the adapter lists after creating its node) and
    /// whoever's predecessor (the node just below its own) is gone — each watches only that.
    pub(super) fn views_changed(&mut self, before: &[Candidate]) {
        let view: Vec<Candidate> = self.election_list();
        for n in &mut self.nodes {
            let (Some(_), Some((gen, id))) = (&n.ctl, n.session) else { continue };
            if self.sessions.get(&id) != Some(&Sess::Connected) {
                continue;
            }
            let Some(own) = view.iter().find(|c| c.owner == id) else { continue };
            let joined = !before.iter().any(|c| c.znode == own.znode);
            let predecessor = before.iter().rfind(|c| c.seq < own.seq);
            let predecessor_gone = predecessor.is_some_and(|p| !view.iter().any(|c| c.znode == p.znode));
            if joined || predecessor_gone {
                n.zk_q.push_back(Event::ElectionView { gen, candidates: view.clone() });
            }
        }
    }

    fn election_list(&self) -> Vec<Candidate> {
        self.election.values().cloned().collect()
    }

    /// Every connected controller's state watch fires.
    pub(super) fn state_changed(&mut self) {
        for n in &mut self.nodes {
            if let (Some(_), Some((gen, id))) = (&n.ctl, n.session) {
                if self.sessions.get(&id) == Some(&Sess::Connected) {
                    n.zk_q.push_back(Event::StateChanged { gen, version: self.version });
                }
            }
        }
    }

    /// An operator's switchover to `target`, recorded the way the admin API does (CAS by
    /// anyone), valid for `for_ms`.
    pub(super) fn request_switchover(&mut self, id: &str, target: &str, for_ms: u64) {
        self.state.switchover = Some(Box::new(Switchover {
            id: id.into(),
            target: target.into(),
            from: self.state.active_rm.clone(),
            reason: "test".into(),
            by: "operator".into(),
            requested_ms: self.now_ms,
            deadline_ms: self.now_ms + for_ms,
            phase: SwitchoverPhase::Requested,
        }));
        self.version = Some(self.version.map_or(0, |v| v + 1));
        self.state_changed();
    }

    /// Does `rm` act as the ACTIVE RM? Alive or not (a hung active still believes it is),
    /// unless fenced; strictly, a store-fenced RM that cannot reach ZooKeeper still serves.
    pub(super) fn serving(&self, rm: &str, m: &ModelRm) -> bool {
        if self.strict {
            m.state == HaState::Active && m.proc == Proc::Alive && !(m.fenced && self.net.reaches_zk(rm))
        } else {
            m.state == HaState::Active && !m.fenced
        }
    }

    /// Two RMs ACTIVE at once.
    pub(super) fn double_active(&self) -> Option<Vec<RmId>> {
        let active: Vec<RmId> = self.rms.iter().filter(|(k, m)| self.serving(k, m)).map(|(k, _)| k.clone()).collect();
        (active.len() > 1).then_some(active)
    }

    pub(super) fn check_promotion(&mut self, i: usize, rm: &RmId, epoch: u64) {
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
            let unfenced = if self.strict { self.serving(other, m) } else { !(m.fenced && m.proc != Proc::Alive) };
            if other != rm && m.state == HaState::Active && unfenced {
                self.violations.push(format!("rule 1: {rm} promoted while {other} is ACTIVE and not fenced ({m:?})"));
            }
        }
    }

    pub(super) fn execute(&mut self, i: usize, actions: Vec<Action>) {
        for a in actions {
            self.execute_one(i, a);
        }
    }

    pub(super) fn zk_usable(&self, i: usize, gen: SessionGen) -> Option<i64> {
        let (g, id) = self.nodes[i].session?;
        (g == gen && self.sessions.get(&id) == Some(&Sess::Connected)).then_some(id)
    }

    pub(super) fn execute_one(&mut self, i: usize, a: Action) {
        let rm_id = self.nodes[i].rm.clone();
        match a {
            Action::OpenSession { gen } => {
                self.next_session += 1;
                let id = self.next_session;
                self.nodes[i].session = Some((gen, id));
                if self.net.reaches_zk(&rm_id) {
                    self.sessions.insert(id, Sess::Connected);
                    self.nodes[i].zk_q.push_back(Event::SessionConnected { gen, session_id: id });
                } else {
                    // Connects once ZooKeeper is reachable (`reconnect`).
                    self.sessions.insert(id, Sess::Disconnected);
                }
            }
            Action::JoinElection { gen } => match self.zk_usable(i, gen) {
                Some(id) => {
                    let before = self.election_list();
                    self.next_seq += 1;
                    let znode = format!("{rm_id}_g-n_{:010}", self.next_seq);
                    self.election.insert(
                        self.next_seq,
                        Candidate { znode: znode.clone(), rm_id, seq: self.next_seq, owner: id },
                    );
                    self.nodes[i].zk_q.push_back(Event::Joined { gen, znode });
                    self.views_changed(&before);
                }
                None => self.nodes[i].zk_q.push_back(Event::JoinFailed { gen, reason: "not connected".into() }),
            },
            Action::LeaveElection { gen, znode } => {
                if self.zk_usable(i, gen).is_some() {
                    let before = self.election_list();
                    self.election.retain(|_, c| c.znode != znode);
                    self.nodes[i].zk_q.push_back(Event::Left { gen });
                    self.views_changed(&before);
                }
            }
            Action::ReadElection { gen } => {
                if self.zk_usable(i, gen).is_some() {
                    let candidates = self.election_list();
                    self.nodes[i].zk_q.push_back(Event::ElectionView { gen, candidates });
                }
            }
            Action::ReadState { op, gen } => {
                self.state_reads += 1;
                let result = match self.zk_usable(i, gen) {
                    Some(_) if self.corrupt => Err("state znode is not valid JSON".into()),
                    Some(_) => Ok(StateSnapshot {
                        state: self.state.clone(),
                        version: self.version,
                        breadcrumb: self.breadcrumb.clone(),
                        peer_health: self
                            .health_reports
                            .iter()
                            .map(|(rm, (h, at))| (rm.clone(), *h, self.now_ms.saturating_sub(*at)))
                            .collect(),
                        candidates: self.election_list(),
                        read_at_ms: self.now_ms,
                    }),
                    None => Err("ZooKeeper unavailable".into()),
                };
                self.nodes[i].zk_q.push_back(Event::StateRead { op, result: result.map(Box::new) });
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
                        if let Some(b) = breadcrumb {
                            self.breadcrumb = Some(b);
                        }
                        self.state_changed();
                        Ok(())
                    }
                };
                self.nodes[i].zk_q.push_back(Event::StateWritten { op, result });
            }
            Action::PublishHealth { gen, health } => {
                if self.zk_usable(i, gen).is_some() {
                    self.health_reports.insert(rm_id, (health, self.now_ms));
                }
            }
            Action::Announce(_) => {}
            Action::AppendHistory { entry, .. } => self.history.push(*entry),
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
                    _ if !self.net.reaches(&rm_id, &target) && step == FenceStep::Graceful => {
                        Err(format!("{target} unreachable"))
                    }
                    FenceStep::Graceful => self.transition(&target, TargetState::Standby),
                    FenceStep::Method(_) => {
                        // zk_state_store: the new active takes the store; the target can no
                        // longer write and demotes itself as soon as it runs.
                        let demotes = !self.strict || self.net.reaches_zk(&target);
                        if let Some(m) = self.rms.get_mut(&target) {
                            m.fenced = true;
                            if m.proc == Proc::Alive && demotes {
                                m.state = HaState::Standby;
                            }
                        }
                        Ok(())
                    }
                };
                self.nodes[i].io_q.push_back(Event::FenceDone { op, result });
            }
            // Carried by the failsafe model check (failsafe_model.rs); elsewhere unanswered.
            a @ (Action::RequestFailsafeAck { .. } | Action::AnswerFailsafeAck { .. }) => self.peer_out.push((i, a)),
            Action::VerifyStoreFence { op, .. } => {
                let result = if self.store_fence_fails { Err("fence not confirmed".into()) } else { Ok(()) };
                self.nodes[i].io_q.push_back(Event::StoreFenceVerified { op, result })
            }
        }
    }

    pub(super) fn transition(&mut self, rm: &str, to: TargetState) -> Result<(), String> {
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
    pub(super) fn deliver(&mut self, i: usize, zk: bool) {
        let ev = if zk { self.nodes[i].zk_q.pop_front() } else { self.nodes[i].io_q.pop_front() };
        let Some(ev) = ev else { return };
        self.step(i, ev);
    }

    pub(super) fn step(&mut self, i: usize, ev: Event) {
        let now = self.now();
        let Some(ctl) = self.nodes[i].ctl.as_mut() else { return };
        let actions = ctl.step(now, ev);
        // A deadline already due after a step would have the daemon's loop tick without pause.
        if let Some(due) = ctl.next_deadline().filter(|d| *d <= now) {
            let v = format!("{}: next deadline {:?} is not after the step", self.nodes[i].rm, now - due);
            if !self.violations.contains(&v) {
                self.violations.push(v);
            }
        }
        self.execute(i, actions);
        if self.strict {
            // A store-fenced RM that reaches ZooKeeper fails its next write and demotes itself.
            let net = self.net.clone();
            for (rm, m) in self.rms.iter_mut() {
                if m.fenced && m.state == HaState::Active && m.proc == Proc::Alive && net.reaches_zk(rm) {
                    m.state = HaState::Standby;
                }
            }
        }
        if let Some(both) = self.double_active() {
            let v = format!("two RMs ACTIVE at once: {both:?}");
            if self.violations.last() != Some(&v) {
                self.violations.push(v);
            }
        }
    }

    pub(super) fn tick_all(&mut self, ms: u64) {
        self.now_ms += ms;
        for i in 0..self.nodes.len() {
            self.step(i, Event::Tick);
        }
    }

    /// Delivers every queued answer (bounded), without moving time.
    pub(super) fn drain(&mut self) {
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
    pub(super) fn settle(&mut self, rounds: usize) {
        for _ in 0..rounds {
            self.drain();
            self.tick_all(250);
        }
        self.drain();
    }

    pub(super) fn expire_session_of(&mut self, i: usize) {
        if let Some((gen, id)) = self.nodes[i].session {
            self.sessions.insert(id, Sess::Expired);
            let before = self.election_list();
            self.election.retain(|_, c| c.owner != id);
            self.nodes[i].zk_q.push_back(Event::SessionExpired { gen });
            self.views_changed(&before);
        }
    }

    pub(super) fn disconnect(&mut self, i: usize) {
        if let Some((gen, id)) = self.nodes[i].session {
            if self.sessions.get(&id) == Some(&Sess::Connected) {
                self.sessions.insert(id, Sess::Disconnected);
                self.nodes[i].zk_q.push_back(Event::SessionDisconnected { gen });
            }
        }
    }

    pub(super) fn reconnect(&mut self, i: usize) {
        if let Some((gen, id)) = self.nodes[i].session {
            if self.sessions.get(&id) == Some(&Sess::Disconnected) {
                self.sessions.insert(id, Sess::Connected);
                self.nodes[i].zk_q.push_back(Event::SessionConnected { gen, session_id: id });
            }
        }
    }

    pub(super) fn kill_controller(&mut self, i: usize) {
        self.nodes[i].ctl = None;
        self.nodes[i].zk_q.clear();
        self.nodes[i].io_q.clear();
    }

    pub(super) fn active_rms(&self) -> Vec<RmId> {
        self.rms
            .iter()
            .filter(|(_, m)| m.state == HaState::Active && m.proc == Proc::Alive)
            .map(|(k, _)| k.clone())
            .collect()
    }

    pub(super) fn role(&self, i: usize) -> Option<Role> {
        self.nodes[i].ctl.as_ref().map(|c| c.status().role)
    }
}
