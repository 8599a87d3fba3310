//! Round records: one JSON line per endpoint × synapse per round (`--json`, `--record DIR`),
//! and reading them back (`dendrite replay`), for both wires.
//!
//! A row's `protocol` says which wire it is of: `grpc` (3.x; records written before the HTTP
//! wire have no `protocol` and are 3.x), `http` (10.x: `uid` is the axon's position in the
//! file, `code` its HTTP status, and the 10.x fields `status_code`, `status_message`,
//! `process_time`; the output hashed is the synapse JSON as it came back, written compact in
//! its own key order, and `response` is that JSON where the row carries its output) or `rest`
//! (a signed REST request, `dendrite request`: `synapse` is `METHOD /path`, `code` the status,
//! `outcome` the neutral class, `answer_signed` and `first_event_s` as the answer had them; the
//! output hashed is the body's bytes as received, and `response` the body where it is JSON).
//!
//! A [`Row`] holds what a validator needs to audit a score: the endpoint, the synapse, its
//! code, message and time, where the time went ([`dendrite::core::Phases`], in seconds), the
//! bytes on the wire, and where the row is written out (`--json`, `--record`) a BLAKE3 hash of
//! the output's bytes; with `--record-payloads` the output itself (hex, up to a size cap). Rows
//! that are only shown (the table, a timeline) hash nothing: at 0.8 MB per output the hash was
//! most of a round's CPU. Records written before BLAKE3 carry `output_blake2b128` instead and
//! still load. [`Recorder`] writes `DIR/record-NNNNNN.jsonl`,
//! starting a new file past `max_file_bytes` and deleting the oldest past `max_files`, so a
//! record never grows without bound.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use dendrite::core::{AxonResult, Direction, Phase, Phases, RestAnswer, WireOutcome};
use dendrite::http::{AxonTarget, PyValue};
use dendrite::{Endpoint, EndpointResult, Synapse, SynapseResult};
use serde::{Deserialize, Serialize};

use crate::CliError;

/// A row's `direction` as its name (`forward`, `backward`).
mod direction_name {
    use dendrite::core::Direction;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(direction: &Direction, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(direction.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Direction, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// Seconds per phase, the `phases` object of a row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PhaseSeconds {
    /// Waiting for an in-flight slot and the receptor.
    pub queue: f64,
    /// Signing.
    pub sign: f64,
    /// Opening a connection (0 on a reused one).
    pub connect: f64,
    /// Until the request was handed to HTTP/2.
    pub send: f64,
    /// Until the response headers.
    pub wait: f64,
    /// Until the response body ended.
    pub receive: f64,
    /// Checking and decoding.
    pub decode: f64,
}

impl PhaseSeconds {
    /// Seconds in `phase`.
    pub fn get(&self, phase: Phase) -> f64 {
        match phase {
            Phase::Queue => self.queue,
            Phase::Sign => self.sign,
            Phase::Connect => self.connect,
            Phase::Send => self.send,
            Phase::Wait => self.wait,
            Phase::Receive => self.receive,
            Phase::Decode => self.decode,
        }
    }

    /// The phases in call order ([`Phase::ALL`]).
    pub fn ordered(&self) -> [f64; Phase::COUNT] {
        Phase::ALL.map(|phase| self.get(phase))
    }
}

impl From<&Phases> for PhaseSeconds {
    fn from(p: &Phases) -> Self {
        PhaseSeconds {
            queue: p.queue.as_secs_f64(),
            sign: p.sign.as_secs_f64(),
            connect: p.connect.as_secs_f64(),
            send: p.send.as_secs_f64(),
            wait: p.wait.as_secs_f64(),
            receive: p.receive.as_secs_f64(),
            decode: p.decode.as_secs_f64(),
        }
    }
}

/// One endpoint × synapse of one round.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Round number, from 0.
    pub round: u32,
    /// `forward` or `backward`.
    #[serde(with = "direction_name")]
    pub direction: Direction,
    /// The endpoint's uid.
    pub uid: u64,
    /// The endpoint's hotkey.
    pub hotkey: String,
    /// `ip:port`.
    pub address: String,
    /// The synapse's name.
    pub synapse: String,
    /// The return code's name.
    pub code: String,
    /// The message.
    pub message: String,
    /// Seconds from the start of the call until this result was known.
    pub time_s: f64,
    /// The call's deadline, seconds.
    pub timeout_s: f64,
    /// Where the endpoint's call spent its time.
    pub phases: PhaseSeconds,
    /// Whether the call went out on an open connection (`null`: no RPC was attempted).
    pub reused_connection: Option<bool>,
    /// Which wire: `grpc` (3.x) or `http` (10.x).
    #[serde(default = "grpc")]
    pub protocol: String,
    /// The output's shape (3.x).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shape: Vec<usize>,
    /// The output's dtype (3.x).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub dtype: String,
    /// (10.x) The status the dendrite reports, 10.5.0's `dendrite.status_code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<i64>,
    /// (10.x) Its message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// (10.x) `dendrite.process_time`, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_time: Option<f64>,
    /// Encoded request bytes of the endpoint's call.
    pub bytes_sent: usize,
    /// Encoded response bytes of the endpoint's call.
    pub bytes_received: usize,
    /// BLAKE3 (256 bits) of the output's little-endian bytes, hex; absent where the row is
    /// only shown ([`RowContent::SHOWN`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_blake3: Option<String>,
    /// BLAKE2b-128 of the output's bytes, hex: records written before BLAKE3 (read, never
    /// written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_blake2b128: Option<String>,
    /// The output's bytes, hex (3.x; only with `--record-payloads`, and only up to its cap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_hex: Option<String>,
    /// (10.x) The synapse JSON as it came back (an error's `{"message": …}`, `null` when none
    /// did): in `--json` lines, and recorded with `--record-payloads` up to its cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Json>,
    /// (REST) The neutral outcome's name (`success`, `refused`, `timeout`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// (REST) Whether the answer's Epistula signature verified (absent: none, or not REST).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_signed: Option<bool>,
    /// (REST, a stream) Seconds from the call's start to the first event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_event_s: Option<f64>,
}

/// The `protocol` of rows written before it existed.
fn grpc() -> String {
    "grpc".into()
}

/// A JSON value kept as its text, so that its keys stay in their order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Json(Box<serde_json::value::RawValue>);

impl Json {
    /// `text`, which must be JSON.
    fn new(text: String) -> Result<Self, serde_json::Error> {
        serde_json::value::RawValue::from_string(text).map(Json)
    }

