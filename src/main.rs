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
        Command::Demo(args) => {
            init_logging(cli.log_format, "warn");
            rmfc::cli::demo::run(args).await
        }
        Command::CheckConfig(args) => {
            init_logging(cli.log_format, "warn");
            rmfc::cli::check_config::run(args)
        }
        Command::Status(args) => {
            init_logging(cli.log_format, "warn");
            rmfc::cli::ops::status(args).await
        }
        Command::History(args) => {
            init_logging(cli.log_format, "warn");
            rmfc::cli::ops::history(args).await
        }
        Command::Pause(args) => {
            init_logging(cli.log_format, "warn");
            rmfc::cli::ops::pause(args).await
        }
        Command::Resume(args) => {
            init_logging(cli.log_format, "warn");
            rmfc::cli::ops::resume(args).await
        }
        Command::Switchover(args) => {
            init_logging(cli.log_format, "warn");
            rmfc::cli::ops::switchover(args).await
        }
    };
    std::process::exit(code);
}
