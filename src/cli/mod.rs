//! The `rmfc` command line: argument parsing and dispatch to each subcommand's module.
//!
//! Owns: flags, help texts and exit codes. Must not: hold logic a test would want to call
//! without a process (that lives in the library modules).

pub mod check_config;
pub mod demo;
pub mod ops;
pub mod rm_admin;
pub mod run;

use clap::{Parser, Subcommand};

/// Exit code: the RM answered, and said no (unhealthy, refused, failed).
pub const EXIT_REFUSED: i32 = 1;
/// Exit code: the RM could not be reached (gone, slow, broken connection).
pub const EXIT_UNREACHABLE: i32 = 3;

#[derive(Debug, Parser)]
#[command(name = "rmfc", version, about = "ResourceManager failover controller for Apache Hadoop YARN")]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Talk to one RM's admin port like `yarn rmadmin` (HAServiceProtocol).
    RmAdmin(rm_admin::RmAdminArgs),
    /// Run one simulated ResourceManager (for the demo and tests).
    SimRm(crate::sim::SimRmArgs),
    /// Validate a config file (and, with --yarn-site, the RMs' HA settings) and print its timing budget.
    CheckConfig(check_config::CheckConfigArgs),
    /// Run the failover controller beside the local RM.
    Run(run::RunArgs),
    /// Show the cluster as a daemon sees it: leader, active RM, epoch, pause, every RM.
    Status(ops::StatusArgs),
    /// Show the transition journal, newest first.
    History(ops::HistoryArgs),
    /// Pause automatic failover and fencing (manual switchover still works).
    Pause(ops::PauseArgs),
    /// Resume automatic failover after a pause.
    Resume(ops::ResumeArgs),
    /// Hand the active role gracefully to another RM (named, or the next eligible one).
    Switchover(ops::SwitchoverArgs),
    /// Run a local demo cluster: ZooKeeper, two simulated RMs, two controllers.
    Demo(demo::DemoArgs),
}

/// Sets up tracing on stderr; `RUST_LOG` overrides the default level.
pub fn init_logging(format: LogFormat, default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
