//! Our 10.x client against our HTTP axon (`dendrite_axon::http`), both in this process on
//! loopback: the synapses, and each of the axon's refusals as 10.5.0 words them, from requests
//! written byte by byte (replayed, tampered, misaddressed, stale).

use std::time::Duration;

use dendrite_axon::http::{serve_http, HttpAxonConfig, HttpAxonHandle};
use dendrite_core::{Client, ClientConfig, HttpConfig, Keypair};
use dendrite_http::{Dendrite, PyValue, SynapseRequest};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::peer10::synapse;

async fn axon(config: HttpAxonConfig) -> HttpAxonHandle {
    serve_http(&Keypair::from_uri("//Bob").unwrap(), config)
        .await
        .unwrap()
}

fn client(btauth: bool) -> Client {
    let http = HttpConfig {
        btauth,
        ..HttpConfig::default()
    };
    Client::new(
        Keypair::from_uri("//Alice").unwrap(),
        ClientConfig {
            http,
            ..ClientConfig::default()
        },
    )
}

/// The nonce clock (`dendrite_keys::nonce`), as the signed headers' `i128`.
pub fn now_ns() -> i128 {
    i128::from(dendrite_core::nonce::now_ns())
}

/// Sends a rendered request as raw HTTP/1.1 on a connection of its own, with `body` in place
/// of its own; returns the status and the answer's body.
async fn raw(axon: &HttpAxonHandle, request: &SynapseRequest, body: &str) -> (u16, String) {
    raw_to(axon.local_addr(), request, body).await
}

/// [`raw`] to any address (the real 10.5.0 axon too).
pub async fn raw_to(
    addr: std::net::SocketAddr,
    request: &SynapseRequest,
    body: &str,
) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut head = format!("POST {} HTTP/1.1\r\nhost: {addr}\r\n", request.path);
    for (name, value) in &request.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    // Head and body in one write, so they reach the server together: a server that answers
    // from the head alone and closes before the body arrives would reset the connection.
    let request = [head.as_bytes(), body.as_bytes()].concat();
    stream.write_all(&request).await.unwrap();
    let answer = read_answer(&mut stream).await;
    let status = answer[9..12].parse().unwrap();
    let body = answer.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

/// Reads one HTTP/1.1 answer whole: its head, then as many body bytes as its
/// `content-length` says (or to the end when it names none).
///
/// A server that refuses before reading the request's body and then closes (the real 10.5.0
/// axon's middleware does) leaves unread bytes behind, so its kernel answers the close with a
/// reset; the answer is already here by then, and a reset that comes after it is no failure.
pub async fn read_answer(stream: &mut tokio::net::TcpStream) -> String {
    let mut answer = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    while !is_whole(&answer) {
        match stream.read(&mut chunk).await {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset && has_head(&answer) => break,
            Err(e) => panic!(
                "reading the answer: {e} after {} bytes: {:?}",
                answer.len(),
                String::from_utf8_lossy(&answer)
            ),
        }
    }
    String::from_utf8(answer).unwrap()
}

/// Where the head of `answer` ends, once it is all here.
fn head_end(answer: &[u8]) -> Option<usize> {
    answer.windows(4).position(|w| w == b"\r\n\r\n")
}

/// Whether `answer` holds its whole head (a reset after it leaves the body to the caller's
/// checks: a cut JSON body fails them).
fn has_head(answer: &[u8]) -> bool {
    head_end(answer).is_some()
}

/// Whether `answer` holds a head and all the body its `content-length` declares.
fn is_whole(answer: &[u8]) -> bool {
    let Some(end) = head_end(answer) else {
        return false;
    };
    let head = String::from_utf8_lossy(&answer[..end]).to_ascii_lowercase();
    let declared = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse::<usize>().ok());
    declared.is_some_and(|length| answer.len() - (end + 4) >= length)
}

pub fn message(body: &str) -> String {
    match PyValue::parse(body.as_bytes()).unwrap().get("message") {
        Some(PyValue::Str(m)) => m.clone(),
        other => panic!("no message: {other:?}"),
    }
}

