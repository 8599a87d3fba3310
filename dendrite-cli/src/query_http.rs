//! `dendrite query --protocol http`: one synapse of the 10.x HTTP wire to every axon of a file,
//! as 10.5.0's `Dendrite.forward` sends it, on the same core (deadline, quorum, backoff, retries)
//! and with the same policy flags as the 3.x query; a table or JSON lines per axon, optionally
//! repeated, and the 3.x query's records (`--record`: rows with `protocol: "http"`).

use std::path::Path;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use dendrite::core::{seconds, AxonResult, Direction, HttpConfig, SecondsRange};
use dendrite::http::{AxonTarget, PyValue, SynapseCall};
use dendrite::{Dendrite, DendriteConfig, Keypair};

use crate::record::{Recorder, RoundInfo, Row, RowContent};
use crate::{table, CliError};

/// How requests are signed on the 10.x wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Auth {
    /// The 10.x synapse signature only (what 10.5.0 axons verify).
    V10,
    /// Also btauth/1, bittensor 11's `http_auth` (`X-Bittensor-*`).
    Btauth,
}

/// `dendrite query`'s options of the 10.x wire (with `--protocol http`).
#[derive(Args)]
pub struct HttpArgs {
    /// (http) The synapse's class name, also its route (default: Dummy).
    #[arg(long)]
    synapse_name: Option<String>,
    /// (http) The synapse's own fields as a JSON object, in declaration order (default: the
    /// `shared/peer10/synapses.py` inputs of the known synapses).
    #[arg(long)]
    synapse_json: Option<String>,
    /// (http) Fields without a default (sent as `bt_header_input_obj_*`), comma separated
    /// (default: the known synapse's).
    #[arg(long, value_delimiter = ',')]
    required: Option<Vec<String>>,
    /// (http) `required_hash_fields`, comma separated (default: the known synapse's).
    #[arg(long, value_delimiter = ',')]
    hash_fields: Option<Vec<String>>,
    /// (http) How requests are signed.
    #[arg(long, value_enum, default_value = "v10")]
    auth: Auth,
    /// (http) The IP address requests report as ours (never looked up).
    #[arg(long, default_value = "127.0.0.1")]
    external_ip: String,
    /// (http) HTTP/1.1 connections per axon at most.
    #[arg(long, default_value_t = HttpConfig::default().connections_per_endpoint)]
    connections_per_axon: usize,
    /// Print nothing per endpoint; one summary line at the end (benchmarks).
    #[arg(long, conflicts_with = "json")]
    quiet: bool,
}

impl HttpArgs {
    /// Whether an option only the 10.x wire has was given (the synapse's name, fields, required
    /// or hash fields).
    pub fn given(&self) -> bool {
        self.synapse_name.is_some()
            || self.synapse_json.is_some()
            || self.required.is_some()
            || self.hash_fields.is_some()
    }
}

/// What the 10.x query takes from `dendrite query`'s common options.
pub struct HttpQuery<'a> {
    /// The axon file.
    pub endpoints: &'a Path,
    /// Per call.
    pub timeout: f64,
    /// Rounds.
    pub repeat: u32,
    /// Between rounds.
    pub interval: Duration,
    /// JSON lines instead of a table.
    pub json: bool,
    /// Our hotkey.
    pub key: Keypair,
    /// The 10.x options.
    pub http: &'a HttpArgs,
    /// The settings, policies applied.
    pub config: DendriteConfig,
    /// `--metrics-port`: the same exporter as the 3.x query's.
    pub metrics: &'a crate::metrics::MetricsArgs,
    /// `--record`: the same records as the 3.x query's (rows with `protocol: "http"`).
    pub record: &'a crate::record::RecordArgs,
    /// `--timeline`: the last round's waterfall, as the 3.x query draws it.
    pub timeline: Option<&'a Path>,
    /// `--min-success`: the least fraction of calls answered 200.
    pub min_success: Option<f64>,
}

/// Default inputs of `shared/peer10/synapses.py`'s synapses (those the CLI sends whole), with
/// their required and hash fields as our HTTP axon serves them (`Served`: stated once there).
fn known(
    name: &str,
) -> Option<(
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
)> {
    let inputs = match name {
        "Dummy" => r#"{"dummy_input": 21, "dummy_output": null}"#,
        "Hashed" => r#"{"text": "hello", "out": null}"#,
        "Slow" => r#"{"x": 7, "delay_s": 2.0, "out": null}"#,
        "TensorEcho" => r#"{"x": null, "y": null}"#,
        _ => return None,
    };
    let served = dendrite_axon::http::Served::from_name(name)?;
    Some((inputs, served.required(), served.hash_fields()))
}

