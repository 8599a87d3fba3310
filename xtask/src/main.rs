//! Project automation for the dendrite workspace: `cargo xtask <command>`.
//!
//! Every command runs from any directory inside the repository; paths are resolved against the
//! workspace root. Commands that need the Python peer find `shared/peer/` next to the repository
//! (override with `DENDRITE_SHARED`).

mod bench;
// One definition of the bench line for its writer (`dendrite bench`) and this reader.
mod bench_http;
#[path = "../../dendrite-cli/src/bench_line.rs"]
mod bench_line;
mod bench_policies;
mod bench_processes;
mod bench_rest;
mod bench_run;
mod codegen;
mod fanout;
mod fixtures;
mod fuzz;
mod interop;
mod machine;
mod python;
mod relay;
mod release;
mod release_wheel;
mod rpath;
mod setup;
#[cfg(test)]
mod tidy;
mod util;
mod wan;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

/// Project automation for the dendrite workspace.
#[derive(Parser)]
#[command(
    name = "xtask",
    about = "Project automation: codegen, fixtures, tests, benchmarks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Regenerate dendrite-wire/src/gen/ from proto/ with tonic-prost-build and a vendored protoc.
    Codegen {
        /// Do not write: fail if the checked-in generated code is stale.
        #[arg(long)]
        check: bool,
    },
    /// Install libtorch 2.13.0 (for tch 0.26) outside the repository and print the environment.
    Setup,
    /// Regenerate the golden fixtures with the real Python bittensor 3.7.0 (installs the peer).
    Fixtures,
    /// Run every test: the workspace's tests, `interop` against the Python peer, and the
    /// Python module's tests next to the Python dendrite (the README's test command).
    Test,
    /// Everything CI checks: fmt, clippy -D warnings, codegen --check, tests.
    Ci,
    /// Our dendrite and axon against the real Python bittensor 3.7.0 axon and dendrite, both
    /// directions (installs the peer). `--write` also writes INTEROP.md.
    Interop {
        /// Write INTEROP.md with the comparison table.
        #[arg(long)]
        write: bool,
    },
    /// The long fault suite: `dendrite-core/tests/chaos.rs` with 1,000 endpoints (good axons,
    /// every axon behaviour and wire fault, wrong hotkeys, closed ports) for 20 rounds, release.
    Chaos {
        /// Endpoints in the fleet.
        #[arg(long, default_value_t = 1000)]
        endpoints: usize,
        /// Rounds.
        #[arg(long, default_value_t = 20)]
        rounds: usize,
    },
    /// The long soak: `dendrite-axon/tests/soak.rs` with 200,000 calls to 10,000 toy axons (in
    /// a child process) through a pool capped at 1,024, release.
    Soak {
        /// Calls in all.
        #[arg(long, default_value_t = 200_000)]
        calls: usize,
        /// Distinct endpoints.
        #[arg(long, default_value_t = 10_000)]
        endpoints: usize,
        /// The pool's cap.
        #[arg(long, default_value_t = 1024)]
        cap: usize,
    },
    /// Every cargo-fuzz target for a while from the committed seeds (nightly; installs
    /// cargo-fuzz). CI runs `--quick --seconds 10`.
    Fuzz {
        /// Seconds per target.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Unoptimised, no sanitizer: the CI smoke (builds in a third of the time).
        #[arg(long)]
        quick: bool,
        /// Only these targets.
        targets: Vec<String>,
    },
    /// A WAN in network namespaces (100 ms RTT, 200 Mbit/s): fan-out throughput with the
    /// protocol's default HTTP/2 windows and with ours. Needs root.
    Wan,
    /// (Used by `wan`.) Relays LISTEN=TARGET pairs with a delay each way.
    #[command(hide = true)]
    WanRelay {
        /// Delay each way, milliseconds.
        #[arg(long)]
        delay_ms: u64,
        /// LISTEN=TARGET socket address pairs.
        pairs: Vec<String>,
    },
    /// A release without uploading anything: bump the one workspace version (`--version`),
    /// check CHANGELOG.md, run fmt/clippy/tests, `cargo package` every publishable crate in
    /// dependency order (each built from its packaged sources), build the release `dendrite`
    /// binary and the wheel, write `target/artifacts/` with SHA256SUMS, print the publish commands.
    Release {
        /// The version to release, X.Y.Z (default: the workspace's current one).
        #[arg(long)]
        version: Option<String>,
        /// Write nothing in the repository (no bump); package the current version.
        #[arg(long)]
        dry_run: bool,
        /// Skip fmt, clippy and the tests (for CI, which ran them already).
        #[arg(long)]
        skip_checks: bool,
    },
    /// Benchmarks. `wire`: tensor encode/decode GB/s next to memcpy; `tokenizer`: tokens/s, ours
    /// and the Python tokenizer's on the same 1,000 strings; `fanout`: rounds/s, latency, CPU,
    /// peak RSS and fds of our fan-out to 1..4,096 toy axons in another process; `phases`: what
    /// timing each call's phases costs per call; `processes`: `dendrite query`, `dendrite_rs`
    /// and the Python dendrite against 16 separate computing `dendrite axon` processes (also a
    /// section of `compare`); `compare` (default): ours and the Python dendrite side by side,
    /// writes BENCHMARKS.md.
    Bench {
        /// Which benchmark to run.
        #[arg(default_value = "compare")]
        which: String,
        /// `compare` and `processes`: few rounds, no BENCHMARKS.md (CI smoke).
        #[arg(long)]
        quick: bool,
    },
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Codegen { check } => codegen::run(check),
        Command::Fixtures => fixtures::run(),
        Command::Setup => setup::run(),
        Command::Test => test(),
        Command::Ci => ci(),
        Command::Interop { write } => interop::run(write),
        Command::Chaos { endpoints, rounds } => chaos(endpoints, rounds),
        Command::Soak {
            calls,
            endpoints,
            cap,
        } => soak(calls, endpoints, cap),
        Command::Wan => wan::run(),
        Command::WanRelay { delay_ms, pairs } => {
            let pairs = pairs
                .iter()
                .map(|p| {
                    let (listen, target) = p.split_once('=').context("LISTEN=TARGET")?;
                    Ok((listen.parse()?, target.parse()?))
                })
                .collect::<Result<Vec<_>>>()?;
            relay::serve(&pairs, std::time::Duration::from_millis(delay_ms))
        }
        Command::Fuzz {
            seconds,
            quick,
            targets,
        } => fuzz::run(seconds, quick, &targets),
        Command::Bench { which, quick } => bench(&which, quick),
        Command::Release {
            version,
            dry_run,
            skip_checks,
        } => release::run(release::Options {
            version,
            dry_run,
            skip_checks,
        }),
    }
}

