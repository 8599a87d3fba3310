//! Serves N toy axons on 127.0.0.1 in one process, for benchmarks and interop runs.
//!
//! `toy-axons --count N --out FILE [--memo] [--seconds S]` writes the endpoints as a JSON list
//! (`hotkey`, `ip`, `port`, `version`: the peer's endpoint-file format), prints `AXONS READY N`,
//! and serves until killed, stdin closes, or S seconds pass. `--hang-every K` makes every K-th
//! axon never answer, `--slow-every K --slow-ms M` every K-th answer after M ms, and
//! `--compression gzip|zstd` compresses responses (benchmarks of the call policies), `--ip IP`
//! listens on another address than 127.0.0.1 (the WAN simulation's namespace).
//!
//! `toy-axons --port P [--uri //Bob] --info-out FILE [--seconds S]` serves one axon as
//! `../shared/peer/axon.py` does: it writes `{hotkey, ip, port, version, pid}` to FILE and prints
//! `AXON READY {json}`.
//!
//! `--protocol http` serves the 10.x HTTP axon (`dendrite_axon::http`) instead: the listing is
//! then a list of `AxonInfo` dicts as `../shared/peer10/axon.py` writes them (faults and
//! compression are the 3.x fleet's only).

use std::sync::Arc;
use std::time::Duration;

use dendrite_axon::http::{serve_http, HttpAxonConfig};
use dendrite_axon::{serve, AxonConfig, Behaviour, Memoized, SynapseHandler, ToyModel};
use dendrite_keys::Keypair;
use dendrite_wire::Compression;
use tokio::io::AsyncReadExt;

/// Faults and compression of a fleet: every `hang_every`-th axon never answers, every
/// `slow_every`-th (of the others) answers after `slow`.
#[derive(Default)]
struct Fleet {
    ip: Option<std::net::IpAddr>,
    hang_every: usize,
    slow_every: usize,
    slow: Duration,
    compression: Option<Compression>,
}

impl Fleet {
    fn config(&self, index: usize) -> AxonConfig {
        let nth = |every: usize| every > 0 && index % every == every - 1;
        let behaviour = if nth(self.hang_every) {
            Behaviour::Hang
        } else if nth(self.slow_every) {
            Behaviour::Delay(self.slow)
        } else {
            Behaviour::Normal
        };
        let default = AxonConfig::default();
        AxonConfig {
            addr: std::net::SocketAddr::new(self.ip.unwrap_or(default.addr.ip()), 0),
            behaviour,
            compression: self.compression,
            ..default
        }
    }
}

fn number(arg: Option<String>) -> usize {
    arg.and_then(|v| v.parse().ok()).unwrap_or_else(|| usage())
}

fn usage() -> ! {
    eprintln!(
        "usage: toy-axons --count N --out FILE [--protocol grpc|http] [--memo] [--seconds S] \
         [--hang-every K] [--slow-every K --slow-ms M] [--compression gzip|zstd] [--ip IP]"
    );
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let (mut count, mut out, mut memo, mut seconds) = (1usize, None, false, None);
    let (mut port, mut uri, mut info_out) = (0u16, None::<String>, None::<String>);
    let mut faults = Fleet::default();
    let mut http = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--count" => {
                count = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "--out" => out = Some(args.next().unwrap_or_else(|| usage())),
            "--memo" => memo = true,
            "--protocol" => {
                http = match args.next().as_deref() {
                    Some("http") => true,
                    Some("grpc") => false,
                    _ => usage(),
                }
            }
            "--seconds" => seconds = args.next().and_then(|v| v.parse::<u64>().ok()),
            "--port" => {
                port = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "--uri" => uri = Some(args.next().unwrap_or_else(|| usage())),
            "--ip" => {
                faults.ip = Some(
                    args.next()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or_else(|| usage()),
                )
            }
            "--hang-every" => faults.hang_every = number(args.next()),
            "--slow-every" => faults.slow_every = number(args.next()),
            "--slow-ms" => faults.slow = Duration::from_millis(number(args.next()) as u64),
            "--compression" => {
                let name = args.next();
                faults.compression = Some(
                    name.as_deref()
                        .and_then(Compression::from_name)
                        .unwrap_or_else(|| usage()),
                );
            }
            "--info-out" => info_out = Some(args.next().unwrap_or_else(|| usage())),
            _ => usage(),
        }
    }
    if let Some(info_out) = info_out {
        serve_one(port, uri.as_deref().unwrap_or("//Bob"), &info_out, seconds).await;
        return;
    }
    let Some(out) = out else { usage() };
    if http {
        serve_http_fleet(count, &out, faults.ip, seconds).await;
        return;
    }
    let mut handles = Vec::with_capacity(count);
    let mut listing = Vec::with_capacity(count);
    for i in 0..count {
        let key = fleet_key(i);
        let handler: Arc<dyn SynapseHandler> = if memo {
            Arc::new(Memoized::new(ToyModel::new()))
        } else {
            Arc::new(ToyModel::new())
        };
        match serve(&key, handler, faults.config(i)).await {
            Ok(handle) => {
                let addr = handle.local_addr();
                listing.push(format!(
                    r#"{{"hotkey": "{}", "ip": "{}", "port": {}, "version": 370}}"#,
                    handle.hotkey(),
                    addr.ip(),
                    addr.port()
                ));
                handles.push(handle);
            }
            Err(e) => {
                eprintln!("toy-axons: axon {i}: {e}");
                std::process::exit(1);
            }
        }
    }
    if let Err(e) = std::fs::write(&out, format!("[{}]\n", listing.join(",\n"))) {
        eprintln!("toy-axons: cannot write {out}: {e}");
        std::process::exit(1);
    }
    println!("AXONS READY {count}");
    wait_for_stop(seconds).await;
    for handle in handles {
        handle.shutdown().await;
    }
}