    /// The JSON text.
    pub fn text(&self) -> &str {
        self.0.get()
    }
}

impl PartialEq for Json {
    fn eq(&self, other: &Self) -> bool {
        self.text() == other.text()
    }
}

/// What a row carries beyond its summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowContent {
    /// Hash the output's bytes (`output_blake3`).
    pub digest: bool,
    /// Keep the output's bytes (hex) when they fit in this many bytes.
    pub payload_cap: Option<usize>,
}

impl RowContent {
    /// A row that is only shown (a table, a timeline): no digest, no payload.
    pub const SHOWN: RowContent = RowContent {
        digest: false,
        payload_cap: None,
    };

    /// A row written out for an audit (`--json`, `--record`): the digest, and the payload up to
    /// `payload_cap` when given.
    pub fn audit(payload_cap: Option<usize>) -> Self {
        RowContent {
            digest: true,
            payload_cap,
        }
    }
}

/// What a round was, for the rows of its results.
pub struct RoundInfo {
    /// Round number.
    pub round: u32,
    /// Which RPC the round's results are of.
    pub direction: Direction,
    /// The deadline, seconds.
    pub timeout_s: f64,
}

impl Row {
    /// The row of `result` (one synapse of `endpoint`'s `call`), with what `content` asks for.
    pub fn new(
        info: &RoundInfo,
        endpoint: &Endpoint,
        synapse: &Synapse,
        call: &EndpointResult,
        result: &SynapseResult,
        content: RowContent,
    ) -> Self {
        let data = result.output.data();
        let output_blake3 = content
            .digest
            .then(|| blake3::hash(data).to_hex().to_string());
        let payload_hex = content
            .payload_cap
            .filter(|&cap| data.len() <= cap)
            .map(|_| hex(data));
        Row {
            round: info.round,
            direction: info.direction,
            uid: endpoint.uid,
            hotkey: endpoint.hotkey.clone(),
            address: format!("{}:{}", endpoint.ip, endpoint.port),
            synapse: synapse.name().to_owned(),
            code: result.code.as_str_name().to_owned(),
            message: result.message.clone(),
            time_s: result.elapsed.as_secs_f64(),
            timeout_s: info.timeout_s,
            phases: PhaseSeconds::from(&call.phases),
            reused_connection: call.phases.connection_reuse(),
            protocol: grpc(),
            shape: result.output.shape().to_vec(),
            dtype: format!("{:?}", result.output.dtype()),
            status_code: None,
            status_message: None,
            process_time: None,
            bytes_sent: call.bytes_sent,
            bytes_received: call.bytes_received,
            output_blake3,
            output_blake2b128: None,
            payload_hex,
            response: None,
            outcome: None,
            answer_signed: None,
            first_event_s: None,
        }
    }

