//! `cardinal`: a card-management server speaking the Qonto Business API v2 card endpoints.

mod bench;
mod cli;
mod config;
mod database;
mod first_run;
mod keys;
mod listen;
mod logs;
mod serve;
mod stop;
mod tls;

use clap::Parser;

// Request handling allocates many small, short-lived buffers on two threads at once;
// mimalloc's per-thread free lists serve them without glibc's arena locking and
// consolidation, which profiles showed at a tenth of the server's time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = config::Cli::parse();
    let result = match cli.command {
        config::Command::Serve(args) => serve::run(*args).await,
        config::Command::Bench(config::BenchCommand::Baseline(args)) => bench::baseline(args).await,
        config::Command::Bench(config::BenchCommand::Seed(args)) => bench::seed_organization(args).await,
        config::Command::Keys(config::KeysCommand::Rotate(args)) => keys::rotate(args).await,
        config::Command::Keys(config::KeysCommand::Check(args)) => keys::check(args).await,
        config::Command::Keys(config::KeysCommand::Generate(args)) => keys::generate(&args.out),
        config::Command::Listen(args) => cli::listen::run(args).await,
        config::Command::Trigger(command) => cli::trigger::run(command).await,
        config::Command::Cards(command) => cli::cards::run(command).await,
        config::Command::Clock(command) => cli::admin::clock(command).await,
        config::Command::Orgs(command) => cli::admin::orgs(command).await,
        config::Command::Tokens(command) => cli::admin::tokens(command).await,
        config::Command::Logs(command) => cli::admin::logs(command).await,
        config::Command::Completions { shell } => {
            let mut command = <config::Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "cardinal", &mut std::io::stdout());
            Ok(())
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("cardinal: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
