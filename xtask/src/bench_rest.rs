//! `cargo xtask bench rest`: Epistula-signed REST requests (`POST /score`, bittensor 11's
//! subnets' kind) to fleets of our HTTP axons (16, 256, 1,024 in one `toy-axons` process) and to
//! 4 subnet-style miners (`shared/peer10/epistula_server.py`): ours from the CLI (`dendrite
//! request`, CPU from outside: a run of 1 + R rounds less a run of 1) and from Python
//! (`dendrite_rs.http`), against the fan-out validators write themselves (aiohttp, each request
//! signed in Python by bittensor_wallet, `dendrite-py/bench/bench_rest.py --client aiohttp`), in
//! the same run, medians of 3 runs; every line refused below 99% success. Then the time to
//! first event (`dendrite-py/bench/bench_first_event.py`): from a miner's first write of a
//! Server-Sent Event (its data carries the time) to the event in the validator's code, ours
//! (`Dendrite.stream`) and aiohttp's line reader, median of 3 runs by the median latency.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{ensure, Result};
use serde_json::{json, Value};

use crate::bench_run::{json_of, per_round, success_of, MIN_SUCCESS};
use crate::util::{self, ChildGuard};

/// The miners' fleet file of `count` subnet-style Epistula miners (one process each).
fn miners(
    python: &Path,
    dir: &Path,
    count: usize,
) -> Result<(Vec<ChildGuard>, std::path::PathBuf)> {
    util::start_axon_processes(
        dir,
        "epistula-miners",
        count,
        Duration::from_secs(60),
        "epistula_server.py",
        |i, info| {
            let mut miner = Command::new(python);
            miner
                .arg(util::shared().join("peer10/epistula_server.py"))
                .args(["--uri", &format!("//BenchMiner{i}")])
                .args(["--run-seconds", "900", "--info-out"])
                .arg(info);
            miner
        },
    )
}

/// Our CLI's client CPU per request: `dendrite request --repeat` of 1 + `rounds` less 1.
fn cli_line(bin: &Path, file: &Path, rounds: usize, dir: &Path) -> Result<Value> {
    let stderr = dir.join("rest-cli.stderr");
    let command = |repeat: usize| {
        let mut request = Command::new(bin.join("dendrite"));
        request
            .args([
                "request", "--path", "/score", "--auth", "epistula", "--json",
            ])
            .args([
                "--body",
                r#"{"task": "score", "prompt": "how many r in strawberry", "n": 1}"#,
            ])
            .args(["--repeat", &repeat.to_string()])
            .args(["--min-success", &MIN_SUCCESS.to_string()])
            .arg("--endpoints")
            .arg(file);
        request
    };
    let measured = per_round(3, rounds, &stderr, command, success_of)?;
    Ok(json!({
        "client": "dendrite request (ours, CLI)",
        "client_cpu_s_per_round": measured.cpu_s,
        "success_rate": measured.read,
    }))
}

/// One Python client's line (`bench_rest.py`), the median of 3 runs by CPU per request.
fn python_line(python: &Path, file: &Path, client: &str, rounds: usize) -> Result<Value> {
    util::median_run(
        3,
        || {
            let mut bench = Command::new(python);
            bench
                .arg(util::root().join("dendrite-py/bench/bench_rest.py"))
                .args(["--client", client, "--rounds", &rounds.to_string()])
                .arg("--axons")
                .arg(file)
                .env("DENDRITE_SHARED", util::shared());
            let line = json_of(&mut bench, "dendrite-py/bench/bench_rest.py")?;
            let success = line["success_rate"].as_f64().unwrap_or(0.0);
            ensure!(
                success >= MIN_SUCCESS,
                "{client}: success rate {success}, not reported: {line}"
            );
            Ok(line)
        },
        |line| line["client_cpu_us_per_call"].as_f64().unwrap_or(f64::NAN),
    )
}

