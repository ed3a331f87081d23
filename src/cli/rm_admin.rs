//! `rmfc rm-admin`: one HAServiceProtocol call against one RM, like `yarn rmadmin`
//! (`-getServiceState`, `-checkHealth`, `-transitionToActive`, `-transitionToStandby`).
//! Prints the state for `get-service-state`, `healthy` for `check-health`, nothing for
//! transitions; errors go to stderr with the RM's own message.
//!
//! Owns: the command. Must not: retry (an operator sees exactly what the RM said).

use std::time::Duration;

use crate::config::Qop;
use crate::hadoop_ipc::error::SettingNames;
use crate::hadoop_ipc::ha::HA_PROTOCOL;
use crate::hadoop_ipc::{ClientAuth, ClientConfig, HaClient, HaError, KerberosAuth, RequestSource};
use crate::security::LoginError;

/// `--rpc-protection`'s value: one comma-separated list, as `hadoop.rpc.protection` is written.
#[derive(Debug, Clone)]
pub struct QopList(pub Vec<Qop>);

fn parse_protection(s: &str) -> Result<QopList, String> {
    Qop::parse_list(s).map(QopList)
}

/// SIMPLE, or Kerberos from the keytab or the ticket cache.
fn client_auth(args: &RmAdminArgs) -> Result<ClientAuth, String> {
    let Some(rm_principal) = &args.rm_principal else {
        if args.principal.is_some() {
            return Err("--principal and --keytab need --rm-principal (the RM's Kerberos principal)".into());
        }
        return Ok(ClientAuth::Simple);
    };
    let login = match (&args.principal, &args.keytab) {
        (Some(p), Some(k)) => crate::security::login_from_keytab(p, k),
        _ => crate::security::ticket_cache_login(None),
    }
    .map_err(|e| match e {
        // Its own text names the daemon's config key.
        LoginError::NotBuiltIn => "--rm-principal needs Kerberos, and this rmfc was built without the `kerberos` \
                                   feature (cargo build --features kerberos; the .deb is built with it)"
            .to_string(),
        other => other.to_string(),
    })?;
    Ok(ClientAuth::Kerberos(KerberosAuth {
        server_principal: rm_principal.clone(),
        accept: args.rpc_protection.0.clone(),
        login,
    }))
}

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
    /// SIMPLE auth only: with Kerberos the RM takes the user from the ticket.
    #[arg(long, global = true)]
    pub user: Option<String>,
    /// Kerberos: the RM's principal (yarn.resourcemanager.principal, e.g. rm/_HOST@EXAMPLE.COM;
    /// _HOST becomes the host of --address). Turns on SASL GSSAPI.
    #[arg(long, global = true, value_name = "PRINCIPAL")]
    pub rm_principal: Option<String>,
    /// Kerberos: the protections accepted, in order of preference (hadoop.rpc.protection:
    /// authentication, integrity, privacy, comma-separated).
    #[arg(long, global = true, default_value = "authentication", value_parser = parse_protection)]
    pub rpc_protection: QopList,
    /// Kerberos: log in as this principal (with --keytab); without both, the ticket cache of
    /// `kinit` is used.
    #[arg(long, global = true, requires = "keytab", value_name = "PRINCIPAL")]
    pub principal: Option<String>,
    /// Kerberos: the keytab to log in from (with --principal).
    #[arg(long, global = true, requires = "principal", value_name = "FILE")]
    pub keytab: Option<std::path::PathBuf>,
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
    let auth = match client_auth(&args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("rmfc rm-admin: {e}");
            return super::EXIT_REFUSED;
        }
    };
    let mut cfg = ClientConfig::new(HA_PROTOCOL);
    if let Some(user) = &args.user {
        cfg.effective_user = user.clone();
    }
    cfg.auth = auth;
    // The operator gave flags, not a config file: errors say which flag to change.
    cfg.setting_names = SettingNames::RmAdminFlags;
    let mut client = HaClient::with_config(address, cfg, args.source);
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
        HaError::ProcessGone { .. }
        | HaError::Timeout { .. }
        | HaError::AuthTimeout { .. }
        | HaError::Unreachable { .. } => super::EXIT_UNREACHABLE,
        _ => super::EXIT_REFUSED,
    }
}
