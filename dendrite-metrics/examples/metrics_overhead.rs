//! Hot-path cost of metrics: the same fan-out (256 memoized toy axons in this process, [1, 1]
//! inputs) with the level OFF (no observer), INFO and DEBUG, interleaved round by round.
//!
//! `cargo run --release -p dendrite-metrics --example metrics_overhead`

use std::sync::Arc;
use std::time::{Duration, Instant};

use dendrite_axon::{serve, AxonConfig, Memoized, ToyModel};
use dendrite_core::{Client, ClientConfig, Keypair};
use dendrite_metrics::{DendriteMetrics, Level, MetricsConfig};
use dendrite_wire::synapse::TextLastHiddenState;
use dendrite_wire::{Synapse, Tensor};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    const N: usize = 256;
    const ROUNDS: usize = 60;
    let mut axons = Vec::new();
    for i in 0..N {
        let mut seed = [3u8; 32];
        seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
        axons.push(
            serve(
                &Keypair::from_seed(seed)?,
                Arc::new(Memoized::new(ToyModel::new())),
                AxonConfig::default(),
            )
            .await?,
        );
    }
    let endpoints: Vec<_> = axons
        .iter()
        .enumerate()
        .map(|(i, a)| a.endpoint(i as u64))
        .collect();
    let key = Keypair::from_uri("//Alice")?;
    let levels = [Level::Off, Level::Info, Level::Debug];
    let clients: Vec<Client> = levels
        .iter()
        .map(|&level| {
            let metrics = Arc::new(
                DendriteMetrics::new(MetricsConfig {
                    level,
                    ..MetricsConfig::new(key.ss58_address(), "bench")
                })
                .unwrap(),
            );
            match metrics.observer() {
                Some(observer) => {
                    Client::with_observer(key.clone(), ClientConfig::default(), observer)
                }
                None => Client::new(key.clone(), ClientConfig::default()),
            }
        })
        .collect();
    let synapses: Vec<Synapse> = vec![TextLastHiddenState::default().into()];
    let inputs = vec![Tensor::from_vec(vec![7i64], [1, 1])?; N];
    let mut times = vec![Vec::new(); levels.len()];
    for round in 0..ROUNDS + 3 {
        for (i, client) in clients.iter().enumerate() {
            let start = Instant::now();
            client
                .forward(&endpoints, &synapses, &inputs, Duration::from_secs(10))
                .await?;
            if round >= 3 {
                times[i].push(start.elapsed().as_secs_f64());
            }
        }
    }
    for (level, t) in levels.iter().zip(&mut times) {
        t.sort_by(f64::total_cmp);
        let median = t[t.len() / 2];
        println!("{level:?}: median round {:.3} ms, {:.2} µs per endpoint call ({ROUNDS} rounds × {N} endpoints)", median * 1e3, median * 1e6 / N as f64);
    }
    Ok(())
}
