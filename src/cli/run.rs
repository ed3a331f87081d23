//! `rmfc run -c FILE`: loads and checks the config, prints its warnings and timing budget to
//! the log, then runs the daemon until SIGTERM.
//!
//! Owns: start-up of the daemon process. Must not: contain daemon logic.

use std::path::PathBuf;

use super::{init_logging, LogFormat};
use crate::config::{self, Config};

#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// The config file (see config.example.yaml).
    #[arg(short = 'c', long = "config")]
    pub config: PathBuf,
}

pub async fn run(args: RunArgs, cli_format: LogFormat) -> i32 {
    let config = match Config::load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("rmfc run: {e}");
            return 2;
        }
    };
    let format = match (cli_format, config.logging.format) {
        (LogFormat::Json, _) | (_, config::LogFormat::Json) => LogFormat::Json,
        _ => LogFormat::Text,
    };
    init_logging(format, "info");
    for w in config.lint() {
        tracing::warn!(key = %w.key, "{}", w.message);
    }
    match crate::daemon::run(config).await {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!("rmfc run: {e:#}");
            1
        }
    }
}
