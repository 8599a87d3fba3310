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

use anyhow::{ensure, Context, Result};
use serde_json::{json, Value};

use crate::bench_run::per_round;
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
    let (guards, file) = util::start_axon_processes(
        dir,
        "http-axons",
        count,
        Duration::from_secs(60),
        "dendrite axon --protocol http",
        |i, info| {
            let mut axon = Command::new(release.join("dendrite"));
            axon.args(["axon", "--protocol", "http", "--port", "0"])
                .args(["--uri", &format!("//BenchHttpAxon{i}")])
                .arg("--info-out")
                .arg(info);
            axon
        },
    )?;
    Ok(Fleet {
        name: format!("{count} × dendrite axon --protocol http"),
        axons: count,
        _guards: guards,
        file,
    })
}

fn real(python: &Path, dir: &Path, count: usize) -> Result<Fleet> {
    let (guards, file) = util::start_axon_processes(
        dir,
        "real-axons",
        count,
        Duration::from_secs(120),
        "peer10 axon.py",
        |i, info| {
            let mut axon = Command::new(python);
            axon.arg(util::shared().join("peer10/axon.py"))
                .args(["--uri", &format!("//BenchRealAxon{i}")])
                .args(["--run-seconds", "900", "--info-out"])
                .arg(info);
            axon
        },
    )?;
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
    let command = |repeat: usize| {
        let mut call = Command::new(release.join("dendrite"));
        call.args(["query", "--protocol", "http", "--quiet", "--timeout", "30"])
            .args([
                "--synapse-name",
                work.synapse,
                "--synapse-json",
                &work.fields,
            ])
            .args(["--interval", "0", "--repeat", &repeat.to_string()])
            .args(["--min-success", &crate::bench_run::MIN_SUCCESS.to_string()])
            .arg("--endpoints")
            .arg(&fleet.file);
        call
    };
    let runs = if work.ours_rounds < 10 { 1 } else { 3 };
    let summary_of = |text: &str| Ok(text.to_owned());
    let measured = per_round(runs, work.ours_rounds, &stderr, command, summary_of)?;
    let summary = measured.read;
    Ok(json!({
        "client": "dendrite query --protocol http (ours)",
        "rounds": work.ours_rounds,
        "peak_rss_mb": measured.all.peak_rss_mb,
        "timeouts_408": count_408(&summary),
        "client_cpu_s_per_round": measured.cpu_s,
        "round_ms_p50": quantile_ms(&summary, "p50"),
        "round_ms_p99": quantile_ms(&summary, "p99"),
        "success": summary.contains(&format!("(200×{})", (1 + work.ours_rounds) * fleet.axons)),
        "success_rate": crate::bench_run::success_of(&summary)?,
        "summary": summary.trim(),
    }))
}