    /// The row of one 10.x call: `outcome` of the axon at `position` in the call, sending
    /// `synapse`. Its uid is the one the axon file gave, else its position (10.x's `AxonInfo`
    /// has none); its hotkey and address name it either way. The output is the answer's JSON, compact and in its key order (the body's
    /// bytes where they are no JSON); `response` carries it where `content` keeps payloads of
    /// its size.
    pub fn http(
        info: &RoundInfo,
        position: usize,
        axon: &AxonTarget,
        synapse: &str,
        outcome: &AxonResult,
        content: RowContent,
    ) -> Self {
        let answer = &outcome.answer;
        let raw = outcome.raw_body();
        // On 200 the core parsed the body already (`answer.fields`); an error's is parsed here.
        let canonical =
            (content.digest || content.payload_cap.is_some()).then(|| match &answer.fields {
                Some(fields) => Some(fields.to_value().dumps_compact()),
                None => PyValue::parse(&raw).ok().map(|v| v.dumps_compact()),
            });
        let output: &[u8] = match &canonical {
            Some(Some(json)) => json.as_bytes(),
            _ => &raw,
        };
        let output_blake3 = content
            .digest
            .then(|| blake3::hash(output).to_hex().to_string());
        let response = content
            .payload_cap
            .filter(|&cap| output.len() <= cap)
            .and_then(|_| Json::new(canonical.flatten().unwrap_or_else(|| "null".into())).ok());
        Row {
            round: info.round,
            direction: info.direction,
            uid: axon.uid.unwrap_or(position as u64),
            hotkey: axon.hotkey.clone(),
            address: format!("{}:{}", axon.ip, axon.port),
            synapse: synapse.to_owned(),
            code: outcome.status_code().to_string(),
            message: answer.dendrite.status_message.clone().unwrap_or_default(),
            time_s: outcome.elapsed.as_secs_f64(),
            timeout_s: info.timeout_s,
            phases: PhaseSeconds::from(&outcome.phases),
            reused_connection: outcome.phases.connection_reuse(),
            protocol: "http".into(),
            shape: Vec::new(),
            dtype: String::new(),
            status_code: Some(outcome.status_code()),
            status_message: answer.dendrite.status_message.clone(),
            process_time: answer.dendrite.process_time,
            bytes_sent: outcome.bytes_sent,
            bytes_received: outcome.bytes_received,
            output_blake3,
            output_blake2b128: None,
            payload_hex: None,
            response,
            outcome: None,
            answer_signed: None,
            first_event_s: None,
        }
    }

