//! The JSON line a fan-out benchmark prints: `dendrite bench`, `dendrite-py/bench/bench.py`
//! and the Python 3.7.0 peer's `dendrite.py bench` (whose fields came first and are the
//! required ones), with our clients' further figures optional.
//!
//! One definition for the writer and the reader: `dendrite bench` serializes it, and `cargo
//! xtask bench` compiles this same file (`#[path]`) and reads every client's line through it,
//! so a field renamed or dropped on either side fails there, by name, instead of reading as a
//! missing number. **Invariant:** this file uses serde and std only.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One benchmark run's figures.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BenchLine {
    /// Which client ran (`dendrite-rs`, `dendrite_rs-python`, `bittensor-3.7.0-python`).
    pub client: String,
    /// The synapse, as the client names it.
    pub synapse: String,
    /// Endpoints per round.
    pub endpoints: usize,
    /// Texts per request.
    pub batch: usize,
    /// Tokens per text.
    pub seq: usize,
    /// Measured rounds.
    pub rounds: usize,
    /// Whether each round also sent gradients back.
    pub backward: bool,
    /// Median round time, seconds.
    pub round_s_p50: f64,
    /// 99th-percentile round time, seconds.
    pub round_s_p99: f64,
    /// Endpoint calls per second of wall time.
    pub calls_per_s: f64,
    /// Calls that succeeded, over all calls.
    pub success_rate: f64,
    /// Client CPU (user + system) over the measured rounds, seconds.
    pub client_cpu_s: f64,
    /// Peak resident set, MB.
    pub peak_rss_mb: f64,
    /// Rounds per second of wall time (our clients).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rounds_per_s: Option<f64>,
    /// Client CPU per round, seconds (our clients).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_cpu_s_per_round: Option<f64>,
    /// Context switches per round (the Python module's bench).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_switches_per_round: Option<f64>,
    /// Heap allocations per call (`dendrite bench`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocations_per_call: Option<f64>,
    /// File descriptors open at the end (`dendrite bench`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_fds: Option<usize>,
    /// Response payload per second of wall time, GB (`dendrite bench`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_gb_per_s: Option<f64>,
    /// Response payload per round, bytes (`dendrite bench`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_bytes_per_round: Option<f64>,
    /// TCP payload sent per round, bytes (`dendrite bench`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wire_bytes_sent_per_round: Option<f64>,
    /// TCP payload received per round, bytes (`dendrite bench`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wire_bytes_received_per_round: Option<f64>,
    /// Retries made (`dendrite bench`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u64>,
    /// Endpoints the backoff skipped at the end (`dendrite bench`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backing_off: Option<usize>,
    /// Mean seconds per call in each phase, by phase name (`dendrite bench`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase_mean_s: Option<BTreeMap<String, f64>>,
}
