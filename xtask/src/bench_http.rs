//! `cargo xtask bench http`: the 10.x HTTP wire, ours and the real bittensor 10.5.0 dendrite
//! side by side in the same run, against two fleets of separate axon processes: 16 of our
//! `dendrite axon --protocol http` and 4 real 10.5.0 `axon.py` (each ~90 MB; the peer's
//! README measured 4).
//!
//! `dendrite query --protocol http --quiet` is timed from outside (`wait4`: user + system CPU, a 1-round run
//! subtracted so that start-up is left out) and reports its round walls; the 10.5.0 dendrite
//! (`shared/peer10/dendrite.py bench`) times its own rounds and CPU. Workloads: `Dummy` (tiny)
//! and `Hashed` with a 100 kB hashed text (bodies and the sha3 body hash: per byte).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::{json, Value};

use crate::bench_processes::usage_of;
use crate::util::{self, ChildGuard};

/// One workload: the synapse, its fields, and rounds for each client.
struct Workload {
    name: &'static str,
    synapse: &'static str,
    fields: String,
    ours_rounds: usize,
    python_rounds: usize,
    body_bytes: usize,
}

fn workloads(quick: bool) -> Vec<Workload> {
    let text = "a".repeat(100_000);
    let scale = |n: usize| if quick { 3 } else { n };
    vec![
        Workload {
            name: "Dummy (tiny)",
            synapse: "Dummy",
            fields: r#"{"dummy_input": 21, "dummy_output": null}"#.into(),
            ours_rounds: scale(300),
            python_rounds: scale(60),
            body_bytes: 800,
        },
        Workload {
            name: "Hashed, 100 kB text",
            synapse: "Hashed",
            fields: format!(r#"{{"text": "{text}", "out": null}}"#),
            ours_rounds: scale(100),
            python_rounds: scale(30),
            body_bytes: 100_800,
        },
    ]
}

/// A fleet: its processes (killed when dropped) and its AxonInfo list file.
struct Fleet {
    name: String,
    axons: usize,
    _guards: Vec<ChildGuard>,
    file: PathBuf,
}

fn ours(release: &Path, dir: &Path, count: usize) -> Result<Fleet> {
    let mut guards = Vec::new();
    let mut infos = Vec::new();
    for i in 0..count {
        let info = dir.join(format!("http-axon-{i}.json"));
        let mut axon = Command::new(release.join("dendrite"));
        axon.args(["axon", "--protocol", "http", "--port", "0"])
            .args(["--uri", &format!("//BenchHttpAxon{i}")])
            .arg("--info-out")
            .arg(&info);
        guards.push(util::start_server(
            axon,
            "AXON READY",
            Duration::from_secs(60),
            "dendrite axon --protocol http",
        )?);
        infos.push(serde_json::from_str::<Value>(&std::fs::read_to_string(
            &info,
        )?)?);
    }
    let file = dir.join("http-axons.json");
    std::fs::write(&file, Value::Array(infos).to_string())?;
    Ok(Fleet {
        name: format!("{count} × dendrite axon --protocol http"),
        axons: count,
        _guards: guards,
        file,
    })
}

fn real(python: &Path, dir: &Path, count: usize) -> Result<Fleet> {
    let mut guards = Vec::new();
    let mut infos = Vec::new();
    for i in 0..count {
        let info = dir.join(format!("real-axon-{i}.json"));
        let mut axon = Command::new(python);
        axon.arg(util::shared().join("peer10/axon.py"))
            .args([
                "--uri",
                &format!("//BenchRealAxon{i}"),
                "--run-seconds",
                "900",
            ])
            .arg("--info-out")
            .arg(&info);
        guards.push(util::start_server(
            axon,
            "AXON READY",
            Duration::from_secs(120),
            "peer10 axon.py",
        )?);
        infos.push(serde_json::from_str::<Value>(&std::fs::read_to_string(
            &info,
        )?)?);
    }
    let file = dir.join("real-axons.json");
    std::fs::write(&file, Value::Array(infos).to_string())?;
    Ok(Fleet {
        name: format!("{count} × bittensor 10.5.0 axon.py"),
        axons: count,
        _guards: guards,
        file,
    })
}

/// `dendrite query --protocol http --quiet`: CPU per round from outside, round walls from its summary.
fn ours_line(release: &Path, fleet: &Fleet, work: &Workload, dir: &Path) -> Result<Value> {
    let stderr = dir.join("http-call.stderr");
    let run = |repeat: usize| -> Result<_> {
        let mut call = Command::new(release.join("dendrite"));
        call.args([
            "call",
            "--quiet",
            "--synapse",
            work.synapse,
            "--timeout",
            "30",
        ])
        .args(["--fields", &work.fields, "--repeat", &repeat.to_string()])
        .arg("--axons")
        .arg(&fleet.file);
        usage_of(&mut call, &stderr)
    };
    let start = run(1)?;
    let all = run(1 + work.ours_rounds)?;
    let summary = std::fs::read_to_string(&stderr)?;
    let rounds = work.ours_rounds as f64;
    Ok(json!({
        "client": "dendrite query --protocol http (ours)",
        "rounds": work.ours_rounds,
        "client_cpu_s_per_round": (all.cpu_s - start.cpu_s) / rounds,
        "round_ms_p50": p50_ms(&summary),
        "success": summary.contains(&format!("(200×{})", (1 + work.ours_rounds) * fleet.axons)),
        "summary": summary.trim(),
    }))
}

/// The `p50 X ms` of the query's summary.
fn p50_ms(summary: &str) -> Option<f64> {
    let after = summary.split("p50 ").nth(1)?;
    after.split(" ms").next()?.trim().parse().ok()
}

/// The real 10.5.0 dendrite's own figures.
fn python_line(python: &Path, fleet: &Fleet, work: &Workload) -> Result<Value> {
    let mut bench = Command::new(python);
    bench
        .arg(util::shared().join("peer10/dendrite.py"))
        .args(["bench", "--synapse", work.synapse, "--timeout", "30"])
        .args(["--fields", &fields_for_python(&work.fields)?])
        .args(["--rounds", &work.python_rounds.to_string()])
        .arg("--axons")
        .arg(&fleet.file);
    let line = crate::bench::json_of(&mut bench, "peer10 dendrite.py bench")?;
    let rounds = line["rounds"].as_f64().unwrap_or(f64::NAN);
    let calls = line["calls"].as_f64().unwrap_or(f64::NAN);
    Ok(json!({
        "client": "bittensor 10.5.0 Dendrite (Python)",
        "rounds": line["rounds"],
        "client_cpu_s_per_round": line["client_cpu_s"].as_f64().unwrap_or(f64::NAN) / rounds,
        "round_ms_p50": line["round_s_p50"].as_f64().map(|s| s * 1e3),
        "success": line["success_rate"].as_f64() == Some(1.0) && calls > 0.0,
        "peak_rss_mb": line["peak_rss_mb"],
    }))
}

/// The fields without the outputs: `dendrite.py` fills the defaults itself.
fn fields_for_python(fields: &str) -> Result<String> {
    let mut value: Value = serde_json::from_str(fields).context("fields")?;
    if let Value::Object(map) = &mut value {
        map.retain(|_, v| !v.is_null());
    }
    Ok(value.to_string())
}

/// Every line of the section.
pub fn run(release: &Path, dir: &Path, quick: bool) -> Result<Value> {
    let python = util::peer10_python()?;
    let fleets = [ours(release, dir, 16)?, real(&python, dir, 4)?];
    let mut lines = Vec::new();
    for fleet in &fleets {
        for work in workloads(quick) {
            let mut clients = vec![
                ours_line(release, fleet, &work, dir)?,
                python_line(&python, fleet, &work)?,
            ];
            for client in &mut clients {
                let per_round = client["client_cpu_s_per_round"]
                    .as_f64()
                    .unwrap_or(f64::NAN);
                client["client_cpu_us_per_call"] = json!(per_round / fleet.axons as f64 * 1e6);
                let bytes = (fleet.axons * work.body_bytes) as f64;
                client["client_cpu_ns_per_byte"] = json!(per_round / bytes * 1e9);
            }
            let ratio = clients[1]["client_cpu_s_per_round"]
                .as_f64()
                .unwrap_or(f64::NAN)
                / clients[0]["client_cpu_s_per_round"]
                    .as_f64()
                    .unwrap_or(f64::NAN);
            eprintln!(
                "xtask: http, {}, {}: {}",
                fleet.name,
                work.name,
                Value::Array(clients.clone())
            );
            lines.push(json!({
                "fleet": fleet.name, "axons": fleet.axons, "workload": work.name,
                "python_cpu_over_ours": ratio, "clients": clients,
            }));
        }
    }
    Ok(Value::Array(lines))
}

/// The BENCHMARKS.md section of these lines.
pub fn report(lines: &Value) -> String {
    let mut out = String::from(
        "\n## The 10.x HTTP wire: ours and the bittensor 10.5.0 dendrite\n\n\
         `cargo xtask bench http`: `dendrite query --protocol http` (CPU from `wait4`, a 1-round run subtracted) \
         and the real 10.5.0 `Dendrite` (`shared/peer10/dendrite.py bench`, its own CPU) in the \
         same run, against separate axon processes: ours (`dendrite axon --protocol http`) and \
         the real 10.5.0 axon. Client CPU per round, per call and per request byte; the round's \
         median wall time.\n\n\
         | fleet | workload | client | CPU per round | per call | per byte | round p50 | Python ÷ ours |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for line in lines.as_array().into_iter().flatten() {
        for client in line["clients"].as_array().into_iter().flatten() {
            let number = |key: &str| client[key].as_f64().unwrap_or(f64::NAN);
            out.push_str(&format!(
                "| {} | {} | {} | {:.2} ms | {:.1} µs | {:.2} ns | {:.2} ms | {:.1}× |\n",
                line["fleet"].as_str().unwrap_or("?"),
                line["workload"].as_str().unwrap_or("?"),
                client["client"].as_str().unwrap_or("?"),
                number("client_cpu_s_per_round") * 1e3,
                number("client_cpu_us_per_call"),
                number("client_cpu_ns_per_byte"),
                number("round_ms_p50"),
                line["python_cpu_over_ours"].as_f64().unwrap_or(f64::NAN),
            ));
        }
    }
    out
}
