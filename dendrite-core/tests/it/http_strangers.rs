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

use super::http_axon::{message, raw_to, read_answer};
use super::peer10::synapse;

async fn axon(config: HttpAxonConfig) -> HttpAxonHandle {
    serve_http(&Keypair::from_uri("//Bob").unwrap(), config)
        .await
        .unwrap()
}

fn now_ns() -> i128 {
    i128::from(dendrite_keys::nonce::now_ns())
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
    let uuid = uuid::Uuid::new_v4().to_string();
    let stale_ms = (dendrite_keys::nonce::now_ns() / 1_000_000) - 60_000;
    let signed = epistula::sign(&alice, b"{}", &uuid, stale_ms, Some(axon.hotkey()));
    let headers: Vec<(String, String)> =
        signed.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
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
    let (status, body) = raw_to(addr, &request, &request.body).await;
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
    let uuid = uuid::Uuid::new_v4().to_string();
    let now_ms = dendrite_keys::nonce::now_ns() / 1_000_000;
    let signed = epistula::sign(&alice, &body, &uuid, now_ms, Some(axon.hotkey()));
    let headers: Vec<(String, String)> =
        signed.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
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
