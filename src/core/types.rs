//! Vocabulary shared by the core and its adapters: ids, the records kept in ZooKeeper, and the
//! reasons that accompany every decision.
//!
//! Owns: data shapes only. Must not: contain decisions or I/O.

use serde::{Deserialize, Serialize};

/// An RM id as in `yarn.resourcemanager.ha.rm-ids`.
pub type RmId = String;

/// Generation of the ZooKeeper session: incremented by the core every time it asks for a new
/// session. Every ZooKeeper event carries the generation that produced it; stale ones are
/// dropped (Hadoop's `isStaleClient` as a type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct SessionGen(pub u64);

/// Identifies one I/O request the core made; its result event carries the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct OpId(pub u64);

/// One election candidate, as read from `/election` (sorted by the adapter or not: the core sorts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub znode: String,
    pub rm_id: RmId,
    /// The sequence number ZooKeeper appended.
    pub seq: u64,
    /// `ephemeralOwner`: the session that holds the node.
    pub owner: i64,
}

/// Whom the next leader must fence (`/breadcrumb`): the last RM told to be active, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breadcrumb {
    pub active_rm: RmId,
    pub epoch: u64,
}

/// The controller state znode (`/state`), written with version CAS.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ClusterState {
    /// The fencing token: incremented on every leadership change that promotes.
    pub epoch: u64,
    pub active_rm: Option<RmId>,
    pub leader_znode: Option<String>,
    /// Wall time (ms since the Unix epoch) of the last promotion.
    pub since_ms: u64,
    /// Wall times of recent automatic failovers (bounded by the budget window).
    #[serde(default)]
    pub recent_failovers_ms: Vec<u64>,
    /// While set (and not expired), no automatic failover or fencing happens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause: Option<Pause>,
    /// An operator's pending switchover: the leader hands over to its target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub switchover: Option<Box<Switchover>>,
    /// The failsafe membership the leader of `epoch` recorded (failsafe mode on): whose
    /// acknowledgements it needs to keep its RM ACTIVE through a ZooKeeper outage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failsafe: Option<FailsafeRecord>,
}

/// One controller of the cluster, as the failsafe knows it: the RM it sits beside and the base
/// URL of its admin API (`http(s)://HOST:PORT`), where it is asked for acknowledgements.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FailsafeMember {
    pub rm_id: RmId,
    pub admin_url: String,
}

/// What a failsafe leader records in `/state` while ZooKeeper is up: every member (itself
/// included) and the lease of one acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FailsafeRecord {
    pub members: Vec<FailsafeMember>,
    pub lease_ms: u64,
}

/// A failsafe leader's request, sent to every other member while ZooKeeper is unreachable:
/// "I, `leader`, keep my RM ACTIVE under `epoch`; promise not to promote for `lease_ms`".
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AckRequest {
    pub leader: RmId,
    pub epoch: u64,
    pub lease_ms: u64,
}

/// A member's answer to an [`AckRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "answer")]
pub enum AckAnswer {
    /// The member cannot reach ZooKeeper either, accepts the leader and epoch, and will not
    /// promote its RM before `lease_ms` (plus a clock margin) from when it answered.
    Granted { lease_ms: u64 },
    /// Not granted, and why (the member reaches ZooKeeper, knows a newer epoch, ...).
    Refused { reason: String },
}

/// An operator's request to hand the active role to `target`, recorded in `/state` by whichever
/// daemon accepted it and carried out by the leaders: the current one demotes its RM and steps
/// out of the election, any other non-target leader stands aside, the target promotes itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Switchover {
    /// Operation id, for reading progress and outcome back.
    pub id: String,
    pub target: RmId,
    /// The active RM when the request was accepted.
    pub from: Option<RmId>,
    pub reason: String,
    pub by: String,
    pub requested_ms: u64,
    /// Past this wall time nobody acts on it any more (it is abandoned and journaled as failed).
    pub deadline_ms: u64,
    pub phase: SwitchoverPhase,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SwitchoverPhase {
    /// Recorded; the leader has not acted yet.
    Requested,
    /// The leader is demoting its RM and leaving the election for the target.
    HandingOver,
}

impl Switchover {
    pub fn expired(&self, now_ms: u64) -> bool {
        now_ms >= self.deadline_ms
    }
}

/// An operator's pause of automatic failover: always with a reason, optionally expiring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    pub by: String,
    pub reason: String,
    pub since_ms: u64,
    /// Wall time at which the pause ends by itself (`None`: until resumed).
    pub until_ms: Option<u64>,
}

impl Pause {
    /// Is the pause in force at `now_ms`?
    pub fn in_force(&self, now_ms: u64) -> bool {
        self.until_ms.is_none_or(|u| now_ms < u)
    }
}

/// Health of one RM as its own controller last saw it (`/health/<rm-id>`): lets the leader skip
/// a graceful fence of an RM already known to be gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeerHealth {
    Healthy,
    Slow,
    Hung,
    Unhealthy,
    Dead,
    Unknown,
}

/// What a leader read before acting: the state znode, its version and the breadcrumb.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateSnapshot {
    pub state: ClusterState,
    /// `None`: the znode does not exist yet (create it).
    pub version: Option<i32>,
    pub breadcrumb: Option<Breadcrumb>,
    /// Peer health reports with their age in milliseconds.
    pub peer_health: Vec<(RmId, PeerHealth, u64)>,
    /// The election as listed with this read, lowest sequence first. A leader watches only its
    /// own node, so its election view can be older than a switchover naming a newer candidate;
    /// switchover verdicts judge this list instead.
    pub candidates: Vec<Candidate>,
    /// Wall time of the read, for the failover budget.
    pub read_at_ms: u64,
}

/// Why a leader is (or is not) changing the active RM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Trigger {
    /// No active recorded (first start, or after an operator cleared it).
    Startup,
    /// The previous leader's controller or RM went away.
    Failover { previous: RmId },
    /// The same RM stays active under a new leader epoch (e.g. its controller restarted).
    Reassert,
    /// The leader promoted nobody (fencing failed, budget exhausted, untrustworthy state).
    Refused,
    /// An operator's switchover (`id`), asked by `by` for `reason`. Also journals a switchover
    /// that was abandoned (the outcome says why).
    Switchover { id: String, by: String, reason: String },
    /// The failsafe kept (or stopped keeping) the local RM ACTIVE through a ZooKeeper outage;
    /// the outcome says which and why. Journaled once ZooKeeper is back.
    Failsafe,
}

/// What the journal records for one promotion attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub epoch: u64,
    pub trigger: Trigger,
    pub from: Option<RmId>,
    pub to: RmId,
    /// How the previous active was made safe: "none needed", "graceful", or a method name.
    pub fenced_by: String,
    pub outcome: String,
    pub fence_ms: u64,
    pub promote_ms: u64,
}

/// The outcome of an entry whose RM was made ACTIVE.
pub const OUTCOME_ACTIVE: &str = "active";
/// The outcome of a switchover to the RM that was active already.
pub const OUTCOME_ALREADY_ACTIVE: &str = "already active: nothing to do";

impl HistoryEntry {
    /// The entry ends with its RM ACTIVE: promoted, or a switchover target that already was.
    /// The one test of success, for the metrics and the switchover API alike.
    pub fn succeeded(&self) -> bool {
        self.outcome == OUTCOME_ACTIVE || self.outcome == OUTCOME_ALREADY_ACTIVE
    }
}
