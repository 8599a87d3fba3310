//! The 10.x synapse call against the real bittensor 10.5.0 axon (`shared/peer10/axon.py`, a
//! process of its own on loopback): every synapse of `shared/peer10/synapses.py`, the
//! axon's refusals, the dendrite's own failures, and concurrent calls to one axon.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dendrite_core::{Client, ClientConfig, Keypair, SynapseOutcome};
use dendrite_http::{AxonTarget, PyValue, SynapseCall};

/// The shared folder (`DENDRITE_SHARED`, else `../shared` beside the workspace).
fn shared() -> PathBuf {
    std::env::var_os("DENDRITE_SHARED").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
        PathBuf::from,
    )
}

/// The 10.5.0 peer's Python (`DENDRITE_PEER10_PYTHON`, else installed by its setup.sh: ~15 s
/// the first time, then instant).
pub fn peer10_python() -> PathBuf {
    if let Some(python) = std::env::var_os("DENDRITE_PEER10_PYTHON") {
        return python.into();
    }
    let setup = shared().join("peer10/setup.sh");
    let out = Command::new("bash")
        .arg(&setup)
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "{} failed: {}",
        setup.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    PathBuf::from(stdout.lines().last().expect("a python path").trim())
}

/// A real 10.5.0 axon process, killed when dropped.
pub struct PeerAxon {
    child: Child,
    pub target: AxonTarget,
}