/// The 408s in the query's summary (`408×N`).
fn count_408(summary: &str) -> u64 {
    summary
        .split("408×")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The `{quantile} X ms` (`p50`, `p99`) of the query's summary.
fn quantile_ms(summary: &str, quantile: &str) -> Option<f64> {
    let after = summary.split(&format!("{quantile} ")).nth(1)?;
    after.split(" ms").next()?.trim().parse().ok()
}

/// The real 10.5.0 dendrite's own figures, the median of 3 runs by CPU per round (one in the
/// quick smoke).
fn python_line(python: &Path, fleet: &Fleet, work: &Workload) -> Result<Value> {
    let runs = if work.python_rounds < 10 { 1 } else { 3 };
    util::median_run(
        runs,
        || python_run(python, fleet, work),
        |line| line["client_cpu_s_per_round"].as_f64().unwrap_or(f64::NAN),
    )
}

/// One run of the real 10.5.0 dendrite.
fn python_run(python: &Path, fleet: &Fleet, work: &Workload) -> Result<Value> {
    let mut bench = Command::new(python);
    bench
        .arg(util::shared().join("peer10/dendrite.py"))
        .args(["bench", "--synapse", work.synapse, "--timeout", "30"])
        .args(["--fields", &fields_for_python(&work.fields)?])
        .args(["--rounds", &work.python_rounds.to_string()])
        .arg("--axons")
        .arg(&fleet.file);
    let line = crate::bench_run::json_of(&mut bench, "peer10 dendrite.py bench")?;
    let rounds = line["rounds"].as_f64().unwrap_or(f64::NAN);
    let calls = line["calls"].as_f64().unwrap_or(f64::NAN);
    let success_rate = line["success_rate"].as_f64().unwrap_or(0.0);
    ensure!(
        success_rate >= crate::bench_run::MIN_SUCCESS && calls > 0.0,
        "peer10 dendrite.py bench: success rate {success_rate} below {}, not reported: {line}",
        crate::bench_run::MIN_SUCCESS
    );
    Ok(json!({
        "client": "bittensor 10.5.0 Dendrite (Python)",
        "rounds": line["rounds"],
        "client_cpu_s_per_round": line["client_cpu_s"].as_f64().unwrap_or(f64::NAN) / rounds,
        "round_ms_p50": line["round_s_p50"].as_f64().map(|s| s * 1e3),
        "success": line["success_rate"].as_f64() == Some(1.0) && calls > 0.0,
        "success_rate": success_rate,
        "peak_rss_mb": line["peak_rss_mb"],
        "timeouts_408": line["status_codes"]["408"].as_u64().unwrap_or(0),
        "round_ms_p99": line["round_s_p99"].as_f64().map(|s| s * 1e3),
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

/// A fleet of `count` of our HTTP axons in one `toy-axons` process.
fn toy_fleet(release: &Path, dir: &Path, count: usize) -> Result<Fleet> {
    let file = dir.join(format!("http-toy-axons-{count}.json"));
    let mut axons = Command::new(release.join("toy-axons"));
    axons
        .args(["--protocol", "http", "--count", &count.to_string()])
        .arg("--out")
        .arg(&file);
    let guard = util::start_server(axons, "AXONS READY", Duration::from_secs(120), "toy-axons")?;
    Ok(Fleet {
        name: format!("{count} × our HTTP axons (one toy-axons process)"),
        axons: count,
        _guards: vec![guard],
        file,
    })
}

/// Max − min of per-axon times (seconds) in one round, ms.
fn spread_ms(times: &[f64]) -> Option<f64> {
    let max = times.iter().cloned().fold(f64::NAN, f64::max);
    let min = times.iter().cloned().fold(f64::NAN, f64::min);
    (!times.is_empty()).then_some((max - min) * 1e3)
}

/// The median over `rounds` rounds of our one-round spread, and the 408s seen.
fn ours_spread(release: &Path, fleet: &Fleet, rounds: usize) -> Result<(Option<f64>, u64)> {
    let out = Command::new(release.join("dendrite"))
        .args([
            "query",
            "--protocol",
            "http",
            "--json",
            "--synapse-name",
            "Dummy",
        ])
        .args(["--interval", "0", "--repeat", &rounds.to_string()])
        .args(["--min-success", &crate::bench_run::MIN_SUCCESS.to_string()])
        .arg("--endpoints")
        .arg(&fleet.file)
        .output()
        .context("dendrite query --json")?;
    ensure!(
        out.status.success(),
        "dendrite query --json: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut by_round: std::collections::BTreeMap<u64, Vec<f64>> = Default::default();
    let mut timeouts = 0;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(row) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        timeouts += u64::from(row["status_code"] == 408);
        let round = row["round"].as_u64().unwrap_or(0);
        by_round
            .entry(round)
            .or_default()
            .push(row["time_s"].as_f64().unwrap_or(f64::NAN));
    }
    let mut spreads: Vec<f64> = by_round.values().filter_map(|t| spread_ms(t)).collect();
    spreads.sort_by(f64::total_cmp);
    Ok((spreads.get(spreads.len() / 2).copied(), timeouts))
}

/// The 10.5.0 dendrite's spread over one round (`dendrite.py call`: per-axon `process_time`),
/// and its 408s.
fn python_spread(python: &Path, fleet: &Fleet) -> Result<(Option<f64>, u64)> {
    let out = Command::new(python)
        .arg(util::shared().join("peer10/dendrite.py"))
        .args(["call", "--synapse", "Dummy"])
        .arg("--axons")
        .arg(&fleet.file)
        .output()
        .context("dendrite.py call")?;
    let mut times = Vec::new();
    let mut timeouts = 0;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(row) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        timeouts += u64::from(row["status_code"] == 408);
        if let Some(t) = row["process_time"].as_f64() {
            times.push(t);
        }
    }
    Ok((spread_ms(&times), timeouts))
}

/// The large-fleet lines: Dummy against 256 and 1,024 of our axons.
fn large(release: &Path, python: &Path, dir: &Path, quick: bool) -> Result<Vec<Value>> {
    let mut lines = Vec::new();
    // The CI smoke (`--quick`) runs every path once, on small fleets.
    let counts: &[usize] = if quick { &[32] } else { &[256, 1024] };
    for &count in counts {
        let fleet = toy_fleet(release, dir, count)?;
        let work = Workload {
            name: "Dummy (tiny)",
            synapse: "Dummy",
            fields: r#"{"dummy_input": 21, "dummy_output": null}"#.into(),
            ours_rounds: if quick { 2 } else { 20 },
            python_rounds: if quick { 1 } else { 3 },
            body_bytes: 800,
        };
        let mut ours = ours_line(release, &fleet, &work, dir)?;
        let mut theirs = python_line(python, &fleet, &work)?;
        let (our_spread, our_408) = ours_spread(release, &fleet, if quick { 1 } else { 5 })?;
        let (their_spread, their_408) = python_spread(python, &fleet)?;
        ours["spread_ms"] = json!(our_spread);
        theirs["spread_ms"] = json!(their_spread);
        ours["timeouts_408"] = json!(ours["timeouts_408"].as_u64().unwrap_or(0) + our_408);
        theirs["timeouts_408"] = json!(theirs["timeouts_408"].as_u64().unwrap_or(0) + their_408);
        for client in [&mut ours, &mut theirs] {
            let per_round = client["client_cpu_s_per_round"]
                .as_f64()
                .unwrap_or(f64::NAN);
            client["client_cpu_us_per_call"] = json!(per_round / count as f64 * 1e6);
        }
        eprintln!(
            "xtask: http, {}: ours {ours}\n       10.5.0 {theirs}",
            fleet.name
        );
        lines.push(json!({"fleet": fleet.name, "axons": count, "clients": [ours, theirs]}));
    }
    Ok(lines)
}

/// `dendrite-py/bench/bench_http.py`: rounds from Python, `dendrite_rs.http` (`ours`) or the
/// real 10.5.0 `Dendrite` (`real`), each in a process of its own (peak RSS is the client's).
fn python_face_line(
    python: &Path,
    fleet: &Fleet,
    client: &str,
    synapse: &str,
    rounds: usize,
) -> Result<Value> {
    let mut bench = Command::new(python);
    bench
        .arg(util::root().join("dendrite-py/bench/bench_http.py"))
        .args(["--client", client, "--synapse", synapse])
        .args(["--rounds", &rounds.to_string()])
        .arg("--axons")
        .arg(&fleet.file)
        .env("DENDRITE_SHARED", util::shared());
    let line = crate::bench_run::json_of(&mut bench, "dendrite-py/bench/bench_http.py")?;
    let success_rate = line["success_rate"].as_f64().unwrap_or(0.0);
    ensure!(
        success_rate >= crate::bench_run::MIN_SUCCESS,
        "dendrite-py/bench/bench_http.py ({client}): success rate {success_rate} below {}, \
         not reported: {line}",
        crate::bench_run::MIN_SUCCESS
    );
    Ok(line)
}

/// [`python_face_line`] run `runs` times (alternating with the other clients' runs is the
/// caller's), the median by client CPU per call.
fn python_face_median(
    python: &Path,
    fleet: &Fleet,
    client: &str,
    synapse: &str,
    rounds: usize,
    runs: usize,
) -> Result<Value> {
    util::median_run(
        runs,
        || python_face_line(python, fleet, client, synapse, rounds),
        cpu_per_call,
    )
}

/// A Python line's client CPU per call, µs (NaN where missing).
fn cpu_per_call(line: &Value) -> f64 {
    line["client_cpu_us_per_call"].as_f64().unwrap_or(f64::NAN)
}

/// The bytes of the 1 MiB `TensorEcho` call: `x` as base64 (1,398,144 bytes of its msgpack).
const TENSOR_ECHO_STRING_BYTES: f64 = 1_398_144.0;

/// The floor of a 1 MiB `TensorEcho` call on this machine, µs: its wire bytes (x sent; x and y
/// back) through loopback TCP, and the two 1.4 MB strings the user's class holds made at memcpy
/// speed.
fn tensor_echo_floor_us(loopback_gbps: f64, memcpy_gbps: f64) -> f64 {
    let wire = 3.0 * TENSOR_ECHO_STRING_BYTES / (loopback_gbps * 1e9);
    let strings = 2.0 * TENSOR_ECHO_STRING_BYTES / (memcpy_gbps * 1e9);
    (wire + strings) * 1e6
}

/// From Python: `dendrite_rs.http` and the 10.5.0 `Dendrite` at 16, 256 and 1,024 of our axons
/// (one `toy-axons` process each) with `Dummy`, with a 1 MiB `TensorEcho` at 16 (beside its
/// floor from this run's loopback and memcpy figures) and with a price-path subnet's answers
/// (`Paths`: 100 × 289 floats) at 256; with `Dummy`, ours also signing through a
/// `bittensor_wallet.Keypair`, with `Paths`, ours also reading the paths into numpy in Rust
/// (`arrays=`); our CLI's rounds on the same fleet for the rounds/s comparison.
fn python_face(
    release: &Path,
    python: &Path,
    dir: &Path,
    quick: bool,
    via_compare: bool,
) -> Result<Vec<Value>> {
    // The wheel `compare` built a moment ago (its Python lines), else a fresh one.
    let built = std::fs::read_dir(util::root().join("target").join("wheels"))
        .ok()
        .and_then(|dir| {
            dir.filter_map(|e| e.ok().map(|e| e.path()))
                .find(|p| p.extension().is_some_and(|x| x == "whl"))
        });
    let wheel = match built {
        Some(wheel) if via_compare => wheel,
        _ => crate::python::build_wheel(&util::peer_python()?)?,
    };
    crate::python::install(python, &wheel)?;
    let mut lines = Vec::new();
    let rounds = |ours: usize, real: usize| if quick { (2, 1) } else { (ours, real) };
    let cases = [
        (16usize, "Dummy", rounds(40, 15)),
        (16, "TensorEcho", rounds(10, 5)),
        (if quick { 4 } else { 256 }, "Paths", rounds(5, 2)),
        (256, "Dummy", rounds(15, 3)),
        (1024, "Dummy", rounds(6, 2)),
    ];
    // The CI smoke (`--quick`) runs every path once, on small fleets.
    let cases = if quick { &cases[..3] } else { &cases[..] };
    // Medians of 3 runs for the lines the issues' targets are read from.
    let runs = if quick { 1 } else { 3 };
    for &(count, synapse, (ours_rounds, real_rounds)) in cases {
        let fleet = toy_fleet(release, dir, count)?;
        let ours_runs = if synapse == "Dummy" { 1 } else { runs };
        let ours = python_face_median(python, &fleet, "ours", synapse, ours_rounds, ours_runs)?;
        let real = python_face_line(python, &fleet, "real", synapse, real_rounds)?;
        // The same calls signed by a `bittensor_wallet.Keypair` (its own `sign`, with the GIL,
        // per request) rather than by a key the client holds.
        let keypair = if synapse == "Dummy" {
            python_face_line(python, &fleet, "ours-keypair", synapse, ours_rounds)?
        } else {
            Value::Null
        };
        // The paths read in Rust straight into numpy arrays (`arrays=`).
        let arrays = if synapse == "Paths" {
            python_face_median(python, &fleet, "ours-arrays", synapse, ours_rounds, runs)?
        } else {
            Value::Null
        };
        let cli = if synapse == "Dummy" {
            let work = Workload {
                name: "Dummy (tiny)",
                synapse: "Dummy",
                fields: r#"{"dummy_input": 21, "dummy_output": null}"#.into(),
                ours_rounds: ours_rounds.max(2),
                python_rounds: 0,
                body_bytes: 800,
            };
            ours_line(release, &fleet, &work, dir)?
        } else {
            Value::Null
        };
        let number = |v: &Value, key: &str| v[key].as_f64().unwrap_or(f64::NAN);
        let cpu_ratio = cpu_per_call(&real) / cpu_per_call(&ours);
        let of_cli = number(&ours, "rounds_per_s") / (1e3 / number(&cli, "round_ms_p50"));
        // This run's machine figures beside the large answers' line, and their floor.
        let machine = if synapse == "TensorEcho" {
            let loopback = crate::machine::loopback_gbps()?;
            let memcpy = crate::machine::memcpy_gbps(TENSOR_ECHO_STRING_BYTES as usize);
            json!({"loopback_gbps": loopback, "memcpy_gbps": memcpy,
                   "floor_us_per_call": tensor_echo_floor_us(loopback, memcpy)})
        } else {
            Value::Null
        };
        eprintln!(
            "xtask: http from Python, {count} axons, {synapse}: ours {ours}\n       real {real}"
        );
        lines.push(json!({"axons": count, "synapse": synapse, "ours": ours, "real": real, "keypair": keypair,
                          "arrays": arrays, "cli": cli, "machine": machine,
                          "real_cpu_over_ours": cpu_ratio, "ours_rounds_of_cli": of_cli}));
    }
    Ok(lines)
}

/// From Python against real 10.5.0 axons (4 `axon.py`; 1 in the smoke): 30 back-to-back rounds
/// of `Dummy`, as a new user tries it, ours and the 10.5.0 `Dendrite` alternating, the median
/// of 5 runs each (30 rounds are ~30 ms of our CPU: single runs swing by ±15% on a 2-vCPU
/// machine that also runs the 4 axons).
fn python_on_real_axons(python: &Path, dir: &Path, quick: bool) -> Result<Value> {
    let fleet = real(python, dir, if quick { 1 } else { 4 })?;
    let (rounds, runs) = if quick { (2, 1) } else { (30, 5) };
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for _ in 0..runs {
        ours.push(python_face_line(python, &fleet, "ours", "Dummy", rounds)?);
        theirs.push(python_face_line(python, &fleet, "real", "Dummy", rounds)?);
    }
    let (ours, real) = (
        util::median_by(ours, cpu_per_call),
        util::median_by(theirs, cpu_per_call),
    );
    let ratio = cpu_per_call(&real) / cpu_per_call(&ours);
    eprintln!(
        "xtask: http from Python, {}: ours {ours}\n       real {real}",
        fleet.name
    );
    Ok(
        json!({"fleet": fleet.name, "axons": fleet.axons, "rounds": rounds, "runs": runs,
              "ours": ours, "real": real, "real_cpu_over_ours": ratio}),
    )
}

/// Every line of the section; `via_compare` when `cargo xtask bench` (compare) runs it, after
/// building the wheel of this tree.
pub fn run(release: &Path, dir: &Path, quick: bool, via_compare: bool) -> Result<Value> {
    let python = util::peer10_python()?;
    let from_python = python_face(release, &python, dir, quick, via_compare)?;
    let on_real_axons = python_on_real_axons(&python, dir, quick)?;
    let large_fleets = large(release, &python, dir, quick)?;
    let (ours_count, real_count) = if quick { (4, 1) } else { (16, 4) };
    let fleets = [
        ours(release, dir, ours_count)?,
        real(&python, dir, real_count)?,
    ];
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
    Ok(
        json!({"separate": lines, "large": large_fleets, "python": from_python,
              "python_real_axons": on_real_axons}),
    )
}

/// The BENCHMARKS.md section of these lines.
pub fn report(lines: &Value) -> String {
    let mut out = String::from(
        "\n## The 10.x HTTP wire: ours and the bittensor 10.5.0 dendrite\n\n\
         `cargo xtask bench http`: `dendrite query --protocol http` (CPU from `wait4`, a 1-round run subtracted) \
         and the real 10.5.0 `Dendrite` (`shared/peer10/dendrite.py bench`, its own CPU) in the \
         same run, against separate axon processes: ours (`dendrite axon --protocol http`) and \
         the real 10.5.0 axon. Client CPU per round, per call and per request byte; the round's \
         median wall time. Each line is the median of 3 runs by CPU.\n\n\
         | fleet | workload | client | CPU per round | per call | per byte | round p50 | Python ÷ ours |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for line in lines["separate"].as_array().into_iter().flatten() {
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
    out.push_str(
        "\nLarge fleets, `Dummy`, default 12 s timeout (ours 20 rounds, 10.5.0 3): client CPU per \
         call, round p50 / p99, first-to-last spread of one round's answers (median of 5 rounds \
         for ours, one round for 10.5.0), false 408s over all rounds, peak RSS.\n\n\
         | fleet | client | CPU per call | round p50 / p99 | spread | false 408s | peak RSS |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for line in lines["large"].as_array().into_iter().flatten() {
        for client in line["clients"].as_array().into_iter().flatten() {
            let number = |key: &str| client[key].as_f64().unwrap_or(f64::NAN);
            out.push_str(&format!(
                "| {} | {} | {:.1} µs | {:.1} / {} ms | {:.1} ms | {} | {:.0} MB |\n",
                line["fleet"].as_str().unwrap_or("?"),
                client["client"].as_str().unwrap_or("?"),
                number("client_cpu_us_per_call"),
                number("round_ms_p50"),
                client["round_ms_p99"]
                    .as_f64()
                    .map_or("-".into(), |v| format!("{v:.1}")),
                number("spread_ms"),
                client["timeouts_408"].as_u64().unwrap_or(0),
                number("peak_rss_mb"),
            ));
        }
    }
    out.push_str(
        "\nFrom Python (`dendrite-py/bench/bench_http.py`, each client a process of its own, \
         10.5.0's venv): `dendrite_rs.http.Dendrite` and the real 10.5.0 `Dendrite` against one \
         `toy-axons --protocol http` process; our CLI's rounds on the same fleet.\n\n\
         | axons | synapse | client | rounds/s | CPU per call | spread p50 | 408s | peak RSS | 10.5.0 CPU ÷ ours | ours ÷ CLI rounds/s |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    for line in lines["python"].as_array().into_iter().flatten() {
        for key in ["ours", "keypair", "arrays", "real"] {
            let client = &line[key];
            if client.is_null() {
                continue;
            }
            let number = |key: &str| client[key].as_f64().unwrap_or(f64::NAN);
            out.push_str(&format!(
                "| {} | {} | {} | {:.1} | {:.0} µs | {:.1} ms | {} | {:.0} MB | {:.1}× | {} |\n",
                line["axons"],
                line["synapse"].as_str().unwrap_or("?"),
                client["client"].as_str().unwrap_or("?"),
                number("rounds_per_s"),
                number("client_cpu_us_per_call"),
                number("spread_ms_p50"),
                client["timeouts_408"].as_u64().unwrap_or(0),
                number("peak_rss_mb"),
                number("client_cpu_us_per_call").recip()
                    * line["real"]["client_cpu_us_per_call"]
                        .as_f64()
                        .unwrap_or(f64::NAN),
                // No CLI line for this synapse: nothing to compare with.
                line["ours_rounds_of_cli"]
                    .as_f64()
                    .filter(|of_cli| of_cli.is_finite())
                    .map_or("-".into(), |of_cli| format!("{:.0}%", of_cli * 100.0)),
            ));
        }
    }
    for line in lines["python"].as_array().into_iter().flatten() {
        let machine = &line["machine"];
        if machine.is_null() {
            continue;
        }
        let number = |v: &Value, key: &str| v[key].as_f64().unwrap_or(f64::NAN);
        let ours = cpu_per_call(&line["ours"]);
        let floor = number(machine, "floor_us_per_call");
        out.push_str(&format!(
            "\nLarge answers (`{}` of a 1 MiB tensor, {} axons): ours {:.0} µs of client CPU per call against a \
             floor of {:.0} µs on this machine in this run ({:.1}× the floor): the call's wire bytes (x sent, x and \
             y back) through loopback TCP at {:.1} GB/s and its two 1.4 MB strings made at memcpy speed, {:.1} GB/s.\n",
            line["synapse"].as_str().unwrap_or("?"),
            line["axons"],
            ours,
            floor,
            ours / floor,
            number(machine, "loopback_gbps"),
            number(machine, "memcpy_gbps"),
        ));
    }
    let real_axons = &lines["python_real_axons"];
    if !real_axons.is_null() {
        out.push_str(&format!(
            "\nFrom Python against {}: {} back-to-back rounds of `Dummy`, the median of {} runs each, \
             alternating: ours {:.0} µs of client CPU per call, the 10.5.0 `Dendrite` {:.0} µs: **{:.1}×**.\n",
            real_axons["fleet"].as_str().unwrap_or("?"),
            real_axons["rounds"],
            real_axons["runs"],
            cpu_per_call(&real_axons["ours"]),
            cpu_per_call(&real_axons["real"]),
            real_axons["real_cpu_over_ours"].as_f64().unwrap_or(f64::NAN),
        ));
    }
    out
}
