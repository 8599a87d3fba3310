//! `dendrite query`: real endpoints from a file, every chosen synapse, optionally a Backward,
//! optionally repeated; a table or JSON lines. `--protocol http` queries 10.x axons instead
//! (`query_http`).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use crate::record::{self, Recorder, RoundInfo, Row, RowContent, TABLE_HEADER};
use crate::{table, timeline, CliError};
use clap::{Args, ValueEnum};
use dendrite::core::{seconds, Direction, SecondsRange};
use dendrite::{
    load_endpoints, Dendrite, DendriteConfig, Endpoint, EndpointResult, Keypair, Synapse,
    TextCausalLM, TextCausalLMNext, TextLastHiddenState, TextSeq2Seq,
};

/// Which synapse to query.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SynapseChoice {
    /// TextLastHiddenState: [B, S, 1024] hidden states.
    LastHidden,
    /// TextCausalLM: [B, S, 50258] log-probabilities.
    CausalLm,
    /// TextCausalLMNext: top-k next-token phrases.
    CausalLmNext,
    /// TextSeq2Seq: generated token ids.
    Seq2seq,
    /// All four in one request.
    All,
}

/// Options of `dendrite query`.
#[derive(Args)]
pub struct QueryArgs {
    /// Endpoint file: one JSON object or a list, each with hotkey, ip, port (version, uid,
    /// coldkey, ip_type, protocol, modality optional).
    #[arg(long)]
    endpoints: PathBuf,
    /// Which synapse(s).
    #[arg(long, value_enum, default_value = "all")]
    synapse: SynapseChoice,
    /// Top-k of the causal LM synapses (default: the reference's 512 and 4096).
    #[arg(long)]
    topk: Option<i32>,
    /// Input text; several make a batch.
    #[arg(long = "text", default_value = "hello world")]
    texts: Vec<String>,
    /// Timeout per call, seconds (fractions allowed; default: the reference's 14).
    #[arg(long, default_value_t = dendrite::core::DEFAULT_TIMEOUT.as_secs_f64())]
    timeout: f64,
    #[command(flatten)]
    key: KeyArgs,
    /// Then send each answering endpoint the gradient of the sum of its outputs (Backward).
    #[arg(long)]
    backward: bool,
    /// Run the query this many times.
    #[arg(long, default_value_t = 1)]
    repeat: u32,
    /// Seconds between repeats.
    #[arg(long, default_value_t = 1.0)]
    interval: f64,
    /// Fail when fewer than this fraction of the forward calls succeeded, over all rounds
    /// (3.x: every synapse of an endpoint; 10.x: status 200); the rate goes to stderr. Without
    /// it `query` exits 0 whatever the peers answered (scripts, benchmarks).
    #[arg(long, value_name = "FRACTION", value_parser = crate::success::fraction)]
    min_success: Option<f64>,
    /// One JSON object per line per endpoint × synapse instead of a table (the fields of a
    /// `--record` row, phases included).
    #[arg(long)]
    json: bool,
    /// Draw the last round's forward calls as a waterfall (SVG).
    #[arg(long, value_name = "FILE.svg")]
    timeline: Option<PathBuf>,
    #[command(flatten)]
    record: crate::record::RecordArgs,
    #[command(flatten)]
    metrics: crate::metrics::MetricsArgs,
    #[command(flatten)]
    policy: crate::policy::PolicyArgs,
    /// Which wire: 10.x HTTP synapses (`--synapse-name`, `--synapse-json`; FILE a list of
    /// AxonInfo dicts) or 3.x gRPC tensors. Default: http when FILE's axons are 10.x `AxonInfo`s
    /// (`"protocol": 4`, or a version from bittensor 6 on, e.g. 10005000) or a 10.x option is
    /// given; else grpc.
    #[arg(long, value_enum)]
    protocol: Option<crate::axon::Protocol>,
    #[command(flatten)]
    http: crate::query_http::HttpArgs,
    /// Runtime worker threads (default: one below 64 endpoints, else one per core). One thread
    /// spends less CPU per call; several sign and send a large fan-out in parallel (figures in
    /// ARCHITECTURE.md, "Where a round's time goes").
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,
}

