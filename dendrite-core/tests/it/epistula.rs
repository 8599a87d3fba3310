//! Epistula v2 (`dendrite_http::epistula`) against a subnet-style miner and client
//! (`shared/peer10/epistula_server.py`, FastAPI + bittensor_wallet, and `epistula_client.py`):
//! requests signed here are accepted and each refusal the miner has is met with its reason, the
//! miner's signed answers verify here (and an unsigned one reads as unsigned), the client's
//! signatures verify here, and the miner's SSE stream parses event by event, in order. Then
//! the client's signed REST requests (`Client::request`) against the miner and 11.3.0's
//! btauth/1 server: any method, path, query and body, signed answers, streams, the deadline.

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use dendrite_core::{AuthScheme, Keypair, Outcome, RestRequest, WireOutcome};
use dendrite_http::epistula::{self, answer_signature, DEFAULT_WINDOW};
use dendrite_http::sse::parse_all;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

use super::peer10::{peer10_python, shared, PeerAxon};

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// One HTTP/1.1 exchange: the status, the headers (names lower-case) and the whole body.
async fn exchange(
    axon: &PeerAxon,
    path: &str,
    headers: &[(&'static str, String)],
    body: &[u8],
) -> (u16, Vec<(String, String)>, Bytes) {
    let addr = format!("{}:{}", axon.target.ip, axon.target.port);
    let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut request = hyper::Request::post(path)
        .header("host", addr)
        .header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let request = request
        .body(Full::new(Bytes::copy_from_slice(body)))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, body)
}

fn signed(
    key: &Keypair,
    body: &[u8],
    at: u64,
    signed_for: Option<&str>,
) -> Vec<(&'static str, String)> {
    let uuid = uuid::Uuid::new_v4().to_string();
    epistula::sign(key, body, &uuid, at, signed_for)
}

fn detail(body: &[u8]) -> String {
    let json: serde_json::Value = serde_json::from_slice(body).unwrap();
    json["detail"].as_str().unwrap_or_default().to_owned()
}

fn view(headers: &[(String, String)]) -> Vec<(&str, &str)> {
    headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subnet_miner_accepts_our_signatures_and_refuses_each_bad_one() {
    let miner = PeerAxon::start_epistula(&[]);
    let alice = Keypair::from_uri("//Alice").unwrap();
    let bob = miner.target.hotkey.as_str();
    let body = br#"{"task": "ping"}"#;
    let good = signed(&alice, body, now_ms(), Some(bob));
    let (status, headers, answer) = exchange(&miner, "/score", &good, body).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
    let json: serde_json::Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(json["signed_by"], alice.ss58_address());
    assert_eq!(json["signed_for"], bob);
    assert_eq!(
        answer_signature(view(&headers), &answer, bob, alice.ss58_address()),
        Some(true),
        "the miner signs its answers for us"
    );
    assert_eq!(
        answer_signature(view(&headers), b"{}", bob, alice.ss58_address()),
        Some(false)
    );

    let refusal = |headers: Vec<(&'static str, String)>, sent: &'static [u8]| {
        let miner = &miner;
        async move {
            let (status, _, answer) = exchange(miner, "/score", &headers, sent).await;
            (status, detail(&answer))
        }
    };
    let replay = refusal(good.clone(), body).await;
    assert_eq!(replay, (400, "UUID reused".into()));
    let tampered = refusal(
        signed(&alice, body, now_ms(), Some(bob)),
        b"{\"task\": \"pong\"}",
    )
    .await;
    assert_eq!(tampered, (400, "Signature Mismatch".into()));
    let stale = refusal(signed(&alice, body, now_ms() - 60_000, Some(bob)), body).await;
    assert_eq!(stale, (400, "Request is too stale".into()));
    let elsewhere = refusal(
        signed(&alice, body, now_ms(), Some(alice.ss58_address())),
        body,
    )
    .await;
    assert_eq!(elsewhere, (400, "Signed for another hotkey".into()));
    let mut old = signed(&alice, body, now_ms(), Some(bob));
    old.retain(|(k, _)| *k != epistula::HEADER_UUID);
    let missing = refusal(old, body).await;
    assert_eq!(missing, (400, "Missing header Epistula-Uuid".into()));
    // Without Signed-For a signature is for anyone: the miner takes it.
    let (status, _, _) = exchange(
        &miner,
        "/score",
        &signed(&alice, body, now_ms(), None),
        body,
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsigned_answer_reads_as_unsigned() {
    let miner = PeerAxon::start_epistula(&["--no-sign-answers"]);
    let alice = Keypair::from_uri("//Alice").unwrap();
    let bob = miner.target.hotkey.as_str();
    let body = b"{}";
    let (status, headers, answer) = exchange(
        &miner,
        "/echo/a/b",
        &signed(&alice, body, now_ms(), Some(bob)),
        body,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        answer_signature(view(&headers), &answer, bob, alice.ss58_address()),
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_miners_event_stream_parses_in_order() {
    let miner = PeerAxon::start_epistula(&["--token-delay-ms", "1"]);
    let alice = Keypair::from_uri("//Alice").unwrap();
    let body =
        br#"{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 6, "stream": true}"#;
    let headers = signed(&alice, body, now_ms(), Some(&miner.target.hotkey));
    let (status, _, stream) = exchange(&miner, "/v1/chat/completions", &headers, body).await;
    assert_eq!(status, 200);
    let events = parse_all(&stream);
    let tokens: Vec<String> = events
        .iter()
        .take(6)
        .map(|e| {
            let json: serde_json::Value = serde_json::from_str(&e.data).unwrap();
            json["choices"][0]["delta"]["content"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        tokens,
        ["tok0 ", "tok1 ", "tok2 ", "tok3 ", "tok4 ", "tok5 "]
    );
    assert_eq!(events.len(), 7);
    assert_eq!(events[6].data, "[DONE]");
}

#[test]
fn the_subnet_clients_signatures_verify_here() {
    let miner = PeerAxon::start_epistula(&[]);
    let info = std::env::temp_dir().join(format!("epistula-info-{}.json", std::process::id()));
    let target = serde_json::json!({"hotkey": miner.target.hotkey, "ip": miner.target.ip, "port": miner.target.port});
    std::fs::write(&info, target.to_string()).unwrap();
    let body = r#"{"task": "score", "n": 3}"#;
    let out = Command::new(peer10_python())
        .arg(shared().join("peer10/epistula_client.py"))
        .arg("--axon")
        .arg(&info)
        .args(["--body", body, "--sign-only"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let headers: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&out.stdout).unwrap();
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
        .collect();
    let now = now_ms() as i64;
    let verified = epistula::verify(
        pairs.clone(),
        body.as_bytes(),
        &miner.target.hotkey,
        now,
        DEFAULT_WINDOW,
    )
    .unwrap();
    let alice = Keypair::from_uri("//Alice").unwrap();
    assert_eq!(verified.signed_by, alice.ss58_address());
    // The text both sides sign is one text: the same headers, re-signed here, verify too.
    let again = epistula::sign(
        &alice,
        body.as_bytes(),
        verified.uuid,
        verified.timestamp_ms as u64,
        verified.signed_for,
    );
    let again: Vec<(&str, &str)> = again.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert!(epistula::verify(
        again,
        body.as_bytes(),
        &miner.target.hotkey,
        now,
        DEFAULT_WINDOW
    )
    .is_ok());
    assert_eq!(
        epistula::verify(pairs, b"{}", &miner.target.hotkey, now, DEFAULT_WINDOW),
        Err(epistula::EpistulaError::Signature)
    );
    let _ = std::fs::remove_file(info);
}

fn alice_client() -> dendrite_core::Client {
    dendrite_core::Client::new(
        Keypair::from_uri("//Alice").unwrap(),
        dendrite_core::ClientConfig::default(),
    )
}

fn rest(method: http::Method, path: &str, body: &[u8], auth: AuthScheme) -> RestRequest {
    RestRequest {
        body: Bytes::copy_from_slice(body),
        auth,
        headers: vec![("content-type".into(), "application/json".into())],
        ..RestRequest::new(method, path)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_requests_to_a_subnet_miner_and_its_signed_answers() {
    let miner = PeerAxon::start_epistula(&["--token-delay-ms", "20"]);
    let unsigning = PeerAxon::start_epistula(&["--no-sign-answers"]);
    let client = alice_client();
    let alice = Keypair::from_uri("//Alice").unwrap();
    let axons = [miner.target.clone(), unsigning.target.clone()];
    let score = rest(
        http::Method::POST,
        "/score",
        br#"{"task": "ping"}"#,
        AuthScheme::Epistula,
    );
    // Twice: the second call's requests are new (new uuids), on the kept connections.
    for _ in 0..2 {
        let answers = client.request(&axons, &score).await;
        for answer in &answers {
            assert_eq!(answer.status, 200, "{answer:?}");
            assert_eq!(answer.outcome(), Outcome::Success);
            let json: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
            assert_eq!(json["signed_by"], alice.ss58_address());
            assert!(answer.bytes_sent > 0 && answer.bytes_received > answer.body.len());
        }
        assert_eq!(
            answers[0].answer_signed,
            Some(true),
            "the miner signs its answers"
        );
        assert_eq!(answers[1].answer_signed, None, "--no-sign-answers");
    }
    // Signed answers required: the unsigned one fails, the signed one passes.
    let strict = RestRequest {
        require_signed_answers: true,
        ..score.clone()
    };
    let answers = client.request(&axons, &strict).await;
    assert_eq!(answers[0].outcome(), Outcome::Success);
    assert_eq!(answers[1].outcome(), Outcome::PeerError);
    assert!(
        answers[1].message.contains("no valid Epistula signature"),
        "{}",
        answers[1].message
    );
    // Unsigned, the miner refuses with its reason.
    let unsigned = client
        .request(
            &axons[..1],
            &rest(http::Method::POST, "/score", b"{}", AuthScheme::None),
        )
        .await
        .remove(0);
    assert_eq!(unsigned.status, 400);
    assert_eq!(detail(&unsigned.body), "Missing header Epistula-Version");
    assert_eq!(unsigned.outcome(), Outcome::PeerError);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_miners_event_stream_arrives_event_by_event_and_the_deadline_holds() {
    let miner = PeerAxon::start_epistula(&["--token-delay-ms", "30"]);
    let client = alice_client();
    let body =
        br#"{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5, "stream": true}"#;
    let chat = RestRequest {
        events: true,
        ..rest(
            http::Method::POST,
            "/v1/chat/completions",
            body,
            AuthScheme::Epistula,
        )
    };
    let answer = client
        .request(std::slice::from_ref(&miner.target), &chat)
        .await
        .remove(0);
    assert_eq!(answer.status, 200, "{answer:?}");
    let data: Vec<&str> = answer.events.iter().map(|e| e.data.as_str()).collect();
    assert_eq!(data.len(), 6, "{data:?}");
    assert_eq!(data[5], "[DONE]");
    assert!(data[0].contains("tok0 "), "{data:?}");
    let first = answer.first_event.expect("a first event");
    // The miner writes an event every 30 ms: the first came well before the last.
    assert!(
        first + std::time::Duration::from_millis(100) < answer.elapsed,
        "{first:?} {:?}",
        answer.elapsed
    );
    assert!(answer.body.is_empty());

    // `/slow?ms=2000` past a 0.4 s deadline: 408, on time.
    let slow = RestRequest {
        timeout: std::time::Duration::from_millis(400),
        ..rest(
            http::Method::POST,
            "/slow?ms=2000",
            b"{}",
            AuthScheme::Epistula,
        )
    };
    let started = std::time::Instant::now();
    let late = client
        .request(std::slice::from_ref(&miner.target), &slow)
        .await
        .remove(0);
    assert_eq!(late.status_code(), 408, "{late:?}");
    assert_eq!(late.outcome(), Outcome::Timeout);
    assert!(
        started.elapsed() < std::time::Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn btauth_servers_of_11_3_0_take_any_method_path_query_and_body() {
    let server = PeerAxon::start_btauth();
    let client = alice_client();
    let alice = Keypair::from_uri("//Alice").unwrap();
    let axons = std::slice::from_ref(&server.target);
    let big = vec![b'x'; 1 << 20];
    let cases: [(http::Method, &str, &[u8]); 4] = [
        (http::Method::GET, "/health", b""),
        (http::Method::POST, "/v1/score", br#"{"n": 1}"#),
        (http::Method::PUT, "/items/7?verbose=1&x=%20y", b"{}"),
        (http::Method::POST, "/upload", &big),
    ];
    for (method, path, body) in cases {
        let request = rest(method.clone(), path, body, AuthScheme::BtAuth);
        let answer = client.request(axons, &request).await.remove(0);
        assert_eq!(
            answer.status,
            200,
            "{method} {path}: {}",
            String::from_utf8_lossy(&answer.body)
        );
        let json: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
        assert_eq!(json["hotkey"], alice.ss58_address());
        assert_eq!(json["method"], method.as_str());
        assert_eq!(json["path"], path);
        assert_eq!(json["body_sha256"], epistula::body_sha256(body));
    }
    let unsigned = rest(http::Method::POST, "/v1/score", b"{}", AuthScheme::None);
    let refused = client.request(axons, &unsigned).await.remove(0);
    assert_eq!(refused.status, 401);
    assert_eq!(refused.outcome(), Outcome::Refused);
}

/// The subnet client against our axon: its signatures verify there, our signed answers verify
/// in Python, a replayed request is refused with the miner's reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_subnet_client_and_our_axon_verify_each_other() {
    let bob = Keypair::from_uri("//Bob").unwrap();
    let axon =
        dendrite_axon::http::serve_http(&bob, dendrite_axon::http::HttpAxonConfig::default())
            .await
            .unwrap();
    let info = std::env::temp_dir().join(format!("our-axon-{}.json", std::process::id()));
    let target = serde_json::json!({"hotkey": bob.ss58_address(), "ip": "127.0.0.1", "port": axon.local_addr().port()});
    std::fs::write(&info, target.to_string()).unwrap();
    let info_path = info.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(peer10_python())
            .arg(shared().join("peer10/epistula_client.py"))
            .arg("--axon")
            .arg(&info_path)
            .arg("--replay")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["status"], 200, "{lines:?}");
    assert_eq!(
        lines[0]["answer_signed"], true,
        "our answers verify in Python"
    );
    assert_eq!(lines[1]["status"], 400);
    assert_eq!(lines[1]["body"]["detail"], "UUID reused");
    let _ = std::fs::remove_file(info);
    axon.shutdown().await;
}

/// A live stream hands each event on as it arrives, tagged with its axon, across all axons:
/// the first event is read long before the streams end; then every answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_events_arrive_as_the_miners_write_them() {
    let miner = PeerAxon::start_epistula(&["--token-delay-ms", "40"]);
    let client = alice_client();
    let body = br#"{"messages": [], "max_tokens": 5, "stream": true}"#;
    let chat = rest(
        http::Method::POST,
        "/v1/chat/completions",
        body,
        AuthScheme::Epistula,
    );
    let axons = [miner.target.clone(), miner.target.clone()];
    let started = std::time::Instant::now();
    let mut stream = client.request_stream(&axons, &chat);
    let mut seen = Vec::new();
    let mut first_at = None;
    while let Some((index, event)) = stream.next_event().await {
        first_at.get_or_insert_with(|| started.elapsed());
        seen.push((index, event.data));
    }
    let ended = started.elapsed();
    let first = first_at.expect("events");
    // 5 events 40 ms apart per miner: the first is in hand ~150 ms before the end.
    assert!(
        first + std::time::Duration::from_millis(100) < ended,
        "{first:?} {ended:?}"
    );
    for index in [0, 1] {
        let data: Vec<&str> = seen
            .iter()
            .filter(|(i, _)| *i == index)
            .map(|(_, d)| d.as_str())
            .collect();
        assert_eq!(data.len(), 6, "axon {index}: {data:?}");
        assert_eq!(data[5], "[DONE]");
    }
    let answers = stream.answers().await;
    assert_eq!(answers.len(), 2);
    assert!(answers
        .iter()
        .all(|a| a.status == 200 && a.events.len() == 6));
}
