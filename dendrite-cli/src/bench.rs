//! `dendrite bench`: fan-out rounds against an endpoint file; one JSON line of figures, the
//! fields of `../shared/peer/dendrite.py bench` so the two can be compared side by side.

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, ValueEnum};
use dendrite::core::Phase;
use dendrite::{
    load_endpoints, Dendrite, DendriteConfig, Keypair, ReturnCode, Synapse, Tensor, TextCausalLM,
    TextCausalLMNext, TextLastHiddenState,
};
use serde_json::json;

use crate::record::{self, PhaseSeconds, RoundInfo, RowContent};
use crate::{timeline, CliError};

/// The benchmark's synapse (the peer script's names).
#[derive(Clone, Copy, Debug, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum BenchSynapse {
    /// TextLastHiddenState.
    LastHidden,
    /// TextCausalLM, topk 512.
    CausalLm,
    /// TextCausalLMNext, topk 4096.
    CausalLmNext,
}

/// Options of `dendrite bench`.
#[derive(Args)]
pub struct BenchArgs {
    /// Endpoint file (one object or a list).
    #[arg(long)]
    endpoints: PathBuf,
    /// Use only the first N endpoints.
    #[arg(long)]
    limit: Option<usize>,
    /// Which synapse.
    #[arg(long, value_enum, default_value = "last_hidden")]
    synapse: BenchSynapse,
    /// Measured rounds.
    #[arg(long, default_value_t = 20)]
    rounds: usize,
    /// Unmeasured rounds first.
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// Batch size of the random token input.
    #[arg(long, default_value_t = 10)]
    batch: usize,
    /// Sequence length of the random token input.
    #[arg(long, default_value_t = 20)]
    seq: usize,
    /// Timeout per round, seconds.
    #[arg(long, default_value_t = 12.0)]
    timeout: f64,
    /// Also send the gradient of the sum of the outputs back (Backward RPCs) every round.
    #[arg(long)]
    backward: bool,
    #[command(flatten)]
    policy: crate::policy::PolicyArgs,
    /// HTTP/2 initial stream window, bytes (default: ours, 16 MiB; the protocol's is 65,535).
    #[arg(long)]
    stream_window: Option<u32>,
    /// HTTP/2 initial connection window, bytes (default: ours, 64 MiB).
    #[arg(long)]
    connection_window: Option<u32>,
    /// Draw the last measured round's forward calls as a waterfall (SVG).
    #[arg(long, value_name = "FILE.svg")]
    timeline: Option<PathBuf>,
    #[command(flatten)]
    record: crate::record::RecordArgs,
}

/// User + system CPU seconds of this process (by the kernel's tick rate).
fn cpu_seconds() -> f64 {
    procfs::process::Process::myself()
        .and_then(|me| me.stat())
        .map_or(0.0, |stat| {
            (stat.utime + stat.stime) as f64 / procfs::ticks_per_second() as f64
        })
}

/// Peak resident set of this process, MB.
fn peak_rss_mb() -> f64 {
    procfs::process::Process::myself()
        .and_then(|me| me.status())
        .ok()
        .and_then(|status| status.vmhwm)
        .map_or(0.0, |kb| kb as f64 / 1024.0)
}

/// File descriptors this process holds open.
fn open_fds() -> usize {
    procfs::process::Process::myself()
        .and_then(|me| me.fd_count())
        .unwrap_or(0)
}

