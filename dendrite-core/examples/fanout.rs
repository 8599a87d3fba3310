//! Fan-out rounds against an endpoint file; prints one JSON line of figures.
//!
//! `fanout --endpoints FILE [--limit N] [--rounds R] [--warmup W] [--batch B] [--seq S]
//!         [--synapse lhs|causal-lm] [--timeout SECS]`
//!
//! Figures: rounds/s, p50/p99 round latency, client CPU seconds per round (from
//! /proc/self/stat), peak RSS (VmHWM), open fds after the run, response payload GB/s.

use std::time::{Duration, Instant};

use dendrite_core::{Client, ClientConfig, Keypair};
use dendrite_format::load_endpoints;
use dendrite_wire::synapse::{TextCausalLM, TextLastHiddenState};
use dendrite_wire::{ReturnCode, Synapse, Tensor};

fn proc_status(field: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// User + system CPU seconds of this process.
fn cpu_seconds() -> f64 {
    let text = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = text.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut opts = std::collections::HashMap::new();
    let mut args = std::env::args().skip(1);
    while let Some(key) = args.next() {
        let value = args.next().ok_or(format!("{key} needs a value"))?;
        opts.insert(key.trim_start_matches("--").to_string(), value);
    }
    let get = |k: &str, d: &str| opts.get(k).cloned().unwrap_or_else(|| d.to_string());
    let path = opts
        .get("endpoints")
        .ok_or("--endpoints FILE is required")?;
    let mut endpoints = load_endpoints(&std::fs::read_to_string(path)?)?;
    endpoints.truncate(get("limit", "1000000").parse()?);
    let rounds: usize = get("rounds", "20").parse()?;
    let warmup: usize = get("warmup", "2").parse()?;
    let (b, s): (usize, usize) = (get("batch", "10").parse()?, get("seq", "20").parse()?);
    let timeout = Duration::from_secs_f64(get("timeout", "12").parse()?);
    let synapse: Synapse = match get("synapse", "lhs").as_str() {
        "lhs" => TextLastHiddenState::default().into(),
        "causal-lm" => TextCausalLM::with_topk(512).into(),
        other => return Err(format!("unknown synapse {other}").into()),
    };
    let n = endpoints.len();
    let client = Client::new(Keypair::from_uri("//Alice")?, ClientConfig::default());
    let input = Tensor::from_vec(
        (0..(b * s) as i64).map(|i| 100 + i).collect::<Vec<_>>(),
        [b, s],
    )?;
    let inputs = vec![input; n];
    let synapses = [synapse];
    let (mut latencies, mut failures, mut bytes) = (Vec::new(), 0usize, 0usize);
    let mut cpu_start = 0.0;
    let mut wall_start = Instant::now();
    for round in 0..warmup + rounds {
        if round == warmup {
            cpu_start = cpu_seconds();
            wall_start = Instant::now();
        }
        let start = Instant::now();
        let results = client
            .forward(&endpoints, &synapses, &inputs, timeout)
            .await?;
        let elapsed = start.elapsed();
        if round >= warmup {
            latencies.push(elapsed.as_secs_f64());
            failures += results
                .iter()
                .filter(|r| r.synapses[0].code != ReturnCode::Success)
                .count();
            bytes += results.iter().map(|r| r.bytes_received).sum::<usize>();
        }
        drop(results);
    }
    let wall = wall_start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_start;
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize] * 1e3;
    println!(
        "{{\"endpoints\": {n}, \"rounds\": {rounds}, \"shape\": [{b}, {s}], \"rounds_per_s\": {:.2}, \"p50_ms\": {:.2}, \"p99_ms\": {:.2}, \"cpu_s_per_round\": {:.4}, \"peak_rss_mb\": {:.1}, \"open_fds\": {}, \"open_connections\": {}, \"failures\": {failures}, \"payload_gb_per_s\": {:.3}}}",
        rounds as f64 / wall,
        pct(0.5),
        pct(0.99),
        cpu / rounds as f64,
        proc_status("VmHWM:").unwrap_or(0) as f64 / 1024.0,
        open_fds(),
        client.pool().open_connections(),
        bytes as f64 / wall / 1e9,
    );
    Ok(())
}
