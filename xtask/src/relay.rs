//! A TCP relay that holds every chunk for a fixed delay in each direction: the WAN simulation's
//! latency where the kernel has no `sch_netem`. HTTP/2 flow control is in-band, so window
//! updates see the full round-trip time; TCP's own congestion control sees a short hop only.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// Relays `listen[i]` to `targets[i]` with `delay` each way; prints `RELAY READY` and serves
/// until killed.
pub fn serve(pairs: &[(SocketAddr, SocketAddr)], delay: Duration) -> Result<()> {
    let mut handles = Vec::new();
    for &(listen, target) in pairs {
        let listener = TcpListener::bind(listen).with_context(|| format!("bind {listen}"))?;
        handles.push(std::thread::spawn(move || {
            for downstream in listener.incoming().map_while(Result::ok) {
                std::thread::spawn(move || {
                    if let Ok(upstream) = TcpStream::connect(target) {
                        let _ = relay(downstream, upstream, delay);
                    }
                });
            }
        }));
    }
    println!("RELAY READY");
    for handle in handles {
        let _ = handle.join();
    }
    Ok(())
}

fn relay(a: TcpStream, b: TcpStream, delay: Duration) -> std::io::Result<()> {
    a.set_nodelay(true)?;
    b.set_nodelay(true)?;
    let (a2, b2) = (a.try_clone()?, b.try_clone()?);
    let forward = std::thread::spawn(move || pipe(a, b2, delay));
    pipe(b, a2, delay);
    let _ = forward.join();
    Ok(())
}

/// Copies `from` to `to`, each chunk written `delay` after it was read.
fn pipe(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    let writer = std::thread::spawn(move || {
        for (due, chunk) in rx {
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            if to.write_all(&chunk).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
    let mut buf = vec![0u8; 256 << 10];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0
            || tx
                .send((Instant::now() + delay, buf[..n].to_vec()))
                .is_err()
        {
            break;
        }
    }
    drop(tx);
    let _ = writer.join();
}
