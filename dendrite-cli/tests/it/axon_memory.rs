//! `dendrite axon --protocol http` as a miner runs it, a process of its own, against strangers'
//! requests over loopback sockets, its memory read from `/proc` (issue 37's measurements: 8
//! badly signed 60 MB bodies raised its peak RSS by 524 MB; 3,000 validly signed requests with
//! 32 KiB uuids grew it by 125 MB). Each check would fail on the axon before those fixes: the
//! bodies were read (up to 64 MiB each) before the signature was checked, and the uuids became
//! keys of its nonce table.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use dendrite::http::{AxonTarget, Dendrite, PyValue, SynapseCall, SynapseRequest};
use dendrite::Keypair;
use dendrite_axon::http::Served;

use super::cli::{scratch, start_axon_with};

/// Peak and current RSS of process `pid`, kB.
fn memory_kb(pid: u32) -> (u64, u64) {
    let status = procfs::process::Process::new(pid as i32)
        .and_then(|p| p.status())
        .expect("the axon's /proc status");
    (status.vmhwm.unwrap_or(0), status.vmrss.unwrap_or(0))
}

/// The nonce clock (`dendrite_keys::nonce`), as the signed headers' `i128`.
fn now_ns() -> i128 {
    i128::from(dendrite::core::nonce::now_ns())
}

fn dummy() -> SynapseCall {
    let served = Served::from_name("Dummy").unwrap();
    let fields = PyValue::parse(br#"{"dummy_input": 1, "dummy_output": null}"#).unwrap();
    SynapseCall::new(
        "Dummy",
        12.0,
        &fields,
        served.required(),
        served.hash_fields(),
        None,
    )
    .unwrap()
}

/// The head of `request` as raw HTTP/1.1, announcing `length` body bytes.
fn head(request: &SynapseRequest, length: usize) -> Vec<u8> {
    let mut head = format!("POST {} HTTP/1.1\r\nhost: axon\r\n", request.path);
    for (name, value) in &request.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "content-type: application/json\r\ncontent-length: {length}\r\n\r\n"
    ));
    head.into_bytes()
}

/// Reads one answer's status and body (an answer with a `content-length`, as the axon's are).
fn read_answer(stream: &mut TcpStream) -> (u16, String) {
    let mut answer = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let text = String::from_utf8_lossy(&answer).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .to_ascii_lowercase()
                .lines()
                .find_map(|l| {
                    l.strip_prefix("content-length:")
                        .map(|v| v.trim().to_owned())
                })
                .and_then(|v| v.parse::<usize>().ok());
            if length.is_some_and(|length| body.len() >= length) {
                return (head[9..12].parse().unwrap(), body.to_owned());
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => panic!(
                "no whole answer, got {:?}",
                String::from_utf8_lossy(&answer)
            ),
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Sends `request` whole on a connection of its own; its answer's status and body.
fn send(addr: SocketAddr, request: &SynapseRequest) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    let bytes = [head(request, request.body.len()), request.body.to_vec()].concat();
    stream.write_all(&bytes).unwrap();
    read_answer(&mut stream)
}

#[test]
fn strangers_bodies_and_uuids_do_not_grow_the_axon() {
    let dir = scratch("axon-memory");
    let (running, _, info) = start_axon_with(&dir, &["--protocol", "http"]);
    let pid = running.0.id();
    let port = info["port"].as_u64().unwrap() as u16;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let axon = AxonTarget {
        ip: "127.0.0.1".into(),
        port,
        hotkey: info["hotkey"].as_str().unwrap().to_owned(),
        uid: None,
    };
    let alice = Keypair::from_uri("//Alice").unwrap();
    let dendrite = Dendrite::new(alice.clone(), "127.0.0.1");
    let dummy = dummy();
    // A well-signed request is answered: the requests below differ only where they are bad.
    assert_eq!(send(addr, &dendrite.render(&dummy, &axon, now_ns())).0, 200);
    let (peak_before, _) = memory_kb(pid);

    // 8 connections at once, each signed for another hotkey and sending 60 MB of body: each
    // is refused from its head (the answer comes before a byte of body is sent), and the
    // bodies that follow are never buffered.
    const BODY: usize = 60_000_000;
    let mut elsewhere = axon.clone();
    elsewhere.hotkey = alice.ss58_address().to_owned();
    let senders: Vec<_> = (0..8)
        .map(|_| {
            let request = dendrite.render(&dummy, &elsewhere, now_ns());
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(addr).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(10)))
                    .unwrap();
                stream
                    .set_write_timeout(Some(Duration::from_secs(10)))
                    .unwrap();
                stream.write_all(&head(&request, BODY)).unwrap();
                let answer = read_answer(&mut stream);
                let chunk = vec![b' '; 1 << 20];
                let mut sent = 0;
                // The axon closes (or drains) what it refused: a write error ends the body.
                while sent < BODY && stream.write_all(&chunk).is_ok() {
                    sent += chunk.len();
                }
                answer
            })
        })
        .collect();
    for sender in senders {
        let (status, body) = sender.join().unwrap();
        assert_eq!(status, 401, "{body}");
        assert!(body.contains("Signature mismatch"), "{body}");
    }
    let (peak_after_bodies, _) = memory_kb(pid);
    let grown_mb = (peak_after_bodies - peak_before) / 1024;
    eprintln!("8 refused 60 MB bodies: the axon's peak RSS +{grown_mb} MB");
    assert!(
        grown_mb < 64,
        "8 refused 60 MB bodies raised the axon's peak RSS by {grown_mb} MB"
    );

    // 3,000 validly signed requests, each with a uuid of 32 KiB: refused before a uuid could
    // become a key of the nonce table, so the axon does not grow with them.
    let (_, rss_before) = memory_kb(pid);
    for i in 0..3_000 {
        let uuid = format!("{i:08}{}", "u".repeat((32 << 10) - 8));
        let (status, body) = send(addr, &dendrite.render_as(&uuid, &dummy, &axon, now_ns()));
        let start: String = body.chars().take(200).collect();
        assert_eq!(status, 401, "{start}…");
        assert!(body.contains("Invalid uuid"), "{start}…");
    }
    let (_, rss_after) = memory_kb(pid);
    let grown_mb = rss_after.saturating_sub(rss_before) / 1024;
    eprintln!("3,000 refused 32 KiB uuids: the axon's RSS +{grown_mb} MB");
    assert!(
        grown_mb < 32,
        "3,000 refused 32 KiB uuids grew the axon by {grown_mb} MB"
    );
    // The axon still serves.
    assert_eq!(send(addr, &dendrite.render(&dummy, &axon, now_ns())).0, 200);
}