pub async fn run(args: BenchArgs) -> Result<(), CliError> {
    let text = std::fs::read_to_string(&args.endpoints)
        .map_err(|e| CliError::input(format!("cannot read {}: {e}", args.endpoints.display())))?;
    let mut endpoints = load_endpoints(&text).map_err(CliError::input)?;
    if let Some(limit) = args.limit {
        endpoints.truncate(limit);
    }
    if endpoints.is_empty() || args.rounds == 0 || args.batch == 0 || args.seq == 0 {
        return Err(CliError::input(
            "need endpoints, rounds, batch and seq above 0",
        ));
    }
    let timeout = dendrite::core::seconds(
        "--timeout",
        args.timeout,
        dendrite::core::SecondsRange::Positive,
    )
    .map_err(CliError::input)?;
    let synapse: Synapse = match args.synapse {
        BenchSynapse::LastHidden => TextLastHiddenState::default().into(),
        BenchSynapse::CausalLm => TextCausalLM::default().into(),
        BenchSynapse::CausalLmNext => TextCausalLMNext::default().into(),
    };
    let mut config = DendriteConfig {
        prometheus_level: dendrite::metrics::Level::Off,
        ..DendriteConfig::default()
    };
    args.policy.apply(&mut config.client)?;
    if let Some(window) = args.stream_window {
        config.client.receptor.stream_window = window;
    }
    if let Some(window) = args.connection_window {
        config.client.receptor.connection_window = window;
    }
    let dendrite = Dendrite::with_config(
        Keypair::from_uri("//Alice").map_err(CliError::input)?,
        config,
    );
    let n = endpoints.len();
    let tokens: Vec<i64> = (0..args.batch * args.seq)
        .map(|i| (i as i64 * 7919) % 50257)
        .collect();
    let input = Tensor::from_vec(tokens, [args.batch, args.seq]).map_err(CliError::input)?;
    let inputs = vec![input; n];
    let synapses = args.policy.synapses(vec![synapse]);
    let (mut walls, mut ok, mut total, mut bytes) = (Vec::new(), 0usize, 0usize, 0usize);
    let (mut cpu_start, mut wall_start, mut wire_start) = (0.0, Instant::now(), (0, 0));
    let mut allocations_start = 0;
    let mut recorder = args.record.recorder()?;
    let mut phase_sums = [0.0f64; Phase::COUNT];
    let mut last_round = Vec::new();
    for round in 0..args.warmup + args.rounds {
        if round == args.warmup {
            cpu_start = cpu_seconds();
            wall_start = Instant::now();
            wire_start = dendrite.client().pool().wire_bytes();
            allocations_start = crate::allocations::count();
        }
        let start = Instant::now();
        let results = dendrite
            .forward(&endpoints, &synapses, &inputs, Some(timeout))
            .await
            .map_err(CliError::input)?;
        if args.backward {
            let sum = crate::gradients::of_sum(&endpoints, &synapses, &inputs, &results)?;
            sum.send(&dendrite, &synapses, Some(timeout))
                .await
                .map_err(CliError::input)?;
        }
        if round >= args.warmup {
            walls.push(start.elapsed().as_secs_f64());
            total += n;
            ok += results
                .iter()
                .filter(|r| r.synapses[0].code == ReturnCode::Success)
                .count();
            bytes += results.iter().map(|r| r.bytes_received).sum::<usize>();
            for result in &results {
                let seconds = PhaseSeconds::from(&result.phases).ordered();
                for (sum, phase) in phase_sums.iter_mut().zip(seconds) {
                    *sum += phase;
                }
            }
            if let Some(recorder) = &mut recorder {
                let info = RoundInfo {
                    round: (round - args.warmup) as u32,
                    direction: dendrite::core::Direction::Forward,
                    timeout_s: timeout.as_secs_f64(),
                };
                let content = RowContent::audit(args.record.payload_cap());
                for row in record::rows(&info, &endpoints, &synapses, &results, content) {
                    recorder.write(&row)?;
                }
            }
            if args.timeline.is_some() {
                last_round = results;
            }
        }
    }
    if let Some(recorder) = &mut recorder {
        recorder.flush()?;
    }
    let wall = wall_start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_start;
    let allocations = crate::allocations::count() - allocations_start;
    let wire_end = dendrite.client().pool().wire_bytes();
    let per_round = |end: u64, start: u64| (end - start) as f64 / args.rounds as f64;
    walls.sort_by(f64::total_cmp);
    let at = |p: f64| walls[((walls.len() - 1) as f64 * p).round() as usize];
    let line = json!({
        "client": "dendrite-rs", "synapse": format!("{:?}", args.synapse), "endpoints": n,
        "batch": args.batch, "seq": args.seq, "rounds": args.rounds, "backward": args.backward,
        "round_s_p50": at(0.5), "round_s_p99": at(0.99), "rounds_per_s": args.rounds as f64 / wall,
        "calls_per_s": total as f64 / wall, "success_rate": ok as f64 / total.max(1) as f64,
        "client_cpu_s": cpu, "client_cpu_s_per_round": cpu / args.rounds as f64,
        "allocations_per_call": allocations as f64 / total.max(1) as f64,
        "peak_rss_mb": peak_rss_mb(),
        "open_fds": open_fds(),
        "payload_gb_per_s": bytes as f64 / wall / 1e9,
        "payload_bytes_per_round": bytes as f64 / args.rounds as f64,
        "wire_bytes_sent_per_round": per_round(wire_end.0, wire_start.0),
        "wire_bytes_received_per_round": per_round(wire_end.1, wire_start.1),
        "retries": dendrite.client().retries(),
        "backing_off": dendrite.client().backing_off(),
    });
    let mut line = line;
    line["phase_mean_s"] = json!(Phase::ALL
        .iter()
        .zip(phase_sums)
        .map(|(phase, sum)| (phase.name().to_string(), json!(sum / total.max(1) as f64)))
        .collect::<serde_json::Map<_, _>>());
    println!("{line}");
    if let Some(path) = &args.timeline {
        let info = RoundInfo {
            round: args.rounds as u32 - 1,
            direction: dendrite::core::Direction::Forward,
            timeout_s: timeout.as_secs_f64(),
        };
        let title = format!(
            "dendrite bench: last of {} rounds, {n} endpoints, {:?} [{}, {}]",
            args.rounds, args.synapse, args.batch, args.seq
        );
        timeline::render_results(path, &title, &info, &endpoints, &synapses, &last_round)?;
        eprintln!("timeline: {}", path.display());
    }
    Ok(())
}
