//! The core's inputs and outputs: one event enum (what happened, reported by an adapter or the
//! timer) and one action enum (what to do, executed by an adapter). Every action that expects an
//! answer names the event that reports back; ZooKeeper events carry the session generation that
//! produced them and request results carry the `OpId` of the request, so stale answers are
//! recognised and ignored.
//!
//! Owns: the contract between the core and the adapters. Must not: contain logic.

use serde::Serialize;

use super::health::ProbeOutcome;
use super::types::{
    AckAnswer, AckRequest, Breadcrumb, Candidate, ClusterState, HistoryEntry, OpId, PeerHealth, RmId, SessionGen,
    StateSnapshot,
};

/// Something the core must know about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The driver's timer: sent at `Controller::next_deadline()` (sending it early is harmless).
    Tick,
    /// zk adapter: the session of `gen` is connected (first connect or reconnect).
    SessionConnected { gen: SessionGen, session_id: i64 },
    /// zk adapter: the session of `gen` lost its connection (it may still come back).
    SessionDisconnected { gen: SessionGen },
    /// zk adapter: the session of `gen` is gone for good.
    SessionExpired { gen: SessionGen },
    /// zk adapter, answer to `JoinElection`: our candidate node.
    Joined { gen: SessionGen, znode: String },
    /// zk adapter, answer to `JoinElection` that failed (the core retries).
    JoinFailed { gen: SessionGen, reason: String },
    /// zk adapter, answer to `LeaveElection`.
    Left { gen: SessionGen },
    /// zk adapter: the election's candidates, after `ReadElection` or whenever the watched
    /// predecessor changed.
    ElectionView { gen: SessionGen, candidates: Vec<Candidate> },
    /// zk adapter: the state znode changed (or its watch was re-armed after a reconnect); the
    /// leader re-reads it for operator requests. `version`: the znode's version when the watch
    /// was armed (`None`: no znode), so a controller can tell its own writes from others'.
    StateChanged { gen: SessionGen, version: Option<i32> },
    /// zk adapter, answer to `ReadState`. `Err` means the znode exists but cannot be trusted
    /// (corrupt JSON, unreadable): reported, and never makes anyone ACTIVE.
    StateRead { op: OpId, result: Result<Box<StateSnapshot>, String> },
    /// zk adapter, answer to `WriteState`.
    StateWritten { op: OpId, result: Result<(), WriteFailure> },
    /// rm adapter, answer to `Probe`.
    Probed { op: OpId, outcome: ProbeOutcome },
    /// rm adapter, answer to `Transition`.
    TransitionDone { op: OpId, result: Result<(), String> },
    /// fence adapter, answer to `Fence`.
    FenceDone { op: OpId, result: Result<(), String> },
    /// fence adapter, answer to `VerifyStoreFence`.
    StoreFenceVerified { op: OpId, result: Result<(), String> },
    /// admin API: another member asks for a failsafe acknowledgement; the answer goes out as
    /// `AnswerFailsafeAck` with the same `reply` (the HTTP request waits for it).
    FailsafeAckRequested { reply: u64, request: AckRequest },
    /// peer adapter, answer to `RequestFailsafeAck` (`Err`: no answer: unreachable, timed out,
    /// rejected credentials, a malformed body).
    FailsafeAckAnswered { op: OpId, result: Result<AckAnswer, String> },
}

/// Why a CAS write did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteFailure {
    /// The version moved or our election node is gone: someone else acts; re-read.
    Conflict(String),
    /// ZooKeeper did not answer.
    Unavailable(String),
}

/// Which RM state a transition asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetState {
    Active,
    Standby,
}

/// One step of the fencing chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FenceStep {
    /// `transitionToStandby` on the old active with `fencing.graceful_timeout`.
    Graceful,
    /// `fencing.methods[i]`.
    Method(usize),
}

/// Something an adapter must do, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// zk adapter: close any previous session, open a new one for `gen`; reports
    /// `SessionConnected`/`SessionDisconnected`/`SessionExpired` tagged with `gen`.
    OpenSession { gen: SessionGen },
    /// zk adapter: create our EPHEMERAL_SEQUENTIAL candidate node (protected name), watch the
    /// predecessor; reports `Joined` or `JoinFailed`, then `ElectionView` on every change.
    JoinElection { gen: SessionGen },
    /// zk adapter: delete our candidate node; reports `Left`.
    LeaveElection { gen: SessionGen, znode: String },
    /// zk adapter: list the candidates; reports `ElectionView`.
    ReadElection { gen: SessionGen },
    /// zk adapter: read state, breadcrumb, peer health and the election; reports `StateRead`.
    ReadState { op: OpId, gen: SessionGen },
    /// zk adapter: `multi(check(own node), set state @expected_version, set breadcrumb)` (the
    /// breadcrumb only when given: operator bookkeeping leaves it alone); reports `StateWritten`.
    WriteState {
        op: OpId,
        gen: SessionGen,
        own_znode: String,
        expected_version: Option<i32>,
        state: Box<ClusterState>,
        breadcrumb: Option<Breadcrumb>,
    },
    /// zk adapter: append one entry to the bounded `/history` journal (best effort, no answer).
    AppendHistory { gen: SessionGen, entry: Box<HistoryEntry> },
    /// zk adapter: publish our RM's health under `/health/<rm-id>` (best effort, no answer).
    PublishHealth { gen: SessionGen, health: PeerHealth },
    /// rm adapter: probe the local RM; reports `Probed`.
    Probe { op: OpId },
    /// rm adapter: ask `rm` to change state, carrying the epoch; reports `TransitionDone`.
    Transition { op: OpId, rm: RmId, to: TargetState, epoch: u64, reason: String },
    /// fence adapter: run one fencing step against `target`; reports `FenceDone`.
    Fence { op: OpId, target: RmId, step: FenceStep, epoch: u64 },
    /// fence adapter: check that the state store root's ACL changed hands; reports
    /// `StoreFenceVerified`.
    VerifyStoreFence { op: OpId, epoch: u64 },
    /// peer adapter: ask `peer`'s controller (at `admin_url`, its admin API) for a failsafe
    /// acknowledgement; reports `FailsafeAckAnswered`.
    RequestFailsafeAck { op: OpId, peer: RmId, admin_url: String, request: AckRequest },
    /// admin API: the answer to the `FailsafeAckRequested` of the same `reply`.
    AnswerFailsafeAck { reply: u64, answer: AckAnswer },
    /// Log (INFO, with cluster, rm id, epoch) and count a role change or a decision.
    Announce(Announcement),
}

/// A decision worth telling operators, with one human sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Announcement {
    pub kind: AnnouncementKind,
    pub epoch: u64,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnnouncementKind {
    BecameLeader,
    Promoted,
    PromotionFailed,
    FencingFailed,
    Blocked,
    LostLeadership,
    SelfFenced,
    DriftCorrected,
    LeftElection,
    CorruptState,
    /// A switchover began, stood aside for, or was abandoned.
    Switchover,
    /// The failsafe started or ended keeping the local RM ACTIVE through a ZooKeeper outage.
    Failsafe,
}
