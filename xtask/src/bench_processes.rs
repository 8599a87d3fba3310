//! The bench lines users run: `dendrite query` (table, `--json`, `--record`), `dendrite_rs` and
//! the Python 3.7.0 dendrite against 16 separate `dendrite axon` processes that compute every
//! answer (no memo), on tiny answers ([1, 1] tokens) and on 0.8 MB ones ([10, 20]).
//!
//! `query` is timed from outside: its process's user + system CPU and context switches come
//! from `wait4`'s resource usage, and a run of 1 round is subtracted from a run of `1 + R` rounds,
//! so that a round's figure leaves out the start (the tokenizer, the key, the runtime). The
//! Python clients time their own rounds (`process_time`, `getrusage`) after 2 warm-up rounds.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::{json, Value};

use crate::bench_run::{per_round, success_of};
use crate::util::{self, ChildGuard};

/// The fleet: one `dendrite axon` process per endpoint.
const AXONS: usize = 16;

/// One answer size: the texts `query` sends and the `[batch, seq]` the Python clients send.
#[derive(Clone, Copy)]
struct Size {
    name: &'static str,
    batch: usize,
    seq: usize,
    rounds: usize,
}

const SIZES: [Size; 2] = [
    Size {
        name: "tiny [1, 1]",
        batch: 1,
        seq: 1,
        rounds: 300,
    },
    Size {
        name: "0.8 MB [10, 20, 1024]",
        batch: 10,
        seq: 20,
        rounds: 40,
    },
];

/// `batch` texts of `seq` GPT-2 tokens each (`a` then ` a` × (seq - 1): one token apiece).
fn texts(batch: usize, seq: usize) -> Vec<String> {
    let text = format!("a{}", " a".repeat(seq.saturating_sub(1)));
    vec![text; batch]
}

/// Starts the fleet and writes its endpoint file.
fn start_fleet(release: &Path, dir: &Path) -> Result<(Vec<ChildGuard>, PathBuf)> {
    util::start_axon_processes(
        dir,
        "process-axons",
        AXONS,
        Duration::from_secs(60),
        "dendrite axon",
        |i, info| {
            let mut axon = Command::new(release.join("dendrite"));
            axon.args(["axon", "--port", "0", "--uri", &format!("//BenchAxon{i}")])
                .arg("--info-out")
                .arg(info);
            axon
        },
    )
}

/// `dendrite query` per round: (run of 1 + rounds) − (run of 1), over `rounds`.
fn query_line(
    release: &Path,
    endpoints: &Path,
    size: &Size,
    mode: &str,
    dir: &Path,
) -> Result<Value> {
    let command = |repeat: usize| {
        let mut query = Command::new(release.join("dendrite"));
        query
            .args(["query", "--synapse", "last-hidden", "--timeout", "30"])
            .args(["--interval", "0", "--repeat", &repeat.to_string()])
            .args(["--min-success", &crate::bench_run::MIN_SUCCESS.to_string()])
            .arg("--endpoints")
            .arg(endpoints);
        for text in texts(size.batch, size.seq) {
            query.args(["--text", &text]);
        }
        match mode {
            "--json" => {
                query.arg("--json");
            }
            "--record" => {
                let record = dir.join("process-record");
                let _ = std::fs::remove_dir_all(&record);
                query.arg("--record").arg(record);
            }
            _ => {}
        }
        query
    };
    let stderr = dir.join("process-query.stderr");
    let measured = per_round(runs(size), size.rounds, &stderr, command, success_of)?;
    let (start, all) = (measured.start, measured.all);
    let rounds = size.rounds as f64;
    Ok(json!({
        "client": format!("dendrite query {mode}").trim_end(),
        "rounds": size.rounds,
        "start_cpu_s": start.cpu_s,
        "client_cpu_s_per_round": measured.cpu_s,
        "context_switches_per_round": (all.context_switches - start.context_switches) / rounds,
        "success_rate": measured.read,
    }))
}

/// Runs of each line, the median kept ([`util::median_run`]): one in the quick smoke.
fn runs(size: &Size) -> usize {
    if size.rounds < 10 {
        1
    } else {
        3
    }
}

/// The Python clients' own figures (they time their rounds themselves), the median of
/// [`runs`] runs by CPU per round.
fn python_line(python: &Path, script: &[&str], endpoints: &Path, size: &Size) -> Result<Value> {
    util::median_run(
        runs(size),
        || python_run(python, script, endpoints, size),
        |line| line["client_cpu_s_per_round"].as_f64().unwrap_or(f64::NAN),
    )
}

