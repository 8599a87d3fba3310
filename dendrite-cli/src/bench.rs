//! `dendrite bench`: fan-out rounds against an endpoint file; one JSON line of figures, the
//! fields of `../shared/peer/dendrite.py bench` so the two can be compared side by side
//! ([`BenchLine`]).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use dendrite::core::Phase;
use dendrite::{
    load_endpoints, Dendrite, DendriteConfig, Endpoint, EndpointResult, Keypair, ReturnCode,
    Synapse, Tensor, TextCausalLM, TextCausalLMNext, TextLastHiddenState,
};

use crate::bench_line::BenchLine;
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

/// The fixed parts of a benchmark: the endpoints, the request and the dendrite.
struct Setup {
    endpoints: Vec<Endpoint>,
    synapses: Vec<Synapse>,
    inputs: Vec<Tensor>,
    timeout: Duration,
    dendrite: Dendrite,
}

impl Setup {
    fn new(args: &BenchArgs) -> Result<Self, CliError> {
        let text = std::fs::read_to_string(&args.endpoints).map_err(|e| {
            CliError::input(format!("cannot read {}: {e}", args.endpoints.display()))
        })?;
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
        let tokens: Vec<i64> = (0..args.batch * args.seq)
            .map(|i| (i as i64 * 7919) % 50257)
            .collect();
        let input = Tensor::from_vec(tokens, [args.batch, args.seq]).map_err(CliError::input)?;
        Ok(Setup {
            inputs: vec![input; endpoints.len()],
            synapses: args.policy.synapses(vec![synapse]),
            endpoints,
            timeout,
            dendrite,
        })
    }

    /// One round: Forward to every endpoint, then (with `backward`) the gradient of the sum.
    async fn round(&self, backward: bool) -> Result<Vec<EndpointResult>, CliError> {
        let timeout = Some(self.timeout);
        let results = self
            .dendrite
            .forward(&self.endpoints, &self.synapses, &self.inputs, timeout)
            .await
            .map_err(CliError::input)?;
        if backward {
            let (endpoints, synapses) = (&self.endpoints, &self.synapses);
            let sum = crate::gradients::of_sum(endpoints, synapses, &self.inputs, &results)?;
            sum.send(&self.dendrite, synapses, timeout)
                .await
                .map_err(CliError::input)?;
        }
        Ok(results)
    }

    /// The round's row information, for records and the timeline.
    fn round_info(&self, round: usize) -> RoundInfo {
        RoundInfo {
            round: round as u32,
            direction: dendrite::core::Direction::Forward,
            timeout_s: self.timeout.as_secs_f64(),
        }
    }
}

/// What the process had spent when the measured rounds began.
struct Baseline {
    cpu_s: f64,
    wall: Instant,
    wire: (u64, u64),
    allocations: u64,
}

impl Baseline {
    fn now(dendrite: &Dendrite) -> Self {
        Baseline {
            cpu_s: cpu_seconds(),
            wall: Instant::now(),
            wire: dendrite.client().pool().wire_bytes(),
            allocations: crate::allocations::count(),
        }
    }
}

/// The measured rounds' figures so far.
#[derive(Default)]
struct Tally {
    walls: Vec<f64>,
    ok: usize,
    total: usize,
    bytes: usize,
    phase_sums: [f64; Phase::COUNT],
}

impl Tally {
    fn add(&mut self, results: &[EndpointResult], wall: Duration) {
        self.walls.push(wall.as_secs_f64());
        self.total += results.len();
        self.ok += results
            .iter()
            .filter(|r| r.synapses[0].code == ReturnCode::Success)
            .count();
        self.bytes += results.iter().map(|r| r.bytes_received).sum::<usize>();
        for result in results {
            let seconds = PhaseSeconds::from(&result.phases).ordered();
            for (sum, phase) in self.phase_sums.iter_mut().zip(seconds) {
                *sum += phase;
            }
        }
    }