    /// The row of one REST request (`dendrite request`): `answer` of the axon at `position`,
    /// `name` the request's `METHOD /path`. Its uid is the file's, else its position; the
    /// output is the body's bytes as received (a stream's events joined by newlines, each its
    /// data); `response` carries the body where it is JSON and `content` keeps payloads of its
    /// size.
    pub fn rest(
        info: &RoundInfo,
        position: usize,
        axon: &AxonTarget,
        name: &str,
        answer: &RestAnswer,
        content: RowContent,
    ) -> Self {
        let streamed: Option<String> = (!answer.events.is_empty()).then(|| {
            let data: Vec<&str> = answer.events.iter().map(|e| e.data.as_str()).collect();
            data.join("\n")
        });
        let output: &[u8] = streamed.as_deref().map_or(&answer.body, str::as_bytes);
        let output_blake3 = content
            .digest
            .then(|| blake3::hash(output).to_hex().to_string());
        let response = content
            .payload_cap
            .filter(|&cap| answer.body.len() <= cap && !answer.body.is_empty())
            .and_then(|_| {
                let text = std::str::from_utf8(&answer.body).ok()?;
                serde_json::from_str::<serde::de::IgnoredAny>(text).ok()?;
                Json::new(text.to_owned()).ok()
            });
        let status = answer.status_code();
        Row {
            round: info.round,
            direction: info.direction,
            uid: axon.uid.unwrap_or(position as u64),
            hotkey: axon.hotkey.clone(),
            address: format!("{}:{}", axon.ip, axon.port),
            synapse: name.to_owned(),
            code: status.to_string(),
            message: answer.message.clone(),
            time_s: answer.elapsed.as_secs_f64(),
            timeout_s: info.timeout_s,
            phases: PhaseSeconds::from(&answer.phases),
            reused_connection: answer.phases.connection_reuse(),
            protocol: "rest".into(),
            shape: Vec::new(),
            dtype: String::new(),
            status_code: (answer.status != 0).then_some(i64::from(answer.status)),
            status_message: None,
            process_time: None,
            bytes_sent: answer.bytes_sent,
            bytes_received: answer.bytes_received,
            output_blake3,
            output_blake2b128: None,
            payload_hex: None,
            response,
            outcome: Some(answer.outcome().as_str().to_owned()),
            answer_signed: answer.answer_signed,
            first_event_s: answer.first_event.map(|d| d.as_secs_f64()),
        }
    }

    /// Whether the row is a success (3.x `Success`, 10.x 200, a REST request's `success`
    /// outcome: 2xx, signed where the request required it).
    pub fn succeeded(&self) -> bool {
        match self.protocol.as_str() {
            "http" => self.code == "200",
            "rest" => self.outcome.as_deref() == Some("success"),
            _ => self.code == "Success",
        }
    }

    /// The row's cells under [`TABLE_HEADER`].
    pub fn table_cells(&self) -> Vec<String> {
        let longest = self
            .phases
            .ordered()
            .into_iter()
            .zip(Phase::ALL)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .filter(|(seconds, _)| *seconds > 0.0)
            .map_or("-", |(_, phase)| phase.name());
        vec![
            self.round.to_string(),
            if self.protocol == "rest" {
                "request".to_owned()
            } else {
                self.direction.as_str().to_owned()
            },
            format!("{} {}", self.uid, crate::table::short(&self.hotkey)),
            self.synapse.clone(),
            self.code.clone(),
            format!("{:.2}", self.time_s * 1e3),
            longest.to_owned(),
            if self.direction == Direction::Forward && self.protocol == "grpc" {
                crate::table::shape(&self.shape)
            } else {
                "-".into()
            },
            self.message.chars().take(60).collect(),
        ]
    }
}

/// The columns of a table of rows.
pub const TABLE_HEADER: [&str; 9] = [
    "round",
    "direction",
    "endpoint",
    "synapse",
    "code",
    "time ms",
    "mostly",
    "shape",
    "message",
];

