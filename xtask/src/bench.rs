//! `cargo xtask bench [--quick]`: our dendrite and the Python bittensor 3.7.0 dendrite driving
//! the same workloads against the same toy axons in one run, next to the machine's limits.
//!
//! Axons: 4,096 memoized toy axons in one process (`toy-axons --memo`: answers are replayed, so
//! the clients are what is measured). Clients: `dendrite bench`, the same workload from Python
//! through `dendrite_rs` (`dendrite-py/bench/bench.py`, in the peer's venv) and
//! `../shared/peer/dendrite.py bench`, one process per workload, the same endpoint file.
//! Then what users run against axons that are processes of their own and compute
//! (`bench_processes.rs`). Writes `target/bench/results.json` and, unless `--quick`,
//! `BENCHMARKS.md`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{ensure, Result};
use serde_json::{json, Value};

use crate::bench_run::{bench_line_of, json_of};
use crate::machine::{loopback_gbps, memcpy_gbps};
use crate::util::{self, ChildGuard};

/// One workload: both clients run it unless `python` is false.
struct Workload {
    name: &'static str,
    synapse: &'static str,
    endpoints: usize,
    batch: usize,
    seq: usize,
    rounds: usize,
    backward: bool,
    python: bool,
}

impl Workload {
    /// Whether a round's payload is what it moves: hidden states of more than one token,
    /// forward only (the rows read against the loopback stream; tiny answers are read per call).
    fn is_bulk(&self) -> bool {
        self.synapse == "last_hidden" && !self.backward && self.batch * self.seq > 1
    }
}

/// Rounds are sized so that each of our runs takes a few seconds: the per-call and per-byte
/// figures vary by ±10% between short runs on 2 shared cores.
fn workloads(quick: bool) -> Vec<Workload> {
    let w = |name, synapse, endpoints, (batch, seq), rounds: usize, backward, python| Workload {
        name,
        synapse,
        endpoints,
        batch,
        seq,
        rounds: if quick { rounds.min(2) } else { rounds },
        backward,
        python,
    };
    let mut all = vec![
        w(
            "hidden state [10,20,1024] f32, N=1",
            "last_hidden",
            1,
            (10, 20),
            50,
            false,
            true,
        ),
        w(
            "hidden state [10,20,1024] f32, N=16",
            "last_hidden",
            16,
            (10, 20),
            30,
            false,
            true,
        ),
        w(
            "hidden state [10,20,1024] f32, N=256",
            "last_hidden",
            256,
            (10, 20),
            30,
            false,
            true,
        ),
        w(
            "hidden state [10,20,1024] f32, N=1024",
            "last_hidden",
            1024,
            (10, 20),
            6,
            false,
            true,
        ),
        w(
            "causal LM topk 512 [2,8], N=256",
            "causal_lm",
            256,
            (2, 8),
            6,
            false,
            true,
        ),
        w(
            "tiny [1,1], N=4096",
            "last_hidden",
            4096,
            (1, 1),
            8,
            false,
            true,
        ),
        w(
            "forward+backward [10,20,1024], N=256",
            "last_hidden",
            256,
            (10, 20),
            6,
            true,
            false,
        ),
    ];
    if quick {
        all.retain(|w| w.endpoints <= 256);
    }
    all
}

/// User + system CPU seconds of process `pid` so far (0 when it cannot be read).
fn process_cpu_s(pid: u32) -> f64 {
    let Ok(pid) = i32::try_from(pid) else {
        return 0.0;
    };
    procfs::process::Process::new(pid)
        .and_then(|process| process.stat())
        .map_or(0.0, |stat| {
            (stat.utime + stat.stime) as f64 / procfs::ticks_per_second() as f64
        })
}

