//! The pool's bounds with many endpoints. Its own test binary with one test: it counts this
//! process's open sockets, which other tests would disturb.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use dendrite_axon::Behaviour;
use dendrite_core::{Client, ClientConfig};
use dendrite_wire::synapse::TextLastHiddenState;
use dendrite_wire::Endpoint;
use dendrite_wire::{ReturnCode, Synapse};

/// The socket inodes among this process's open fds.
fn socket_inodes() -> std::collections::HashSet<String> {
    std::fs::read_dir("/proc/self/fd")
        .map(|dir| {
            dir.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .filter_map(|l| {
                    let l = l.to_string_lossy().into_owned();
                    Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
                })
                .collect()
        })
        .unwrap_or_default()
}

/// TCP sockets of this process open at one instant whose local port is not one of
/// `server_ports`: the client ends of connections (the axons' ends live in this process too).
///
/// Listing `/proc/self/fd` is not atomic while sockets churn: a socket closed during the listing
/// and the one opened under its fd number can both be seen. So the fds are listed twice and only
/// sockets in both listings count: an inode is never reused while open, so each such socket was
/// open throughout, in particular at the end of the first listing, where all of them were open
/// at once. And `/proc/net/tcp` is read in pieces, resumed by position, so with churn a socket
/// can be listed twice: each inode counts once. The count is then never more than were open at
/// one instant.
fn client_sockets(server_ports: &[u16]) -> usize {
    let first = socket_inodes();
    let tables = ["/proc/self/net/tcp", "/proc/self/net/tcp6"]
        .map(|table| std::fs::read_to_string(table).unwrap_or_default());
    let second = socket_inodes();
    let mut counted = std::collections::HashSet::new();
    for text in &tables {
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(inode)) = (fields.get(1), fields.get(9)) else {
                continue;
            };
            let port = local
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            let open_throughout = first.contains(*inode) && second.contains(*inode);
            if open_throughout && port.is_some_and(|p| !server_ports.contains(&p)) {
                counted.insert(inode.to_string());
            }
        }
    }
    counted.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_endpoints_through_a_pool_of_64() {
    const CAP: usize = 64;
    let axons = axons(8, Behaviour::Normal).await;
    let client = Client::new(
        key(1),
        ClientConfig {
            max_active_receptors: CAP,
            max_in_flight: CAP,
            ..ClientConfig::default()
        },
    );
    // 10,000 distinct hotkeys spread over 8 live axons: every call connects, is rejected
    // (wrong receiver), and its connection stays pooled until evicted.
    let endpoints: Vec<Endpoint> = (0..10_000u32)
        .map(|i| {
            let addr = axons[i as usize % 8].handle.local_addr();
            endpoint_at(10_000 + i, "127.0.0.1", addr.port())
        })
        .collect();
    let ports: Vec<u16> = axons.iter().map(|a| a.handle.local_addr().port()).collect();
    let baseline = client_sockets(&ports);
    let running = Arc::new(AtomicBool::new(true));
    let (peak_fds, peak_pool) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let sampler = {
        let (running, peak_fds, peak_pool, client, ports) = (
            running.clone(),
            peak_fds.clone(),
            peak_pool.clone(),
            client.clone(),
            ports.clone(),
        );
        tokio::spawn(async move {
            while running.load(Ordering::Relaxed) {
                peak_fds.fetch_max(client_sockets(&ports), Ordering::Relaxed);
                peak_pool.fetch_max(client.pool().len(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    let synapses: Vec<Synapse> = vec![TextLastHiddenState::default().into()];
    for chunk in endpoints.chunks(2_500) {
        let inputs = vec![tokens(1, 2); chunk.len()];
        let results = client
            .forward(chunk, &synapses, &inputs, Duration::from_secs(30))
            .await
            .unwrap();
        for r in &results {
            assert_eq!(
                r.synapses[0].code,
                ReturnCode::Unauthenticated,
                "{}",
                r.synapses[0].message
            );
        }
    }
    running.store(false, Ordering::Relaxed);
    sampler.await.unwrap();
    let (peak_fds, peak_pool) = (
        peak_fds.load(Ordering::Relaxed),
        peak_pool.load(Ordering::Relaxed),
    );
    assert!(peak_pool <= CAP, "pool reached {peak_pool}");
    assert_eq!(client.pool().len(), CAP);
    // Every connection holds a permit until its socket is closed, so at no instant are more
    // than CAP open (each sample counts sockets open at one instant)...
    assert!(
        peak_fds <= CAP,
        "client sockets peaked at {peak_fds} (baseline {baseline})"
    );
    // ...and an exact check once the churn has stopped.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let settled = client_sockets(&ports);
    assert_eq!(settled, client.pool().open_connections());
    assert!(
        settled <= CAP,
        "{settled} client sockets open after the run"
    );
    println!("peak pool {peak_pool}, client sockets {baseline} -> peak {peak_fds}");
}
