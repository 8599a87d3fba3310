//! `cargo xtask interop [--write]`: our dendrite and axon against the real Python bittensor
//! 3.7.0 axon and dendrite (`../shared/peer/`), both directions, on 127.0.0.1.
//!
//! 1. Python axon (`--backward`) ← our dendrite and the Python dendrite, the same calls: codes,
//!    output shapes and dtypes must agree; our values must be sane; Backward is answered.
//! 2. Our axon (`toy-axons --info-out`) ← the Python dendrite and `raw_cases.py`: every case
//!    gives the Python axon's gRPC status and return code, except the two the Python axon
//!    crashes on (empty tensor list, two synapses with one tensor), which we answer
//!    `RequestShapeException`.
//! 3. Our dendrite → both axons plus a wrong hotkey, a closed port and a black hole, in one
//!    call: Success, Success, Unauthenticated, Unavailable, Timeout.
//!
//! Every process started here is killed on every exit path. `--write` also writes INTEROP.md.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use serde_json::{json, Value};

use crate::util::{self, ChildGuard};

/// Starts a server; returns once it prints `AXON READY`.
fn start(command: Command, what: &str) -> Result<ChildGuard> {
    util::start_server(command, "AXON READY", Duration::from_secs(90), what)
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Runs a client to completion (with a time limit) and returns its JSON lines.
fn json_lines(command: &mut Command, what: &str) -> Result<Vec<Value>> {
    use std::os::unix::process::CommandExt;
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {what}"))?;
    let guard = ChildGuard(child);
    let started = Instant::now();
    let mut guard = guard;
    loop {
        if let Some(status) = guard.0.try_wait()? {
            let mut out = String::new();
            let mut err = String::new();
            use std::io::Read;
            if let Some(mut s) = guard.0.stdout.take() {
                s.read_to_string(&mut out)?;
            }
            if let Some(mut s) = guard.0.stderr.take() {
                s.read_to_string(&mut err)?;
            }
            ensure!(status.success(), "{what} failed ({status}):\n{out}\n{err}");
            return Ok(out
                .lines()
                .filter(|l| l.starts_with('{'))
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect());
        }
        ensure!(
            started.elapsed() < Duration::from_secs(120),
            "{what} ran past 120 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn f64_of(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

fn by_key<'a>(lines: &'a [Value], key: &str) -> BTreeMap<String, &'a Value> {
    lines
        .iter()
        .filter_map(|l| Some((l.get(key)?.as_str()?.to_string(), l)))
        .collect()
}

/// Our dendrite's lines against the Python dendrite's, same axon: same calls, codes, shapes.
fn compare_dendrites(
    axon: &str,
    python: &[Value],
    ours: &[Value],
    rows: &mut Vec<[String; 4]>,
) -> Result<()> {
    let (python, ours) = (by_key(python, "call"), by_key(ours, "call"));
    for (call, py) in &python {
        let rs = ours
            .get(call)
            .with_context(|| format!("{axon}: our dendrite has no `{call}`"))?;
        ensure!(
            py["codes"] == rs["codes"],
            "{axon} `{call}`: codes {} (Python) vs {} (ours)",
            py["codes"],
            rs["codes"]
        );
        ensure!(
            rs["codes"]
                .as_array()
                .is_some_and(|c| c.iter().all(|c| c == "Success")),
            "{axon} `{call}`: not all Success: {}",
            rs["codes"]
        );
        if call != "generate" {
            ensure!(
                py["outputs"] == rs["outputs"],
                "{axon} `{call}`: outputs {} (Python) vs {} (ours)",
                py["outputs"],
                rs["outputs"]
            );
            ensure!(
                rs["sane"] == true,
                "{axon} `{call}`: our outputs are not sane"
            );
        }
        let shapes = if call == "generate" {
            "-".to_string()
        } else {
            compact(&rs["outputs"])
        };
        rows.push([
            format!("{call} → {axon} axon"),
            format!("{} {}", codes(py), shapes),
            format!("{} {}", codes(rs), shapes),
            "same".into(),
        ]);
    }
    Ok(())
}

fn compact(outputs: &Value) -> String {
    let mut out = Vec::new();
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Object(o) => out.push(format!(
                "{}{}",
                o.get("shape").map(|s| s.to_string()).unwrap_or_default(),
                o.get("dtype")
                    .and_then(Value::as_str)
                    .map_or("", |d| if d == "torch.int64" { " i64" } else { "" })
            )),
            _ => {}
        }
    }
    walk(outputs, &mut out);
    out.join(", ")
}