/// Runs a client and adds to its JSON line the CPU the axons' process spent meanwhile, per
/// call the client made (`calls`, warm-up rounds included).
fn with_axon_cpu(
    axon_pid: u32,
    calls: usize,
    run: impl FnOnce() -> Result<Value>,
) -> Result<Value> {
    let before = process_cpu_s(axon_pid);
    let mut line = run()?;
    let spent = process_cpu_s(axon_pid) - before;
    line["axon_cpu_s"] = json!(spent);
    line["axon_cpu_us_per_call"] = json!(spent / calls.max(1) as f64 * 1e6);
    Ok(line)
}

fn subset(all: &[Value], n: usize, dir: &Path) -> Result<PathBuf> {
    let path = dir.join(format!("endpoints-{n}.json"));
    std::fs::write(&path, Value::Array(all[..n].to_vec()).to_string())?;
    Ok(path)
}

pub fn run(quick: bool) -> Result<()> {
    let started = Instant::now();
    // Quick (CI smoke) reuses the debug build the tests made; the real run measures the `dist` build users get.
    crate::setup::export()?;
    let release = if quick {
        let mut args = vec!["build"];
        args.extend(util::SELECTION);
        args.extend(["--bin", "dendrite", "--bin", "toy-axons"]);
        util::cargo(&args)?;
        util::root().join("target").join("debug")
    } else {
        util::dist_bins()?
    };
    let (python, _wheel) = crate::python::ready_python()?;
    let dir = util::root().join("target").join("bench");
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("endpoints.json");
    let mut axons = Command::new(release.join("toy-axons"));
    axons
        .args(["--count", "4096", "--memo", "--out"])
        .arg(&file);
    let axons: ChildGuard =
        util::start_server(axons, "AXONS READY", Duration::from_secs(180), "toy-axons")?;
    let fleet = Fleet {
        release: &release,
        python: &python,
        dir: &dir,
        axon_pid: axons.0.id(),
        all: serde_json::from_str(&std::fs::read_to_string(&file)?)?,
    };
    let limits = json!({
        "memcpy_gbps_0.8MB": memcpy_gbps(819_200),
        "memcpy_gbps_40MB": memcpy_gbps(40 << 20),
        "loopback_tcp_gbps_one_stream": loopback_gbps()?,
    });
    eprintln!("xtask: machine limits {limits}");
    let rows = workloads(quick)
        .iter()
        .map(|w| fleet.workload(w))
        .collect::<Result<Vec<_>>>()?;
    drop(axons);
    let separate_axons = crate::bench_processes::run(&release, &python, &dir, quick)?;
    let http = crate::bench_http::run(&release, &dir, quick, true)?;
    let policies = crate::bench_policies::run(quick, &release, &dir)?;
    let phase_clock = phase_clock()?;
    let results = json!({"date": date(), "machine": machine(), "limits": limits, "quick": quick,
                         "workloads": rows, "separate_axons": separate_axons, "http": http,
                         "policies": policies,
                         "phase_clock": phase_clock});
    std::fs::write(
        dir.join("results.json"),
        serde_json::to_string_pretty(&results)?,
    )?;
    if !quick {
        let path = util::root().join("BENCHMARKS.md");
        let kept = std::fs::read_to_string(&path).unwrap_or_default();
        let rest = crate::bench_rest::section_of(&kept)
            .map(|section| format!("\n{section}"))
            .unwrap_or_default();
        std::fs::write(&path, report(&results) + &rest)?;
    }
    eprintln!(
        "xtask: bench done in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The memoized fleet every workload runs against, and what runs the clients.
struct Fleet<'a> {
    release: &'a Path,
    python: &'a Path,
    dir: &'a Path,
    axon_pid: u32,
    /// Every axon's endpoint (a workload takes the first N).
    all: Vec<Value>,
}

impl Fleet<'_> {
    /// One workload, ours, dendrite_rs and (where it runs) the Python dendrite: a row of
    /// `results.json`'s `workloads`.
    fn workload(&self, w: &Workload) -> Result<Value> {
        let endpoints = subset(&self.all, w.endpoints, self.dir)?;
        let common = |c: &mut Command| {
            c.args(["--synapse", w.synapse])
                .args(["--rounds", &w.rounds.to_string()])
                .args(["--batch", &w.batch.to_string(), "--seq", &w.seq.to_string()])
                .args(["--timeout", "30"])
                .arg("--endpoints")
                .arg(&endpoints);
            if w.backward {
                c.arg("--backward");
            }
        };
        // Calls each client makes (the CLI and dendrite_rs warm up with 2 rounds, the Python
        // script does not; a backward round makes as many calls again).
        let per_round = w.endpoints * if w.backward { 2 } else { 1 };
        let mut ours = Command::new(self.release.join("dendrite"));
        common(ours.arg("bench"));
        let ours = with_axon_cpu(self.axon_pid, per_round * (w.rounds + 2), || {
            bench_line_of(&mut ours, "dendrite bench")
        })?;
        let mut face = Command::new(self.python);
        common(
            face.arg(
                util::root()
                    .join("dendrite-py")
                    .join("bench")
                    .join("bench.py"),
            ),
        );
        let face = with_axon_cpu(self.axon_pid, per_round * (w.rounds + 2), || {
            bench_line_of(&mut face, "dendrite-py/bench/bench.py")
        })?;
        let theirs = if w.python {
            let mut py = Command::new(self.python);
            common(
                py.arg(util::shared().join("peer").join("dendrite.py"))
                    .arg("bench"),
            );
            Some(with_axon_cpu(self.axon_pid, per_round * w.rounds, || {
                bench_line_of(&mut py, "dendrite.py bench")
            })?)
        } else {
            None
        };
        eprintln!(
            "xtask: {} → ours {ours}\n       dendrite_rs {face}\n       python {}",
            w.name,
            theirs.as_ref().map_or("-".into(), |t| t.to_string())
        );
        for (client, line) in [("our", &ours), ("dendrite_rs", &face)] {
            ensure!(
                line["success_rate"].as_f64() == Some(1.0),
                "{}: {client} calls failed: {line}",
                w.name
            );
        }
        Ok(
            json!({"workload": w.name, "bulk": w.is_bulk(), "ours": ours, "python": theirs,
                  "dendrite_rs": face}),
        )
    }
}

