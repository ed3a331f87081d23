//! The controller: one state machine per daemon, `step(now, event) -> actions`. After every
//! event it derives what should be true from what is known now (session, election, health,
//! role) and emits the actions that move the world there. Every safety rule of DESIGN.md is
//! enforced here, each in one place, named by its rule number: `reconcile` (rules 2, 3, 4),
//! `promotion` (rule 1, rule 5's budget), `handoff` (graceful switchover).
//!
//! Owns: every HA decision. Must not: do I/O, read a clock, or panic on unexpected input
//! (unexpected or stale events are ignored).

use std::time::{Duration, Instant};

use super::budget::FailoverBudget;
use super::failsafe::{AckSet, FailsafeSettings, Promises};
use super::health::{HealthTracker, ProbeOutcome};
use super::io::{Action, Announcement, AnnouncementKind as K, Event, FenceStep};
use super::types::*;

mod failsafe;
mod handoff;
mod promotion;
mod reconcile;
mod role;

pub use role::{Role, Status};

use handoff::AfterClear;

/// How a configured fencing method behaves, as far as the core must know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FenceMethodKind {
    /// Relies on ZKRMStateStore fencing: counts as fenced, but must be verified after promotion.
    ZkStateStore,
    /// Confirms fencing by its own result (shell command, HTTP call).
    Confirming,
}

/// The core's settings (derived from the config file by the daemon).
#[derive(Debug, Clone)]
pub struct CoreConfig {
    pub rm_id: RmId,
    pub probe_interval: Duration,
    pub hung_after: u32,
    pub unhealthy_after: u32,
    /// `fencing.methods`, in order (graceful fencing always comes first).
    pub fence_methods: Vec<FenceMethodKind>,
    /// The operator's written choice to promote when fencing cannot be confirmed.
    pub promote_unfenced: bool,
    pub budget: FailoverBudget,
    /// Safety rule 2: how long after losing the ZooKeeper connection the local RM is demoted
    /// (zero: at once). Chosen so the demotion completes before the server can expire the session.
    pub self_fence_after: Duration,
    /// Wait before rejoining the election after our RM failed or demoted itself.
    pub rejoin_delay: Duration,
    /// Backoff for a leader that may not promote (fencing failed, store unavailable).
    pub retry_initial: Duration,
    pub retry_max: Duration,
    /// A peer's Dead/Hung report younger than this skips the graceful fence.
    pub peer_report_fresh_ms: u64,
    /// Failsafe mode (`None`: off): keep the active RM through a ZooKeeper outage.
    pub failsafe: Option<FailsafeSettings>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Session {
    Opening,
    Connected { id: i64 },
    Disconnected { id: i64, since: Instant },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Membership {
    Out,
    Joining,
    In {
        znode: String,
    },
    /// Asked to delete `znode`; settled by `Left` or by a view without it.
    Leaving {
        znode: String,
    },
}

/// What the journal will say about the promotion in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Journal {
    trigger: Trigger,
    from: Option<RmId>,
    fenced_by: String,
    fence_ms: u64,
    /// When the promotion proper (epoch write + transitionToActive) began.
    promote_started: Instant,
}

/// Where a promotion stands. Each step waits for one answer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    ReadingState {
        op: OpId,
    },
    Fencing {
        op: OpId,
        snap: Box<StateSnapshot>,
        target: RmId,
        step: FenceStep,
        started: Instant,
    },
    Writing {
        op: OpId,
        epoch: u64,
        verify_store: bool,
        journal: Box<Journal>,
    },
    Activating {
        op: OpId,
        epoch: u64,
        verify_store: bool,
        journal: Box<Journal>,
    },
    /// Active; checking that the state store's ACL changed hands.
    Verifying {
        op: OpId,
        epoch: u64,
    },
    /// Active; re-reading the state for operator requests.
    Checking {
        op: OpId,
    },
    /// Active; recording that we hand over to the switchover's target.
    Announcing {
        op: OpId,
        sw: Box<Switchover>,
        epoch: u64,
    },
    /// Demoting our RM for the switchover's target.
    Yielding {
        op: OpId,
        sw: Box<Switchover>,
        epoch: u64,
    },
    /// Clearing a switchover that completed or can no longer happen; `entry` is journaled once
    /// the write succeeds.
    Clearing {
        op: OpId,
        after: AfterClear,
        entry: Box<HistoryEntry>,
    },
}

