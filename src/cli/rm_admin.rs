//! `rmfc rm-admin`: one HAServiceProtocol call against one RM, like `yarn rmadmin`
//! (`-getServiceState`, `-checkHealth`, `-transitionToActive`, `-transitionToStandby`).
//! Prints the state for `get-service-state`, `healthy` for `check-health`, nothing for
//! transitions; errors go to stderr with the RM's own message.
//!
//! Owns: the command. Must not: retry (an operator sees exactly what the RM said).

use std::time::Duration;

use crate::hadoop_ipc::{HaClient, HaError, RequestSource};

#[derive(Debug, Clone, clap::Args)]
pub struct RmAdminArgs {
    /// The RM's admin address (yarn.resourcemanager.admin.address.<rm-id>), HOST:PORT.
    #[arg(long, global = true)]
    pub address: Option<String>,
    /// Request source for transitions: user (REQUEST_BY_USER), forced (REQUEST_BY_USER_FORCED)
    /// or zkfc (REQUEST_BY_ZKFC).
    #[arg(long, global = true, value_enum, default_value = "user")]
    pub source: RequestSource,
    /// Deadline for the whole call (connect included), e.g. 500ms, 20s.
    #[arg(long, global = true, value_parser = humantime::parse_duration, default_value = "20s")]
    pub timeout: Duration,
    /// Effective user sent to the RM (checked against yarn.admin.acl); default: the OS user.
    #[arg(long, global = true)]
    pub user: Option<String>,
    #[command(subcommand)]
    pub op: RmAdminOp,
}

#[derive(Debug, Clone, Copy, clap::Subcommand)]
pub enum RmAdminOp {
    /// Print the RM's HA state: active, standby or initializing.
    GetServiceState,
    /// Ask the RM whether it is healthy (monitorHealth).
    CheckHealth,
    /// Make the RM active.
    TransitionToActive,
    /// Make the RM standby.
    TransitionToStandby,
}

/// Runs the command; returns the process exit code.
pub async fn run(args: RmAdminArgs) -> i32 {
    let Some(address) = args.address.clone() else {
        eprintln!("rmfc rm-admin: --address HOST:PORT is required");
        return 2;
    };
    let mut client = HaClient::new(address, args.user.clone(), args.source);
    let result = match args.op {
        RmAdminOp::GetServiceState => client.get_service_status(args.timeout).await.map(|s| match s.not_ready_reason {
            Some(reason) if !s.ready_to_become_active => println!("{} (not ready: {reason})", s.state),
            _ => println!("{}", s.state),
        }),
        RmAdminOp::CheckHealth => client.monitor_health(args.timeout).await.map(|_| println!("healthy")),
        RmAdminOp::TransitionToActive => client.transition_to_active(args.timeout).await,
        RmAdminOp::TransitionToStandby => client.transition_to_standby(args.timeout).await,
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("rmfc rm-admin: {e}");
            exit_code(&e)
        }
    }
}

/// Refused (the RM said no) versus unreachable (we could not ask).
pub fn exit_code(e: &HaError) -> i32 {
    match e {
        HaError::ProcessGone { .. } | HaError::Timeout { .. } | HaError::Unreachable { .. } => super::EXIT_UNREACHABLE,
        _ => super::EXIT_REFUSED,
    }
}