    /// The benchmark's line, from the rounds since `since`.
    fn line(mut self, args: &BenchArgs, setup: &Setup, since: &Baseline) -> BenchLine {
        let rounds = args.rounds as f64;
        let wall = since.wall.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - since.cpu_s;
        let calls = self.total.max(1) as f64;
        let allocations = crate::allocations::count() - since.allocations;
        let client = setup.dendrite.client();
        let wire = client.pool().wire_bytes();
        let per_round = |end: u64, start: u64| (end - start) as f64 / rounds;
        self.walls.sort_by(f64::total_cmp);
        let at = |p: f64| self.walls[((self.walls.len() - 1) as f64 * p).round() as usize];
        let phase_mean_s = Phase::ALL
            .iter()
            .zip(self.phase_sums)
            .map(|(phase, sum)| (phase.name().to_string(), sum / calls))
            .collect();
        BenchLine {
            client: "dendrite-rs".into(),
            synapse: format!("{:?}", args.synapse),
            endpoints: setup.endpoints.len(),
            batch: args.batch,
            seq: args.seq,
            rounds: args.rounds,
            backward: args.backward,
            round_s_p50: at(0.5),
            round_s_p99: at(0.99),
            calls_per_s: self.total as f64 / wall,
            success_rate: self.ok as f64 / calls,
            client_cpu_s: cpu,
            peak_rss_mb: peak_rss_mb(),
            rounds_per_s: Some(rounds / wall),
            client_cpu_s_per_round: Some(cpu / rounds),
            context_switches_per_round: None,
            allocations_per_call: Some(allocations as f64 / calls),
            open_fds: Some(open_fds()),
            payload_gb_per_s: Some(self.bytes as f64 / wall / 1e9),
            payload_bytes_per_round: Some(self.bytes as f64 / rounds),
            wire_bytes_sent_per_round: Some(per_round(wire.0, since.wire.0)),
            wire_bytes_received_per_round: Some(per_round(wire.1, since.wire.1)),
            retries: Some(client.retries()),
            backing_off: Some(client.backing_off()),
            phase_mean_s: Some(phase_mean_s),
        }
    }
}

pub async fn run(args: BenchArgs) -> Result<(), CliError> {
    let setup = Setup::new(&args)?;
    let mut tally = Tally::default();
    let mut recorder = args.record.recorder()?;
    let mut last_round = Vec::new();
    let mut baseline = Baseline::now(&setup.dendrite);
    for round in 0..args.warmup + args.rounds {
        if round == args.warmup {
            baseline = Baseline::now(&setup.dendrite);
        }
        let start = Instant::now();
        let results = setup.round(args.backward).await?;
        let Some(measured) = round.checked_sub(args.warmup) else {
            continue;
        };
        tally.add(&results, start.elapsed());
        if let Some(recorder) = &mut recorder {
            let content = RowContent::audit(args.record.payload_cap());
            let info = setup.round_info(measured);
            let (endpoints, synapses) = (&setup.endpoints, &setup.synapses);
            for row in record::rows(&info, endpoints, synapses, &results, content) {
                recorder.write(&row)?;
            }
        }
        if args.timeline.is_some() {
            last_round = results;
        }
    }
    if let Some(recorder) = &mut recorder {
        recorder.flush()?;
    }
    let line = tally.line(&args, &setup, &baseline);
    println!("{}", serde_json::to_string(&line).map_err(CliError::input)?);
    if let Some(path) = &args.timeline {
        let title = format!(
            "dendrite bench: last of {} rounds, {} endpoints, {:?} [{}, {}]",
            args.rounds,
            setup.endpoints.len(),
            args.synapse,
            args.batch,
            args.seq
        );
        let info = setup.round_info(args.rounds - 1);
        let (endpoints, synapses) = (&setup.endpoints, &setup.synapses);
        timeline::render_results(path, &title, &info, endpoints, synapses, &last_round)?;
        eprintln!("timeline: {}", path.display());
    }
    Ok(())
}