fn synapse(args: &HttpArgs, timeout: f64) -> Result<SynapseCall, CliError> {
    let name = args.synapse_name.as_deref().unwrap_or("Dummy");
    let known = known(name);
    let fields = match (&args.synapse_json, known) {
        (Some(fields), _) => fields.clone(),
        (None, Some((fields, _, _))) => fields.to_owned(),
        (None, None) => "{}".to_owned(),
    };
    let fields = PyValue::parse(fields.as_bytes())
        .map_err(|e| CliError::input(format!("--synapse-json is not JSON: {e}")))?;
    let owned = |given: &Option<Vec<String>>, default: &[&str]| -> Vec<String> {
        given
            .clone()
            .unwrap_or_else(|| default.iter().map(|s| (*s).to_owned()).collect())
    };
    let required = owned(&args.required, known.map_or(&[], |k| k.1));
    let hashed = owned(&args.hash_fields, known.map_or(&[], |k| k.2));
    fn view(names: &[String]) -> Vec<&str> {
        names.iter().map(String::as_str).collect()
    }
    let timeout = seconds("--timeout", timeout, SecondsRange::Positive)
        .map_err(CliError::input)?
        .as_secs_f64();
    SynapseCall::new(
        name,
        timeout,
        &fields,
        &view(&required),
        &view(&hashed),
        None,
    )
    .map_err(CliError::input)
}

/// Reads the axons of an `AxonInfo` file.
pub(crate) fn axons(path: &Path) -> Result<Vec<AxonTarget>, CliError> {
    let text = std::fs::read(path)
        .map_err(|e| CliError::input(format!("cannot read {}: {e}", path.display())))?;
    let value: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| CliError::input(format!("{}: {e}", path.display())))?;
    let list = match value {
        serde_json::Value::Array(list) => list,
        one => vec![one],
    };
    list.iter()
        .enumerate()
        .map(|(i, axon)| {
            let bad = |what: &str| CliError::input(format!("{}: axon {i}: {what}", path.display()));
            Ok(AxonTarget {
                ip: axon["ip"].as_str().ok_or_else(|| bad("no ip"))?.to_owned(),
                port: axon["port"]
                    .as_u64()
                    .and_then(|p| u16::try_from(p).ok())
                    .ok_or_else(|| bad("no port"))?,
                hotkey: axon["hotkey"]
                    .as_str()
                    .ok_or_else(|| bad("no hotkey"))?
                    .to_owned(),
                uid: axon["uid"].as_u64(),
            })
        })
        .collect()
}

/// Runs the 10.x query.
pub async fn run(query: HttpQuery<'_>) -> Result<(), CliError> {
    let HttpQuery {
        endpoints,
        timeout,
        repeat,
        interval,
        json,
        key,
        http: args,
        config,
        metrics,
        record,
        timeline,
        min_success,
    } = query;
    let targets = axons(endpoints)?;
    let mut recorder = record.recorder()?;
    let call = synapse(args, timeout)?;
    let dendrite = http_dendrite(args, config, key);
    let _metrics = crate::metrics::start(metrics, &dendrite).await?;
    let client = dendrite.client();
    let mut tally = Tally::default();
    for round in 0..repeat.max(1) {
        if round > 0 && !interval.is_zero() {
            tokio::time::sleep(interval).await;
        }
        let started = Instant::now();
        let outcomes = client.call_synapse(&targets, &call).await;
        tally.add(started.elapsed(), &outcomes);
        let info = RoundInfo {
            round,
            direction: Direction::Forward,
            timeout_s: call.timeout(),
        };
        if json || recorder.is_some() {
            write_rows(
                &info,
                &targets,
                call.name(),
                &outcomes,
                json,
                &mut recorder,
                record,
            )?;
        }
        if !json && !args.quiet {
            print_table(&targets, &outcomes);
        }
        if let (Some(path), true) = (timeline, round + 1 == repeat.max(1)) {
            draw_timeline(path, &info, &targets, &call, &outcomes)?;
        }
    }
    if let Some(recorder) = &mut recorder {
        recorder.flush()?;
    }
    if args.quiet || repeat > 1 {
        tally.print(repeat.max(1), targets.len());
    }
    tally.check(min_success)
}

/// The facade's dendrite with the 10.x options of the command line (its observer, metrics and
/// statistics, sees both wires).
fn http_dendrite(args: &HttpArgs, mut config: DendriteConfig, key: Keypair) -> Dendrite {
    config.client.http = HttpConfig {
        external_ip: args.external_ip.clone(),
        btauth: args.auth == Auth::Btauth,
        connections_per_endpoint: args.connections_per_axon.max(1),
        ..config.client.http
    };
    Dendrite::with_config(key, config)
}

/// What the rounds of a query came to: each round's wall time, each status's count.
#[derive(Default)]
struct Tally {
    walls: Vec<Duration>,
    statuses: std::collections::BTreeMap<i64, u64>,
}

