//! `dendrite request`: one signed REST request (any method and path; btauth/1, Epistula v2 or
//! unsigned) to every axon of a file, as bittensor 11's subnets send theirs, on the core's
//! deadline, policies and metrics (`Client::request`); a table, or with `--json` one object per
//! axon per round; `--stream` reads `text/event-stream` answers event by event; `--record` and
//! `--timeline` as `query` writes them (rows with `protocol: "rest"`).

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, ValueEnum};
use dendrite::core::{
    seconds, AuthScheme, Direction, Method, Outcome, RestAnswer, RestRequest, SecondsRange,
    WireOutcome,
};
use dendrite::http::AxonTarget;
use dendrite::{Dendrite, DendriteConfig};
use serde_json::{json, Value};

use crate::record::{PhaseSeconds, RoundInfo, Row, RowContent};
use crate::{table, CliError};

/// The methods a request may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MethodChoice {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// PATCH.
    Patch,
    /// DELETE.
    Delete,
}

impl MethodChoice {
    fn method(self) -> Method {
        match self {
            MethodChoice::Get => Method::GET,
            MethodChoice::Post => Method::POST,
            MethodChoice::Put => Method::PUT,
            MethodChoice::Patch => Method::PATCH,
            MethodChoice::Delete => Method::DELETE,
        }
    }
}

/// Options of `dendrite request`.
#[derive(Args)]
pub struct RequestArgs {
    /// Axon file: one `AxonInfo` object or a list (hotkey, ip, port; uid optional), as `query
    /// --protocol http` reads.
    #[arg(long)]
    endpoints: PathBuf,
    /// The path, with its query (`/v1/chat/completions`, `/score?n=3`).
    #[arg(long)]
    path: String,
    /// The method.
    #[arg(long, value_enum, default_value = "post")]
    method: MethodChoice,
    /// The body, as given (a JSON body sends `content-type: application/json` unless a
    /// `--header` names another).
    #[arg(long, conflicts_with = "body_file")]
    body: Option<String>,
    /// The body, from a file.
    #[arg(long)]
    body_file: Option<PathBuf>,
    /// A header to send, `'Name: value'` (repeatable).
    #[arg(long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// How requests are signed: btauth/1 (bittensor 11's `http_auth`), Epistula v2, or not.
    #[arg(long, default_value = "btauth", value_parser = parse_auth)]
    auth: AuthScheme,
    /// Read `text/event-stream` answers event by event (`events` in `--json` rows).
    #[arg(long)]
    stream: bool,
    /// An answer without a valid Epistula signature from its axon is a failure.
    #[arg(long)]
    require_signed_answers: bool,
    /// Timeout per call, seconds (fractions allowed).
    #[arg(long, default_value_t = 12.0)]
    timeout: f64,
    /// The most bytes one answer (or stream) may have.
    #[arg(long, default_value_t = 64 << 20)]
    max_answer_bytes: usize,
    #[command(flatten)]
    key: crate::query::KeyArgs,
    /// Run the request this many times.
    #[arg(long, default_value_t = 1)]
    repeat: u32,
    /// Seconds between repeats.
    #[arg(long, default_value_t = 0.0)]
    interval: f64,
    /// One JSON object per axon per round instead of a table.
    #[arg(long)]
    json: bool,
    /// Draw the last round's waterfall (per axon: its phases, then its answer) as an SVG file.
    #[arg(long, value_name = "SVG")]
    timeline: Option<PathBuf>,
    #[command(flatten)]
    record: crate::record::RecordArgs,
    /// Fail when fewer than this fraction of the calls succeeded (2xx, signed where required).
    #[arg(long, value_name = "FRACTION", value_parser = crate::success::fraction)]
    min_success: Option<f64>,
    #[command(flatten)]
    metrics: crate::metrics::MetricsArgs,
    #[command(flatten)]
    policy: crate::policy::PolicyArgs,
}

fn parse_auth(text: &str) -> Result<AuthScheme, String> {
    text.parse()
}