fn chaos(endpoints: usize, rounds: usize) -> Result<()> {
    release_test(
        "dendrite-core",
        "chaos",
        &[("CHAOS_ENDPOINTS", endpoints), ("CHAOS_ROUNDS", rounds)],
    )
}

fn soak(calls: usize, endpoints: usize, cap: usize) -> Result<()> {
    release_test(
        "dendrite-axon",
        "soak",
        &[
            ("SOAK_CALLS", calls),
            ("SOAK_ENDPOINTS", endpoints),
            ("SOAK_CAP", cap),
        ],
    )
}

/// One integration test of `package`, release, sized by environment variables.
fn release_test(package: &str, test: &str, sizes: &[(&str, usize)]) -> Result<()> {
    let mut command = util::cargo_command();
    command
        .args(["test", "--release", "--package", package, "--test", test])
        .args(["--", "--nocapture"]);
    for (name, value) in sizes {
        command.env(name, value.to_string());
    }
    util::run(&mut command)
}

fn test() -> Result<()> {
    setup::export()?;
    // The 10.x wire's live tests (dendrite-core's `peer10`) run against the real bittensor
    // 10.5.0 and 11.3.0: install both peers once, before the tests start in parallel.
    std::env::set_var("DENDRITE_PEER10_PYTHON", util::peer10_python()?);
    std::env::set_var("DENDRITE_PEER11_PYTHON", util::peer11_python()?);
    // The tidy tests (`tidy.rs`): layering and ARCHITECTURE.md's crate map, from cargo metadata.
    util::cargo(&["test", "--package", "xtask"])?;
    // Builds the selection's tests, examples and binaries, and fails if one that links libtorch
    // would not find it from a clean shell (`rpath.rs`).
    rpath::check()?;
    // One package selection and feature set for every step (see `util::SELECTION`).
    util::cargo(&[&["test"][..], &util::SELECTION, &["--all-targets"]].concat())?;
    util::cargo(&[&["test"][..], &util::SELECTION, &["--doc"]].concat())?;
    interop::run(false)?;
    python::test(&util::root().join("target").join("debug"))
}

fn ci() -> Result<()> {
    setup::export()?;
    util::cargo(&["fmt", "--all", "--", "--check"])?;
    util::cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    util::cargo(&[
        "clippy",
        "--workspace",
        "--features",
        "dendrite/torch",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    util::cargo(&[
        "clippy",
        "--package",
        "dendrite",
        "--no-default-features",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    codegen::run(true)?;
    test()
}

fn bench(which: &str, quick: bool) -> Result<()> {
    match which {
        "compare" => bench::run(quick),
        "wire" => util::cargo(&["bench", "--package", "dendrite-wire", "--bench", "wire"]),
        "tokenizer" => {
            util::cargo(&[
                "bench",
                "--package",
                "dendrite-format",
                "--bench",
                "tokenizer",
            ])?;
            let python = util::peer_python()?;
            util::run(
                std::process::Command::new(python)
                    .arg(util::root().join("xtask/py/format_fixtures.py"))
                    .arg("--bench-only")
                    .env("DENDRITE_SHARED", util::shared()),
            )
        }
        "fanout" => fanout::run(),
        "rest" => {
            let bin = if quick {
                util::bins("dev")?
            } else {
                util::dist_bins()?
            };
            let dir = util::root().join("target").join("bench");
            std::fs::create_dir_all(&dir)?;
            let lines = bench_rest::run(&bin, &dir, quick)?;
            std::fs::write(dir.join("rest.json"), serde_json::to_string_pretty(&lines)?)?;
            println!("{}", bench_rest::report(&lines));
            Ok(())
        }
        "http" => {
            let release = util::dist_bins()?;
            let dir = util::root().join("target").join("bench");
            std::fs::create_dir_all(&dir)?;
            let lines = bench_http::run(&release, &dir, quick, false)?;
            std::fs::write(dir.join("http.json"), serde_json::to_string_pretty(&lines)?)?;
            println!("{}", bench_http::report(&lines));
            Ok(())
        }
        "processes" => {
            let release = util::dist_bins()?;
            let (python, _wheel) = python::ready_python()?;
            let dir = util::root().join("target").join("bench");
            std::fs::create_dir_all(&dir)?;
            let lines = bench_processes::run(&release, &python, &dir, quick)?;
            println!("{}", bench_processes::report(&lines));
            Ok(())
        }
        "phases" => {
            println!("{}", bench::phase_clock()?);
            Ok(())
        }
        other => {
            anyhow::bail!(
                "unknown benchmark `{other}` (known: compare, wire, tokenizer, fanout, phases, processes, http)"
            )
        }
    }
}