impl Tally {
    /// One round that took `wall` and ended in `outcomes`.
    fn add(&mut self, wall: Duration, outcomes: &[AxonResult]) {
        self.walls.push(wall);
        for outcome in outcomes {
            *self.statuses.entry(outcome.status_code()).or_insert(0) += 1;
        }
    }

    /// The summary line on stderr: rounds, calls by status, round times.
    fn print(&mut self, rounds: u32, axons: usize) {
        let calls: u64 = self.statuses.values().sum();
        let codes: Vec<String> = self
            .statuses
            .iter()
            .map(|(s, n)| format!("{s}×{n}"))
            .collect();
        eprintln!(
            "{rounds} rounds × {axons} axons: {calls} calls ({}); {}",
            codes.join(", "),
            table::latency_summary(&mut self.walls)
        );
    }

    /// `--min-success` over every call (a success is a 200).
    fn check(&self, min_success: Option<f64>) -> Result<(), CliError> {
        let calls: u64 = self.statuses.values().sum();
        let succeeded = self.statuses.get(&200).copied().unwrap_or(0);
        crate::success::check_success(succeeded, calls, min_success)
    }
}

/// One round's rows: printed as JSON lines (the answer's JSON always in them) and recorded (the
/// answer's JSON only with `--record-payloads`, up to its cap).
fn write_rows(
    info: &RoundInfo,
    targets: &[AxonTarget],
    synapse: &str,
    outcomes: &[AxonResult],
    json: bool,
    recorder: &mut Option<Recorder>,
    record: &crate::record::RecordArgs,
) -> Result<(), CliError> {
    let recorded_cap = record.payload_cap();
    let content = RowContent::audit(if json { Some(usize::MAX) } else { recorded_cap });
    // The round's JSON lines go out together (one write, not one per line).
    let mut lines = String::new();
    for (position, (axon, outcome)) in targets.iter().zip(outcomes).enumerate() {
        let mut row = Row::http(info, position, axon, synapse, outcome, content);
        if json {
            let line = serde_json::to_string(&row).map_err(|e| CliError::Failure(e.to_string()))?;
            lines.push_str(&line);
            lines.push('\n');
        }
        if let Some(recorder) = recorder {
            let fits = |json: &crate::record::Json| {
                recorded_cap.is_some_and(|cap| json.text().len() <= cap)
            };
            if !row.response.as_ref().is_some_and(fits) {
                row.response = None;
            }
            recorder.write(&row)?;
        }
    }
    if !lines.is_empty() {
        table::emit(&lines);
    }
    Ok(())
}

/// The round's waterfall (`--timeline`), drawn from the rows a record would hold.
fn draw_timeline(
    path: &Path,
    info: &RoundInfo,
    targets: &[AxonTarget],
    call: &SynapseCall,
    outcomes: &[AxonResult],
) -> Result<(), CliError> {
    let rows: Vec<Row> = targets
        .iter()
        .zip(outcomes)
        .enumerate()
        .map(|(position, (axon, outcome))| {
            Row::http(
                info,
                position,
                axon,
                call.name(),
                outcome,
                RowContent::SHOWN,
            )
        })
        .collect();
    let title = format!(
        "dendrite query --protocol http: round {}, {} axons",
        info.round,
        targets.len()
    );
    crate::timeline::render_rows(path, &title, &rows, call.timeout())?;
    eprintln!("timeline: {}", path.display());
    Ok(())
}

fn print_table(targets: &[AxonTarget], outcomes: &[AxonResult]) {
    let rows: Vec<Vec<String>> = targets
        .iter()
        .zip(outcomes)
        .map(|(axon, outcome)| {
            let fields = outcome
                .answer
                .fields
                .as_ref()
                .map(|fields| subclass_fields(&fields.to_value()))
                .unwrap_or_default();
            vec![
                format!("{}:{}", axon.ip, axon.port),
                table::short(&axon.hotkey),
                outcome.status_code().to_string(),
                format!("{:.1}", outcome.elapsed.as_secs_f64() * 1e3),
                truncate(
                    outcome
                        .answer
                        .dendrite
                        .status_message
                        .as_deref()
                        .unwrap_or(""),
                    48,
                ),
                truncate(&fields, 60),
            ]
        })
        .collect();
    table::print(
        &["axon", "hotkey", "status", "ms", "message", "fields"],
        &rows,
    );
}

/// The synapse's own fields of an answer (after the base class's), as JSON.
fn subclass_fields(fields: &PyValue) -> String {
    match fields {
        PyValue::Dict(items) => PyValue::Dict(
            items
                .iter()
                .filter(|(k, _)| !dendrite::http::BASE_FIELDS.contains(&k.as_str()))
                .cloned()
                .collect(),
        )
        .dumps(),
        other => other.dumps(),
    }
}

pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}
