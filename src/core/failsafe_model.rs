//! The world the failsafe is checked in: the in-memory world (`sim_world.rs`, strict mode)
//! plus what the failsafe depends on — a network (`sim_net.rs`) that can lose the ZooKeeper
//! quorum, cut hosts from the ensemble or from each other; sessions that ZooKeeper expires at
//! exactly the session timeout after their client went silent (never while the ensemble has no
//! quorum, and with fresh timers when it gets one back, as ZooKeeper does); expiry told to a
//! client only once it reaches a server; and the controllers' failsafe messages carried over
//! the links between hosts, which can be delayed and reordered (held, then released newest
//! first), or lost when a link is cut.
//!
//! Owns: that world and its faults. Must not: decide anything (the controllers do).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use super::controller::CoreConfig;
use super::failsafe::FailsafeSettings;
use super::io::{Action, Event};
use super::sim_net::Net;
use super::sim_world::{cfg, Proc, Sess, World};

use super::types::*;
use crate::hadoop_ipc::HaState;

/// The model's timings: a 4 s session, self-fencing 1.7 s after a disconnection, 3 s leases.
pub(super) const SESSION_MS: u64 = 4000;
pub(super) const LEASE_MS: u64 = 3000;

pub(super) fn model_cfg(rm: &str, n: usize, failsafe: bool) -> CoreConfig {
    let mut c = cfg(rm);
    c.self_fence_after = Duration::from_millis(1700);
    c.failsafe = failsafe.then(|| FailsafeSettings {
        members: (1..=n)
            .map(|i| FailsafeMember { rm_id: format!("rm{i}"), admin_url: format!("http://h{i}") })
            .collect(),
        lease: Duration::from_millis(LEASE_MS),
        demote_budget: Duration::from_millis(500),
    });
    c
}

/// A failsafe message between hosts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum PeerMsg {
    Request { from: usize, to: usize, op: OpId, request: AckRequest },
    Answer { from: usize, to: usize, op: OpId, answer: AckAnswer },
}

impl PeerMsg {
    fn ends(&self) -> (usize, usize) {
        match self {
            PeerMsg::Request { from, to, .. } | PeerMsg::Answer { from, to, .. } => (*from, *to),
        }
    }
}

/// One fault the model can inject.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Fault {
    /// The network becomes this.
    Network(Net),
    /// Failsafe messages stop moving (delayed); released, they arrive newest first.
    HoldMessages(bool),
    /// The host of controller `i` dies: controller and RM.
    HostCrash(usize),
    /// It comes back: a fresh controller, its RM STANDBY.
    HostRestart(usize),
    /// The controller process restarts (systemd), its RM untouched.
    ControllerRestart(usize),
    /// The RM demotes itself (a failed store operation, say).
    RmSelfDemotes(usize),
}

#[derive(Debug, Clone)]
pub(super) struct Model {
    pub(super) w: World,
    failsafe: bool,
    /// Sessions the servers know that are silent, and since when (server time).
    silent_since: BTreeMap<i64, u64>,
    /// Sessions that connected at least once (the servers know them).
    known: BTreeSet<i64>,
    /// Expired sessions whose client has not been told yet.
    untold: BTreeSet<i64>,
    pub(super) peer_q: VecDeque<PeerMsg>,
    pub(super) hold: bool,
    replies: BTreeMap<u64, (usize, OpId)>,
    next_reply: u64,
}

impl Model {
    /// `n` controllers, each with failsafe on or off, started and settled with one RM ACTIVE.
    pub(super) fn new(n: usize, failsafe: bool) -> Self {
        let mut w = World::new_with(n, |rm| model_cfg(rm, n, failsafe));
        w.strict = true;
        let mut m = Model {
            w,
            failsafe,
            silent_since: BTreeMap::new(),
            known: BTreeSet::new(),
            untold: BTreeSet::new(),
            peer_q: VecDeque::new(),
            hold: false,
            replies: BTreeMap::new(),
            next_reply: 0,
        };
        m.settle();
        for _ in 0..80 {
            if !m.w.active_rms().is_empty() {
                break;
            }
            m.advance(250);
        }
        m
    }