fn codes(line: &Value) -> String {
    let codes: Vec<&str> = line["codes"]
        .as_array()
        .map(|c| c.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let first = codes.first().copied().unwrap_or("-");
    if codes.iter().all(|c| *c == first) && codes.len() > 1 {
        format!("{} × {first}", codes.len())
    } else {
        codes.join(", ")
    }
}

fn outcome(case: &Value) -> String {
    match case["grpc_status"].as_str() {
        Some("OK") => case["return_code"].as_str().unwrap_or("?").to_string(),
        Some(status) => status.trim_start_matches("StatusCode.").to_string(),
        None => "?".into(),
    }
}

/// How long the axons serve at most, seconds: they are killed when the run ends (also on
/// failure); this only bounds an orphan's life. Generous, so that a slow machine's run is never
/// cut short by its own axons.
const AXON_LIFETIME_S: &str = "900";

pub fn run(write: bool) -> Result<()> {
    let python = util::peer_python()?;
    crate::setup::export()?;
    let targets = ["--bin", "toy-axons", "--example", "interop"];
    util::cargo(&[&["build"][..], &util::SELECTION, &targets].concat())?;
    let started = Instant::now();
    let debug = util::root().join("target").join("debug");
    let dir = util::root().join("target").join("interop");
    std::fs::create_dir_all(&dir)?;
    let peer = util::shared().join("peer");
    let (py_json, rs_json, mixed_json) = (
        dir.join("python-axon.json"),
        dir.join("our-axon.json"),
        dir.join("mixed.json"),
    );
    for f in [&py_json, &rs_json] {
        let _ = std::fs::remove_file(f);
    }

    let mut py_axon = Command::new(&python);
    py_axon
        .arg(peer.join("axon.py"))
        .args([
            "--port",
            &free_port()?.to_string(),
            "--backward",
            "--run-seconds",
            AXON_LIFETIME_S,
            "--info-out",
        ])
        .arg(&py_json);
    let _py_axon = start(py_axon, "the Python axon")?;
    let mut rs_axon = Command::new(debug.join("toy-axons"));
    rs_axon
        .args([
            "--port",
            "0",
            "--uri",
            "//Dave",
            "--seconds",
            AXON_LIFETIME_S,
            "--info-out",
        ])
        .arg(&rs_json);
    let _rs_axon = start(rs_axon, "our axon")?;

    let py_client = |endpoints: &Path| -> Result<Vec<Value>> {
        json_lines(
            Command::new(&python)
                .arg(peer.join("dendrite.py"))
                .arg("query")
                .arg("--endpoints")
                .arg(endpoints),
            "dendrite.py query",
        )
    };
    let rs_client = |args: &[&str], endpoints: &PathBuf| -> Result<Vec<Value>> {
        json_lines(
            Command::new(debug.join("examples").join("interop"))
                .args(args)
                .arg("--endpoints")
                .arg(endpoints),
            "our interop client",
        )
    };
    let raw = |endpoint: &Path| -> Result<Vec<Value>> {
        json_lines(
            Command::new(&python)
                .arg(peer.join("raw_cases.py"))
                .arg("--endpoint")
                .arg(endpoint),
            "raw_cases.py",
        )
    };

    let mut rows: Vec<[String; 4]> = Vec::new();
    // 1 + 2: both dendrites against both axons.
    for (name, endpoints) in [("Python", &py_json), ("our", &rs_json)] {
        let python_lines = py_client(endpoints)?;
        let our_lines = rs_client(&["query"], endpoints)?;
        compare_dendrites(name, &python_lines, &our_lines, &mut rows)?;
        let backward = our_lines
            .iter()
            .find(|l| {
                l["call"]
                    .as_str()
                    .is_some_and(|c| c.starts_with("backward"))
            })
            .context("no backward line")?;
        let codes: Vec<&str> = backward["codes"]
            .as_array()
            .map(|c| c.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        ensure!(
            codes.first() == Some(&"Success"),
            "{name} axon: hidden-state Backward answered {codes:?}"
        );
        if name == "our" {
            ensure!(
                codes.iter().all(|c| *c == "Success"),
                "our axon: Backward answered {codes:?}"
            );
        }
        let packed = our_lines
            .iter()
            .find(|l| l["check"] == "cmppack+gzip")
            .context("no cmppack+gzip line")?;
        let (max_abs, max_diff) = (f64_of(&packed["max_abs"]), f64_of(&packed["max_diff"]));
        ensure!(
            packed["codes"]
                .as_array()
                .is_some_and(|c| !c.is_empty() && c.iter().all(|c| c == "Success"))
                && max_diff <= max_abs * 1e-3 + 1e-6,
            "{name} axon: CMPPACK responses with gzip requests: {packed}"
        );
        rows.push([
            format!("hidden state, CMPPACK response + gzip request → {name} axon"),
            "-".into(),
            format!("Success, max |Δ| {max_diff:.1e} vs plain (max |x| {max_abs:.2})"),
            "within f16".into(),
        ]);
        rows.push([
            format!("Backward (hidden state, causal LM) → {name} axon"),
            "never sent (3.7.0 cancels its Backward call)".into(),
            codes.join(", "),
            if codes.iter().all(|c| *c == "Success") {
                "delivered".into()
            } else {
                "delivered; see note".into()
            },
        ]);
    }

    // 2: raw cases against both axons.
    let (raw_py, raw_rs) = (raw(&py_json)?, raw(&rs_json)?);
    let (raw_py, raw_rs) = (by_key(&raw_py, "case"), by_key(&raw_rs, "case"));
    ensure!(
        raw_py.len() >= 15,
        "raw_cases.py printed {} cases",
        raw_py.len()
    );
    let crashes = ["empty_tensors", "two_synapses_one_tensor"];
    for (case, py) in &raw_py {
        let rs = raw_rs
            .get(case)
            .with_context(|| format!("our axon has no raw case `{case}`"))?;
        let (py_out, rs_out) = (outcome(py), outcome(rs));
        if crashes.contains(&case.as_str()) {
            ensure!(
                py_out == "UNKNOWN",
                "`{case}`: expected the Python axon to crash, got {py_out}"
            );
            ensure!(
                rs_out == "RequestShapeException",
                "`{case}`: our axon answered {rs_out}"
            );
        } else {
            ensure!(
                py_out == rs_out,
                "`{case}`: Python axon {py_out}, our axon {rs_out}"
            );
            ensure!(
                py["details"] == rs["details"],
                "`{case}`: details {} vs {}",
                py["details"],
                rs["details"]
            );
        }
        let verdict = if py_out == rs_out {
            "same"
        } else {
            "ours answers instead of crashing"
        };
        rows.push([format!("raw case `{case}`"), py_out, rs_out, verdict.into()]);
    }

    // 3: good and bad peers in one call.
    let black_hole = TcpListener::bind("127.0.0.1:0")?;
    let hole_port = black_hole.local_addr()?.port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in black_hole.incoming().flatten() {
            held.push(stream); // accepted, never answered
        }
    });
    let closed = free_port()?;
    let info =
        |f: &Path| -> Result<Value> { Ok(serde_json::from_str(&std::fs::read_to_string(f)?)?) };
    let (py_info, rs_info) = (info(&py_json)?, info(&rs_json)?);
    const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
    let mixed = json!([
        {"hotkey": py_info["hotkey"], "ip": "127.0.0.1", "port": py_info["port"]},
        {"hotkey": rs_info["hotkey"], "ip": "127.0.0.1", "port": rs_info["port"]},
        {"hotkey": ALICE, "ip": "127.0.0.1", "port": py_info["port"]},
        {"hotkey": ALICE, "ip": "127.0.0.1", "port": closed},
        {"hotkey": ALICE, "ip": "127.0.0.1", "port": hole_port},
    ]);
    std::fs::write(&mixed_json, mixed.to_string())?;
    let lines = rs_client(&["mixed", "--timeout", "3"], &mixed_json)?;
    let line = lines
        .iter()
        .find(|l| l["call"] == "mixed")
        .context("no mixed line")?;
    let got: Vec<&str> = line["endpoints"]
        .as_array()
        .map(|e| e.iter().filter_map(|e| e["code"].as_str()).collect())
        .unwrap_or_default();
    let expected = [
        "Success",
        "Success",
        "Unauthenticated",
        "Unavailable",
        "Timeout",
    ];
    ensure!(
        got == expected,
        "mixed call: {got:?}, expected {expected:?}\n{line}"
    );
    let wall = line["wall_s"].as_f64().unwrap_or(f64::MAX);
    ensure!(wall < 3.1, "mixed call took {wall:.3} s with a 3 s timeout");
    let labels = [
        "Python axon",
        "our axon",
        "wrong hotkey",
        "closed port",
        "black hole",
    ];
    for (label, code) in labels.iter().zip(&got) {
        rows.push([
            format!("mixed call (timeout 3 s): {label}"),
            "-".into(),
            (*code).into(),
            format!("call returned in {wall:.2} s"),
        ]);
    }

    let elapsed = started.elapsed();
    let mut table = String::from("| case | Python | ours | result |\n|---|---|---|---|\n");
    for [a, b, c, d] in &rows {
        table.push_str(&format!("| {a} | {b} | {c} | {d} |\n"));
    }
    println!("{table}\ninterop passed in {:.0} s", elapsed.as_secs_f64());
    if write {
        write_report(&table)?;
    }
    Ok(())
}

