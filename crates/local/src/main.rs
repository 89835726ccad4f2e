//! The `isoscan` command.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use isoscan_local::sandbox::{run_worker, WorkerArgs};
use isoscan_local::scan::{run, ScanArgs};
use isoscan_local::serve::ServeArgs;

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
    /// Serve the dashboard and the WebSocket API: scans from a browser, live.
    Serve(ServeArgs),
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
        Command::Scan(args) => match runtime() {
            Ok((rt, program)) => match rt.block_on(run(args, program)) {
                Ok(done) => {
                    eprintln!("{}", done.summary);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("isoscan: {e:#}");
                    ExitCode::FAILURE
                }
            },
            Err(e) => {
                eprintln!("isoscan: {e:#}");
                ExitCode::FAILURE
            }
        },
        Command::Serve(args) => match runtime() {
            Ok((rt, program)) => match rt.block_on(isoscan_local::serve::run(args, program)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("isoscan serve: {e:#}");
                    ExitCode::FAILURE
                }
            },
            Err(e) => {
                eprintln!("isoscan: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

/// Logging, the runtime, and this executable's path (readers are started from it).
fn runtime() -> anyhow::Result<(tokio::runtime::Runtime, std::path::PathBuf)> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ISOSCAN_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let program = std::env::current_exe()
        .map_err(|e| anyhow::anyhow!("cannot find its own executable to start readers: {e}"))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    Ok((rt, program))
}