    pub(super) fn now_ms(&self) -> u64 {
        self.w.now_ms
    }

    pub(super) fn n(&self) -> usize {
        self.w.nodes.len()
    }

    pub(super) fn rm(i: usize) -> RmId {
        format!("rm{}", i + 1)
    }

    /// Applies a fault, then lets every consequence that takes no time happen.
    pub(super) fn inject(&mut self, f: &Fault) {
        match f {
            Fault::Network(net) => {
                let was_down = self.w.net.zk_down;
                self.w.net = net.clone();
                if was_down && !net.zk_down {
                    // A new quorum gives every session a fresh timeout.
                    let now = self.now_ms();
                    for t in self.silent_since.values_mut() {
                        *t = now;
                    }
                }
                self.drop_cut_messages();
            }
            Fault::HoldMessages(on) => {
                self.hold = *on;
                if !on {
                    // Released: the newest first.
                    let q: Vec<PeerMsg> = self.peer_q.drain(..).rev().collect();
                    self.peer_q.extend(q);
                }
            }
            Fault::HostCrash(i) => {
                self.w.kill_controller(*i);
                if let Some(rm) = self.w.rms.get_mut(&Self::rm(*i)) {
                    rm.proc = Proc::Dead;
                }
                self.drop_cut_messages();
            }
            Fault::HostRestart(i) => {
                if let Some(rm) = self.w.rms.get_mut(&Self::rm(*i)) {
                    rm.proc = Proc::Alive;
                    rm.state = HaState::Standby;
                    rm.fenced = false;
                }
                self.restart_controller(*i);
            }
            Fault::ControllerRestart(i) => {
                self.w.kill_controller(*i);
                self.drop_cut_messages();
                self.restart_controller(*i);
            }
            Fault::RmSelfDemotes(i) => {
                if let Some(rm) = self.w.rms.get_mut(&Self::rm(*i)) {
                    rm.state = HaState::Standby;
                }
            }
        }
        self.settle();
    }

    fn restart_controller(&mut self, i: usize) {
        let n = self.n();
        // The old process's session lingers on the servers until it expires.
        self.w.start_controller_with(i, model_cfg(&Self::rm(i), n, self.failsafe));
    }

    /// Which faults make sense now.
    pub(super) fn faults(&self) -> Vec<Fault> {
        let n = self.n();
        let mut out = vec![];
        for net in networks(n) {
            if net != self.w.net {
                out.push(Fault::Network(net));
            }
        }
        if self.failsafe {
            out.push(Fault::HoldMessages(!self.hold));
        }
        for i in 0..n {
            let alive = self.w.nodes[i].ctl.is_some();
            out.push(if alive { Fault::HostCrash(i) } else { Fault::HostRestart(i) });
            if alive {
                out.push(Fault::ControllerRestart(i));
            }
            let rm = &self.w.rms[&Self::rm(i)];
            if rm.state == HaState::Active && rm.proc == Proc::Alive {
                out.push(Fault::RmSelfDemotes(i));
            }
        }
        out
    }

    /// The next instant anything is due (a controller's deadline, a session expiry), capped
    /// at `max_ms` from now.
    pub(super) fn next_due(&self, max_ms: u64) -> u64 {
        let now = self.now_ms();
        let mut next = now + max_ms;
        for n in &self.w.nodes {
            if let Some(d) = n.ctl.as_ref().and_then(|c| c.next_deadline()) {
                let ms = d.saturating_duration_since(self.w.t0).as_millis() as u64;
                next = next.min(ms.max(now + 1));
            }
        }
        if !self.w.net.zk_down {
            for t in self.silent_since.values() {
                next = next.min((t + SESSION_MS).max(now + 1));
            }
        }
        next
    }

    /// Moves time forward by `ms` (ticking every controller) and settles.
    pub(super) fn advance(&mut self, ms: u64) {
        self.w.tick_all(ms);
        self.settle();
    }

