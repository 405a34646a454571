//! `cardinal`: a card-management server speaking the Qonto Business API v2 card endpoints.

mod bench;
mod config;
mod first_run;
mod serve;

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = config::Cli::parse();
    let result = match cli.command {
        config::Command::Serve(args) => serve::run(args).await,
        config::Command::Bench(config::BenchCommand::Baseline(args)) => bench::baseline(args).await,
        config::Command::Bench(config::BenchCommand::Seed(args)) => bench::seed_organization(args).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("cardinal: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
