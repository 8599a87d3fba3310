//! The `dendrite` binary as a user runs it: a subprocess, its output and its exit code.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn dendrite() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dendrite"));
    command.env_remove("RUST_LOG");
    command
}

pub(super) fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// One JSON value per stdout line (`--json` output).
fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Kills the child on drop.
pub(super) struct Running(pub(super) std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An endpoint file naming a loopback port nothing listens on.
fn dead_endpoint_file(dir: &std::path::Path) -> PathBuf {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let file = dir.join("dead.json");
    std::fs::write(&file, format!(r#"{{"hotkey": "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty", "ip": "127.0.0.1", "port": {port}}}"#)).unwrap();
    file
}

/// `dendrite axon` on a free port; returns the process and its endpoint file.
fn start_axon(dir: &std::path::Path) -> (Running, PathBuf, serde_json::Value) {
    start_axon_with(dir, &[])
}

/// `dendrite axon` with `extra` flags on a free port.
pub(super) fn start_axon_with(
    dir: &std::path::Path,
    extra: &[&str],
) -> (Running, PathBuf, serde_json::Value) {
    let info = dir.join("axon.json");
    let mut child = dendrite()
        .args([
            "axon",
            "--port",
            "0",
            "--uri",
            "//Bob",
            "--run-seconds",
            "60",
        ])
        .args(extra)
        .arg("--info-out")
        .arg(&info)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let line = BufReader::new(stdout).lines().next().unwrap().unwrap();
    let json = line.strip_prefix("AXON READY ").expect("AXON READY line");
    let ready: serde_json::Value = serde_json::from_str(json).unwrap();
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&info).unwrap()).unwrap();
    assert_eq!(ready, written);
    (running, info, ready)
}

#[test]
fn demo_shows_every_synapse_success_and_the_dead_endpoint_unavailable() {
    let output = dendrite()
        .args(["demo", "--axons", "3", "--rounds", "1"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let (three_x, ten_x) = stdout
        .split_once("the 10.x HTTP wire")
        .expect("the demo shows both wires");
    let rows: Vec<&str> = three_x
        .lines()
        .filter(|l| l.contains("127.0.0.1:"))
        .collect();
    assert_eq!(rows.len(), 4 * 4, "{stdout}");
    // The 10.x part: three toy HTTP axons answer Hashed (200, the text upper-cased), the
    // dead port is 10.5.0's 503, and a stream's tokens arrive in order.
    let statuses: Vec<&str> = ten_x
        .lines()
        .filter(|l| l.contains("127.0.0.1:"))
        .filter_map(|r| r.split_whitespace().nth(2))
        .collect();
    assert_eq!(statuses, ["200", "200", "200", "503"], "{stdout}");
    assert_eq!(
        ten_x.matches("\"HELLO FROM THE 10.X WIRE\"").count(),
        3,
        "{stdout}"
    );
    assert!(
        ten_x.contains("tok0 tok1 tok2 tok3 tok4 tok5 → 200"),
        "{stdout}"
    );
    for synapse in [
        "TextLastHiddenState",
        "TextCausalLM",
        "TextCausalLMNext",
        "TextSeq2Seq",
    ] {
        let codes: Vec<&str> = rows
            .iter()
            .filter(|r| r.split_whitespace().nth(3) == Some(synapse))
            .filter_map(|r| r.split_whitespace().nth(4))
            .collect();
        assert_eq!(
            codes,
            ["Success", "Success", "Success", "Unavailable"],
            "{synapse}:\n{stdout}"
        );
    }
    assert!(
        stdout.contains("backward: 3/3 endpoints answered Success"),
        "{stdout}"
    );
    assert!(
        stdout.contains("the axons received 6 gradients"),
        "{stdout}"
    );
    assert!(stdout.contains("round time: min"), "{stdout}");
}

#[test]
fn query_against_dendrite_axon_in_json_mode() {
    let dir = scratch("query");
    let (_axon, info, ready) = start_axon(&dir);
    let output = dendrite()
        .args([
            "query",
            "--synapse",
            "all",
            "--topk",
            "4",
            "--json",
            "--backward",
            "--timeout",
            "5",
        ])
        .args([
            "--text",
            "hello world",
            "--text",
            "the quick brown fox",
            "--endpoints",
        ])
        .arg(&info)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let lines = json_lines(&stdout);
    let forward: Vec<_> = lines
        .iter()
        .filter(|l| l["direction"] == "forward")
        .collect();
    let backward: Vec<_> = lines
        .iter()
        .filter(|l| l["direction"] == "backward")
        .collect();
    assert_eq!((forward.len(), backward.len()), (4, 4), "{stdout}");
    // An endpoint's call time is that of its last synapse; its phases never sum past it.
    let call_time = |direction: &str| {
        lines
            .iter()
            .filter(|l| l["direction"] == direction)
            .map(|l| l["time_s"].as_f64().unwrap())
            .fold(0.0, f64::max)
    };
    for line in &lines {
        assert_eq!(line["code"], "Success", "{line}");
        assert_eq!(line["hotkey"], ready["hotkey"]);
        assert_eq!(line["uid"], 0);
        assert_eq!(line["round"], 0);
        let time = line["time_s"].as_f64().unwrap();
        assert!(time > 0.0);
        let phases = line["phases"].as_object().unwrap();
        let names: Vec<&str> = phases.keys().map(String::as_str).collect();
        let mut expected = [
            "queue", "sign", "connect", "send", "wait", "receive", "decode",
        ];
        expected.sort_unstable();
        assert_eq!(names, expected, "exactly the seven phases");
        let sum: f64 = phases.values().map(|v| v.as_f64().unwrap()).sum();
        let call_time = call_time(line["direction"].as_str().unwrap());
        assert!(sum <= call_time, "{sum} > {call_time}: {line}");
        assert!(phases["wait"].as_f64().unwrap() > 0.0, "{line}");
        assert!(line["reused_connection"].is_boolean(), "{line}");
        assert_eq!(line["output_blake3"].as_str().unwrap().len(), 64, "{line}");
    }
    let shapes: Vec<&serde_json::Value> = forward.iter().map(|l| &l["shape"]).collect();
    assert_eq!(shapes[0], &serde_json::json!([2, 4, 1024]));
    assert_eq!(shapes[1], &serde_json::json!([2, 4, 50258]));
    assert_eq!(forward[3]["dtype"], "Int64");
}

#[test]
fn query_repeats_and_reports_dead_peers_without_failing() {
    let dir = scratch("dead");
    let file = dead_endpoint_file(&dir);
    let output = dendrite()
        .args([
            "query",
            "--synapse",
            "last-hidden",
            "--json",
            "--repeat",
            "2",
            "--interval",
            "0.05",
            "--threads",
            "3",
            "--endpoints",
        ])
        .arg(&file)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(
        output.status.success(),
        "a query that ran exits 0 whatever peers answer: {stderr}"
    );
    let rounds = json_lines(&stdout);
    assert_eq!(rounds.len(), 2);
    assert!(rounds.iter().all(|l| l["code"] == "Unavailable"));
    assert_eq!(
        (rounds[0]["round"].as_u64(), rounds[1]["round"].as_u64()),
        (Some(0), Some(1))
    );
}

#[test]
fn backoff_skips_a_dead_peer_after_its_first_failure() {
    let dir = scratch("backoff");
    let file = dead_endpoint_file(&dir);
    let output = dendrite()
        .args([
            "query",
            "--synapse",
            "last-hidden",
            "--json",
            "--repeat",
            "3",
        ])
        .args(["--interval", "0.01", "--backoff", "30:60", "--retries", "1"])
        .arg("--endpoints")
        .arg(&file)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    let codes: Vec<_> = json_lines(&stdout)
        .iter()
        .map(|l| l["code"].clone())
        .collect();
    assert_eq!(codes, ["Unavailable", "Backoff", "Backoff"]);
    assert!(stdout.contains("(after 1 retries)"), "{stdout}");
}

#[test]
fn query_with_every_policy_against_a_compressing_axon() {
    let dir = scratch("policies");
    let (_axon, info, _) = start_axon_with(&dir, &["--compression", "zstd"]);
    let output = dendrite()
        .args(["query", "--synapse", "all", "--json", "--k-min", "1"])
        .args([
            "--timeout-after-k-min",
            "0.5",
            "--backoff",
            "1",
            "--retries",
            "2",
        ])
        .args([
            "--serializer",
            "cmppack",
            "--compression",
            "zstd",
            "--reject-nonfinite",
        ])
        .arg("--endpoints")
        .arg(&info)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    let lines = json_lines(&stdout);
    assert_eq!(lines.len(), 4);
    assert!(lines.iter().all(|l| l["code"] == "Success"), "{stdout}");
    let bad = dendrite()
        .args(["query", "--backoff", "soon", "--endpoints"])
        .arg(&info)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(text(&bad).1.contains("--backoff"), "{}", text(&bad).1);
}

#[test]
fn bad_input_is_one_line_and_a_nonzero_exit() {
    let dir = scratch("bad");
    let malformed = dir.join("malformed.json");
    std::fs::write(&malformed, "{not json").unwrap();
    let good = dir.join("good.json");
    std::fs::write(&good, r#"{"hotkey": "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty", "ip": "127.0.0.1", "port": 1}"#).unwrap();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_port = busy.local_addr().unwrap().port().to_string();
    let missing = dir.join("missing.json");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "query".into(),
                "--endpoints".into(),
                missing.display().to_string(),
            ],
            "cannot read",
        ),
        (
            vec![
                "query".into(),
                "--endpoints".into(),
                malformed.display().to_string(),
            ],
            "invalid JSON",
        ),
        (
            vec![
                "query".into(),
                "--synapse".into(),
                "telepathy".into(),
                "--endpoints".into(),
                good.display().to_string(),
            ],
            "invalid value 'telepathy'",
        ),
        (
            vec![
                "query".into(),
                "--uri".into(),
                "//".into(),
                "--endpoints".into(),
                good.display().to_string(),
            ],
            "invalid secret URI",
        ),
        (
            vec![
                "query".into(),
                "--wallet".into(),
                "nobody".into(),
                "--hotkey".into(),
                "none".into(),
                "--wallet-path".into(),
                dir.display().to_string(),
                "--endpoints".into(),
                good.display().to_string(),
            ],
            "cannot read key file",
        ),
        (
            vec![
                "query".into(),
                "--topk".into(),
                "0".into(),
                "--endpoints".into(),
                good.display().to_string(),
            ],
            "topk must be in",
        ),
        (
            vec!["axon".into(), "--port".into(), busy_port.clone()],
            "cannot listen on",
        ),
        // Seconds past 1e9 made Duration::from_secs_f64 panic; a zero timeout was taken.
        (
            vec![
                "query".into(),
                "--timeout".into(),
                "1e30".into(),
                "--endpoints".into(),
                good.display().to_string(),
            ],
            "--timeout must be a number of seconds > 0",
        ),
        (
            vec![
                "query".into(),
                "--timeout".into(),
                "0".into(),
                "--endpoints".into(),
                good.display().to_string(),
            ],
            "--timeout must be a number of seconds > 0",
        ),
        (
            vec![
                "query".into(),
                "--backoff".into(),
                "1:1e300".into(),
                "--endpoints".into(),
                good.display().to_string(),
            ],
            "--backoff must be a number of seconds >= 0",
        ),
        (
            vec![
                "axon".into(),
                "--port".into(),
                "0".into(),
                "--run-seconds".into(),
                "1e20".into(),
            ],
            "--run-seconds must be a number of seconds",
        ),
        (
            vec![
                "query".into(),
                "--threads".into(),
                "0".into(),
                "--endpoints".into(),
                good.display().to_string(),
            ],
            "invalid value '0' for '--threads",
        ),
    ];
    for (args, expected) in cases {
        let output = dendrite().args(&args).output().unwrap();
        let (_, stderr) = text(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        if !expected.starts_with("invalid value") {
            assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        }
    }
    drop(busy);
}

#[test]
fn every_command_has_help() {
    for command in [
        vec!["--help"],
        vec!["demo", "--help"],
        vec!["axon", "--help"],
        vec!["query", "--help"],
        vec!["bench", "--help"],
        vec!["replay", "--help"],
    ] {
        let output = dendrite().args(&command).output().unwrap();
        assert!(output.status.success(), "{command:?}");
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("Usage"),
            "{command:?}"
        );
    }
}

#[test]
fn query_serves_prometheus_metrics_while_it_runs() {
    use std::io::{Read, Write};
    let dir = scratch("metrics");
    let (_axon, info, _) = start_axon(&dir);
    let mut child = dendrite()
        .args([
            "query",
            "--synapse",
            "last-hidden",
            "--json",
            "--repeat",
            "20",
            "--interval",
            "0.1",
            "--metrics-port",
            "0",
            "--endpoints",
        ])
        .arg(&info)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let running = Running(child);
    let line = BufReader::new(stderr).lines().next().unwrap().unwrap();
    let addr = line
        .strip_prefix("metrics: http://")
        .and_then(|l| l.strip_suffix("/metrics"))
        .expect("metrics line");
    // Scrape until the first round is counted (the query runs 20 rounds, 0.1 s apart).
    let scrape = || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        write!(
            stream,
            "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut body = String::new();
        stream.read_to_string(&mut body).unwrap();
        assert!(body.starts_with("HTTP/1.1 200"), "{body}");
        body.lines()
            .find(|l| l.starts_with("dendrite_counters{") && l.contains("name=\"total_requests\""))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
            .expect("total_requests")
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut requests = scrape();
    while requests < 1.0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
        requests = scrape();
    }
    assert!(requests >= 1.0, "{requests}");
    drop(running);
}

#[test]
fn a_recorded_query_replays_without_the_network() {
    let dir = scratch("record");
    let (axon, info, _) = start_axon(&dir);
    let dead = dead_endpoint_file(&dir);
    let both = dir.join("both.json");
    let live: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&info).unwrap()).unwrap();
    let dead_value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&dead).unwrap()).unwrap();
    std::fs::write(&both, serde_json::json!([live, dead_value]).to_string()).unwrap();
    let record = dir.join("record");
    let timeline = dir.join("query.svg");
    let output = dendrite()
        .args([
            "query",
            "--synapse",
            "last-hidden",
            "--repeat",
            "2",
            "--interval",
            "0",
        ])
        .args(["--timeout", "2", "--record-payloads", "--endpoints"])
        .arg(&both)
        .arg("--record")
        .arg(&record)
        .arg("--timeline")
        .arg(&timeline)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("mostly"),
        "the table names each row's longest phase"
    );
    let svg = std::fs::read_to_string(&timeline).unwrap();
    assert!(svg.contains("<svg") && svg.contains("Unavailable") && svg.contains("deadline"));
    drop(axon);

    // The record: 2 rounds x 2 endpoints, the live answer's payload hashed and kept.
    let file = record.join("record-000000.jsonl");
    let rows: Vec<serde_json::Value> = json_lines(&std::fs::read_to_string(&file).unwrap());
    assert_eq!(rows.len(), 4);
    let live_row = rows.iter().find(|r| r["code"] == "Success").unwrap();
    let payload = live_row["payload_hex"].as_str().unwrap();
    assert_eq!(payload.len(), 2 * 4 * 2 * 1024, "[1, 2, 1024] f32 as hex");
    let bytes = hex::decode(payload).unwrap();
    assert_eq!(
        live_row["output_blake3"].as_str().unwrap(),
        blake3::hash(&bytes).to_hex().as_str(),
        "the digest is BLAKE3 of the output's bytes"
    );
    let dead_row = rows.iter().find(|r| r["code"] == "Unavailable").unwrap();
    assert!(dead_row["phases"]["connect"].as_f64().unwrap() > 0.0);
    assert_eq!(dead_row["phases"]["wait"].as_f64().unwrap(), 0.0);

    // Replayed with the axon gone: the same rows, statistics and a timeline.
    let replayed = dir.join("replay.svg");
    let output = dendrite()
        .arg("replay")
        .arg(&record)
        .arg("--timeline")
        .arg(&replayed)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("4 rows, 2 rounds, 2 endpoints"), "{stdout}");
    assert!(stdout.contains("forward Success: 2") && stdout.contains("forward Unavailable: 2"));
    assert!(stdout.contains("connect"), "{stdout}");
    assert!(std::fs::read_to_string(&replayed)
        .unwrap()
        .contains("round 1 forward"));

    // A damaged record is a one-line input error.
    std::fs::write(record.join("record-000001.jsonl"), "{not json\n").unwrap();
    let output = dendrite().arg("replay").arg(&record).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output).1.contains("record-000001.jsonl:1"));
}

