//! Our HTTP axon against strangers, over real loopback sockets: requests refused from their
//! headers before a byte of their body is read (the body never sent), heads and bodies that
//! trickle cut at their deadlines, and the connection caps (in all, per address) holding while
//! a good client is served. Source addresses other than 127.0.0.1 stand for other hosts.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use dendrite_axon::http::{serve_http, HttpAxonConfig, HttpAxonHandle};
use dendrite_core::Keypair;
use dendrite_http::{epistula, Dendrite};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use super::http_axon::{message, now_ns, raw_to, read_answer};
use super::peer10::synapse;

async fn axon(config: HttpAxonConfig) -> HttpAxonHandle {
    serve_http(&Keypair::from_uri("//Bob").unwrap(), config)
        .await
        .unwrap()
}

/// A connection to `addr` from the loopback address `from`.
async fn connect_from(from: &str, addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    socket.connect(addr).await.unwrap()
}

/// Writes `head` (and no body, whatever it declares) and reads the answer, in at most 5 s: a
/// server that waited for the body would not answer.
async fn head_only(addr: SocketAddr, head: String) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(5), read_answer(&mut stream))
        .await
        .expect("no answer without the body: the server waited for it");
    let status = answer[9..12].parse().unwrap();
    (status, answer.split_once("\r\n\r\n").unwrap().1.to_owned())
}

/// The head of a POST to `path` with `headers`, declaring a body of `length` bytes.
fn head<K: AsRef<str>>(path: &str, headers: &[(K, String)], length: usize) -> String {
    let mut head = format!("POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{}: {value}\r\n", name.as_ref()));
    }
    head + &format!("content-type: application/json\r\ncontent-length: {length}\r\n\r\n")
}

/// Epistula headers of `body` signed by `key` for `receiver` at `timestamp_ms`, with a fresh
/// uuid.
fn epistula_headers(
    key: &Keypair,
    body: &[u8],
    timestamp_ms: u64,
    receiver: &str,
) -> Vec<(String, String)> {
    let uuid = uuid::Uuid::new_v4().to_string();
    epistula::sign(key, body, &uuid, timestamp_ms, Some(receiver))
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

/// Whether the server closed `stream` within `wait` (end of stream or a reset), rather than
/// leaving it open.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut byte = [0u8; 64];
    match tokio::time::timeout(wait, stream.read(&mut byte)).await {
        Ok(Ok(0)) | Ok(Err(_)) => true,
        Ok(Ok(_)) => true, // it answered (an error status) and will close
        Err(_) => false,
    }
}

