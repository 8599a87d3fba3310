//! The 10.x HTTP wire against the real peers, both directions: our synapse call against the
//! real bittensor 10.5.0 axon (`shared/peer10/axon.py`, a process of its own on loopback) —
//! every synapse of `shared/peer10/synapses.py`, the axon's refusals, the dendrite's own
//! failures, concurrent calls to one axon; the real 10.5.0 dendrite against our axon and the
//! real one side by side; btauth/1 with 11.3.0's `http_auth`, both ways.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dendrite_core::{AxonResult, Client, ClientConfig, Keypair};
use dendrite_http::{AxonTarget, PyValue, SynapseCall};

/// The shared folder (`DENDRITE_SHARED`, else `../shared` beside the workspace).
pub fn shared() -> PathBuf {
    std::env::var_os("DENDRITE_SHARED").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
        PathBuf::from,
    )
}

/// The 10.5.0 peer's Python (`DENDRITE_PEER10_PYTHON`, else installed by its setup.sh: ~15 s
/// the first time, then instant).
pub fn peer10_python() -> PathBuf {
    peer_python("DENDRITE_PEER10_PYTHON", &[])
}

/// The 11.3.0 peer's Python (`DENDRITE_PEER11_PYTHON`, else `setup.sh --v11`).
pub fn peer11_python() -> PathBuf {
    peer_python("DENDRITE_PEER11_PYTHON", &["--v11"])
}

