//! Autograd overhead per call and a forward+backward soak, in one run.
//!
//! `cargo run --release -p dendrite-autograd --example autograd_overhead [-- ROUNDS]`
//!
//! One memoized toy axon on its own runtime, `[1, 1]` last-hidden-state calls:
//! (a) the core's forward alone, (b) the autograd forward with `requires_grad` off,
//! (c) the autograd forward recorded in the graph (no backward), (d) forward + `backward()`
//! with awaited delivery; then ROUNDS (default 10,000) rounds of (d) with RSS sampled.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dendrite_autograd::{live_states, AutogradConfig, AutogradDendrite, Delivery};
use dendrite_axon::{serve, AxonConfig, Memoized, ToyModel};
use dendrite_core::{Client, ClientConfig, Keypair};
use dendrite_wire::synapse::TextLastHiddenState;
use dendrite_wire::Synapse;
use tch::{Kind, Tensor};

fn rss_mb() -> f64 {
    procfs::process::Process::myself()
        .and_then(|me| me.status())
        .ok()
        .and_then(|status| status.vmrss)
        .map_or(0.0, |kb| kb as f64 / 1024.0)
}

fn per_call(n: usize, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed().as_secs_f64() * 1e6 / n as f64
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds: usize = std::env::args().nth(1).map_or(Ok(10_000), |v| v.parse())?;
    let servers = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let axon = servers.block_on(serve(
        &Keypair::from_uri("//Bob")?,
        Arc::new(Memoized::new(ToyModel::new())),
        AxonConfig::default(),
    ))?;
    let endpoints = vec![axon.endpoint(0)];
    let synapses: Vec<Synapse> = vec![TextLastHiddenState::default().into()];
    let client = Client::new(Keypair::from_uri("//Alice")?, ClientConfig::default());
    let config = |requires_grad| AutogradConfig {
        requires_grad,
        delivery: Delivery::Await,
        timeout: Duration::from_secs(10),
    };
    let recorded = AutogradDendrite::new(client.clone(), config(true))?;
    let plain = AutogradDendrite::new(client.clone(), config(false))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let input = Tensor::f_from_slice(&[42i64])?.reshape([1, 1]);
    let wire_input = dendrite_autograd::from_torch(&input)?;
    const N: usize = 2_000;
    let mut rows = Vec::new();
    for _ in 0..2 {
        // Interleave twice; report the second pass (warm).
        rows.clear();
        rows.push((
            "core forward (no torch)",
            per_call(N, || {
                rt.block_on(client.forward(
                    &endpoints,
                    &synapses,
                    std::slice::from_ref(&wire_input),
                    Duration::from_secs(10),
                ))
                .unwrap();
            }),
        ));
        rows.push((
            "autograd forward, requires_grad off",
            per_call(N, || {
                plain
                    .forward(&endpoints, &synapses, std::slice::from_ref(&input), None)
                    .unwrap();
            }),
        ));
        rows.push((
            "autograd forward, recorded",
            per_call(N, || {
                recorded
                    .forward(&endpoints, &synapses, std::slice::from_ref(&input), None)
                    .unwrap();
            }),
        ));
        rows.push((
            "autograd forward + backward (awaited)",
            per_call(N, || {
                let out = recorded
                    .forward(&endpoints, &synapses, std::slice::from_ref(&input), None)
                    .unwrap();
                out.outputs[0].sum(Kind::Float).backward();
            }),
        ));
    }
    for (name, us) in &rows {
        println!("{name:<40} {us:>9.1} µs/call");
    }
    let mut samples = Vec::new();
    let start = Instant::now();
    for round in 1..=rounds {
        let out = recorded.forward(&endpoints, &synapses, std::slice::from_ref(&input), None)?;
        out.outputs[0].sum(Kind::Float).f_backward()?;
        if round % (rounds / 10).max(1) == 0 {
            samples.push((round, rss_mb()));
        }
    }
    println!(
        "soak: {rounds} forward+backward rounds in {:.1} s; live call states {}",
        start.elapsed().as_secs_f64(),
        live_states()
    );
    for (round, rss) in samples {
        println!("  after {round:>6} rounds: RSS {rss:.1} MB");
    }
    println!("axon received {} backward calls", axon.backward_count());
    Ok(())
}