/// Runs the command.
pub async fn run(args: RequestArgs) -> Result<(), CliError> {
    let axons = crate::query_http::axons(&args.endpoints)?;
    let request = rest_request(&args)?;
    let interval =
        seconds("--interval", args.interval, SecondsRange::NonNegative).map_err(CliError::input)?;
    let mut config = DendriteConfig::from_env().map_err(CliError::input)?;
    config.prometheus_level = args.metrics.level(config.prometheus_level);
    args.policy.apply(&mut config.client)?;
    let key = args.key.key()?;
    let dendrite = Dendrite::with_config(key, config);
    let _metrics = crate::metrics::start(&args.metrics, &dendrite).await?;
    let client = dendrite.client();
    let mut recorder = args.record.recorder()?;
    let name = format!("{} {}", request.method, request.path);
    let (mut calls, mut succeeded, mut walls) = (0u64, 0u64, Vec::new());
    for round in 0..args.repeat.max(1) {
        if round > 0 && !interval.is_zero() {
            tokio::time::sleep(interval).await;
        }
        let started = Instant::now();
        let answers = client.request(&axons, &request).await;
        walls.push(started.elapsed());
        calls += answers.len() as u64;
        succeeded += answers.iter().filter(|a| a.outcome().is_success()).count() as u64;
        if args.json {
            let lines: String = axons
                .iter()
                .zip(&answers)
                .map(|(axon, answer)| format!("{}\n", row(round, axon, answer, args.stream)))
                .collect();
            table::emit(&lines);
        } else {
            print_table(&axons, &answers);
        }
        let info = RoundInfo {
            round,
            direction: Direction::Forward,
            timeout_s: request.timeout.as_secs_f64(),
        };
        if let Some(recorder) = &mut recorder {
            let content = RowContent::audit(args.record.payload_cap());
            for (position, (axon, answer)) in axons.iter().zip(&answers).enumerate() {
                recorder.write(&Row::rest(&info, position, axon, &name, answer, content))?;
            }
        }
        if let (Some(path), true) = (&args.timeline, round + 1 == args.repeat.max(1)) {
            let rows: Vec<Row> = axons
                .iter()
                .zip(&answers)
                .enumerate()
                .map(|(position, (axon, answer))| {
                    Row::rest(&info, position, axon, &name, answer, RowContent::SHOWN)
                })
                .collect();
            let title = format!(
                "dendrite request {name}: round {round}, {} axons",
                axons.len()
            );
            crate::timeline::render_rows(path, &title, &rows, info.timeout_s)?;
            eprintln!("timeline: {}", path.display());
        }
    }
    if let Some(recorder) = &mut recorder {
        recorder.flush()?;
    }
    if !args.json && args.repeat > 1 {
        eprintln!("round time: {}", table::latency_summary(&mut walls));
    }
    crate::success::check_success(succeeded, calls, args.min_success)
}

/// The request the arguments describe: a path that starts with `/`, the body given (from the
/// flag or the file), headers as `Name: value`.
fn rest_request(args: &RequestArgs) -> Result<RestRequest, CliError> {
    RestRequest::check_path(&args.path).map_err(|e| CliError::input(format!("--path: {e}")))?;
    let body = match (&args.body, &args.body_file) {
        (Some(body), _) => body.clone().into_bytes(),
        (None, Some(file)) => std::fs::read(file)
            .map_err(|e| CliError::input(format!("cannot read {}: {e}", file.display())))?,
        (None, None) => Vec::new(),
    };
    let mut headers = Vec::with_capacity(args.headers.len() + 1);
    for header in &args.headers {
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| CliError::input(format!("--header {header:?} is not 'Name: value'")))?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let typed = headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("content-type"));
    if !typed && serde_json::from_slice::<Value>(&body).is_ok() {
        headers.push(("content-type".into(), "application/json".into()));
    }
    let timeout =
        seconds("--timeout", args.timeout, SecondsRange::Positive).map_err(CliError::input)?;
    Ok(RestRequest {
        headers,
        body: body.into(),
        auth: args.auth,
        timeout,
        max_answer_bytes: args.max_answer_bytes,
        events: args.stream,
        require_signed_answers: args.require_signed_answers,
        ..RestRequest::new(args.method.method(), args.path.clone())
    })
}

/// One axon's `--json` object.
fn row(round: u32, axon: &AxonTarget, answer: &RestAnswer, stream: bool) -> Value {
    let headers: serde_json::Map<String, Value> = answer
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let body = serde_json::from_slice::<Value>(&answer.body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&answer.body).into_owned()));
    let status = answer.status_code();
    let mut row = json!({
        "round": round,
        "axon": {"hotkey": axon.hotkey, "ip": axon.ip, "port": axon.port, "uid": axon.uid},
        "status_code": (status != 0).then_some(status),
        "outcome": answer.outcome().as_str(),
        "message": answer.message,
        "elapsed": answer.elapsed.as_secs_f64(),
        "phases": PhaseSeconds::from(&answer.phases),
        "headers": headers,
        "body": if answer.body.is_empty() { Value::Null } else { body },
        "body_bytes": answer.body.len(),
        "answer_signed": answer.answer_signed,
        "bytes_sent": answer.bytes_sent,
        "bytes_received": answer.bytes_received,
    });
    if stream {
        let events: Vec<&str> = answer.events.iter().map(|e| e.data.as_str()).collect();
        row["events"] = json!(events);
        row["first_event"] = json!(answer.first_event.map(|d| d.as_secs_f64()));
    }
    row
}

/// One round's table: per axon its address, status, time, signature and what it answered.
fn print_table(axons: &[AxonTarget], answers: &[RestAnswer]) {
    let rows: Vec<Vec<String>> = axons
        .iter()
        .zip(answers)
        .map(|(axon, answer)| {
            let shown = if !answer.events.is_empty() {
                format!("{} events", answer.events.len())
            } else if answer.outcome() == Outcome::Success || answer.message.is_empty() {
                String::from_utf8_lossy(&answer.body).into_owned()
            } else {
                answer.message.clone()
            };
            let signed = match answer.answer_signed {
                Some(true) => "yes",
                Some(false) => "WRONG",
                None => "-",
            };
            vec![
                format!("{}:{}", axon.ip, axon.port),
                table::short(&axon.hotkey),
                answer.status_code().to_string(),
                format!("{:.1}", answer.elapsed.as_secs_f64() * 1e3),
                signed.to_owned(),
                crate::query_http::truncate(&shown.replace('\n', " "), 72),
            ]
        })
        .collect();
    table::print(
        &["axon", "hotkey", "status", "ms", "signed", "answer"],
        &rows,
    );
}
