//! `cargo xtask wan`: a WAN on this machine. Two network namespaces of our own joined by a veth
//! pair with a bandwidth cap (`tbf`) on both ends; toy axons in one, `dendrite bench` in the
//! other behind a relay that holds every chunk 50 ms each way (100 ms RTT). The run compares the
//! protocol's default HTTP/2 windows (64 KiB) with ours (16 MiB stream / 64 MiB connection).
//! Each is run without and with 1% packet loss. Needs root, `ip`, `tc`, `nft` (installed with
//! apt-get when missing). All traffic stays inside the two namespaces, deleted afterwards.
//!
//! This kernel has no `sch_netem` (nor `fq_codel`/`prio`): latency comes from the relay, and loss
//! from an nftables rule on the veth pair that drops 1 in 100 packets each way (`numgen random`).
//! The veth's own RTT is well under a millisecond, so TCP recovers from a loss at that RTT, not
//! at the relay's 100 ms: a gentler loss than netem's on a real 100 ms path.

use std::process::Command;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use serde_json::{json, Value};

use crate::util;

const AXONS_NS: &str = "dendrite-wan-axons";
const CLIENT_NS: &str = "dendrite-wan-client";
const CLIENT_IP: &str = "10.213.0.1";
const AXONS_IP: &str = "10.213.0.2";
const RATE: &str = "200mbit";
const DELAY_MS: u64 = 50;
const RELAY_BASE_PORT: u16 = 21_000;
/// Packets dropped on the veth pair, percent (each way), in the runs with loss.
const LOSS_PERCENT: u32 = 1;

/// Deletes the namespaces (and with them the veth pair) on drop.
struct Namespaces;

impl Drop for Namespaces {
    fn drop(&mut self) {
        for ns in [AXONS_NS, CLIENT_NS] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

fn ip(args: &[&str]) -> Result<()> {
    util::run(Command::new("ip").args(args))
}

fn setup() -> Result<Namespaces> {
    // Leftovers of an interrupted run.
    drop(Namespaces);
    ip(&["netns", "add", AXONS_NS])?;
    let guard = Namespaces;
    ip(&["netns", "add", CLIENT_NS])?;
    ip(&[
        "link", "add", "dwan-c", "netns", CLIENT_NS, "type", "veth", "peer", "name", "dwan-a",
        "netns", AXONS_NS,
    ])?;
    for (ns, dev, addr) in [
        (CLIENT_NS, "dwan-c", CLIENT_IP),
        (AXONS_NS, "dwan-a", AXONS_IP),
    ] {
        ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", dev])?;
        ip(&["-n", ns, "link", "set", "lo", "up"])?;
        ip(&["-n", ns, "link", "set", dev, "up"])?;
        util::run(Command::new("tc").args([
            "-n", ns, "qdisc", "add", "dev", dev, "root", "tbf", "rate", RATE, "burst", "256kb",
            "latency", "200ms",
        ]))?;
    }
    Ok(guard)
}

fn nft(ns: &str, args: &[&str]) -> Result<()> {
    util::run(
        Command::new("ip")
            .args(["netns", "exec", ns, "nft"])
            .args(args),
    )
}

/// Drops `LOSS_PERCENT`% of the packets leaving each end of the veth pair.
fn start_loss() -> Result<()> {
    for (ns, dev) in [(CLIENT_NS, "dwan-c"), (AXONS_NS, "dwan-a")] {
        let rule = format!("oifname \"{dev}\" numgen random mod 100 < {LOSS_PERCENT} counter drop");
        let hook = "{ type filter hook output priority 0; policy accept; }";
        nft(ns, &["add", "table", "inet", "dwan_loss"])?;
        nft(ns, &["add", "chain", "inet", "dwan_loss", "out", hook])?;
        nft(ns, &["add", "rule", "inet", "dwan_loss", "out", &rule])?;
    }
    Ok(())
}

/// Prints how many packets were dropped (the rule's counter: proof that it matched) and stops
/// dropping.
fn stop_loss() -> Result<()> {
    for ns in [CLIENT_NS, AXONS_NS] {
        nft(ns, &["list", "table", "inet", "dwan_loss"])?;
        nft(ns, &["delete", "table", "inet", "dwan_loss"])?;
    }
    Ok(())
}

/// `nft`, from Debian's nftables when it is not there yet.
fn ensure_nft() -> Result<()> {
    if Command::new("nft")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Ok(());
    }
    util::run(Command::new("apt-get").args([
        "install",
        "-y",
        "-q",
        "--no-install-recommends",
        "nftables",
    ]))
}

pub fn run() -> Result<()> {
    ensure!(
        Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0")),
        "cargo xtask wan needs root (network namespaces and tc)"
    );
    ensure_nft()?;
    let bin = util::dist_bins()?;
    let dir = util::root().join("target").join("bench");
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("wan-endpoints.json");
    let _namespaces = setup()?;
    let mut axons = Command::new("ip");
    axons
        .args(["netns", "exec", AXONS_NS])
        .arg(bin.join("toy-axons"))
        .args(["--count", "16", "--memo", "--ip", AXONS_IP, "--out"])
        .arg(&file);
    let _axons = util::start_server(axons, "AXONS READY", Duration::from_secs(60), "toy-axons")?;
    // The client reaches each axon through the delaying relay on its own namespace's loopback.
    let listed: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&file)?)?;
    let mut relay = Command::new("ip");
    relay
        .args(["netns", "exec", CLIENT_NS])
        .arg(std::env::current_exe()?)
        .args(["wan-relay", "--delay-ms", &DELAY_MS.to_string()]);
    let mut behind_relay = Vec::new();
    for (i, endpoint) in listed.iter().enumerate() {
        let port = RELAY_BASE_PORT + i as u16;
        let target = format!("{AXONS_IP}:{}", endpoint["port"]);
        relay.arg(format!("127.0.0.1:{port}={target}"));
        let mut moved = endpoint.clone();
        moved["ip"] = json!("127.0.0.1");
        moved["port"] = json!(port);
        behind_relay.push(moved);
    }
    let file = dir.join("wan-endpoints-relayed.json");
    std::fs::write(&file, Value::Array(behind_relay).to_string())?;
    let _relay = util::start_server(relay, "RELAY READY", Duration::from_secs(20), "relay")?;
    let mut rows = Vec::new();
    rows.extend(bench_rows(&bin, &file, 0)?);
    start_loss()?;
    rows.extend(bench_rows(&bin, &file, LOSS_PERCENT)?);
    stop_loss()?;
    let report = json!({"rtt_ms": 2 * DELAY_MS, "rate": RATE, "runs": rows});
    std::fs::write(dir.join("wan.json"), serde_json::to_string_pretty(&report)?)?;
    println!("| endpoints | HTTP/2 windows | loss | MB/s received | p50 round | success |\n|---|---|---|---|---|---|");
    for row in report["runs"].as_array().context("runs")? {
        let o: &Value = &row["ours"];
        println!(
            "| {} | {} | {}% | {:.1} | {:.0} ms | {:.0}% |",
            row["endpoints"],
            row["windows"].as_str().unwrap_or("?"),
            row["loss_percent"],
            row["mb_per_s"].as_f64().unwrap_or(0.0),
            o["round_s_p50"].as_f64().unwrap_or(0.0) * 1e3,
            o["success_rate"].as_f64().unwrap_or(0.0) * 100.0
        );
    }
    Ok(())
}