#[test]
fn query_against_dendrite_axon_on_the_http_wire() {
    let dir = scratch("query-http");
    let (_axon, info, ready) = start_axon_with(&dir, &["--protocol", "http"]);
    assert_eq!(ready["version"], 10005000, "{ready}");
    let query = || {
        let mut command = dendrite();
        command
            .args(["query", "--protocol", "http", "--endpoints"])
            .arg(&info);
        command
    };
    let timeline = dir.join("http.svg");
    let output = query()
        .args(["--synapse-name", "Hashed", "--json", "--repeat", "2"])
        .args(["--synapse-json", r#"{"text": "über", "out": null}"#])
        .arg("--timeline")
        .arg(&timeline)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    // The last round's waterfall, as the 3.x query draws it: the axon's bar, the deadline.
    let svg = std::fs::read_to_string(&timeline).unwrap();
    assert!(
        svg.contains("<svg") && svg.contains("round 1, 1 axons"),
        "{svg}"
    );
    assert!(svg.contains("1 of 1 answered"), "{svg}");
    let hotkey = ready["hotkey"].as_str().unwrap();
    assert!(svg.contains(&format!("0 {}", &hotkey[..8])), "{svg}");
    assert!(svg.contains("deadline"), "{svg}");
    let lines = json_lines(&stdout);
    assert_eq!(lines.len(), 2, "{stdout}");
    for line in &lines {
        assert_eq!(line["status_code"], 200, "{line}");
        assert_eq!(line["response"]["out"], "ÜBER", "{line}");
        assert_eq!(line["response"]["axon"]["status_code"], 200, "{line}");
        assert_eq!(line["status_message"], "Success");
        assert!(line["process_time"].as_f64().unwrap() > 0.0, "{line}");
        assert!(line["phases"]["wait"].as_f64().is_some(), "{line}");
        assert_eq!(line["hotkey"], ready["hotkey"]);
    }
    assert!(
        stderr.contains("2 rounds × 1 axons: 2 calls (200×2)"),
        "{stderr}"
    );
    // A 10.x user types no --protocol: the file's AxonInfos say which wire.
    let output = dendrite()
        .args(["query", "--json", "--endpoints"])
        .arg(&info)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    let line = json_lines(&stdout).remove(0);
    assert_eq!(line["protocol"], "http", "{line}");
    assert_eq!(line["synapse"], "Dummy", "{line}");
    assert_eq!(line["status_code"], 200, "{line}");
    for line in &lines {
        // The same rows as the 3.x wire's, with the 10.x fields; the digest is of the answer's
        // JSON as printed.
        assert_eq!(line["protocol"], "http", "{line}");
        assert_eq!(line["code"], "200", "{line}");
        assert_eq!(line["synapse"], "Hashed", "{line}");
        assert!(line["bytes_received"].as_u64().unwrap() > 0, "{line}");
        assert_eq!(line["output_blake3"].as_str().unwrap().len(), 64, "{line}");
    }

    // Recorded (with the answers) and replayed with the axon gone, as the 3.x wire's records.
    let record = dir.join("record");
    let output = query()
        .args([
            "--synapse-name",
            "Hashed",
            "--repeat",
            "3",
            "--interval",
            "0",
        ])
        .args(["--record-payloads", "--record"])
        .arg(&record)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output).1);
    let text_of_record = std::fs::read_to_string(record.join("record-000000.jsonl")).unwrap();
    let rows = json_lines(&text_of_record);
    assert_eq!(rows.len(), 3);
    for (row, line) in rows.iter().zip(text_of_record.lines()) {
        assert_eq!(row["protocol"], "http", "{row}");
        assert_eq!(row["status_code"], 200, "{row}");
        assert_eq!(row["response"]["out"], "HELLO", "{row}");
        // The answer's JSON as recorded, keys in their order.
        let raw: std::collections::HashMap<String, Box<serde_json::value::RawValue>> =
            serde_json::from_str(line).unwrap();
        assert_eq!(
            row["output_blake3"].as_str().unwrap(),
            blake3::hash(raw["response"].get().as_bytes())
                .to_hex()
                .as_str(),
            "the digest is BLAKE3 of the answer's compact JSON"
        );
    }
    let output = dendrite().arg("replay").arg(&record).output().unwrap();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("3 rows, 3 rounds, 1 endpoints"), "{stdout}");
    assert!(stdout.contains("forward 200: 3"), "{stdout}");
    assert!(
        stdout.contains("forward time of successes: min"),
        "{stdout}"
    );

    // A synapse the axon does not serve: its 404, and the exit is still 0 (peers fail, not us).
    let output = query()
        .args(["--synapse-name", "Nope", "--json"])
        .output()
        .unwrap();
    let (stdout, _) = text(&output);
    assert!(output.status.success());
    let line = &json_lines(&stdout)[0];
    assert_eq!(line["status_code"], 404, "{stdout}");
    assert!(line["response"]["message"]
        .as_str()
        .unwrap()
        .starts_with("Synapse name 'Nope' not found"));
    // The caller's mistakes: one line and a non-zero exit.
    for (flags, says) in [
        (&["--synapse-name", "../x"][..], "not a Python identifier"),
        (&["--backward"][..], "--backward is for the 3.x wire"),
        (&["--synapse-json", "{"][..], "--synapse-json is not JSON"),
    ] {
        let output = query().args(flags).output().unwrap();
        let (_, stderr) = text(&output);
        assert!(!output.status.success(), "{flags:?}");
        assert!(stderr.contains(says), "{flags:?}: {stderr}");
    }
}