#[tokio::test]
async fn our_client_and_axon_speak_every_synapse() {
    let axon = axon(HttpAxonConfig::default()).await;
    let client = client(false);
    let target = [axon.target()];
    let one = |name: &'static str, fields: &'static str, timeout: f64| {
        let client = client.clone();
        let target = target.clone();
        async move {
            client
                .call_synapse(&target, &synapse(name, fields, timeout))
                .await
                .remove(0)
        }
    };
    let dummy = one("Dummy", r#"{"dummy_input": 4, "dummy_output": null}"#, 12.0).await;
    assert_eq!(dummy.status_code(), 200, "{dummy:?}");
    let fields = dummy.answer.fields.as_ref().unwrap().to_value();
    assert_eq!(fields.get("dummy_output"), Some(&PyValue::Int(8)));
    let hashed = one("Hashed", r#"{"text": "ok", "out": null}"#, 12.0).await;
    let out = hashed
        .answer
        .fields
        .as_ref()
        .unwrap()
        .get("out")
        .map(|out| out.to_value());
    assert_eq!(out, Some(PyValue::Str("OK".into())));
    let unknown = one("Unknown", "{}", 12.0).await;
    assert_eq!(unknown.status_code(), 404);
    let slow = one("Slow", r#"{"x": 1, "delay_s": 2.0, "out": null}"#, 0.5).await;
    assert_eq!(slow.status_code(), 408);
    assert_eq!(
        slow.answer.dendrite.status_message.as_deref(),
        Some("Request timeout after 0.5 seconds")
    );
}

#[tokio::test]
async fn an_axon_named_by_host_name_is_resolved_and_called() {
    // `localhost` resolves from the hosts file (no traffic leaves the machine); the lookup runs
    // on the runtime's blocking pool, so this one-thread runtime keeps running meanwhile.
    let axon = axon(HttpAxonConfig::default()).await;
    let mut target = axon.target();
    target.ip = "localhost".into();
    let dummy = synapse("Dummy", r#"{"dummy_input": 5, "dummy_output": null}"#, 12.0);
    let answer = client(false)
        .call_synapse(&[target.clone()], &dummy)
        .await
        .remove(0);
    assert_eq!(answer.status_code(), 200, "{answer:?}");
    target.port = 0;
    let answer = client(false)
        .call_synapse(&[target], &dummy)
        .await
        .remove(0);
    let message = answer
        .answer
        .dendrite
        .status_message
        .clone()
        .unwrap_or_default();
    assert!(
        message.contains("invalid axon address localhost:0"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_axon_sees_the_dendrite_s_uuid_and_a_few_more_however_often_connections_close() {
    let axon = axon(HttpAxonConfig::default()).await;
    // Idle connections expire after 50 ms: every call below opens a new one.
    let client = Client::new(
        Keypair::from_uri("//Alice").unwrap(),
        ClientConfig {
            http: HttpConfig {
                idle_timeout: Duration::from_millis(50),
                ..HttpConfig::default()
            },
            ..ClientConfig::default()
        },
    );
    let target = [axon.target()];
    let dummy = synapse("Dummy", r#"{"dummy_input": 2, "dummy_output": null}"#, 12.0);
    for _ in 0..6 {
        let answer = client.call_synapse(&target, &dummy).await.remove(0);
        assert_eq!(answer.status_code(), 200, "{answer:?}");
        assert_eq!(
            answer.answer.dendrite.uuid.as_deref(),
            Some(client.http_uuid())
        );
        tokio::time::sleep(Duration::from_millis(80)).await;
    }
    assert_eq!(
        axon.nonce_keys(),
        1,
        "one call at a time: the dendrite's uuid only"
    );
    // Concurrent calls to the axon: never refused for nonce order, and at most one uuid per
    // connection open at once (8 per endpoint by default), whatever the number of calls.
    let many = vec![axon.target(); 24];
    for _ in 0..3 {
        let answers = client.call_synapse(&many, &dummy).await;
        assert!(
            answers.iter().all(|a| a.status_code() == 200),
            "{answers:?}"
        );
        tokio::time::sleep(Duration::from_millis(80)).await;
    }
    let keys = axon.nonce_keys();
    assert!((2..=8).contains(&keys), "{keys} uuids");
}

#[tokio::test]
async fn the_axon_refuses_as_10_5_0_does() {
    let alice = Keypair::from_uri("//Alice").unwrap();
    let axon = axon(HttpAxonConfig::default()).await;
    let dendrite = Dendrite::new(alice.clone(), "127.0.0.1");
    let hashed = synapse("Hashed", r#"{"text": "signed", "out": null}"#, 12.0);
    let request = dendrite.render(&hashed, &axon.target(), now_ns());
    let (status, body) = raw(&axon, &request, &request.body.to_string()).await;
    assert_eq!(status, 200, "{body}");
    // The same request again: its nonce is no newer than the last accepted.
    let (status, body) = raw(&axon, &request, &request.body.to_string()).await;
    assert_eq!(status, 401);
    assert_eq!(
        message(&body),
        "Not Verified with error: Nonce is too old, a newer one was last processed"
    );
    // A hashed field changed after signing: the recomputed body hash differs.
    let fresh = dendrite.render(&hashed, &axon.target(), now_ns());
    let tampered = fresh.body.to_string().replace("\"signed\"", "\"forged\"");
    let (status, body) = raw(&axon, &fresh, &tampered).await;
    assert_eq!(status, 500);
    assert!(
        message(&body).starts_with("Internal Server Error #"),
        "{body}"
    );
    // Signed for another axon's hotkey.
    let mut elsewhere = axon.target();
    elsewhere.hotkey = alice.ss58_address().to_owned();
    let misaddressed = dendrite.render(&hashed, &elsewhere, now_ns());
    let (status, body) = raw(&axon, &misaddressed, &misaddressed.body.to_string()).await;
    assert_eq!(status, 401);
    assert!(
        message(&body).starts_with("Not Verified with error: Signature mismatch with "),
        "{body}"
    );
    // A first nonce from 20 s ago, with a 12 s timeout: outside 4 + 12 s.
    let stale = Dendrite::new(alice.clone(), "127.0.0.1");
    let old = stale.render(&hashed, &axon.target(), now_ns() - 20_000_000_000);
    let (status, body) = raw(&axon, &old, &old.body.to_string()).await;
    assert_eq!(status, 401);
    let text = message(&body);
    assert!(
        text.starts_with("Not Verified with error: Nonce is too old: acceptable delta is 16.00 seconds but request was 20.0"),
        "{text}"
    );
    // A required field without its input header: the synapse cannot be built from headers.
    let mut headless = dendrite.render(&hashed, &axon.target(), now_ns());
    headless
        .headers
        .retain(|(name, _)| !name.starts_with("bt_header_input_obj_"));
    let (status, _) = raw(&axon, &headless, &headless.body.to_string()).await;
    assert_eq!(status, 500);
}

/// The value of a rendered request's header `name`.
fn header<'a>(request: &'a SynapseRequest, name: &str) -> &'a str {
    request
        .headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap()
}

/// Sets a rendered request's header `name` to `value`.
fn set_header(request: &mut SynapseRequest, name: &str, value: String) {
    for (k, v) in &mut request.headers {
        if k == name {
            *v = value.clone();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_signed_request_sent_at_once_on_many_connections_passes_once() {
    let alice = Keypair::from_uri("//Alice").unwrap();
    let axon = axon(HttpAxonConfig::default()).await;
    let dendrite = Dendrite::new(alice, "127.0.0.1");
    let hashed = synapse("Hashed", r#"{"text": "once", "out": null}"#, 12.0);
    for round in 0..4 {
        let request = dendrite.render(&hashed, &axon.target(), now_ns());
        let mut copies = tokio::task::JoinSet::new();
        for _ in 0..32 {
            let (addr, request) = (axon.local_addr(), request.clone());
            copies.spawn(async move { raw_to(addr, &request, &request.body.to_string()).await });
        }
        let answers = copies.join_all().await;
        let passed = answers.iter().filter(|(status, _)| *status == 200).count();
        assert_eq!(
            passed, 1,
            "round {round}: one request, answered {passed} times"
        );
        for (status, body) in answers.iter().filter(|(status, _)| *status != 200) {
            assert_eq!(*status, 401);
            assert_eq!(
                message(body),
                "Not Verified with error: Nonce is too old, a newer one was last processed"
            );
        }
    }
}

#[tokio::test]
async fn we_differ_from_10_5_0_on_purpose_the_window_always_applies_and_uuids_are_uuids() {
    let alice = Keypair::from_uri("//Alice").unwrap();
    let axon = axon(HttpAxonConfig::default()).await;
    let dendrite = Dendrite::new(alice.clone(), "127.0.0.1");
    let hashed = synapse("Hashed", r#"{"text": "x", "out": null}"#, 12.0);
    // 10.5.0 skips the window when the unsigned version header is dropped; we do not.
    let mut old = dendrite.render(&hashed, &axon.target(), now_ns() - 20_000_000_000);
    old.headers
        .retain(|(name, _)| name != "bt_header_dendrite_version");
    let (status, body) = raw(&axon, &old, &old.body.to_string()).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        message(&body).starts_with("Not Verified with error: Nonce is too old: acceptable delta"),
        "{body}"
    );
    // A validly signed request whose uuid is 32 KiB: refused before it could become a key.
    let mut long = dendrite.render(&hashed, &axon.target(), now_ns());
    let uuid = "u".repeat(32 << 10);
    let nonce: i128 = header(&long, "bt_header_dendrite_nonce").parse().unwrap();
    let text = dendrite_http::request::signed_text(
        nonce,
        alice.ss58_address(),
        &axon.target().hotkey,
        &uuid,
        header(&long, "computed_body_hash"),
    );
    let signature = format!("0x{}", hex::encode(alice.sign(text.as_bytes())));
    set_header(&mut long, "bt_header_dendrite_uuid", uuid);
    set_header(&mut long, "bt_header_dendrite_signature", signature);
    let (status, body) = raw(&axon, &long, &long.body.to_string()).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(message(&body), "Not Verified with error: Invalid uuid");
    // The same request with its own uuid passes: only the uuid's form was refused.
    let fine = dendrite.render(&hashed, &axon.target(), now_ns());
    assert_eq!(raw(&axon, &fine, &fine.body.to_string()).await.0, 200);
}

#[tokio::test]
async fn blacklists_and_btauth_refuse_before_the_handler() {
    let alice = Keypair::from_uri("//Alice").unwrap();
    let blacklisting = axon(HttpAxonConfig {
        blacklist: vec![alice.ss58_address().to_owned()],
        ..HttpAxonConfig::default()
    })
    .await;
    let dummy = synapse("Dummy", r#"{"dummy_input": 1, "dummy_output": null}"#, 12.0);
    let refused = client(false)
        .call_synapse(&[blacklisting.target()], &dummy)
        .await
        .remove(0);
    assert_eq!(refused.status_code(), 403);
    assert_eq!(
        refused.answer.dendrite.status_message.as_deref(),
        Some(
            format!(
                "Forbidden. Key is blacklisted: {} is on this axon's blacklist.",
                alice.ss58_address()
            )
            .as_str()
        )
    );

    let verifying = axon(HttpAxonConfig {
        btauth: true,
        ..HttpAxonConfig::default()
    })
    .await;
    let signed = client(true)
        .call_synapse(&[verifying.target()], &dummy)
        .await
        .remove(0);
    assert_eq!(signed.status_code(), 200, "{signed:?}");
    let unsigned = client(false)
        .call_synapse(&[verifying.target()], &dummy)
        .await
        .remove(0);
    assert_eq!(unsigned.status_code(), 401);
    let text = unsigned.answer.dendrite.status_message.unwrap_or_default();
    assert!(
        text.starts_with("Not Verified with error: MalformedAuth: "),
        "{text}"
    );
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(verifying.answered(), 2);
}

#[tokio::test]
async fn streamed_answers_arrive_chunk_by_chunk_then_the_outcome() {
    let axon = axon(HttpAxonConfig::default()).await;
    let client = client(false);
    let stream_synapse = |n: u32, timeout: f64| {
        let fields = PyValue::parse(format!(r#"{{"n": {n}, "toks": []}}"#).as_bytes()).unwrap();
        dendrite_http::SynapseCall::new("Stream", timeout, &fields, &["n"], &[], None).unwrap()
    };
    let mut stream = client.call_synapse_stream(&axon.target(), &stream_synapse(5, 12.0));
    let started = std::time::Instant::now();
    let first = stream.next_chunk().await.expect("a first chunk");
    // The axon sends one chunk every 20 ms: the first arrives long before the last is sent.
    let first_after = started.elapsed();
    let mut chunks = vec![first];
    while let Some(chunk) = stream.next_chunk().await {
        chunks.push(chunk);
    }
    let all_after = started.elapsed();
    let text: Vec<String> = chunks
        .iter()
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    assert_eq!(text.concat(), "tok0 tok1 tok2 tok3 tok4 ");
    assert!(
        first_after + Duration::from_millis(60) < all_after,
        "{first_after:?} {all_after:?}"
    );
    let outcome = stream.outcome().await;
    assert_eq!(outcome.status_code(), 200, "{outcome:?}");
    assert_eq!(
        outcome.answer.axon.status_message.as_deref(),
        Some("Success")
    );
    // The socket's own bytes: the head and the chunked framing besides the 25 bytes of text.
    assert!(
        outcome.bytes_received > 25 + "HTTP/1.1 200 OK\r\n".len(),
        "{outcome:?}"
    );

    // The deadline holds over a stream too: 100 chunks take 2 s, the timeout is 0.3 s.
    let long = client.call_synapse_stream(&axon.target(), &stream_synapse(100, 0.3));
    let started = std::time::Instant::now();
    let outcome = long.outcome().await;
    assert_eq!(outcome.status_code(), 408);
    assert!(
        started.elapsed() < Duration::from_millis(600),
        "{:?}",
        started.elapsed()
    );

    // Any other answer is read whole.
    let unknown = client.call_synapse_stream(&axon.target(), &synapse("Unknown", "{}", 12.0));
    assert_eq!(unknown.outcome().await.status_code(), 404);
}

/// Each outcome lands in its neutral class, and an answer over `max_response_bytes` is the
/// client's own 500 (its `Content-Length` refused before the body is read).
#[tokio::test]
async fn outcomes_take_their_classes_and_answers_over_the_bound_are_refused() {
    use dendrite_core::{Outcome, WireOutcome};
    let axon = axon(HttpAxonConfig::default()).await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        dendrite_http::AxonTarget {
            port,
            ..axon.target()
        }
    };
    let client = client(false);
    let call = |target: dendrite_http::AxonTarget, name: &'static str, fields: &'static str| {
        let client = client.clone();
        async move {
            client
                .call_synapse(&[target], &synapse(name, fields, 0.5))
                .await
                .remove(0)
        }
    };
    let dummy = r#"{"dummy_input": 4, "dummy_output": null}"#;
    let cases = [
        (call(axon.target(), "Dummy", dummy).await, Outcome::Success),
        (
            call(axon.target(), "Unknown", "{}").await,
            Outcome::PeerError,
        ),
        (
            call(
                axon.target(),
                "Slow",
                r#"{"x": 1, "delay_s": 2.0, "out": null}"#,
            )
            .await,
            Outcome::Timeout,
        ),
        (call(closed, "Dummy", dummy).await, Outcome::Unavailable),
    ];
    for (outcome, class) in &cases {
        assert_eq!(outcome.outcome(), *class, "{outcome:?}");
    }

    let small = Client::new(
        Keypair::from_uri("//Alice").unwrap(),
        ClientConfig {
            http: HttpConfig {
                max_response_bytes: 16,
                ..HttpConfig::default()
            },
            ..ClientConfig::default()
        },
    );
    let over = small
        .call_synapse(&[axon.target()], &synapse("Dummy", dummy, 5.0))
        .await
        .remove(0);
    assert_eq!(over.status_code(), 500, "{over:?}");
    assert_eq!(
        over.answer.dendrite.status_message.as_deref(),
        Some("Client error: the answer is larger than 16 bytes")
    );
    assert_eq!(over.outcome(), Outcome::LocalError);
    assert_eq!(over.bytes_received, 0);
}

/// The bytes a 10.x result reports are what its connection's socket wrote and read for that
/// exchange: the request as the server received it, the answer as the server wrote it.
#[tokio::test]
async fn bytes_are_the_sockets_own_both_ways() {
    use tokio::net::TcpListener;
    const ANSWER: &[u8] = b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\n\
                            content-length: 2\r\n\r\n{}";
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buffer = [0u8; 4096];
        loop {
            let n = socket.read(&mut buffer).await.unwrap();
            assert!(n > 0, "the request ended early");
            request.extend_from_slice(&buffer[..n]);
            let text = String::from_utf8_lossy(&request).to_lowercase();
            let Some(end) = text.find("\r\n\r\n") else {
                continue;
            };
            let length: usize = text[..end]
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or(0);
            if request.len() >= end + 4 + length {
                break;
            }
        }
        socket.write_all(ANSWER).await.unwrap();
        // Held open until the client has read the answer whole (it keeps the connection).
        tokio::time::sleep(Duration::from_millis(200)).await;
        request.len()
    });
    let target = dendrite_http::AxonTarget {
        ip: "127.0.0.1".into(),
        port,
        hotkey: Keypair::from_uri("//Bob")
            .unwrap()
            .ss58_address()
            .to_owned(),
        uid: None,
    };
    let dummy = synapse("Dummy", r#"{"dummy_input": 1, "dummy_output": null}"#, 5.0);
    let result = client(false)
        .call_synapse(&[target], &dummy)
        .await
        .remove(0);
    let received_by_server = server.await.unwrap();
    assert_eq!(result.status_code(), 404, "{result:?}");
    assert_eq!(result.bytes_sent, received_by_server);
    assert_eq!(result.bytes_received, ANSWER.len());
}

/// Signed REST requests (`Client::request`) to our axon, which serves bittensor 11's kind on any
/// path that is no synapse call: Epistula and btauth/1 verified, answers signed with Epistula,
/// the chat route's events, unsigned requests refused.
#[tokio::test]
async fn our_axon_serves_signed_rest_requests_on_any_path() {
    use dendrite_core::{AuthScheme, Method, Outcome, RestRequest, WireOutcome};
    let axon = axon(HttpAxonConfig::default()).await;
    let client = client(false);
    let target = [axon.target()];
    let alice = Keypair::from_uri("//Alice").unwrap();
    for auth in [AuthScheme::Epistula, AuthScheme::BtAuth] {
        let request = RestRequest {
            body: bytes::Bytes::from_static(br#"{"task": "ping"}"#),
            auth,
            ..RestRequest::new(Method::POST, "/score?n=1")
        };
        let answer = client.request(&target, &request).await.remove(0);
        assert_eq!(answer.status, 200, "{auth:?}: {answer:?}");
        let json: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
        assert_eq!(json["signed_by"], alice.ss58_address());
        assert_eq!(json["path"], "/score");
        let signed = (auth == AuthScheme::Epistula).then_some(true);
        assert_eq!(answer.answer_signed, signed, "{auth:?}");
    }
    let chat = RestRequest {
        body: bytes::Bytes::from_static(br#"{"max_tokens": 3, "stream": true}"#),
        auth: AuthScheme::Epistula,
        events: true,
        ..RestRequest::new(Method::POST, "/v1/chat/completions")
    };
    let stream = client.request(&target, &chat).await.remove(0);
    let data: Vec<&str> = stream.events.iter().map(|e| e.data.as_str()).collect();
    assert_eq!(data.len(), 4, "{stream:?}");
    assert_eq!(data[3], "[DONE]");
    let unsigned = RestRequest::new(Method::GET, "/health");
    let refused = client.request(&target, &unsigned).await.remove(0);
    assert_eq!(refused.status, 401);
    assert_eq!(refused.outcome(), Outcome::Refused);
    // The synapse calls are as they were.
    let dummy = synapse("Dummy", r#"{"dummy_input": 1, "dummy_output": null}"#, 5.0);
    let synapse_call = client.call_synapse(&target, &dummy).await.remove(0);
    assert_eq!(synapse_call.status_code(), 200);
}

#[tokio::test]
async fn a_long_input_that_comes_back_is_read_as_sent_without_parsing_it_again() {
    // A 10.x answer is the whole synapse: `Slow` sends `x` back beside `out` (a copy of it).
    let axon = axon(HttpAxonConfig::default()).await;
    let long = "0123456789abcdef".repeat(1024);
    let fields = format!(r#"{{"x": "{long}", "delay_s": 0.001, "out": null}}"#);
    let fields = PyValue::parse(fields.as_bytes()).unwrap();
    let served = dendrite_axon::http::Served::from_name("Slow").unwrap();
    let call = dendrite_http::SynapseCall::new(
        "Slow",
        12.0,
        &fields,
        served.required(),
        served.hash_fields(),
        None,
    )
    .unwrap();
    let client = client(false);
    for round in 0..2 {
        let outcome = client.call_synapse(&[axon.target()], &call).await.remove(0);
        assert_eq!(outcome.status_code(), 200, "{outcome:?}");
        let elided = outcome
            .elided
            .as_ref()
            .expect("x came back unchanged: elided");
        assert!(elided.start() > 0, "round {round}");
        let answer = outcome.answer.fields.as_ref().unwrap().to_value();
        assert_eq!(answer.get("x"), Some(&PyValue::Str(long.clone())));
        assert_eq!(answer.get("out"), Some(&PyValue::Str(long.clone())));
        // The body as it came reads to the same synapse, and is what the socket carried.
        let raw = outcome.raw_body();
        assert_eq!(PyValue::parse(&raw).unwrap(), answer);
        assert!(raw.len() > 2 * long.len() && raw.len() < outcome.bytes_received);
        assert_ne!(
            &raw[..],
            &outcome.body[..],
            "the body itself was rearranged"
        );
    }
}