fn date() -> String {
    Command::new("date")
        .arg("-u")
        .arg("+%Y-%m-%d")
        .output()
        .map_or_else(
            |_| "?".into(),
            |o| String::from_utf8_lossy(&o.stdout).trim().to_string(),
        )
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} vCPU, {cpu}")
}

fn f(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or(f64::NAN)
}

/// What timing a call's phases costs per call (`dendrite-core`'s `phase_clock` example,
/// release).
pub(crate) fn phase_clock() -> Result<Value> {
    json_of(
        util::cargo_command()
            .args(["run", "--release", "--quiet", "--package", "dendrite-core"])
            .args(["--example", "phase_clock"]),
        "the phase clock example",
    )
}

/// The BENCHMARKS.md text.
fn report(results: &Value) -> String {
    let limits = &results["limits"];
    let mut out = format!(
        "# Benchmarks\n\nOur dendrite (`dendrite bench`) and the Python bittensor 3.7.0 dendrite (`../shared/peer/dendrite.py bench`)\n\
driving the same workloads against the same 4,096 memoized toy axons (a second process on the same machine,\n\
sharing its cores), one client process per workload. Command: `cargo xtask bench`. Date: {}. Machine: {}.\n\n\
Machine limits measured in the same run: memcpy {:.1} GB/s (0.8 MB) and {:.1} GB/s (40 MB); one loopback TCP\n\
stream {:.2} GB/s.\n\n\
| workload | ours: rounds/s | p50 / p99 round | CPU s/round | peak RSS | Python: rounds/s | p50 / p99 round | CPU s/round | peak RSS | speed-up | CPU ratio (Py/ours) |\n\
|---|---|---|---|---|---|---|---|---|---|---|\n",
        results["date"].as_str().unwrap_or("?"),
        results["machine"].as_str().unwrap_or("?"),
        f(limits, "memcpy_gbps_0.8MB"),
        f(limits, "memcpy_gbps_40MB"),
        f(limits, "loopback_tcp_gbps_one_stream"),
    );
    for row in results["workloads"].as_array().into_iter().flatten() {
        let o = &row["ours"];
        let ours_rate = f(o, "rounds_per_s");
        let ours_cpu = f(o, "client_cpu_s_per_round");
        let ours_cells = format!(
            "{:.2} | {:.1} / {:.1} ms | {:.3} | {:.0} MB",
            ours_rate,
            f(o, "round_s_p50") * 1e3,
            f(o, "round_s_p99") * 1e3,
            ours_cpu,
            f(o, "peak_rss_mb")
        );
        let py_cells = match row.get("python").filter(|p| !p.is_null()) {
            Some(p) => {
                let rounds = p["rounds"].as_f64().unwrap_or(1.0);
                let p50 = f(p, "round_s_p50");
                let rate = 1.0 / p50;
                let cpu = f(p, "client_cpu_s") / rounds;
                format!(
                    "{:.2} | {:.1} / {:.1} ms | {:.3} | {:.0} MB | **{:.1}×** | {:.1}×",
                    rate,
                    p50 * 1e3,
                    f(p, "round_s_p99") * 1e3,
                    cpu,
                    f(p, "peak_rss_mb"),
                    ours_rate / rate,
                    cpu / ours_cpu
                )
            }
            None => "not run¹ | - | - | - | - | -".into(),
        };
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            row["workload"].as_str().unwrap_or("?"),
            ours_cells,
            py_cells
        ));
    }
    let payload: Vec<String> = results["workloads"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["bulk"].as_bool() == Some(true))
        .map(|r| {
            format!(
                "{}: {:.2} GB/s ({:.0}% of the loopback stream)",
                r["workload"].as_str().unwrap_or("?"),
                f(&r["ours"], "payload_gb_per_s"),
                100.0 * f(&r["ours"], "payload_gb_per_s")
                    / f(limits, "loopback_tcp_gbps_one_stream")
            )
        })
        .collect();
    out.push_str(&format!(
        "\n¹ The Python 3.7.0 dendrite cannot deliver Backward: its receptor cancels the call right after creating it.\n\
Python rounds/s is 1 / its median round (its script reports latencies, not a rate). Speed-up = our rounds/s ÷ Python's.\n\
Response payload received by our client: {}.\n",
        payload.join("; ")
    ));
    out.push_str(&format!(
        "Phase clock (per endpoint x call: queue, sign, connect, send, wait, receive, decode; \
         `cargo xtask bench phases`): {:.0} ns per call, no system call (vDSO clock reads).\n",
        f(&results["phase_clock"], "phase_clock_ns_per_call")
    ));
    out.push_str(&per_call_report(results));
    out.push_str(&python_face_report(results));
    out.push_str(&crate::bench_processes::report(&results["separate_axons"]));
    out.push_str(&crate::bench_http::report(&results["http"]));
    if let Some(policies) = results["policies"].as_array() {
        out.push_str(&crate::bench_policies::report(policies));
    }
    out.push_str("\nRaw figures: `target/bench/results.json`.\n");
    out
}