/// The rows of one round's results, in endpoint then synapse order, each with what `content`
/// asks for.
pub fn rows(
    info: &RoundInfo,
    endpoints: &[Endpoint],
    synapses: &[Synapse],
    results: &[EndpointResult],
    content: RowContent,
) -> Vec<Row> {
    let mut rows = Vec::with_capacity(results.len() * synapses.len());
    for (endpoint, call) in endpoints.iter().zip(results) {
        for (synapse, result) in synapses.iter().zip(&call.synapses) {
            rows.push(Row::new(info, endpoint, synapse, call, result, content));
        }
    }
    rows
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Options of `--record`.
#[derive(clap::Args, Clone, Debug)]
pub struct RecordArgs {
    /// Write one JSON line per endpoint × synapse per round into this directory
    /// (`record-NNNNNN.jsonl`), for auditing and `dendrite replay`.
    #[arg(long, value_name = "DIR")]
    pub record: Option<PathBuf>,
    /// Also record each output's bytes (hex), for outputs up to --record-payload-cap bytes.
    #[arg(long, requires = "record")]
    pub record_payloads: bool,
    /// Largest output recorded with --record-payloads, bytes.
    #[arg(long, default_value_t = 64 * 1024, requires = "record_payloads")]
    pub record_payload_cap: usize,
    /// Start a new record file past this many bytes.
    #[arg(long, default_value_t = 64 << 20, requires = "record")]
    pub record_file_bytes: u64,
    /// Keep at most this many record files (the oldest are deleted).
    #[arg(long, default_value_t = 16, requires = "record")]
    pub record_files: usize,
}

impl RecordArgs {
    /// The recorder, when `--record` was given.
    pub fn recorder(&self) -> Result<Option<Recorder>, CliError> {
        self.record
            .as_ref()
            .map(|dir| {
                Recorder::create(dir, self.record_file_bytes.max(1), self.record_files.max(1))
            })
            .transpose()
    }

    /// The payload cap, when payloads are recorded.
    pub fn payload_cap(&self) -> Option<usize> {
        self.record_payloads.then_some(self.record_payload_cap)
    }
}

/// Writes rows into rotated files of a directory.
pub struct Recorder {
    dir: PathBuf,
    max_file_bytes: u64,
    max_files: usize,
    index: u64,
    written: u64,
    file: BufWriter<File>,
}

fn io_failure(path: &Path, e: std::io::Error) -> CliError {
    CliError::Failure(format!("{}: {e}", path.display()))
}

impl Recorder {
    /// A recorder into `dir` (created if missing), continuing after any files already there.
    pub fn create(dir: &Path, max_file_bytes: u64, max_files: usize) -> Result<Self, CliError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::input(format!("{}: {e}", dir.display())))?;
        let index = record_files(dir)?
            .last()
            .and_then(|(index, _)| index.checked_add(1))
            .unwrap_or(0);
        let path = file_path(dir, index);
        let file = File::create(&path).map_err(|e| io_failure(&path, e))?;
        let recorder = Recorder {
            dir: dir.to_owned(),
            max_file_bytes,
            max_files,
            index,
            written: 0,
            file: BufWriter::new(file),
        };
        recorder.prune()?;
        Ok(recorder)
    }

    /// Appends one row.
    pub fn write(&mut self, row: &Row) -> Result<(), CliError> {
        if self.written >= self.max_file_bytes {
            self.rotate()?;
        }
        let mut line = serde_json::to_vec(row).map_err(|e| CliError::Failure(e.to_string()))?;
        line.push(b'\n');
        let path = file_path(&self.dir, self.index);
        self.file
            .write_all(&line)
            .map_err(|e| io_failure(&path, e))?;
        self.written += line.len() as u64;
        Ok(())
    }

    /// Flushes what was written.
    pub fn flush(&mut self) -> Result<(), CliError> {
        let path = file_path(&self.dir, self.index);
        self.file.flush().map_err(|e| io_failure(&path, e))
    }

    fn rotate(&mut self) -> Result<(), CliError> {
        self.flush()?;
        self.index += 1;
        let path = file_path(&self.dir, self.index);
        self.file = BufWriter::new(File::create(&path).map_err(|e| io_failure(&path, e))?);
        self.written = 0;
        self.prune()
    }

    /// Deletes the oldest files past `max_files`.
    fn prune(&self) -> Result<(), CliError> {
        let files = record_files(&self.dir)?;
        let excess = files.len().saturating_sub(self.max_files);
        for (_, path) in &files[..excess] {
            std::fs::remove_file(path).map_err(|e| io_failure(path, e))?;
        }
        Ok(())
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.file.flush();
    }
}

fn file_path(dir: &Path, index: u64) -> PathBuf {
    dir.join(format!("record-{index:06}.jsonl"))
}

/// The record files of `dir`, oldest first.
fn record_files(dir: &Path) -> Result<Vec<(u64, PathBuf)>, CliError> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| CliError::input(format!("{}: {e}", dir.display())))?;
    let mut files: Vec<(u64, PathBuf)> = entries
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let name = path.file_name()?.to_str()?;
            let index = name
                .strip_prefix("record-")?
                .strip_suffix(".jsonl")?
                .parse()
                .ok()?;
            Some((index, path))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Every row recorded in `dir`, in order. A line that is not a row is an error naming its
