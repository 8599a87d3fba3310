//! The call policies' benchmark lines (issue: quorum, backoff, compression): our dendrite with
//! and without each option against fleets of toy axons with faults. The Python dendrite has
//! none of these options, so these lines compare us with ourselves.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{ensure, Result};
use serde_json::{json, Value};

use crate::util::{self, ChildGuard};

/// One line: a fleet of 256 axons (toy-axons flags), our flags, the call timeout.
struct PolicyLine {
    name: &'static str,
    fleet: &'static [&'static str],
    flags: &'static [&'static str],
    timeout: f64,
    rounds: usize,
    /// The lowest success rate that is not a failure of the run: 1 on healthy fleets, 0 on
    /// faulty ones (their rates are reported, and a debug build under a 1 s timeout also
    /// loses some healthy endpoints).
    min_success: f64,
}

const DEAD_10PCT: &[&str] = &["--hang-every", "10"];
const SLOW_5PCT: &[&str] = &["--slow-every", "20", "--slow-ms", "2000"];
const PLAIN: &[&str] = &[];
const ZSTD: &[&str] = &["--compression", "zstd"];

fn lines(quick: bool) -> Vec<PolicyLine> {
    let line = |name, fleet, flags, timeout, rounds, min_success| PolicyLine {
        name,
        fleet,
        flags,
        timeout,
        rounds: if quick { 2 } else { rounds },
        min_success,
    };
    let all = vec![
        line(
            "10% dead (never answer), timeout 1 s",
            DEAD_10PCT,
            &[][..],
            1.0,
            5,
            0.0,
        ),
        line(
            "10% dead, --backoff 30",
            DEAD_10PCT,
            &["--backoff", "30"],
            1.0,
            5,
            0.0,
        ),
        line("5% slow (2 s), timeout 5 s", SLOW_5PCT, &[], 5.0, 5, 0.0),
        line(
            "5% slow, --k-min 243 --timeout-after-k-min 0.05",
            SLOW_5PCT,
            &["--k-min", "243", "--timeout-after-k-min", "0.05"],
            5.0,
            5,
            0.0,
        ),
        line("hidden state, plain", PLAIN, &[], 30.0, 10, 1.0),
        line(
            "hidden state, --serializer cmppack",
            PLAIN,
            &["--serializer", "cmppack"],
            30.0,
            10,
            1.0,
        ),
        line(
            "hidden state, --compression zstd (axons answer zstd)",
            ZSTD,
            &["--compression", "zstd"],
            30.0,
            10,
            1.0,
        ),
    ];
    if quick {
        // The smoke: one fault line and compression (the slow fleet costs 2 s a round).
        all.into_iter()
            .filter(|l| l.fleet != SLOW_5PCT && !l.name.starts_with("10% dead,"))
            .collect()
    } else {
        all
    }
}

/// Runs every line (N = 256, hidden state `[10,20,1024]`) and returns their JSON rows.
pub fn run(quick: bool, bin: &Path, dir: &Path) -> Result<Vec<Value>> {
    let mut fleets: BTreeMap<String, (ChildGuard, std::path::PathBuf)> = BTreeMap::new();
    let mut rows = Vec::new();
    for line in lines(quick) {
        let key = line.fleet.join(" ");
        if !fleets.contains_key(&key) {
            let file = dir.join(format!("fleet-{}.json", fleets.len()));
            let mut axons = Command::new(bin.join("toy-axons"));
            axons
                .args(["--count", "256", "--memo", "--out"])
                .arg(&file)
                .args(line.fleet);
            let guard =
                util::start_server(axons, "AXONS READY", Duration::from_secs(120), "toy-axons")?;
            fleets.insert(key.clone(), (guard, file));
        }
        let endpoints = &fleets[&key].1;
        let mut ours = Command::new(bin.join("dendrite"));
        ours.arg("bench")
            .arg("--endpoints")
            .arg(endpoints)
            .args(["--rounds", &line.rounds.to_string()])
            .args(["--timeout", &line.timeout.to_string()])
            .args(line.flags);
        let out = crate::bench_run::bench_line_at(&mut ours, "dendrite bench", line.min_success)?;
        eprintln!("xtask: {} → {out}", line.name);
        ensure!(
            out["success_rate"]
                .as_f64()
                .is_some_and(|r| r >= line.min_success),
            "{}: success rate below {}: {out}",
            line.name,
            line.min_success
        );
        rows.push(json!({"workload": line.name, "flags": line.flags.join(" "), "ours": out}));
    }
    Ok(rows)
}

/// The BENCHMARKS.md section.
pub fn report(rows: &[Value]) -> String {
    let f = |v: &Value, k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    let mut out = String::from(
        "\n## Call policies (ours only: the Python dendrite has none of them)\n\n\
Fleets of 256 memoized toy axons with faults; hidden state [10,20,1024] f32 to all 256 each round.\n\n\
| line | rounds/s | p50 / p99 round | success | wire MB received / round | CPU s/round |\n|---|---|---|---|---|---|\n",
    );
    for row in rows {
        let o = &row["ours"];
        out.push_str(&format!(
            "| {} | {:.2} | {:.0} / {:.0} ms | {:.1}% | {:.1} | {:.3} |\n",
            row["workload"].as_str().unwrap_or("?"),
            f(o, "rounds_per_s"),
            f(o, "round_s_p50") * 1e3,
            f(o, "round_s_p99") * 1e3,
            f(o, "success_rate") * 100.0,
            f(o, "wire_bytes_received_per_round") / 1e6,
            f(o, "client_cpu_s_per_round"),
        ));
    }
    out
}
