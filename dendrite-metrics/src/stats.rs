//! Per-endpoint call statistics: what the reference's `to_dataframe` gave users.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

/// Weight of the newest sample in the latency moving average.
const EWMA_ALPHA: f64 = 0.1;

/// What one endpoint did across calls.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct EndpointStats {
    /// Which wire its calls went on: `grpc` (3.x) or `http` (10.x synapses, signed requests);
    /// an endpoint reached on both has a row for each.
    pub wire: &'static str,
    /// The endpoint's uid, where its caller gave one (3.x endpoints always; 10.x axons when
    /// named by uid).
    pub uid: Option<u64>,
    /// Its hotkey.
    pub hotkey: String,
    /// Endpoint calls (forward and backward).
    pub requests: u64,
    /// Calls in which at least one synapse succeeded.
    pub successes: u64,
    /// Calls in which none did.
    pub failures: u64,
    /// Synapse results by return code name.
    pub codes: BTreeMap<String, u64>,
    /// Moving average (α = 0.1) of successful call times, seconds.
    pub latency_ewma_s: f64,
    /// Encoded bytes sent.
    pub bytes_out: u64,
    /// Encoded bytes received.
    pub bytes_in: u64,
}

impl EndpointStats {
    pub(crate) fn record(
        &mut self,
        success: bool,
        codes: impl Iterator<Item = &'static str>,
        time: Duration,
        bytes_out: usize,
        bytes_in: usize,
    ) {
        self.requests += 1;
        if success {
            self.successes += 1;
            let t = time.as_secs_f64();
            self.latency_ewma_s = if self.successes == 1 {
                t
            } else {
                EWMA_ALPHA * t + (1.0 - EWMA_ALPHA) * self.latency_ewma_s
            };
        } else {
            self.failures += 1;
        }
        for code in codes {
            *self.codes.entry(code.to_string()).or_default() += 1;
        }
        self.bytes_out += bytes_out as u64;
        self.bytes_in += bytes_in as u64;
    }
}

/// A plain-text table of `stats`, one row per endpoint.
pub fn table(stats: &[EndpointStats]) -> String {
    let mut out = format!(
        "{:<4}  {:>6}  {:<10}  {:>8}  {:>8}  {:>8}  {:>11}  {:>12}  {:>12}  codes\n",
        "wire",
        "uid",
        "hotkey",
        "requests",
        "success",
        "failure",
        "latency ms",
        "bytes out",
        "bytes in"
    );
    for s in stats {
        let codes: Vec<String> = s.codes.iter().map(|(c, n)| format!("{c}={n}")).collect();
        out.push_str(&format!(
            "{:<4}  {:>6}  {:<10}  {:>8}  {:>8}  {:>8}  {:>11.3}  {:>12}  {:>12}  {}\n",
            s.wire,
            s.uid.map_or_else(|| "-".to_owned(), |uid| uid.to_string()),
            s.hotkey.chars().take(10).collect::<String>(),
            s.requests,
            s.successes,
            s.failures,
            s.latency_ewma_s * 1e3,
            s.bytes_out,
            s.bytes_in,
            codes.join(" ")
        ));
    }
    out
}