#[test]
fn min_success_fails_a_query_whose_peers_did_not_answer_on_both_wires() {
    let dir = scratch("min-success");
    let dead = dead_endpoint_file(&dir);
    let query = |extra: &[&str], file: &std::path::Path, min: &str| {
        let output = dendrite()
            .args(["query", "--json", "--repeat", "2", "--interval", "0"])
            .args(extra)
            .args(["--min-success", min, "--endpoints"])
            .arg(file)
            .output()
            .unwrap();
        let (_, stderr) = text(&output);
        (output.status.success(), stderr)
    };
    let grpc = ["--synapse", "last-hidden"];
    let (passed, stderr) = query(&grpc, &dead, "0.5");
    assert!(!passed, "a dead peer fails --min-success 0.5: {stderr}");
    assert!(stderr.contains("success: 0/2 calls"), "{stderr}");
    assert!(stderr.contains("below --min-success 0.5"), "{stderr}");
    let (passed, stderr) = query(&grpc, &dead, "0");
    assert!(passed, "--min-success 0 always passes: {stderr}");
    let (passed, stderr) = query(&["--protocol", "http"], &dead, "0.99");
    assert!(!passed && stderr.contains("success: 0/2 calls"), "{stderr}");
    let (_axon, info, _) = start_axon_with(&dir, &[]);
    let (passed, stderr) = query(&grpc, &info, "1");
    assert!(passed && stderr.contains("success: 2/2 calls"), "{stderr}");
    assert!(
        dendrite()
            .args(["query", "--min-success", "1.5", "--endpoints"])
            .arg(&info)
            .output()
            .unwrap()
            .status
            .code()
            == Some(2),
        "a fraction above 1 is the user's mistake"
    );
}