    /// Moves time to the next instant anything is due, at most `max_ms` ahead.
    pub(super) fn advance_to_next(&mut self, max_ms: u64) {
        let to = self.next_due(max_ms);
        self.advance(to - self.now_ms());
    }

    /// Delivers everything that takes no time, until nothing moves.
    pub(super) fn settle(&mut self) {
        for _ in 0..100 {
            let mut moved = self.sync_sessions();
            self.w.drain();
            moved |= self.route_peer_actions();
            if !self.hold {
                while let Some(msg) = self.peer_q.pop_front() {
                    self.deliver(msg);
                    moved = true;
                }
            }
            moved |= self.route_peer_actions();
            let queued = self.w.nodes.iter().any(|n| !n.zk_q.is_empty() || !n.io_q.is_empty());
            if !moved && !queued {
                return;
            }
        }
        self.w.violations.push("the model did not settle (a message loop?)".into());
    }

    /// Sessions follow the network: connected while their host reaches ZooKeeper, silent
    /// otherwise (and while their process is dead); expired at the timeout.
    fn sync_sessions(&mut self) -> bool {
        let mut moved = false;
        let now = self.now_ms();
        let owned: BTreeMap<i64, usize> = (0..self.n())
            .filter(|i| self.w.nodes[*i].ctl.is_some())
            .filter_map(|i| self.w.nodes[i].session.map(|(_, id)| (id, i)))
            .collect();
        let ids: Vec<(i64, Sess)> = self.w.sessions.iter().map(|(id, s)| (*id, *s)).collect();
        for (id, state) in ids {
            let node = owned.get(&id).copied();
            let reach = node.is_some_and(|i| self.w.net.reaches_zk(&Self::rm(i)));
            match state {
                Sess::Connected => {
                    self.known.insert(id);
                    if !reach {
                        match node {
                            Some(i) => self.w.disconnect(i),
                            None => {
                                self.w.sessions.insert(id, Sess::Disconnected);
                            }
                        }
                        self.silent_since.insert(id, now);
                        moved = true;
                    }
                }
                Sess::Disconnected if reach => {
                    if let Some(i) = node {
                        self.w.reconnect(i);
                        self.known.insert(id);
                        self.silent_since.remove(&id);
                        moved = true;
                    }
                }
                Sess::Disconnected => {
                    if self.known.contains(&id) && !self.silent_since.contains_key(&id) {
                        self.silent_since.insert(id, now);
                    }
                    let due = self.silent_since.get(&id).is_some_and(|t| now >= t + SESSION_MS);
                    if due && !self.w.net.zk_down {
                        self.expire(id);
                        moved = true;
                    }
                }
                Sess::Expired => {
                    if let (true, Some(i)) = (reach && self.untold.contains(&id), node) {
                        self.untold.remove(&id);
                        if let Some((gen, _)) = self.w.nodes[i].session {
                            self.w.nodes[i].zk_q.push_back(Event::SessionExpired { gen });
                            moved = true;
                        }
                    }
                }
            }
        }
        moved
    }

    fn expire(&mut self, id: i64) {
        self.w.sessions.insert(id, Sess::Expired);
        self.silent_since.remove(&id);
        self.untold.insert(id);
        let before: Vec<Candidate> = self.w.election.values().cloned().collect();
        self.w.election.retain(|_, c| c.owner != id);
        self.w.views_changed(&before);
    }

    /// Turns the failsafe actions the controllers took into messages (or, across a cut link
    /// or to a dead controller, into the failure their adapter reports).
    fn route_peer_actions(&mut self) -> bool {
        let out: Vec<(usize, Action)> = std::mem::take(&mut self.w.peer_out);
        let moved = !out.is_empty();
        for (from, a) in out {
            match a {
                Action::RequestFailsafeAck { op, peer, request, .. } => {
                    let to = (0..self.n()).find(|j| Self::rm(*j) == peer);
                    match to {
                        Some(to) if self.link_up(from, to) => {
                            self.peer_q.push_back(PeerMsg::Request { from, to, op, request })
                        }
                        _ => self.fail(from, op),
                    }
                }
                Action::AnswerFailsafeAck { reply, answer } => {
                    if let Some((to, op)) = self.replies.remove(&reply) {
                        if self.link_up(from, to) {
                            self.peer_q.push_back(PeerMsg::Answer { from, to, op, answer });
                        } else {
                            self.fail(to, op);
                        }
                    }
                }
                _ => {}
            }
        }
        moved
    }