/// Client CPU per call and per received byte, allocations per call, the axons' CPU per call,
/// and how a round compares with pushing its bytes through one loopback stream.
fn per_call_report(results: &Value) -> String {
    let loopback = f(&results["limits"], "loopback_tcp_gbps_one_stream") * 1e9;
    let mut out = String::from(
        "\n## Per call and per byte\n\n\
Client CPU per endpoint call and per response payload byte received (same run as above; Python's bytes per\n\
round are ours: same axons, same requests), allocations per call (a counting allocator in `dendrite bench`),\n\
CPU of the axons' process per call while each client ran (our axon is on every benchmark's critical path), and\n\
for the hidden-state rounds our median round against the time one loopback TCP stream takes to carry the\n\
round's payload. Per-call CPU is process CPU over the measured rounds (10 ms ticks: coarse for N=1).\n\n\
| workload | ours: CPU µs/call | ns/byte | allocations/call | Python: CPU µs/call | ns/byte | axon CPU µs/call (ours / Python) | round ÷ loopback |\n\
|---|---|---|---|---|---|---|---|\n",
    );
    for row in results["workloads"].as_array().into_iter().flatten() {
        let o = &row["ours"];
        let calls = f(o, "endpoints");
        let bytes = f(o, "payload_bytes_per_round");
        let ours_cpu = f(o, "client_cpu_s_per_round");
        let per_byte = |cpu: f64| {
            if bytes > 0.0 {
                format!("{:.3}", cpu / bytes * 1e9)
            } else {
                "-".into()
            }
        };
        let (py_call, py_byte, py_axon) = match row.get("python").filter(|p| !p.is_null()) {
            Some(p) => {
                let cpu = f(p, "client_cpu_s") / p["rounds"].as_f64().unwrap_or(1.0);
                (
                    format!("{:.1}", cpu / calls * 1e6),
                    per_byte(cpu),
                    format!("{:.1}", f(p, "axon_cpu_us_per_call")),
                )
            }
            None => ("-".into(), "-".into(), "-".into()),
        };
        // Only where the payload is what a round moves (hidden states, forward only).
        let bulk = row["bulk"].as_bool() == Some(true);
        let loopback_ratio = if bulk && bytes > 0.0 && loopback > 0.0 {
            format!("{:.1}×", f(o, "round_s_p50") / (bytes / loopback))
        } else {
            "-".into()
        };
        out.push_str(&format!(
            "| {} | {:.1} | {} | {:.1} | {} | {} | {:.1} / {} | {} |\n",
            row["workload"].as_str().unwrap_or("?"),
            ours_cpu / calls * 1e6,
            per_byte(ours_cpu),
            f(o, "allocations_per_call"),
            py_call,
            py_byte,
            f(o, "axon_cpu_us_per_call"),
            py_axon,
            loopback_ratio,
        ));
    }
    out
}

