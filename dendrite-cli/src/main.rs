//! The `dendrite` command line: `demo` (the project's main job), `query` (10.x synapses, or the
//! 3.x wire), `request` (signed REST requests of bittensor 11's subnets), `axon`, `bench`,
//! `replay`.

mod allocations;
mod axon;
mod bench;
mod bench_line;
mod demo;
mod gradients;
mod metrics;
mod policy;
mod query;
mod query_http;
mod record;
mod replay;
mod request;
mod success;
mod table;
mod timeline;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[global_allocator]
static ALLOCATOR: allocations::Counting = allocations::Counting;

/// A fast, bounded Bittensor dendrite: 10.x synapses, bittensor 11's signed requests, and the
/// 3.x wire.
#[derive(Parser)]
#[command(name = "dendrite", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start toy axons in-process (10.x and 3.x), fan every synapse out to them and to one dead
    /// endpoint, send a backward, and print a table and a latency summary. Needs no setup.
    Demo(demo::DemoArgs),
    /// Serve toy axons: the 10.x synapses and signed REST routes (`--protocol http`), or the
    /// 3.x gRPC toy model (the default).
    Axon(axon::AxonArgs),
    /// Send a synapse to every axon of a file and print what each answered: 10.x HTTP synapses
    /// when the file holds 10.x AxonInfos (or `--synapse-name` is given), else the 3.x wire.
    Query(Box<query::QueryArgs>),
    /// One signed REST request (any method and path; btauth/1, Epistula v2 or unsigned) to
    /// every axon of a file, as bittensor 11's subnets send theirs; what each answered.
    Request(Box<request::RequestArgs>),
    /// Fan-out rounds against an endpoint file; one JSON line of figures (the fields of the
    /// Python peer's `dendrite.py bench`).
    Bench(bench::BenchArgs),
    /// Print a `--record` directory's table and statistics, and draw a round's timeline,
    /// without any network.
    Replay(replay::ReplayArgs),
}

impl Command {
    /// The runtime's worker threads: `query` chooses by its fan-out (`--threads`), other
    /// commands take one per core. Always set, never left to tokio's `TOKIO_WORKER_THREADS`,
    /// on which it panics when that is not a number.
    fn worker_threads(&self) -> usize {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        match self {
            Command::Query(args) => args.worker_threads(cores),
            _ => cores,
        }
    }
}

/// A multi-threaded runtime with `workers` worker threads.
fn runtime(workers: usize) -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
}

/// Why a command failed: the user's input (exit 2) or the command itself (exit 1).
#[derive(Debug)]
pub enum CliError {
    /// Bad input: a missing file, malformed JSON, an invalid key, a port in use...
    Input(String),
    /// The command could not do its job.
    Failure(String),
}

impl CliError {
    /// A bad-input error from anything printable.
    pub fn input(e: impl std::fmt::Display) -> Self {
        CliError::Input(e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match runtime(cli.command.worker_threads()) {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("dendrite: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The command runs as a task on the runtime's workers, not on this thread: every endpoint
    // task that finishes wakes the call gathering them, and waking a worker's task is a queue
    // push where waking the blocked main thread was a futex call and a context switch.
    let command = runtime.spawn(async {
        match cli.command {
            Command::Demo(args) => demo::run(args).await,
            Command::Axon(args) => axon::run(args).await,
            Command::Query(args) => query::run(*args).await,
            Command::Request(args) => request::run(*args).await,
            Command::Bench(args) => bench::run(args).await,
            Command::Replay(args) => replay::run(args),
        }
    });
    let outcome = runtime
        .block_on(command)
        .unwrap_or_else(|e| Err(CliError::Failure(format!("the command's task failed: {e}"))));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Input(message)) => {
            eprintln!("dendrite: {message}");
            ExitCode::from(2)
        }
        Err(CliError::Failure(message)) => {
            eprintln!("dendrite: {message}");
            ExitCode::FAILURE
        }
    }
}