/// file and line (a record is ours; a damaged one should not pass silently).
pub fn read(dir: &Path) -> Result<Vec<Row>, CliError> {
    let files = record_files(dir)?;
    if files.is_empty() {
        return Err(CliError::input(format!(
            "{}: no record-*.jsonl files",
            dir.display()
        )));
    }
    let mut rows = Vec::new();
    for (_, path) in files {
        let file =
            File::open(&path).map_err(|e| CliError::input(format!("{}: {e}", path.display())))?;
        for (number, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|e| CliError::input(format!("{}: {e}", path.display())))?;
            if line.trim().is_empty() {
                continue;
            }
            let row = serde_json::from_str(&line)
                .map_err(|e| CliError::input(format!("{}:{}: {e}", path.display(), number + 1)))?;
            rows.push(row);
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(round: u32) -> Row {
        Row {
            round,
            direction: Direction::Forward,
            uid: 1,
            hotkey: "5F".into(),
            address: "127.0.0.1:1".into(),
            synapse: "TextLastHiddenState".into(),
            code: "Success".into(),
            message: String::new(),
            time_s: 0.01,
            timeout_s: 1.0,
            phases: PhaseSeconds::default(),
            reused_connection: Some(true),
            protocol: "grpc".into(),
            shape: vec![1, 2, 1024],
            dtype: "Float32".into(),
            status_code: None,
            status_message: None,
            process_time: None,
            bytes_sent: 10,
            bytes_received: 20,
            output_blake3: Some("00".into()),
            output_blake2b128: None,
            payload_hex: None,
            response: None,
            outcome: None,
            answer_signed: None,
            first_event_s: None,
        }
    }

    #[test]
    fn a_rows_phase_keys_are_the_phase_names_in_order() {
        let json = serde_json::to_value(PhaseSeconds::default()).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut names: Vec<&str> = Phase::ALL.map(Phase::name).to_vec();
        names.sort_unstable();
        assert_eq!(keys, names, "serde_json sorts the keys");
        let seconds = PhaseSeconds {
            wait: 2.0,
            decode: 3.0,
            ..PhaseSeconds::default()
        };
        assert_eq!(seconds.get(Phase::Wait), 2.0);
        assert_eq!(seconds.ordered()[Phase::COUNT - 1], 3.0);
    }

    #[test]
    fn rows_written_before_blake3_still_load() {
        let mut old = serde_json::to_value(row(3)).unwrap();
        let fields = old.as_object_mut().unwrap();
        fields.remove("output_blake3");
        fields.remove("protocol");
        fields.insert("output_blake2b128".into(), "ab".repeat(16).into());
        let read: Row = serde_json::from_value(old).unwrap();
        assert_eq!(read.output_blake2b128.as_deref(), Some(&*"ab".repeat(16)));
        assert_eq!(read.output_blake3, None);
        // Rows from before the HTTP wire are 3.x rows.
        assert_eq!(read.protocol, "grpc");
        assert!(read.succeeded());
        let shown = serde_json::to_value(Row {
            output_blake3: None,
            ..row(1)
        })
        .unwrap();
        assert!(shown.get("output_blake3").is_none() && shown.get("output_blake2b128").is_none());
        assert_eq!(shown["direction"], "forward");
        let mut sideways = shown.clone();
        sideways["direction"] = "sideways".into();
        let err = serde_json::from_value::<Row>(sideways).unwrap_err();
        assert!(
            err.to_string().contains("neither forward nor backward"),
            "{err}"
        );
    }

    #[test]
    fn records_rotate_by_size_keep_the_newest_files_and_read_back_in_order() {
        let dir = std::env::temp_dir().join(format!("dendrite-record-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut recorder = Recorder::create(&dir, 600, 3).unwrap();
        for round in 0..20 {
            recorder.write(&row(round)).unwrap();
        }
        recorder.flush().unwrap();
        drop(recorder);
        let files = record_files(&dir).unwrap();
        assert_eq!(files.len(), 3, "{files:?}");
        for (_, path) in &files[..2] {
            let size = std::fs::metadata(path).unwrap().len();
            assert!((600..600 + 1024).contains(&size), "{size}");
        }
        let rows = read(&dir).unwrap();
        let rounds: Vec<u32> = rows.iter().map(|r| r.round).collect();
        assert_eq!(rounds.last(), Some(&19));
        assert!(rounds.windows(2).all(|w| w[1] == w[0] + 1), "{rounds:?}");
        assert_eq!(rows[0], row(rows[0].round));
        std::fs::write(dir.join("record-999999.jsonl"), "not json\n").unwrap();
        let err = read(&dir).unwrap_err();
        assert!(matches!(err, CliError::Input(m) if m.contains("record-999999.jsonl:1")));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