#[tokio::test]
async fn requests_are_refused_from_their_headers_before_their_body_is_read() {
    let alice = Keypair::from_uri("//Alice").unwrap();
    let axon = axon(HttpAxonConfig::default()).await;
    let addr = axon.local_addr();
    let dendrite = Dendrite::new(alice.clone(), "127.0.0.1");
    let dummy = synapse("Dummy", r#"{"dummy_input": 1, "dummy_output": null}"#, 12.0);
    // Signed for another hotkey, announcing 50 MB: 401 at once.
    let mut elsewhere = axon.target();
    elsewhere.hotkey = alice.ss58_address().to_owned();
    let misaddressed = dendrite.render(&dummy, &elsewhere, now_ns());
    let (status, body) = head_only(addr, head("/Dummy", &misaddressed.headers, 50_000_000)).await;
    assert_eq!(status, 401, "{body}");
    assert!(message(&body).starts_with("Not Verified with error: Signature mismatch"));
    // Well signed, announcing more than max_request_bytes: 413 at once.
    let big = dendrite.render(&dummy, &axon.target(), now_ns());
    let (status, body) = head_only(addr, head("/Dummy", &big.headers, 100 << 20)).await;
    assert_eq!(status, 413, "{body}");
    assert!(
        message(&body).contains("104857600 bytes declared"),
        "{body}"
    );
    // Epistula with a stale timestamp, announcing 50 MB: the miner's 400 at once.
    let stale_ms = (dendrite_keys::nonce::now_ns() / 1_000_000) - 60_000;
    let headers = epistula_headers(&alice, b"{}", stale_ms, axon.hotkey());
    let (status, body) = head_only(addr, head("/score", &headers, 50_000_000)).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body, r#"{"detail":"Request is too stale"}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_and_the_caps_hold_while_a_good_client_is_served() {
    let alice = Keypair::from_uri("//Alice").unwrap();
    let config = HttpAxonConfig {
        header_timeout: Duration::from_secs(2),
        body_timeout: Duration::from_millis(600),
        max_connections_per_ip: 16,
        ..HttpAxonConfig::default()
    };
    let axon = axon(config).await;
    let addr = axon.local_addr();
    // 40 connections from one other host, each trickling the start of a head.
    let mut trickling = Vec::new();
    for _ in 0..40 {
        let mut stream = connect_from("127.0.0.2", addr).await;
        stream
            .write_all(b"POST /Dummy HTTP/1.1\r\nhost: a")
            .await
            .unwrap();
        trickling.push(stream);
    }
    let started = Instant::now();
    // The accept loop has taken them all by now; 16 × 10 ms of checks end long before the
    // header deadline.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut open = 0;
    for stream in &mut trickling {
        if !closed_within(stream, Duration::from_millis(10)).await {
            open += 1;
        }
    }
    assert_eq!(open, 16, "the per-address cap keeps 16 of the 40 open");
    // A good client from another address is served meanwhile.
    let dendrite = Dendrite::new(alice.clone(), "127.0.0.1");
    let dummy = synapse("Dummy", r#"{"dummy_input": 4, "dummy_output": null}"#, 12.0);
    let request = dendrite.render(&dummy, &axon.target(), now_ns());
    let (status, body) = raw_to(addr, &request, &request.body.to_string()).await;
    assert_eq!(status, 200, "{body}");
    // Past the header deadline every trickling head's connection is closed.
    let wait = Duration::from_millis(4000).saturating_sub(started.elapsed());
    for stream in &mut trickling {
        assert!(
            closed_within(stream, wait).await,
            "a trickled head outlived its deadline"
        );
    }
    // A body that trickles: its head passes (Epistula's header checks), its body does not
    // come within the body deadline: 408.
    let body = vec![b'x'; 100];
    let now_ms = dendrite_keys::nonce::now_ns() / 1_000_000;
    let headers = epistula_headers(&alice, &body, now_ms, axon.hotkey());
    let mut slow = connect_from("127.0.0.3", addr).await;
    slow.write_all(head("/score", &headers, body.len()).as_bytes())
        .await
        .unwrap();
    slow.write_all(&body[..10]).await.unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(5), read_answer(&mut slow))
        .await
        .expect("a trickled body got no answer");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("Request body not read within 0.6 seconds"),
        "{answer}"
    );
}

#[tokio::test]
async fn connections_over_the_axon_s_cap_are_closed_as_accepted() {
    let config = HttpAxonConfig {
        max_connections: 8,
        ..HttpAxonConfig::default()
    };
    let axon = axon(config).await;
    let addr = axon.local_addr();
    let mut held = Vec::new();
    for i in 0..8 {
        let mut stream = connect_from(&format!("127.0.1.{}", i + 1), addr).await;
        stream.write_all(b"GET").await.unwrap();
        held.push(stream);
    }
    for stream in &mut held {
        assert!(!closed_within(stream, Duration::from_millis(50)).await);
    }
    let mut over = connect_from("127.0.2.1", addr).await;
    assert!(
        closed_within(&mut over, Duration::from_secs(2)).await,
        "the 9th stayed open"
    );
    // One of the 8 leaves; a new connection is served.
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut again = connect_from("127.0.2.2", addr).await;
    assert!(!closed_within(&mut again, Duration::from_millis(200)).await);
}

