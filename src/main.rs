//! The `rmfc` binary: parses the command line, prepares the process environment while it still
//! has one thread, then builds the tokio runtime and hands over to the library.

use clap::Parser;
use rmfc::cli::{init_logging, Cli, Command};

fn main() {
    let cli = Cli::parse();
    // SAFETY: only this thread exists; the runtime (and every other thread) comes after.
    unsafe { prepare_kerberos_environment(&cli.command) };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rmfc: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = runtime.block_on(run(cli));
    std::process::exit(code);
}

/// The keytab login's environment (`rmfc::security`), for the commands that log in from a
/// keytab: `run` (`security.keytab`; a config that does not load is reported by `run` itself)
/// and `rm-admin --keytab`.
///
/// # Safety
///
/// As [`rmfc::security::prepare_keytab_environment`]: no other thread may exist.
unsafe fn prepare_kerberos_environment(command: &Command) {
    let keytab = match command {
        Command::Run(args) => {
            rmfc::config::Config::load(&args.config).ok().and_then(|c| c.security.kerberos).map(|k| k.keytab)
        }
        Command::RmAdmin(args) => args.keytab.clone(),
        _ => None,
    };
    if let Some(keytab) = keytab {
        // SAFETY: passed on from the caller.
        unsafe { rmfc::security::prepare_keytab_environment(&keytab) };
    }
}

async fn run(cli: Cli) -> i32 {
    match cli.command {
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
    }
}