/// One run of a Python client.
fn python_run(python: &Path, script: &[&str], endpoints: &Path, size: &Size) -> Result<Value> {
    let mut command = Command::new(python);
    command
        .args(script)
        .arg("--endpoints")
        .arg(endpoints)
        .args(["--synapse", "last_hidden", "--timeout", "30"])
        .args(["--rounds", &size.rounds.min(100).to_string()])
        .args(["--batch", &size.batch.to_string()])
        .args(["--seq", &size.seq.to_string()]);
    let mut line = crate::bench_run::bench_line_of(&mut command, &format!("{script:?}"))?;
    if line.get("client_cpu_s_per_round").is_none() {
        let rounds = line["rounds"]
            .as_f64()
            .unwrap_or(size.rounds.min(100) as f64);
        line["client_cpu_s_per_round"] =
            json!(line["client_cpu_s"].as_f64().unwrap_or(f64::NAN) / rounds);
    }
    Ok(line)
}

/// Every line of this section, as `results.json`'s `separate_axons`.
pub fn run(release: &Path, python: &Path, dir: &Path, quick: bool) -> Result<Value> {
    let (_fleet, endpoints) = start_fleet(release, dir)?;
    let face = util::root()
        .join("dendrite-py")
        .join("bench")
        .join("bench.py");
    let face = face.to_str().context("path")?.to_owned();
    let peer = util::shared().join("peer").join("dendrite.py");
    let peer = peer.to_str().context("path")?.to_owned();
    let mut lines = Vec::new();
    for size in &SIZES {
        let size = Size {
            rounds: if quick { 3 } else { size.rounds },
            ..*size
        };
        let payload = (AXONS * size.batch * size.seq * 1024 * 4) as f64;
        let mut clients = Vec::new();
        for mode in ["", "--json", "--record"] {
            clients.push(query_line(release, &endpoints, &size, mode, dir)?);
        }
        clients.push(python_line(python, &[&face], &endpoints, &size)?);
        clients.push(python_line(python, &[&peer, "bench"], &endpoints, &size)?);
        for client in &mut clients {
            let per_round = client["client_cpu_s_per_round"]
                .as_f64()
                .unwrap_or(f64::NAN);
            client["client_cpu_us_per_call"] = json!(per_round / AXONS as f64 * 1e6);
            client["client_cpu_ns_per_byte"] = json!(per_round / payload * 1e9);
        }
        eprintln!(
            "xtask: separate axons, {}: {}",
            size.name,
            Value::Array(clients.clone())
        );
        lines.push(
            json!({"size": size.name, "axons": AXONS, "payload_bytes_per_round": payload,
                          "clients": clients}),
        );
    }
    Ok(Value::Array(lines))
}

/// The BENCHMARKS.md section of these lines.
pub fn report(lines: &Value) -> String {
    let mut out = format!(
        "\n## Against {AXONS} separate computing axons\n\n\
         What users run: `dendrite query` (its process's CPU from `wait4`, a 1-round run \
         subtracted so that start-up is left out), `dendrite_rs` (`dendrite-py/bench/bench.py`) \
         and the Python 3.7.0 dendrite against {AXONS} `dendrite axon` processes that compute every \
         answer. Client CPU per round of {AXONS} calls, per call and per byte of answers; context \
         switches per round where measured. Each line is the median of 3 runs by CPU.\n\n\
         | answers | client | CPU per round | per call | per byte | context switches per round |\n\
         |---|---|---|---|---|---|\n"
    );
    for line in lines.as_array().into_iter().flatten() {
        for client in line["clients"].as_array().into_iter().flatten() {
            let number = |key: &str| client[key].as_f64();
            out.push_str(&format!(
                "| {} | {} | {:.2} ms | {:.1} µs | {:.2} ns | {} |\n",
                line["size"].as_str().unwrap_or("?"),
                client["client"].as_str().unwrap_or("?"),
                number("client_cpu_s_per_round").unwrap_or(f64::NAN) * 1e3,
                number("client_cpu_us_per_call").unwrap_or(f64::NAN),
                number("client_cpu_ns_per_byte").unwrap_or(f64::NAN),
                number("context_switches_per_round").map_or("-".into(), |c| format!("{c:.1}")),
            ));
        }
    }
    out
}
