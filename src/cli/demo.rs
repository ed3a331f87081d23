//! `rmfc demo [--dir DIR] [--base-port N]`: a local cluster to try rmfc on (see `crate::demo`).

use std::path::PathBuf;

use crate::demo::{self, DemoOptions};

#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Keep configs, logs, journals and ZooKeeper's data in DIR (left there on exit); default: a
    /// temporary directory, removed on exit.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// First port on 127.0.0.1: ZooKeeper on N, the RMs' admin and web ports on N+1..N+4, the
    /// controllers' admin APIs on N+10 and N+11 (a taken port moves to the next free one).
    #[arg(long, value_name = "N", default_value_t = 19000)]
    pub base_port: u16,
}

/// Runs the demo until Ctrl-C or SIGTERM. Exit code 0 once everything started is stopped; 1 if
/// it could not start or ZooKeeper died.
pub async fn run(args: DemoArgs) -> i32 {
    match demo::run(DemoOptions { dir: args.dir, base_port: args.base_port }).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("rmfc demo: {e:#}");
            1
        }
    }
}