/// The lowest `version` of a 10.x-era `AxonInfo` (bittensor 6.0.0 is 6000000; 3.x endpoints
/// carry versions like 370).
const FIRST_HTTP_VERSION: u64 = 6_000_000;

/// Whether every axon of an endpoint file's JSON is a 10.x `AxonInfo` (`"protocol": 4`, or a
/// version from [`FIRST_HTTP_VERSION`] on); an empty or unreadable file is not.
fn holds_axon_infos(text: &str) -> bool {
    use serde_json::Value;
    let items = match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => items,
        Ok(object @ Value::Object(_)) => vec![object],
        _ => return false,
    };
    let axon_info = |item: &Value| {
        item.get("protocol").and_then(Value::as_u64) == Some(4)
            || item
                .get("version")
                .and_then(Value::as_u64)
                .is_some_and(|v| v >= FIRST_HTTP_VERSION)
    };
    !items.is_empty() && items.iter().all(axon_info)
}

/// Below this many endpoints `query` runs on one worker thread by default.
pub const ONE_THREAD_BELOW: usize = 64;

impl QueryArgs {
    /// The wire to query: `--protocol` as given; else http when a 10.x option is given or the
    /// file's axons are 10.x `AxonInfo`s ([`holds_axon_infos`]); else grpc.
    pub fn wire(&self) -> crate::axon::Protocol {
        use crate::axon::Protocol;
        if let Some(protocol) = self.protocol {
            return protocol;
        }
        let file = std::fs::read_to_string(&self.endpoints).unwrap_or_default();
        if self.http.given() || holds_axon_infos(&file) {
            Protocol::Http
        } else {
            Protocol::Grpc
        }
    }

    /// The runtime's worker threads: `--threads`, else one for fewer than [`ONE_THREAD_BELOW`]
    /// endpoints and one per core from there (an unreadable file counts as small: the command
    /// itself reports it).
    pub fn worker_threads(&self, cores: usize) -> usize {
        if let Some(threads) = self.threads {
            return usize::from(threads);
        }
        let endpoints = std::fs::read(&self.endpoints)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .map_or(1, |value| value.as_array().map_or(1, Vec::len));
        if endpoints < ONE_THREAD_BELOW {
            1
        } else {
            cores
        }
    }
}

fn synapses(choice: SynapseChoice, topk: Option<i32>) -> Vec<Synapse> {
    let lhs: Synapse = TextLastHiddenState::default().into();
    let lm: Synapse = topk
        .map_or_else(TextCausalLM::default, TextCausalLM::with_topk)
        .into();
    let next: Synapse = topk
        .map_or_else(TextCausalLMNext::default, TextCausalLMNext::with_topk)
        .into();
    let seq: Synapse = TextSeq2Seq::default().into();
    match choice {
        SynapseChoice::LastHidden => vec![lhs],
        SynapseChoice::CausalLm => vec![lm],
        SynapseChoice::CausalLmNext => vec![next],
        SynapseChoice::Seq2seq => vec![seq],
        SynapseChoice::All => vec![lhs, lm, next, seq],
    }
}

fn key(args: &QueryArgs) -> Result<Keypair, CliError> {
    args.key.key()
}

/// Who a command signs as: a dev URI, or a wallet's hotkey.
#[derive(Args)]
pub struct KeyArgs {
    /// Our hotkey as a dev URI, mnemonic or 0x seed (default //Alice unless --wallet).
    #[arg(long, conflicts_with_all = ["wallet", "hotkey"])]
    uri: Option<String>,
    /// Wallet name (with --hotkey): ~/.bittensor/wallets/WALLET/hotkeys/HOTKEY.
    #[arg(long, requires = "hotkey")]
    wallet: Option<String>,
    /// Hotkey name within --wallet.
    #[arg(long, requires = "wallet")]
    hotkey: Option<String>,
    /// Wallets directory (default ~/.bittensor/wallets).
    #[arg(long)]
    wallet_path: Option<PathBuf>,
}