fn peer_python(variable: &str, setup_args: &[&str]) -> PathBuf {
    if let Some(python) = std::env::var_os(variable) {
        return python.into();
    }
    let setup = shared().join("peer10/setup.sh");
    let out = Command::new("bash")
        .arg(&setup)
        .args(setup_args)
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
        let mut args = Vec::new();
        for hotkey in blacklist {
            args.extend(["--blacklist", hotkey]);
        }
        Self::start_script(peer10_python(), "axon.py", &args)
    }

    /// Starts 11.3.0's `btauth_server.py` (hotkey //Bob): 200 for requests `http_auth.verify`
    /// accepts, 401 with the error's class name otherwise.
    pub fn start_btauth() -> PeerAxon {
        Self::start_script(peer11_python(), "btauth_server.py", &[])
    }

    /// Starts the subnet-style Epistula v2 miner (`epistula_server.py`, FastAPI, hotkey //Bob)
    /// with `args`.
    pub fn start_epistula(args: &[&str]) -> PeerAxon {
        Self::start_script(peer10_python(), "epistula_server.py", args)
    }

    fn start_script(python: PathBuf, script: &str, args: &[&str]) -> PeerAxon {
        let dir =
            std::env::temp_dir().join(format!("peer10-{}-{}", std::process::id(), rand_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        let info = dir.join("axon.json");
        let child = Command::new(python)
            .arg(shared().join("peer10").join(script))
            .args(["--info-out".as_ref(), info.as_os_str()])
            .args(["--run-seconds", "300"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the peer's script starts");
        let mut axon = PeerAxon {
            child,
            target: AxonTarget {
                ip: String::new(),
                port: 0,
                hotkey: String::new(),
                uid: None,
            },
        };
        let started = Instant::now();
        let text = loop {
            if let Ok(text) = std::fs::read_to_string(&info) {
                break text;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "{script} wrote no info in 60 s"
            );
            if let Ok(Some(status)) = axon.child.try_wait() {
                panic!("{script} exited: {status}");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let info: serde_json::Value = serde_json::from_str(&text).unwrap();
        axon.target = AxonTarget {
            ip: info["ip"].as_str().unwrap().to_owned(),
            port: info["port"].as_u64().unwrap() as u16,
            hotkey: info["hotkey"].as_str().unwrap().to_owned(),
            uid: None,
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

/// A synapse of `shared/peer10/synapses.py` with `fields` (JSON); its required and hash
/// fields as our HTTP axon serves it (none for one it does not serve).
pub fn synapse(name: &str, fields: &str, timeout: f64) -> SynapseCall {
    let served = dendrite_axon::http::Served::from_name(name);
    let required = served.map_or(&[][..], |s| s.required());
    let hashed = served.map_or(&[][..], |s| s.hash_fields());
    let fields = PyValue::parse(fields.as_bytes()).unwrap();
    SynapseCall::new(name, timeout, &fields, required, hashed, None).unwrap()
}

fn alice() -> Client {
    Client::new(
        Keypair::from_uri("//Alice").unwrap(),
        ClientConfig::default(),
    )
}

fn field(outcome: &AxonResult, name: &str) -> PyValue {
    outcome
        .answer
        .fields
        .as_ref()
        .and_then(|f| f.get(name))
        .map(|value| value.to_value())
        .unwrap_or_else(|| panic!("no field {name} in {outcome:?}"))
}

fn message(outcome: &AxonResult) -> &str {
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
    assert_eq!(field(&dummy, "dummy_output"), PyValue::Int(42));
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
    assert_eq!(field(&hashed, "out"), PyValue::Str("WIRE CHECK".into()));

    // Non-ASCII text: json.dumps escapes it and str() hashes it as the axon recomputes.
    let unicode = one(synapse(
        "Hashed",
        r#"{"text": "naïve \"ü\" 'ß'", "out": null}"#,
        12.0,
    ))
    .await;
    assert_eq!(
        field(&unicode, "out"),
        PyValue::Str("NAÏVE \"Ü\" 'SS'".into())
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
    assert_eq!(field(&quick, "out"), PyValue::Int(7));
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
            assert_eq!(field(outcome, "dummy_output"), PyValue::Int(2 * round));
        }
    }
    // Connections were kept and reused, within the per-endpoint cap.
    let open = client.http_connections();
    assert!((1..=8).contains(&open), "{open} connections");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn btauth_servers_of_11_3_0_accept_our_signed_requests() {
    let server = PeerAxon::start_btauth();
    let call = synapse("Dummy", r#"{"dummy_input": 3, "dummy_output": null}"#, 12.0);
    let signing = Client::new(
        Keypair::from_uri("//Alice").unwrap(),
        ClientConfig {
            http: dendrite_core::HttpConfig {
                btauth: true,
                ..Default::default()
            },
            ..ClientConfig::default()
        },
    );
    for _ in 0..2 {
        let outcome = signing
            .call_synapse(std::slice::from_ref(&server.target), &call)
            .await
            .remove(0);
        assert_eq!(outcome.http_status, 200, "{outcome:?}");
        let body = outcome.answer.fields.as_ref().unwrap().to_value();
        assert_eq!(body.get("ok"), Some(&PyValue::Bool(true)));
        let alice = Keypair::from_uri("//Alice").unwrap();
        assert_eq!(
            body.get("hotkey"),
            Some(&PyValue::Str(alice.ss58_address().into()))
        );
        assert_eq!(body.get("path"), Some(&PyValue::Str("/Dummy".into())));
    }
    let unsigned = alice()
        .call_synapse(std::slice::from_ref(&server.target), &call)
        .await
        .remove(0);
    assert_eq!(unsigned.status_code(), 401);
    let error = PyValue::parse(&unsigned.body).unwrap();
    assert_eq!(
        error.get("error"),
        Some(&PyValue::Str("MalformedAuth".into()))
    );
}

#[test]
fn requests_signed_by_11_3_0_verify_here_and_tampering_does_not() {
    let bob = Keypair::from_uri("//Bob").unwrap();
    let out = Command::new(peer11_python())
        .arg(shared().join("peer10/btauth_client.py"))
        .args(["--sign-only", "--receiver", bob.ss58_address()])
        .args([
            "--path",
            "/generate?x=1",
            "--body",
            r#"{"prompt": "héllo"}"#,
        ])
        .output()
        .expect("btauth_client.py runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Parsed keeping the headers' order (serde_json's map would sort them).
    let signed = PyValue::parse(&out.stdout).unwrap();
    let Some(PyValue::Dict(header_items)) = signed.get("headers") else {
        panic!("headers in {signed:?}")
    };
    let headers: Vec<(String, String)> = header_items
        .iter()
        .map(|(k, v)| (k.clone(), v.py_str()))
        .collect();
    let Some(PyValue::Str(signed_payload)) = signed.get("signed_payload") else {
        panic!("a payload")
    };
    let view = || headers.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let nonce: i128 = view()
        .find(|(k, _)| *k == "X-Bittensor-Nonce")
        .unwrap()
        .1
        .parse()
        .unwrap();
    let body = r#"{"prompt": "héllo"}"#.as_bytes();
    let alice = Keypair::from_uri("//Alice").unwrap();
    let ours = dendrite_http::btauth::payload(
        "POST",
        "/generate?x=1",
        body,
        nonce,
        alice.ss58_address(),
        Some(bob.ss58_address()),
    );
    assert_eq!(&String::from_utf8(ours).unwrap(), signed_payload);
    // The header names and order 11.3.0 sends.
    let names: Vec<&str> = view().map(|(k, _)| k).collect();
    assert_eq!(
        names,
        [
            "X-Bittensor-Version",
            "X-Bittensor-Hotkey",
            "X-Bittensor-Nonce",
            "X-Bittensor-Signature",
            "X-Bittensor-Receiver"
        ]
    );
    let verifier = dendrite_http::btauth::Verifier::new(bob.ss58_address());
    let tampered = verifier.verify(view(), b"{}", "POST", "/generate?x=1", nonce);
    assert_eq!(
        tampered,
        Err(dendrite_http::btauth::AuthError::BadSignature)
    );
    let caller = verifier
        .verify(view(), body, "POST", "/generate?x=1", nonce)
        .unwrap();
    assert_eq!(caller.hotkey, alice.ss58_address());
    let replay = verifier.verify(view(), body, "POST", "/generate?x=1", nonce);
    assert_eq!(
        replay,
        Err(dendrite_http::btauth::AuthError::ReplayedRequest)
    );
    // Our signature of the same request verifies with their verifier's payload rule: the
    // headers we make for it name the same fields in the same order.
    let mine = dendrite_http::btauth::sign(
        &alice,
        "POST",
        "/generate?x=1",
        &[body],
        Some(bob.ss58_address()),
        nonce,
    );
    let mine_names: Vec<&str> = mine.iter().map(|(k, _)| *k).collect();
    assert_eq!(mine_names, names);
}

/// Runs the real 10.5.0 dendrite (`dendrite.py call`) against the axon `target` (hotkey //Bob)
/// and returns its report: status_code, status_message, result, chunks.
fn real_dendrite_call(
    target: &AxonTarget,
    synapse: &str,
    fields: &str,
    timeout: f64,
) -> serde_json::Value {
    let dir = std::env::temp_dir().join(format!(
        "peer10-call-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let info = dir.join("axon.json");
    let bob = Keypair::from_uri("//Bob").unwrap();
    let spec = serde_json::json!({
        "hotkey": target.hotkey, "coldkey": bob.ss58_address(), "ip": target.ip,
        "port": target.port, "version": 10005000, "ip_type": 4, "protocol": 4,
    });
    std::fs::write(&info, spec.to_string()).unwrap();
    let out = Command::new(peer10_python())
        .arg(shared().join("peer10/dendrite.py"))
        .args(["call", "--axons"])
        .arg(&info)
        .args([
            "--synapse",
            synapse,
            "--fields",
            fields,
            "--timeout",
            &timeout.to_string(),
        ])
        .output()
        .expect("dendrite.py runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8_lossy(&out.stdout);
    let line = line
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .expect("a JSON line");
    serde_json::from_str(line).unwrap()
}

/// A synapse as a report shows it, without what differs between any two calls or axons:
/// times, nonces, signatures, uuids, the axon's port and sizes.
fn comparable(value: &serde_json::Value) -> serde_json::Value {
    const VARYING: [&str; 6] = [
        "process_time",
        "nonce",
        "signature",
        "uuid",
        "port",
        "total_size",
    ];
    match value {
        serde_json::Value::Object(map) => map
            .iter()
            .filter(|(k, _)| !VARYING.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), comparable(v)))
            .collect(),
        serde_json::Value::Array(items) => items.iter().map(comparable).collect(),
        other => other.clone(),
    }
}

/// The real 10.5.0 dendrite gets the same answers from our axon as from the real axon: every
/// synapse, the unknown one, the deadline; the whole synapse it ends with, field for field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_dendrite_gets_the_same_answers_from_our_axon() {
    let real = PeerAxon::start(&[]);
    let bob = Keypair::from_uri("//Bob").unwrap();
    let ours =
        dendrite_axon::http::serve_http(&bob, dendrite_axon::http::HttpAxonConfig::default())
            .await
            .unwrap();
    let cases = [
        ("Dummy", r#"{"dummy_input": 21}"#, 12.0),
        ("Hashed", r#"{"text": "wire check é"}"#, 12.0),
        ("TensorEcho", r#"{"x": [1, 2, 3, 4]}"#, 12.0),
        ("Slow", r#"{"x": 5, "delay_s": 0.1}"#, 12.0),
        ("Slow", r#"{"x": 5, "delay_s": 2.0}"#, 1.0),
        ("Stream", r#"{"n": 4}"#, 12.0),
        ("Unknown", "{}", 12.0),
    ];
    for (synapse, fields, timeout) in cases {
        let (ours_target, real_target) = (ours.target(), real.target.clone());
        let (a, b) = tokio::task::spawn_blocking(move || {
            (
                real_dendrite_call(&ours_target, synapse, fields, timeout),
                real_dendrite_call(&real_target, synapse, fields, timeout),
            )
        })
        .await
        .unwrap();
        for key in [
            "status_code",
            "status_message",
            "result",
            "chunks",
            "fields",
        ] {
            assert_eq!(
                comparable(&a[key]),
                comparable(&b[key]),
                "{synapse} {fields}: {key}\nours: {a}\nreal: {b}"
            );
        }
        assert!(a["status_code"].is_number(), "{a}");
    }
}

/// The subclass fields of a synapse JSON (what the synapse class declares), comparable.
fn own_fields(synapse: &serde_json::Value) -> serde_json::Value {
    match synapse {
        serde_json::Value::Object(map) => map
            .iter()
            .filter(|(k, _)| !dendrite_http::BASE_FIELDS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        other => other.clone(),
    }
}

/// Our client and the real 10.5.0 dendrite, side by side against the same real 10.5.0 axons:
/// every synapse, a deadline, a closed port, an unknown synapse, a blacklisted hotkey, a stream.
/// Identical status codes, messages and answered fields. Prints the table of the closing note
/// (`--nocapture`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_and_the_real_dendrite_side_by_side() {
    let alice_key = Keypair::from_uri("//Alice").unwrap();
    let axon = PeerAxon::start(&[]);
    let refusing = PeerAxon::start(&[alice_key.ss58_address()]);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = AxonTarget {
        port: closed.local_addr().unwrap().port(),
        ..axon.target.clone()
    };
    drop(closed);
    let client = alice();
    let cases: [(&str, &AxonTarget, &str, &str, &str, f64); 9] = [
        (
            "Dummy",
            &axon.target,
            "Dummy",
            r#"{"dummy_input": 21}"#,
            r#"{"dummy_input": 21, "dummy_output": null}"#,
            12.0,
        ),
        (
            "Hashed",
            &axon.target,
            "Hashed",
            r#"{"text": "wire check"}"#,
            r#"{"text": "wire check", "out": null}"#,
            12.0,
        ),
        (
            "TensorEcho",
            &axon.target,
            "TensorEcho",
            r#"{"x": [1, 2, 3, 4]}"#,
            TENSOR_X,
            12.0,
        ),
        (
            "Slow in time",
            &axon.target,
            "Slow",
            r#"{"x": 7, "delay_s": 0.2}"#,
            r#"{"x": 7, "delay_s": 0.2, "out": null}"#,
            5.0,
        ),
        (
            "Slow past timeout",
            &axon.target,
            "Slow",
            r#"{"x": 7, "delay_s": 3.0}"#,
            r#"{"x": 7, "delay_s": 3.0, "out": null}"#,
            1.0,
        ),
        ("Unknown synapse", &axon.target, "Unknown", "{}", "{}", 12.0),
        (
            "closed port",
            &nowhere,
            "Dummy",
            r#"{"dummy_input": 1}"#,
            r#"{"dummy_input": 1, "dummy_output": null}"#,
            12.0,
        ),
        (
            "blacklisted hotkey",
            &refusing.target,
            "Dummy",
            r#"{"dummy_input": 1}"#,
            r#"{"dummy_input": 1, "dummy_output": null}"#,
            12.0,
        ),
        (
            "Stream",
            &axon.target,
            "Stream",
            r#"{"n": 5}"#,
            r#"{"n": 5, "toks": []}"#,
            12.0,
        ),
    ];
    let mut table = vec![
        "| case | 10.5.0 dendrite | ours | message (both) |".to_owned(),
        "|---|---|---|---|".to_owned(),
    ];
    for (case, target, name, python_fields, our_fields, timeout) in cases {
        let (t, n, f) = (target.clone(), name.to_owned(), python_fields.to_owned());
        let real = tokio::task::spawn_blocking(move || real_dendrite_call(&t, &n, &f, timeout))
            .await
            .unwrap();
        let call = if name == "Stream" {
            let fields = PyValue::parse(our_fields.as_bytes()).unwrap();
            SynapseCall::new(name, timeout, &fields, &["n"], &[], None).unwrap()
        } else {
            synapse(name, our_fields, timeout)
        };
        let (status, message, fields, chunks) = if name == "Stream" {
            let mut stream = client.call_synapse_stream(target, &call);
            let mut chunks = Vec::new();
            while let Some(chunk) = stream.next_chunk().await {
                chunks.push(String::from_utf8_lossy(&chunk).into_owned());
            }
            let outcome = stream.outcome().await;
            (
                outcome.status_code(),
                outcome.answer.dendrite.status_message,
                None,
                Some(chunks),
            )
        } else {
            let outcome = client
                .call_synapse(std::slice::from_ref(target), &call)
                .await
                .remove(0);
            let fields = outcome
                .answer
                .fields
                .as_ref()
                .map(|f| own_fields(&serde_json::from_str(&f.to_value().dumps()).unwrap()));
            (
                outcome.status_code(),
                outcome.answer.dendrite.status_message.clone(),
                fields,
                None,
            )
        };
        assert_eq!(real["status_code"], status, "{case}: {real}");
        assert_eq!(
            real["status_message"].as_str(),
            message.as_deref(),
            "{case}: {real}"
        );
        if let Some(fields) = fields {
            assert_eq!(own_fields(&real["fields"]), fields, "{case}: {real}");
        }
        if let Some(chunks) = chunks {
            assert_eq!(real["chunks"], serde_json::json!(chunks), "{case}: {real}");
        }
        let shown = message
            .unwrap_or_default()
            .chars()
            .take(60)
            .collect::<String>();
        table.push(format!(
            "| {case} | {} | {status} | {shown} |",
            real["status_code"]
        ));
    }
    println!("{}", table.join("\n"));
}

/// `TensorEcho`'s `x` = float32 [1, 2, 3, 4] as 10.5.0's `bt.Tensor` serializes it.
const TENSOR_X: &str = r#"{"x": {"buffer": "hcQCbmTDxAR0eXBlozxmNMQEa2luZMQAxAVzaGFwZZEExARkYXRhxBAAAIA/AAAAQAAAQEAAAIBA", "dtype": "float32", "shape": [4]}, "y": null}"#;

/// What the real 10.5.0 axon answers to requests our dendrite_http renders and then
/// mistreats: replayed, a hashed field tampered after signing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_axon_refuses_replays_and_tampering() {
    let axon = PeerAxon::start(&[]);
    let dendrite = dendrite_http::Dendrite::new(Keypair::from_uri("//Alice").unwrap(), "127.0.0.1");
    let hashed = synapse("Hashed", r#"{"text": "signed", "out": null}"#, 12.0);
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as i128
    };
    let addr: std::net::SocketAddr = format!("{}:{}", axon.target.ip, axon.target.port)
        .parse()
        .unwrap();
    let request = dendrite.render(&hashed, &axon.target, now());
    let (status, _) = super::http_axon::raw_to(addr, &request, &request.body.to_string()).await;
    assert_eq!(status, 200);
    let (status, body) = super::http_axon::raw_to(addr, &request, &request.body.to_string()).await;
    assert_eq!(status, 401);
    assert!(
        body.contains("Nonce is too old, a newer one was last processed"),
        "{body}"
    );
    let fresh = dendrite.render(&hashed, &axon.target, now());
    let tampered = fresh.body.to_string().replace("\"signed\"", "\"forged\"");
    let (status, body) = super::http_axon::raw_to(addr, &fresh, &tampered).await;
    assert_eq!(status, 500);
    assert!(body.contains("Internal Server Error #"), "{body}");
}