/// A client whose HTTP wire has `http`'s bounds.
fn bounded_client(http: dendrite_core::HttpConfig) -> dendrite_core::Client {
    dendrite_core::Client::new(
        Keypair::from_uri("//Alice").unwrap(),
        dendrite_core::ClientConfig {
            http,
            ..dendrite_core::ClientConfig::default()
        },
    )
}

#[tokio::test]
async fn a_call_takes_at_most_its_byte_budget_across_all_its_axons() {
    use dendrite_core::{AuthScheme, Method, Outcome, RestRequest, WireOutcome};
    let mut axons = Vec::new();
    for _ in 0..6 {
        axons.push(axon(HttpAxonConfig::default()).await);
    }
    let targets: Vec<_> = axons.iter().map(HttpAxonHandle::target).collect();
    // Each answer is ~180 KB of tokens; the call may take 400,000 bytes in all.
    let budget = 400_000;
    let client = bounded_client(dendrite_core::HttpConfig {
        max_call_bytes: budget,
        ..dendrite_core::HttpConfig::default()
    });
    let chat = RestRequest {
        body: bytes::Bytes::from_static(br#"{"max_tokens": 20000}"#),
        auth: AuthScheme::Epistula,
        ..RestRequest::new(Method::POST, "/v1/chat/completions")
    };
    let answers = client.request(&targets, &chat).await;
    let whole: Vec<_> = answers
        .iter()
        .filter(|a| a.outcome() == Outcome::Success)
        .collect();
    let kept: usize = whole.iter().map(|a| a.body.len()).sum();
    assert!(
        !whole.is_empty() && kept <= budget,
        "{} answers, {kept} bytes",
        whole.len()
    );
    assert!(whole.iter().all(|a| a.body.len() > 150_000));
    let cut: Vec<_> = answers
        .iter()
        .filter(|a| a.outcome() != Outcome::Success)
        .collect();
    assert!(
        cut.len() >= 4,
        "6 answers of ~180 KB cannot all fit in 400 KB"
    );
    for answer in cut {
        assert!(
            answer
                .message
                .contains("more than its budget of 400000 bytes"),
            "{}",
            answer.message
        );
    }
    // The next call has its own budget.
    let again = client.request(&targets[..1], &chat).await.remove(0);
    assert_eq!(again.outcome(), Outcome::Success, "{}", again.message);
}

#[tokio::test]
async fn an_answer_head_over_the_header_bounds_is_the_client_s_error() {
    use dendrite_core::{AuthScheme, Method, Outcome, RestRequest, WireOutcome};
    // A server whose answer has 150 header lines.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request).await;
                let mut answer = String::from("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n");
                for i in 0..150 {
                    answer.push_str(&format!("x-filler-{i}: {}\r\n", "v".repeat(10)));
                }
                answer.push_str("\r\n{}");
                let _ = stream.write_all(answer.as_bytes()).await;
            });
        }
    });
    let target = dendrite_http::AxonTarget {
        ip: "127.0.0.1".into(),
        port: addr.port(),
        hotkey: Keypair::from_uri("//Bob")
            .unwrap()
            .ss58_address()
            .to_owned(),
        uid: None,
    };
    let request = RestRequest {
        auth: AuthScheme::None,
        ..RestRequest::new(Method::GET, "/")
    };
    let strict = bounded_client(dendrite_core::HttpConfig::default());
    let answer = strict
        .request(std::slice::from_ref(&target), &request)
        .await
        .remove(0);
    assert_eq!(answer.outcome(), Outcome::LocalError, "{answer:?}");
    let lenient = bounded_client(dendrite_core::HttpConfig {
        max_answer_headers: 200,
        ..dendrite_core::HttpConfig::default()
    });
    let answer = lenient.request(&[target], &request).await.remove(0);
    assert_eq!(answer.status, 200, "{answer:?}");
}