/// Keys of a fleet: a fixed seed per index, fast to make.
fn fleet_key(index: usize) -> Keypair {
    let mut seed = [0x5au8; 32];
    seed[..8].copy_from_slice(&(index as u64).to_le_bytes());
    Keypair::from_seed(seed).unwrap_or_else(|e| panic!("seed: {e}"))
}

/// Serves `count` 10.x HTTP axons and writes their `AxonInfo` list to `out`.
async fn serve_http_fleet(
    count: usize,
    out: &str,
    ip: Option<std::net::IpAddr>,
    seconds: Option<u64>,
) {
    let mut handles = Vec::with_capacity(count);
    for i in 0..count {
        let default = HttpAxonConfig::default();
        let config = HttpAxonConfig {
            addr: std::net::SocketAddr::new(ip.unwrap_or(default.addr.ip()), 0),
            // The benchmark fleets also answer a price-path subnet's synapse.
            serve_paths: true,
            ..default
        };
        match serve_http(&fleet_key(i), config).await {
            Ok(handle) => handles.push(handle),
            Err(e) => {
                eprintln!("toy-axons: axon {i}: {e}");
                std::process::exit(1);
            }
        }
    }
    let pid = std::process::id();
    let listing: Vec<String> = handles.iter().map(|h| h.info_json(pid)).collect();
    if let Err(e) = std::fs::write(out, format!("[{}]\n", listing.join(",\n"))) {
        eprintln!("toy-axons: cannot write {out}: {e}");
        std::process::exit(1);
    }
    println!("AXONS READY {count}");
    wait_for_stop(seconds).await;
    for handle in handles {
        handle.shutdown().await;
    }
}

/// Serves one toy axon keyed by `uri` on 127.0.0.1:`port`, like the peer's `axon.py`.
async fn serve_one(port: u16, uri: &str, info_out: &str, seconds: Option<u64>) {
    let key = Keypair::from_uri(uri).unwrap_or_else(|e| {
        eprintln!("toy-axons: {e}");
        std::process::exit(2)
    });
    let config = AxonConfig {
        addr: ([127, 0, 0, 1], port).into(),
        ..AxonConfig::default()
    };
    let handle = match serve(&key, Arc::new(ToyModel::new()), config).await {
        Ok(handle) => handle,
        Err(e) => {
            eprintln!("toy-axons: {e}");
            std::process::exit(1)
        }
    };
    let info = handle.info_json(std::process::id());
    if let Err(e) = std::fs::write(info_out, &info) {
        eprintln!("toy-axons: cannot write {info_out}: {e}");
        std::process::exit(1);
    }
    println!("AXON READY {info}");
    wait_for_stop(seconds).await;
    handle.shutdown().await;
}

/// Until stdin closes, `seconds` pass, or Ctrl-C.
async fn wait_for_stop(seconds: Option<u64>) {
    let stdin_closed = async {
        let mut buf = [0u8; 64];
        let mut stdin = tokio::io::stdin();
        while matches!(stdin.read(&mut buf).await, Ok(n) if n > 0) {}
    };
    let limit = tokio::time::sleep(Duration::from_secs(seconds.unwrap_or(u64::MAX / 4)));
    tokio::select! {
        _ = stdin_closed => {}
        _ = limit => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
