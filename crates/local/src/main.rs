//! The `isoscan` command.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use isoscan_local::sandbox::{run_worker, WorkerArgs};
use isoscan_local::scan::{run, ScanArgs};

#[derive(Parser)]
#[command(
    name = "isoscan",
    version,
    about = "Finds which drawings mention which codes of a list."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Scan a folder or .zip of drawings for the codes of a list, and write an Excel report.
    Scan(ScanArgs),
    #[command(name = "__extract-worker", hide = true)]
    ExtractWorker(WorkerArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::ExtractWorker(args) => match run_worker(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("isoscan worker: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Scan(args) => {
            tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_env("ISOSCAN_LOG")
                        .unwrap_or_else(|_| "warn".into()),
                )
                .with_writer(std::io::stderr)
                .init();
            let program = match std::env::current_exe() {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("isoscan: cannot find its own executable to start readers: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("isoscan: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(run(args, program)) {
                Ok(done) => {
                    eprintln!("{}", done.summary);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("isoscan: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