impl KeyArgs {
    /// The key: the wallet's hotkey (`--wallet`, `--hotkey`, under `--wallet-path`), else
    /// `--uri` (default `//Alice`).
    pub fn key(&self) -> Result<Keypair, CliError> {
        match (&self.wallet, &self.hotkey) {
            (Some(wallet), Some(hotkey)) => {
                Keypair::from_wallet(self.wallet_path.as_deref(), wallet, hotkey)
                    .map_err(CliError::input)
            }
            _ => {
                Keypair::from_uri(self.uri.as_deref().unwrap_or("//Alice")).map_err(CliError::input)
            }
        }
    }
}

/// The settings from the environment with the command's metrics level and policies (both wires).
fn dendrite_config(args: &QueryArgs) -> Result<DendriteConfig, CliError> {
    let mut config = DendriteConfig::from_env().map_err(CliError::input)?;
    config.prometheus_level = args.metrics.level(config.prometheus_level);
    args.policy.apply(&mut config.client)?;
    Ok(config)
}

/// `--protocol http`: the 3.x-only options are refused, the common ones handed on.
async fn run_http(args: &QueryArgs) -> Result<(), CliError> {
    let three_x_only = [
        (args.backward, "--backward"),
        (args.texts != ["hello world"], "--text"),
        (args.synapse != SynapseChoice::All, "--synapse"),
        (args.topk.is_some(), "--topk"),
    ];
    if let Some((_, flag)) = three_x_only.iter().find(|(given, _)| *given) {
        return Err(CliError::input(format!(
            "{flag} is for the 3.x wire; with --protocol http use --synapse-name/--synapse-json"
        )));
    }
    let interval =
        seconds("--interval", args.interval, SecondsRange::NonNegative).map_err(CliError::input)?;
    let config = dendrite_config(args)?;
    crate::query_http::run(crate::query_http::HttpQuery {
        endpoints: &args.endpoints,
        timeout: args.timeout,
        repeat: args.repeat,
        interval,
        json: args.json,
        key: key(args)?,
        http: &args.http,
        config,
        metrics: &args.metrics,
        record: &args.record,
        timeline: args.timeline.as_deref(),
        min_success: args.min_success,
    })
    .await
}

/// Where each row goes: JSON lines or the table, the record, the timeline.
struct Printer {
    json: bool,
    /// The table, printed a round at a time (nothing accumulates over `--repeat`).
    table: table::Streaming,
    recorder: Option<Recorder>,
    payload_cap: Option<usize>,
    last_round: Vec<Row>,
}

impl Printer {
    fn add(
        &mut self,
        info: &RoundInfo,
        endpoints: &[Endpoint],
        synapses: &[Synapse],
        results: &[EndpointResult],
    ) -> Result<(), CliError> {
        if info.direction == Direction::Forward {
            self.last_round.clear();
        }
        // Only rows that are written out carry a digest (and, recorded, the payload).
        let content = match (&self.recorder, self.json) {
            (Some(_), _) => RowContent::audit(self.payload_cap),
            (None, true) => RowContent::audit(None),
            (None, false) => RowContent::SHOWN,
        };
        // Each round's JSON lines or table rows go out together (one write, not one per line).
        let mut lines = String::new();
        let mut cells = Vec::new();
        for mut row in record::rows(info, endpoints, synapses, results, content) {
            if let Some(recorder) = &mut self.recorder {
                recorder.write(&row)?;
            }
            if self.json {
                // The payload goes to the record only.
                let payload = row.payload_hex.take();
                let line =
                    serde_json::to_string(&row).map_err(|e| CliError::Failure(e.to_string()))?;
                lines.push_str(&line);
                lines.push('\n');
                row.payload_hex = payload;
            } else {
                cells.push(row.table_cells());
            }
            if info.direction == Direction::Forward {
                self.last_round.push(row);
            }
        }
        if !lines.is_empty() {
            table::emit(&lines);
        }
        if !cells.is_empty() {
            self.table.print(&cells);
        }
        Ok(())
    }
}

