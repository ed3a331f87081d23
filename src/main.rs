//! The `rmfc` binary: parses the command line and hands over to the library.

use clap::Parser;
use rmfc::cli::{init_logging, Cli, Command};

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::RmAdmin(args) => {
            init_logging(cli.log_format, "warn");
            rmfc::cli::rm_admin::run(args).await
        }
        Command::SimRm(args) => {
            init_logging(cli.log_format, "info");
            match rmfc::sim::run(args).await {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("rmfc sim-rm: {e:#}");
                    1
                }
            }
        }
        Command::Run(args) => rmfc::cli::run::run(args, cli.log_format).await,
        Command::CheckConfig(args) => {
            init_logging(cli.log_format, "warn");
            rmfc::cli::check_config::run(args)
        }
    };
    std::process::exit(code);
}
