//! `servicedesk`: the one binary. `serve` runs every part in one process on
//! the embedded default, or one target against RabbitMQ and PostgreSQL;
//! `tenant create` makes a tenant and its first admin token; `bench`
//! measures the desk.
//!
//! # Layout
//! - [`cli`]: the command line (every flag also reads an environment variable).
//! - [`serve`]: the targets and how they are wired in each mode.
//! - [`tenant`]: `tenant create`.
//! - [`bench`]: `bench`, the end-to-end benchmark and its ceilings.

mod bench;
mod cli;
mod serve;
mod tenant;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("servicedesk: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            cli::Command::Serve(args) => serve::run(args).await,
            cli::Command::Tenant(cli::TenantCommand::Create(args)) => tenant::create(args).await,
            cli::Command::Bench(args) => bench::run(args).await,
        }
    });
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("servicedesk: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