/// Every line of the section.
pub fn run(bin: &Path, dir: &Path, quick: bool) -> Result<Value> {
    let python = util::peer10_python()?;
    let (_, wheel) = crate::python::ready_python()?;
    crate::python::install(&python, &wheel)?;
    let mut lines = Vec::new();
    let counts: &[usize] = if quick { &[16] } else { &[16, 256, 1024] };
    let mut fleets = Vec::new();
    for &count in counts {
        let file = dir.join(format!("rest-toy-axons-{count}.json"));
        let mut axons = Command::new(bin.join("toy-axons"));
        axons
            .args(["--protocol", "http", "--count", &count.to_string()])
            .arg("--out")
            .arg(&file);
        let guard =
            util::start_server(axons, "AXONS READY", Duration::from_secs(120), "toy-axons")?;
        fleets.push((
            format!("{count} of our HTTP axons"),
            count,
            file,
            vec![guard],
        ));
    }
    let (guards, file) = miners(&python, dir, 4)?;
    fleets.push(("4 epistula_server.py miners".to_owned(), 4, file, guards));
    for (name, count, file, _guards) in &fleets {
        let rounds = if quick {
            2
        } else if *count >= 1024 {
            6
        } else {
            20
        };
        let mut cli = cli_line(bin, file, rounds, dir)?;
        let per_round = cli["client_cpu_s_per_round"].as_f64().unwrap_or(f64::NAN);
        cli["client_cpu_us_per_call"] = json!(per_round / *count as f64 * 1e6);
        let ours = python_line(&python, file, "ours", rounds)?;
        let theirs = python_line(&python, file, "aiohttp", rounds)?;
        let us = |v: &Value| v["client_cpu_us_per_call"].as_f64().unwrap_or(f64::NAN);
        eprintln!("xtask: rest, {name}: cli {cli}\n       ours {ours}\n       aiohttp {theirs}");
        lines.push(json!({"fleet": name, "axons": count, "cli": cli, "ours": ours, "aiohttp": theirs,
                          "aiohttp_over_cli": us(&theirs) / us(&cli), "aiohttp_over_ours": us(&theirs) / us(&ours)}));
    }
    let first_event = ["ours", "aiohttp"]
        .into_iter()
        .map(|client| first_event_line(&python, client, if quick { 5 } else { 30 }))
        .collect::<Result<Vec<Value>>>()?;
    Ok(json!({"requests": lines, "first_event": first_event}))
}

/// One client's time-to-first-event line, the median of 3 runs by the median latency; every
/// event must have come.
fn first_event_line(python: &Path, client: &str, rounds: usize) -> Result<Value> {
    util::median_run(
        3,
        || {
            let mut bench = Command::new(python);
            bench
                .arg(util::root().join("dendrite-py/bench/bench_first_event.py"))
                .args(["--client", client, "--rounds", &rounds.to_string()])
                .env("DENDRITE_SHARED", util::shared());
            let line = json_of(&mut bench, "dendrite-py/bench/bench_first_event.py")?;
            ensure!(
                line["events"] == line["events_expected"],
                "{client}: events missing: {line}"
            );
            Ok(line)
        },
        |line| line["first_event_us_p50"].as_f64().unwrap_or(f64::NAN),
    )
}

/// The heading of the section of BENCHMARKS.md this bench's figures go in (written from
/// `target/bench/rest.json` with the profile that explains them, so a full `cargo xtask bench`
/// keeps it as it is).
const HEADING: &str = "## Signed requests of bittensor 11's subnets";

/// The REST section of a BENCHMARKS.md text, up to the next section, if it has one.
pub fn section_of(text: &str) -> Option<&str> {
    let start = text.find(HEADING)?;
    let end = text[start + HEADING.len()..]
        .find("\n## ")
        .map_or(text.len(), |at| start + HEADING.len() + at + 1);
    Some(&text[start..end])
}

/// The section's tables: client CPU per request, then the time to first event.
pub fn report(lines: &Value) -> String {
    let mut out = String::from(
        "| fleet | aiohttp + bittensor_wallet: µs CPU / request | ours, CLI | ours, Python | ratio CLI | ratio Python |\n|---|---|---|---|---|---|\n",
    );
    for line in lines["requests"].as_array().into_iter().flatten() {
        let us = |v: &Value| v["client_cpu_us_per_call"].as_f64().unwrap_or(f64::NAN);
        out.push_str(&format!(
            "| {} | {:.0} | {:.0} | {:.0} | {:.1}× | {:.1}× |\n",
            line["fleet"].as_str().unwrap_or("?"),
            us(&line["aiohttp"]),
            us(&line["cli"]),
            us(&line["ours"]),
            line["aiohttp_over_cli"].as_f64().unwrap_or(f64::NAN),
            line["aiohttp_over_ours"].as_f64().unwrap_or(f64::NAN),
        ));
    }
    out.push_str("\n| client (4 stamped SSE miners) | first event µs, p50 | p90 | max |\n|---|---|---|---|\n");
    for line in lines["first_event"].as_array().into_iter().flatten() {
        let us = |key: &str| line[key].as_f64().unwrap_or(f64::NAN);
        out.push_str(&format!(
            "| {} | {:.0} | {:.0} | {:.0} |\n",
            line["client"].as_str().unwrap_or("?"),
            us("first_event_us_p50"),
            us("first_event_us_p90"),
            us("first_event_us_max"),
        ));
    }
    out
}