impl Drop for PeerAxon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl PeerAxon {
    /// Starts `axon.py` (hotkey //Bob) refusing the hotkeys in `blacklist`.
    pub fn start(blacklist: &[&str]) -> PeerAxon {
        let dir =
            std::env::temp_dir().join(format!("peer10-{}-{}", std::process::id(), rand_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        let info = dir.join("axon.json");
        let mut command = Command::new(peer10_python());
        command
            .arg(shared().join("peer10/axon.py"))
            .args(["--info-out".as_ref(), info.as_os_str()])
            .args(["--run-seconds", "300"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for hotkey in blacklist {
            command.args(["--blacklist", hotkey]);
        }
        let child = command.spawn().expect("axon.py starts");
        let mut axon = PeerAxon {
            child,
            target: AxonTarget {
                ip: String::new(),
                port: 0,
                hotkey: String::new(),
            },
        };
        let started = Instant::now();
        let text = loop {
            if let Ok(text) = std::fs::read_to_string(&info) {
                break text;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "axon.py wrote no info in 60 s"
            );
            if let Ok(Some(status)) = axon.child.try_wait() {
                panic!("axon.py exited: {status}");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let info: serde_json::Value = serde_json::from_str(&text).unwrap();
        axon.target = AxonTarget {
            ip: info["ip"].as_str().unwrap().to_owned(),
            port: info["port"].as_u64().unwrap() as u16,
            hotkey: info["hotkey"].as_str().unwrap().to_owned(),
        };
        axon
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// A synapse of `shared/peer10/synapses.py`: name, fields (JSON), required, hash fields.
pub fn synapse(name: &str, fields: &str, timeout: f64) -> SynapseCall {
    let (required, hashed): (&[&str], &[&str]) = match name {
        "Dummy" => (&["dummy_input"], &[]),
        "Hashed" => (&["text"], &["text"]),
        "Slow" => (&["x", "delay_s"], &[]),
        _ => (&[], &[]),
    };
    let fields = PyValue::parse(fields.as_bytes()).unwrap();
    SynapseCall::new(name, timeout, &fields, required, hashed, None).unwrap()
}

fn alice() -> Client {
    Client::new(
        Keypair::from_uri("//Alice").unwrap(),
        ClientConfig::default(),
    )
}

fn field<'a>(outcome: &'a SynapseOutcome, name: &str) -> &'a PyValue {
    outcome
        .answer
        .fields
        .as_ref()
        .and_then(|f| f.get(name))
        .unwrap_or_else(|| panic!("no field {name} in {outcome:?}"))
}

fn message(outcome: &SynapseOutcome) -> &str {
    outcome
        .answer
        .dendrite
        .status_message
        .as_deref()
        .unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_axon_serves_every_synapse() {
    let axon = PeerAxon::start(&[]);
    let client = alice();
    let one = |call: SynapseCall| {
        let (client, target) = (client.clone(), axon.target.clone());
        async move { client.call_synapse(&[target], &call).await.remove(0) }
    };
    let dummy = one(synapse(
        "Dummy",
        r#"{"dummy_input": 21, "dummy_output": null}"#,
        12.0,
    ))
    .await;
    assert_eq!(dummy.status_code(), 200, "{dummy:?}");
    assert_eq!(field(&dummy, "dummy_output"), &PyValue::Int(42));
    assert_eq!(message(&dummy), "Success");
    assert_eq!(
        dummy.answer.axon.hotkey.as_deref(),
        Some(axon.target.hotkey.as_str())
    );
    assert!(dummy.answer.axon.process_time.is_some());

    let hashed = one(synapse(
        "Hashed",
        r#"{"text": "wire check", "out": null}"#,
        12.0,
    ))
    .await;
    assert_eq!(field(&hashed, "out"), &PyValue::Str("WIRE CHECK".into()));

    // Non-ASCII text: json.dumps escapes it and str() hashes it as the axon recomputes.
    let unicode = one(synapse(
        "Hashed",
        r#"{"text": "naïve \"ü\" 'ß'", "out": null}"#,
        12.0,
    ))
    .await;
    assert_eq!(
        field(&unicode, "out"),
        &PyValue::Str("NAÏVE \"Ü\" 'SS'".into())
    );

    let tensor = r#"{"x": {"buffer": "hcQCbmTDxAR0eXBlozxmNMQEa2luZMQAxAVzaGFwZZEExARkYXRhxBAAAIA/AAAAQAAAQEAAAIBA", "dtype": "float32", "shape": [4]}, "y": null}"#;
    let echo = one(synapse("TensorEcho", tensor, 12.0)).await;
    assert_eq!(echo.status_code(), 200, "{echo:?}");
    let y = field(&echo, "y");
    assert_eq!(y.get("shape"), Some(&PyValue::List(vec![PyValue::Int(4)])));

    let unknown = one(synapse("Unknown", "{}", 12.0)).await;
    assert_eq!(unknown.status_code(), 404);
    assert_eq!(
        message(&unknown),
        "Synapse name 'Unknown' not found. Available synapses ['Synapse', 'Dummy', 'TensorEcho', 'Hashed', 'Slow', 'Stream']"
    );

    let started = Instant::now();
    let slow = one(synapse(
        "Slow",
        r#"{"x": 1, "delay_s": 3.0, "out": null}"#,
        1.0,
    ))
    .await;
    assert_eq!(slow.status_code(), 408);
    assert_eq!(message(&slow), "Request timeout after 1.0 seconds");
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert!(slow.answer.dendrite.process_time.is_none());

    let quick = one(synapse(
        "Slow",
        r#"{"x": 7, "delay_s": 0.2, "out": null}"#,
        5.0,
    ))
    .await;
    assert_eq!(field(&quick, "out"), &PyValue::Int(7));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_and_failures_carry_10_5_0s_codes_and_messages() {
    let alice_key = Keypair::from_uri("//Alice").unwrap();
    let axon = PeerAxon::start(&[alice_key.ss58_address()]);
    let client = alice();
    let call = synapse("Dummy", r#"{"dummy_input": 1, "dummy_output": null}"#, 12.0);
    let refused = client
        .call_synapse(std::slice::from_ref(&axon.target), &call)
        .await
        .remove(0);
    assert_eq!(refused.status_code(), 403, "{refused:?}");
    assert!(
        message(&refused).starts_with("Forbidden. Key is blacklisted: "),
        "{}",
        message(&refused)
    );

    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let nowhere = AxonTarget {
        port,
        ..axon.target.clone()
    };
    let unavailable = client.call_synapse(&[nowhere], &call).await.remove(0);
    assert_eq!(unavailable.status_code(), 503);
    assert_eq!(
        message(&unavailable),
        format!("Service unavailable at 127.0.0.1:{port}/Dummy")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_to_one_axon_are_never_refused_for_nonce_order() {
    let axon = PeerAxon::start(&[]);
    let client = alice();
    let targets = vec![axon.target.clone(); 24];
    for round in 0..3 {
        let call = synapse(
            "Dummy",
            &format!(r#"{{"dummy_input": {round}, "dummy_output": null}}"#),
            12.0,
        );
        let outcomes = client.call_synapse(&targets, &call).await;
        for outcome in &outcomes {
            assert_eq!(outcome.status_code(), 200, "round {round}: {outcome:?}");
            assert_eq!(field(outcome, "dummy_output"), &PyValue::Int(2 * round));
        }
    }
    // Connections were kept and reused, within the per-endpoint cap.
    let open = client.http_connections();
    assert!((1..=8).contains(&open), "{open} connections");
}