pub async fn run(args: QueryArgs) -> Result<(), CliError> {
    if args.wire() == crate::axon::Protocol::Http {
        return run_http(&args).await;
    }
    let text = std::fs::read_to_string(&args.endpoints)
        .map_err(|e| CliError::input(format!("cannot read {}: {e}", args.endpoints.display())))?;
    let endpoints = load_endpoints(&text)
        .map_err(|e| CliError::input(format!("{}: {e}", args.endpoints.display())))?;
    let timeout =
        seconds("--timeout", args.timeout, SecondsRange::Positive).map_err(CliError::input)?;
    let interval =
        seconds("--interval", args.interval, SecondsRange::NonNegative).map_err(CliError::input)?;
    let synapses = args.policy.synapses(synapses(args.synapse, args.topk));
    for synapse in &synapses {
        synapse.validate().map_err(CliError::input)?;
    }
    let config = dendrite_config(&args)?;
    let dendrite = Dendrite::with_config(key(&args)?, config);
    let _metrics = crate::metrics::start(&args.metrics, &dendrite).await?;
    let (endpoints, inputs) = dendrite
        .format_text_inputs(endpoints, dendrite::Inputs::Texts(args.texts.clone()))
        .map_err(CliError::input)?;
    let mut printer = Printer {
        json: args.json,
        table: table::Streaming::new(&TABLE_HEADER),
        recorder: args.record.recorder()?,
        payload_cap: args.record.payload_cap(),
        last_round: Vec::new(),
    };
    let mut round_times = Vec::new();
    let (mut calls, mut succeeded) = (0u64, 0u64);
    // Progress on a terminal for long runs (many rounds or a large fan-out), never in pipes, nor
    // when the rows themselves go to the terminal as each round ends.
    let show_progress = std::io::stderr().is_terminal()
        && !std::io::stdout().is_terminal()
        && (args.repeat > 1 || endpoints.len() >= 256);
    for round in 0..args.repeat.max(1) {
        if round > 0 {
            tokio::time::sleep(interval).await;
        }
        if show_progress {
            eprint!(
                "\rround {}/{} ({} endpoints) ...",
                round + 1,
                args.repeat,
                endpoints.len()
            );
        }
        let start = Instant::now();
        let results = dendrite
            .forward(&endpoints, &synapses, &inputs, Some(timeout))
            .await
            .map_err(CliError::input)?;
        round_times.push(start.elapsed());
        calls += results.len() as u64;
        succeeded += results.iter().filter(|r| r.all_success()).count() as u64;
        let info = |direction| RoundInfo {
            round,
            direction,
            timeout_s: timeout.as_secs_f64(),
        };
        printer.add(&info(Direction::Forward), &endpoints, &synapses, &results)?;
        if args.backward {
            let sum = crate::gradients::of_sum(&endpoints, &synapses, &inputs, &results)?;
            let backward = sum
                .send(&dendrite, &synapses, Some(timeout))
                .await
                .map_err(CliError::input)?;
            printer.add(
                &info(Direction::Backward),
                &sum.endpoints,
                &synapses,
                &backward,
            )?;
        }
    }
    if show_progress {
        eprintln!();
    }
    if let Some(recorder) = &mut printer.recorder {
        recorder.flush()?;
    }
    if !args.json {
        // The header alone when no round printed a row (no endpoints).
        printer.table.print(&[]);
        table::emit(&format!(
            "\nround time: {}\n",
            table::latency_summary(&mut round_times)
        ));
    }
    if let Some(path) = &args.timeline {
        let title = format!(
            "dendrite query: round {}, {} endpoints",
            args.repeat.max(1) - 1,
            endpoints.len()
        );
        timeline::render_rows(path, &title, &printer.last_round, timeout.as_secs_f64())?;
        eprintln!("timeline: {}", path.display());
    }
    crate::success::check_success(succeeded, calls, args.min_success)
}