/// The table of the same workloads driven from Python through `dendrite_rs`, next to the CLI.
fn python_face_report(results: &Value) -> String {
    let mut out = String::from(
        "\n## From Python (`dendrite_rs`)\n\n\
The same workloads driven from Python through the `dendrite_rs` module (`dendrite-py/bench/bench.py`, torch\n\
tensors out, awaited Backward), next to the CLI above, same run. Target: within 15% of the CLI.\n\n\
| workload | rounds/s | p50 / p99 round | CPU s/round | peak RSS | rounds/s vs CLI | CPU/round vs CLI | vs Python 3.7.0 |\n\
|---|---|---|---|---|---|---|---|\n",
    );
    for row in results["workloads"].as_array().into_iter().flatten() {
        let (cli, face) = (&row["ours"], &row["dendrite_rs"]);
        if face.is_null() {
            continue;
        }
        let versus_python = match row.get("python").filter(|p| !p.is_null()) {
            Some(p) => format!(
                "{:.1}× rounds/s",
                f(face, "rounds_per_s") * f(p, "round_s_p50")
            ),
            None => "-".into(),
        };
        out.push_str(&format!(
            "| {} | {:.2} | {:.1} / {:.1} ms | {:.3} | {:.0} MB | {:.2} | {:.2} | {} |\n",
            row["workload"].as_str().unwrap_or("?"),
            f(face, "rounds_per_s"),
            f(face, "round_s_p50") * 1e3,
            f(face, "round_s_p99") * 1e3,
            f(face, "client_cpu_s_per_round"),
            f(face, "peak_rss_mb"),
            f(face, "rounds_per_s") / f(cli, "rounds_per_s"),
            f(face, "client_cpu_s_per_round") / f(cli, "client_cpu_s_per_round"),
            versus_python,
        ));
    }
    out
}
