//! What the controller shows of itself: its role (each state with its data) and the read-only
//! status the admin API, the metrics and systemd read.
//!
//! Owns: those shapes and their names. Must not: decide anything.

use std::time::Instant;

use crate::core::failsafe::FailsafeStatus;
use crate::core::health::RmHealth;
use crate::hadoop_ipc::HaState;

/// The controller's role. States carry their data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Not the leader: keeps the local RM STANDBY.
    Follower,
    /// Holds the election and works towards promoting the local RM.
    Promoting { step_name: &'static str, started: Instant },
    /// Our RM is the active one under `epoch`.
    Active { epoch: u64 },
    /// Lost the ZooKeeper connection while our RM may be active: demote at `fence_at` unless
    /// leadership is re-verified first.
    Neutral { epoch: u64, fence_at: Instant },
    /// Holds the election but may not promote now; retries at `retry_at`.
    Blocked { reason: String, retry_at: Instant },
}

/// Read-only view for the admin API and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub role: Role,
    pub leader: bool,
    pub session_connected: bool,
    pub health: RmHealth,
    pub rm_state: Option<HaState>,
    pub epoch: u64,
    pub drift_corrections: u64,
    /// Automatic failovers left in the budget window, as of the last state read.
    pub budget_remaining: Option<u32>,
    /// When the local RM last answered a probe (any answer, healthy or not).
    pub last_probe: Option<Instant>,
    /// Automatic failover was paused at the last state read (leader's view).
    pub paused: bool,
    pub failsafe: FailsafeStatus,
}

impl Role {
    /// A short name for logs, metrics and the admin API.
    pub fn name(&self) -> &'static str {
        match self {
            Role::Follower => "follower",
            Role::Promoting { .. } => "promoting",
            Role::Active { .. } => "active",
            Role::Neutral { .. } => "neutral",
            Role::Blocked { .. } => "blocked",
        }
    }

    /// Why the role is what it is, when that needs saying.
    pub fn detail(&self) -> Option<String> {
        match self {
            Role::Promoting { step_name, .. } => Some((*step_name).to_string()),
            Role::Blocked { reason, .. } => Some(reason.clone()),
            Role::Neutral { .. } => Some("ZooKeeper connection lost: leadership unverified".into()),
            _ => None,
        }
    }
}