impl Step {
    fn op(&self) -> OpId {
        match self {
            Step::ReadingState { op }
            | Step::Fencing { op, .. }
            | Step::Writing { op, .. }
            | Step::Activating { op, .. }
            | Step::Verifying { op, .. }
            | Step::Checking { op }
            | Step::Announcing { op, .. }
            | Step::Yielding { op, .. }
            | Step::Clearing { op, .. } => *op,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Controller {
    cfg: CoreConfig,
    gen: SessionGen,
    session: Session,
    membership: Membership,
    candidates: Vec<Candidate>,
    /// The candidate list was read on the current connection (after a reconnect it must be
    /// re-read before leadership is trusted).
    view_fresh: bool,
    health: HealthTracker,
    /// The health last published and when: published again when it changes, and before its
    /// age would make peers distrust it (a report only ever saves time while it is fresh).
    published: Option<(PeerHealth, Instant)>,
    probe_in_flight: Option<OpId>,
    next_probe: Instant,
    role: Role,
    step: Option<Step>,
    /// In-flight demotion of the local RM (drift or self-fence).
    demotion: Option<OpId>,
    rejoin_at: Option<Instant>,
    retry_backoff: Duration,
    epoch: u64,
    drift_corrections: u64,
    next_op: u64,
    /// Probes issued up to this op may predate the last transition: their HA state is stale.
    stale_probes_until: u64,
    /// When the current promotion attempt started (for the journal's timings).
    promotion_started: Option<Instant>,
    /// The last refusal journaled, so a leader retrying with backoff records it once.
    last_refusal: Option<String>,
    /// Failover times and read time of the last state snapshot (for the budget gauge).
    last_failovers: Option<(Vec<u64>, u64)>,
    last_probe: Option<Instant>,
    paused: bool,
    /// When the active leader must re-read the state: at once when the znode changed (operator
    /// requests), a little later when a re-read or a write of its own could not be done.
    state_recheck: Option<Instant>,
    /// The version the state znode has after our last write request (whether it succeeded or
    /// not): a change to it is our own doing, not an operator's.
    own_state_version: Option<i32>,
    /// A switchover whose demotion failed: cleared with this journal entry at the next read.
    pending_failure: Option<(String, HistoryEntry)>,
    /// When this controller started: a restarted member has forgotten its failsafe promises.
    started: Instant,
    /// A failsafe leader's acknowledgements while ZooKeeper is unreachable.
    acks: Option<AckSet>,
    /// The promise this controller gave a failsafe leader.
    promises: Promises,
    /// The epoch whose `/state` records our failsafe membership (set by our promotion's write
    /// or a re-read): only then may the failsafe keep our RM.
    failsafe_recorded: Option<u64>,
    /// Failsafe journal entries, appended once ZooKeeper is back.
    failsafe_journal: Vec<HistoryEntry>,
}

fn ann(kind: K, epoch: u64, reason: impl Into<String>) -> Action {
    Action::Announce(Announcement { kind, epoch, reason: reason.into() })
}

impl Controller {
    pub fn new(cfg: CoreConfig, now: Instant) -> Self {
        let health = HealthTracker::new(cfg.hung_after, cfg.unhealthy_after);
        let retry_backoff = cfg.retry_initial;
        Controller {
            cfg,
            gen: SessionGen(0),
            session: Session::Opening,
            membership: Membership::Out,
            candidates: Vec::new(),
            view_fresh: false,
            health,
            published: None,
            probe_in_flight: None,
            next_probe: now,
            role: Role::Follower,
            step: None,
            demotion: None,
            rejoin_at: None,
            retry_backoff,
            epoch: 0,
            drift_corrections: 0,
            next_op: 0,
            stale_probes_until: 0,
            promotion_started: None,
            last_refusal: None,
            last_failovers: None,
            last_probe: None,
            paused: false,
            state_recheck: None,
            own_state_version: None,
            pending_failure: None,
            started: now,
            acks: None,
            promises: Promises::default(),
            failsafe_recorded: None,
            failsafe_journal: Vec::new(),
        }
    }

    /// The actions to take at start-up (open the session, first probe).
    pub fn start(&mut self, now: Instant) -> Vec<Action> {
        self.gen = SessionGen(1);
        let mut out = vec![Action::OpenSession { gen: self.gen }];
        self.reconcile(now, &mut out);
        out
    }

    fn op(&mut self) -> OpId {
        self.next_op += 1;
        OpId(self.next_op)
    }

    pub fn status(&self) -> Status {
        Status {
            role: self.role.clone(),
            leader: self.holds_election(),
            session_connected: matches!(self.session, Session::Connected { .. }),
            health: self.health.health(),
            rm_state: self.health.last_state,
            epoch: self.epoch,
            drift_corrections: self.drift_corrections,
            budget_remaining: self.last_failovers.as_ref().map(|(f, at)| self.cfg.budget.remaining(f, *at)),
            last_probe: self.last_probe,
            paused: self.paused,
            failsafe: self.failsafe_status(),
        }
    }

    /// When the driver must send `Event::Tick` next.
    pub fn next_deadline(&self) -> Option<Instant> {
        let mut d = vec![];
        if self.probe_in_flight.is_none() {
            d.push(self.next_probe);
        }
        // Rejoining waits for a connected session, and self-fencing applies only without one;
        // the event that changes the session wakes the loop for either.
        let connected = matches!(self.session, Session::Connected { .. });
        if let (Some(t), true) = (self.rejoin_at, connected) {
            d.push(t);
        }
        match &self.role {
            Role::Neutral { fence_at, .. } if !connected => match &self.acks {
                Some(acks) => d.extend([acks.fence_at.unwrap_or(*fence_at), acks.next_round]),
                None => d.push(*fence_at),
            },
            Role::Blocked { retry_at, .. } => d.push(*retry_at),
            // Acted on only between steps (reconcile_operator_requests): while one is in flight
            // its answer wakes the loop.
            Role::Active { .. } if self.step.is_none() => d.extend(self.state_recheck),
            _ => {}
        }
        d.into_iter().min()
    }

    /// Safety rule 3's test: a live session, our node in a freshly read view, lowest, and owned
    /// by this very session.
    fn holds_election(&self) -> bool {
        let (Session::Connected { id }, Membership::In { znode }) = (&self.session, &self.membership) else {
            return false;
        };
        self.view_fresh && self.candidates.first().is_some_and(|c| &c.znode == znode && c.owner == *id)
    }

    fn own_znode(&self) -> Option<String> {
        match &self.membership {
            Membership::In { znode } => Some(znode.clone()),
            _ => None,
        }
    }

    /// Asks for the leader's CAS write of `state` (and of the breadcrumb, when given), checked
    /// against our own election node. `None` (nothing asked) when we have no node.
    fn request_write(
        &mut self,
        expected_version: Option<i32>,
        state: ClusterState,
        breadcrumb: Option<Breadcrumb>,
        out: &mut Vec<Action>,
    ) -> Option<OpId> {
        let own_znode = self.own_znode()?;
        let op = self.op();
        self.own_state_version = Some(expected_version.map_or(0, |v| v + 1));
        out.push(Action::WriteState {
            op,
            gen: self.gen,
            own_znode,
            expected_version,
            state: Box::new(state),
            breadcrumb,
        });
        Some(op)
    }

    fn current_gen(&self, gen: SessionGen) -> bool {
        gen == self.gen
    }

    /// Applies one event observed at `now`; returns the actions to execute, in order.
    pub fn step(&mut self, now: Instant, event: Event) -> Vec<Action> {
        let mut out = Vec::new();
        match event {
            Event::Tick => {}
            Event::SessionConnected { gen, session_id } if self.current_gen(gen) => {
                let same = matches!(self.session, Session::Disconnected { id, .. } if id == session_id);
                if !same {
                    // A new session owns none of our old nodes.
                    self.membership = Membership::Out;
                    self.candidates.clear();
                }
                self.session = Session::Connected { id: session_id };
                self.view_fresh = false;
                out.push(Action::ReadElection { gen });
                self.published = None;
            }
            Event::SessionDisconnected { gen } if self.current_gen(gen) => {
                if let Session::Connected { id } = self.session {
                    self.session = Session::Disconnected { id, since: now };
                }
                self.view_fresh = false;
            }
            Event::SessionExpired { gen } if self.current_gen(gen) => {
                self.session = Session::Opening;
                self.membership = Membership::Out;
                self.candidates.clear();
                self.view_fresh = false;
                self.gen = SessionGen(gen.0 + 1);
                out.push(Action::OpenSession { gen: self.gen });
            }
            Event::Joined { gen, znode } if self.current_gen(gen) && self.membership == Membership::Joining => {
                self.membership = Membership::In { znode };
                out.push(Action::ReadElection { gen });
            }
            Event::JoinFailed { gen, reason } if self.current_gen(gen) && self.membership == Membership::Joining => {
                tracing::warn!(%reason, "could not join the election; retrying");
                self.membership = Membership::Out;
                self.rejoin_at = Some(now + self.cfg.retry_initial);
            }
            Event::Left { gen } if self.current_gen(gen) && matches!(self.membership, Membership::Leaving { .. }) => {
                self.membership = Membership::Out;
            }
            Event::ElectionView { gen, mut candidates } if self.current_gen(gen) => {
                if matches!(self.session, Session::Connected { .. }) {
                    candidates.sort_by_key(|c| c.seq);
                    match &self.membership {
                        Membership::In { znode } | Membership::Leaving { znode }
                            if !candidates.iter().any(|c| &c.znode == znode) =>
                        {
                            // Our node is gone (we left, or it expired): join again when eligible.
                            self.membership = Membership::Out;
                        }
                        Membership::Leaving { znode } => {
                            // A leave that got no answer (connection lost): ask again.
                            out.push(Action::LeaveElection { gen, znode: znode.clone() });
                        }
                        _ => {}
                    }
                    self.candidates = candidates;
                    self.view_fresh = true;
                }
            }
            Event::Probed { op, outcome } if self.probe_in_flight == Some(op) => {
                self.probe_in_flight = None;
                self.last_probe = Some(now);
                self.next_probe = now + self.cfg.probe_interval;
                self.observe_probe(now, &outcome, &mut out);
                if op.0 <= self.stale_probes_until {
                    self.health.last_state = None;
                }
            }
            Event::TransitionDone { op, result } if self.demotion == Some(op) => {
                self.demotion = None;
                self.forget_rm_state();
                if let Err(e) = result {
                    tracing::warn!(error = %e, "demoting the local RM failed");
                }
            }
            // Our own last write carries no operator request, and waking a blocked leader on it
            // would turn a failure that follows a write into a retry loop without backoff.
            Event::StateChanged { gen, version }
                if self.current_gen(gen) && (version.is_none() || version != self.own_state_version) =>
            {
                self.recheck_state(now);
                // Someone else wrote (a resume, a switchover, a repaired znode): a blocked
                // leader looks again now, not after its backoff.
                if let Role::Blocked { retry_at, .. } = &mut self.role {
                    *retry_at = (*retry_at).min(now);
                }
            }
            Event::StateRead { op, result } => match self.step_for(op) {
                Some(Step::Checking { .. }) => self.on_check_read(now, result.map(|s| *s), &mut out),
                _ => self.on_state_read(now, op, result.map(|s| *s), &mut out),
            },
            Event::FenceDone { op, result } => self.on_fence_done(now, op, result, &mut out),
            Event::StateWritten { op, result } => match self.step_for(op) {
                Some(Step::Announcing { sw, epoch, .. }) => self.on_announced(now, *sw, epoch, result, &mut out),
                Some(Step::Clearing { after, entry, .. }) => self.on_cleared(now, after, *entry, result, &mut out),
                _ => self.on_state_written(now, op, result, &mut out),
            },
            Event::TransitionDone { op, result } => match self.step_for(op) {
                Some(Step::Yielding { sw, epoch, .. }) => self.on_yielded(now, *sw, epoch, result, &mut out),
                _ => self.on_activation_done(now, op, result, &mut out),
            },
            Event::StoreFenceVerified { op, result } => self.on_store_verified(now, op, result, &mut out),
            Event::FailsafeAckRequested { reply, request } => self.on_ack_requested(now, reply, request, &mut out),
            Event::FailsafeAckAnswered { op, result } => self.on_ack_answered(now, op, result),
            // Stale (another session generation, an answer nobody waits for): ignore.
            _ => {}
        }
        self.reconcile(now, &mut out);
        out
    }

    fn observe_probe(&mut self, now: Instant, outcome: &ProbeOutcome, out: &mut Vec<Action>) {
        let before = self.health.health();
        let after = self.health.observe(outcome);
        if before != after {
            tracing::info!(rm = %self.cfg.rm_id, from = ?before, to = ?after, "local RM health changed");
        }
        let peer = after.as_peer_health();
        let refresh_every = Duration::from_millis(self.cfg.peer_report_fresh_ms / 3);
        let due = match self.published {
            Some((h, at)) => h != peer || now.saturating_duration_since(at) >= refresh_every,
            None => true,
        };
        if due && matches!(self.session, Session::Connected { .. }) {
            self.published = Some((peer, now));
            out.push(Action::PublishHealth { gen: self.gen, health: peer });
        }
    }

    /// Derives the desired situation from the facts and emits what moves towards it.
    fn reconcile(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.reconcile_session_loss(now, out);
        self.reconcile_membership(now, out);
        self.reconcile_leadership(now, out);
        self.reconcile_operator_requests(now, out);
        self.reconcile_local_rm(now, out);
        if self.probe_in_flight.is_none() && now >= self.next_probe {
            let op = self.op();
            self.probe_in_flight = Some(op);
            out.push(Action::Probe { op });
        }
    }
}