/// The 10.x peers' Python (`DENDRITE_PEER10_PYTHON`, set by `cargo xtask test`, else installed
/// by `shared/peer10/setup.sh`).
fn peer10_python() -> PathBuf {
    if let Some(python) = std::env::var_os("DENDRITE_PEER10_PYTHON") {
        return python.into();
    }
    let setup = shared().join("peer10/setup.sh");
    let out = Command::new("bash").arg(&setup).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap()
            .trim(),
    )
}

fn shared() -> PathBuf {
    std::env::var_os("DENDRITE_SHARED").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
        PathBuf::from,
    )
}

#[test]
fn request_signs_with_epistula_reads_streams_and_says_what_each_miner_answered() {
    let dir = scratch("request");
    let info = dir.join("miner.json");
    let _miner = Running(
        Command::new(peer10_python())
            .arg(shared().join("peer10/epistula_server.py"))
            .arg("--info-out")
            .arg(&info)
            .args(["--run-seconds", "120"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let started = std::time::Instant::now();
    while !info.exists() {
        assert!(started.elapsed().as_secs() < 60, "the miner did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let miner: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&info).unwrap()).unwrap();
    let request = |extra: &[&str]| {
        let output = dendrite()
            .args(["request", "--json", "--endpoints"])
            .arg(&info)
            .args(extra)
            .output()
            .unwrap();
        let (stdout, stderr) = text(&output);
        assert!(output.status.success(), "{stderr}");
        json_lines(&stdout).remove(0)
    };
    let score = request(&[
        "--path",
        "/score",
        "--auth",
        "epistula",
        "--body",
        r#"{"task": "ping"}"#,
    ]);
    assert_eq!(score["status_code"], 200, "{score}");
    assert_eq!(score["outcome"], "success");
    assert_eq!(score["answer_signed"], true);
    assert_eq!(score["axon"]["hotkey"], miner["hotkey"]);
    assert_eq!(score["body"]["ok"], true);
    assert_eq!(score["headers"]["content-type"], "application/json");
    assert!(score["phases"]["wait"].as_f64().unwrap() > 0.0);
    let body = r#"{"messages": [], "max_tokens": 3, "stream": true}"#;
    let stream = request(&[
        "--path",
        "/v1/chat/completions",
        "--auth",
        "epistula",
        "--stream",
        "--body",
        body,
    ]);
    let events = stream["events"].as_array().unwrap();
    assert_eq!(events.len(), 4, "{stream}");
    assert_eq!(events[3], "[DONE]");
    assert!(stream["first_event"].as_f64().unwrap() > 0.0);
    // Recorded and drawn as query's rounds are: rows of protocol "rest", replayed offline.
    let record = dir.join("record");
    let svg = dir.join("request.svg");
    let output = dendrite()
        .args(["request", "--endpoints"])
        .arg(&info)
        .args(["--path", "/score", "--auth", "epistula", "--repeat", "2"])
        .args(["--body", r#"{"task": "ping"}"#, "--record"])
        .arg(&record)
        .arg("--timeline")
        .arg(&svg)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let recorded: Vec<serde_json::Value> = std::fs::read_dir(&record)
        .unwrap()
        .flat_map(|file| json_lines(&std::fs::read_to_string(file.unwrap().path()).unwrap()))
        .collect();
    assert_eq!(recorded.len(), 2, "one row per axon per round");
    for (round, row) in recorded.iter().enumerate() {
        assert_eq!(row["round"], round, "{row}");
        assert_eq!(row["protocol"], "rest");
        assert_eq!(row["synapse"], "POST /score");
        assert_eq!(row["code"], "200");
        assert_eq!(row["outcome"], "success");
        assert_eq!(row["answer_signed"], true);
        assert_eq!(row["hotkey"], miner["hotkey"]);
        assert_eq!(row["output_blake3"].as_str().unwrap().len(), 64);
        assert!(row["phases"]["wait"].as_f64().unwrap() > 0.0);
    }
    let drawn = std::fs::read_to_string(&svg).unwrap();
    assert!(drawn.contains("POST /score: round 1, 1 axons"), "{drawn}");
    let output = dendrite().arg("replay").arg(&record).output().unwrap();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.contains("2 rows, 2 rounds, 1 endpoints"), "{stdout}");
    assert!(stdout.contains("request"), "{stdout}");
    let refused = request(&["--path", "/score", "--auth", "none"]);
    assert_eq!(refused["status_code"], 400);
    assert_eq!(refused["outcome"], "peer_error");
    assert_eq!(refused["body"]["detail"], "Missing header Epistula-Version");
    let bad = dendrite()
        .args(["request", "--path", "score", "--endpoints"])
        .arg(&info)
        .output()
        .unwrap();
    assert_eq!(
        bad.status.code(),
        Some(2),
        "a path without '/' is the user's mistake"
    );
}