/// Default vs our windows at 1 and 16 endpoints, with `loss`% packet loss in place.
fn bench_rows(bin: &std::path::Path, file: &std::path::Path, loss: u32) -> Result<Vec<Value>> {
    let mut rows = Vec::new();
    for endpoints in [1usize, 16] {
        for (windows, flags) in [
            (
                "protocol default (64 KiB)",
                &["--stream-window", "65535", "--connection-window", "65535"][..],
            ),
            ("ours (16 MiB / 64 MiB)", &[][..]),
        ] {
            let mut bench = Command::new("ip");
            bench
                .args(["netns", "exec", CLIENT_NS])
                .arg(bin.join("dendrite"))
                .args(["bench", "--endpoints"])
                .arg(file)
                .args([
                    "--limit",
                    &endpoints.to_string(),
                    "--rounds",
                    "5",
                    "--warmup",
                    "1",
                ])
                .args(["--timeout", "60"])
                .args(flags);
            // Lossy links may fail calls: the line says how many, nothing is refused.
            let out = crate::bench_run::bench_line_at(&mut bench, "dendrite bench (WAN)", 0.0)?;
            let mb_per_s = out["wire_bytes_received_per_round"].as_f64().unwrap_or(0.0)
                * out["rounds_per_s"].as_f64().unwrap_or(0.0)
                / 1e6;
            eprintln!(
                "xtask: WAN N={endpoints}, windows {windows}, loss {loss}%: {mb_per_s:.1} MB/s {out}"
            );
            rows.push(
                json!({"endpoints": endpoints, "windows": windows, "loss_percent": loss,
                             "mb_per_s": mb_per_s, "ours": out}),
            );
        }
    }
    Ok(rows)
}