    fn link_up(&self, a: usize, b: usize) -> bool {
        self.w.nodes[a].ctl.is_some() && self.w.nodes[b].ctl.is_some() && self.w.net.reaches(&Self::rm(a), &Self::rm(b))
    }

    /// The requester's adapter reports that no answer came.
    fn fail(&mut self, node: usize, op: OpId) {
        if self.w.nodes[node].ctl.is_some() {
            let result = Err("no answer".to_string());
            self.w.nodes[node].io_q.push_back(Event::FailsafeAckAnswered { op, result });
        }
    }

    fn drop_cut_messages(&mut self) {
        let q: Vec<PeerMsg> = self.peer_q.drain(..).collect();
        for msg in q {
            let (from, to) = msg.ends();
            if self.link_up(from, to) {
                self.peer_q.push_back(msg);
            } else if let PeerMsg::Request { from, op, .. } = msg {
                self.fail(from, op);
            } else if let PeerMsg::Answer { to, op, .. } = msg {
                self.fail(to, op);
            }
        }
    }

    fn deliver(&mut self, msg: PeerMsg) {
        match msg {
            PeerMsg::Request { from, to, op, request } => {
                self.next_reply += 1;
                let reply = self.next_reply;
                self.replies.insert(reply, (from, op));
                self.w.step(to, Event::FailsafeAckRequested { reply, request });
            }
            PeerMsg::Answer { to, op, answer, .. } => {
                if self.w.nodes[to].ctl.is_some() {
                    self.w.nodes[to].io_q.push_back(Event::FailsafeAckAnswered { op, result: Ok(answer) });
                }
            }
        }
    }

    /// A fingerprint of everything that decides the future (time included).
    pub(super) fn fingerprint(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.w.now_ms.hash(&mut h);
        format!("{:?}", self.w.nodes).hash(&mut h);
        format!("{:?}{:?}{:?}", self.w.rms, self.w.election, self.w.sessions).hash(&mut h);
        format!("{:?}{:?}{:?}", self.w.state, self.w.version, self.w.breadcrumb).hash(&mut h);
        self.w.net.hash(&mut h);
        self.peer_q.hash(&mut h);
        self.hold.hash(&mut h);
        format!("{:?}{:?}{:?}", self.silent_since, self.untold, self.replies).hash(&mut h);
        h.finish()
    }
}

/// Every network of `n` hosts: ensemble up or down, each host cut from it or not, each link
/// cut or not (for 3 hosts only one link at a time, to keep the alphabet small).
pub(super) fn networks(n: usize) -> Vec<Net> {
    let hosts: Vec<RmId> = (0..n).map(Model::rm).collect();
    let mut links: Vec<BTreeSet<(RmId, RmId)>> = vec![BTreeSet::new()];
    for a in 0..n {
        for b in a + 1..n {
            links.push([Net::pair(&hosts[a], &hosts[b])].into_iter().collect());
        }
    }
    if n == 2 {
        links.truncate(2);
    }
    let mut out = vec![];
    for zk_down in [false, true] {
        for mask in 0..(1u32 << n) {
            let zk_cut: BTreeSet<RmId> = (0..n).filter(|i| mask & (1 << i) != 0).map(|i| hosts[i].clone()).collect();
            if zk_down && !zk_cut.is_empty() {
                continue; // the same as ZooKeeper down for everyone
            }
            for l in &links {
                out.push(Net { zk_down, zk_cut: zk_cut.clone(), links_cut: l.clone() });
            }
        }
    }
    out
}
