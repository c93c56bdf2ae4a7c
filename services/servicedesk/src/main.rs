//! `servicedesk`: the one binary. `serve` runs every part in one process on
//! the embedded default, or one target against RabbitMQ and PostgreSQL;
//! `tenant create` makes a tenant and its first admin token; `mailgate`
//! hands email to the desk; `bench` measures the desk. The parts live in the crate's library (`lib.rs`).

use clap::Parser;
use servicedesk::{cli, serve, tenant};

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
            cli::Command::Directory(cli::DirectoryCommand::Announce(args)) => {
                tenant::announce_directory(args).await
            }
            #[cfg(feature = "bench")]
            cli::Command::Bench(args) => servicedesk::bench::run(args).await,
            cli::Command::DeadLetters(command) => servicedesk::dead_letters::run(command).await,
            cli::Command::Asyncapi => {
                println!("{:#}", servicedesk::asyncapi::document());
                Ok(())
            }
            cli::Command::Mailgate(args) => {
                // Its exit code is what the MTA acts on; a gateway that
                // cannot run (its listener, its input) is to be retried.
                let code = match servicedesk::mailgate::run(args).await {
                    Ok(code) => code,
                    Err(e) => {
                        eprintln!("servicedesk mailgate: {e:#}");
                        75
                    }
                };
                std::process::exit(i32::from(code));
            }
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
