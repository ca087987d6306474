//! Subcommands of the `rankd` binary, one file each. Every file exposes an `Args` type (clap)
//! and a `run` function; this module only parses and dispatches.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod build_index;
mod client_args;
mod data;
mod demo;
mod eval;
mod feedback;
mod index;
mod loadgen;
mod recommend;
mod serve;
mod train;

#[derive(Debug, Parser)]
#[command(
    name = "rankd",
    version,
    about = "A ranking engine for e-commerce search and recommendation"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Retrieve + rerank in process for a list of users; one JSON line per user.
    Recommend(recommend::Args),
    /// Tools over the durable feedback log: export for training, forget a user (erasure).
    Feedback(feedback::Args),
    /// Drive Rank on a running server and report QPS, latency percentiles and errors.
    Loadgen(loadgen::Args),
    /// Start a demo server on loopback and show its health (README command one).
    Demo(demo::Args),
    /// Serve the gRPC API (Ranker, Admin, health, reflection).
    Serve(serve::Args),
    /// Train the two towers and the ranker; write a models directory.
    Train(train::Args),
    /// Embed a catalogue with trained models and publish an index version.
    BuildIndex(build_index::Args),
    /// Fetch, generate or check data sets in the generic CSV format.
    Data(data::Args),
    /// Offline evaluation on a global time split: baselines, two-tower, ANN, full pipeline.
    Eval(eval::Args),
    /// Build, benchmark and inspect ANN indexes from plain vector files.
    Index(index::Args),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Recommend(args) => recommend::run(args),
        Command::Feedback(args) => feedback::run(args),
        Command::Loadgen(args) => loadgen::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Train(args) => train::run(args),
        Command::BuildIndex(args) => build_index::run(args),
        Command::Data(args) => data::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Index(args) => index::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