fn write_report(table: &str) -> Result<()> {
    let text = format!(
        "# Interoperability with bittensor 3.7.0\n\n\
Generated by `cargo xtask interop --write` (CI runs `cargo xtask interop`, which asserts the same).\n\
The peer is the unmodified PyPI `bittensor==3.7.0` axon and dendrite from `../shared/peer/`, all on\n\
127.0.0.1. \"Python\" is the Python dendrite (first rows) or the Python axon (raw cases); \"ours\" is our\n\
dendrite (first rows) or our axon (`toy-axons`, raw cases). Shapes are compared, not values: the\n\
peer's model is randomly initialised and ours is a toy.\n\n{table}\n\
Notes\n\
- Against the Python axon the causal-LM Backward is answered `UnknownException` by the *peer's model*\n\
  (\"grad_output [2, 9, 50258] vs output [2, 9, 50257]\": its tiny GPT-2 has 50,257 logits while\n\
  bittensor's vocabulary is 50,258); the hidden-state Backward is `Success`. The Python dendrite never\n\
  delivers a Backward at all (3.7.0's receptor cancels the call right after creating it).\n\
- The Python axon crashes (gRPC UNKNOWN) on an empty tensor list and on two synapses with one tensor;\n\
  ours answers `RequestShapeException`.\n"
    );
    std::fs::write(util::root().join("INTEROP.md"), text)?;
    Ok(())
}
