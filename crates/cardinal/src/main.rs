//! `cardinal`: a card-management server speaking the Qonto Business API v2 card endpoints.

mod config;
mod first_run;
mod serve;

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = config::Cli::parse();
    match cli.command {
        config::Command::Serve(args) => match serve::run(args).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("cardinal: {message}");
                std::process::ExitCode::FAILURE
            }
        },
    }
}
