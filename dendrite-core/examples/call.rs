//! Calls one endpoint (a peer `--info-out` JSON file: hotkey, ip, port, version) with every
//! synapse, all four in one request, then a Backward, and prints codes and shapes.
//!
//! `cargo run -p dendrite-core --example call -- ENDPOINT.json [//Alice]`

use std::time::Duration;

use dendrite_core::{Client, ClientConfig, Keypair};
use dendrite_wire::synapse::{TextCausalLM, TextCausalLMNext, TextLastHiddenState, TextSeq2Seq};
use dendrite_wire::Endpoint;
use dendrite_wire::{Synapse, Tensor};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: call ENDPOINT.json [URI]")?;
    let uri = args.next().unwrap_or_else(|| "//Alice".into());
    let info: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    let info = if info.is_array() {
        info[0].clone()
    } else {
        info
    };
    let hotkey = info["hotkey"].as_str().ok_or("hotkey")?;
    let endpoint = Endpoint::new(
        info["version"].as_u64().unwrap_or(370) as u32,
        0,
        hotkey,
        info["ip"].as_str().ok_or("ip")?,
        4,
        info["port"].as_u64().ok_or("port")? as u16,
        hotkey,
    )?;
    let client = Client::new(Keypair::from_uri(&uri)?, ClientConfig::default());
    let input = Tensor::from_vec(
        vec![
            31373i64, 995, 11, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 160, 170, 180, 190,
        ],
        [2, 9],
    )?;
    let synapses: Vec<Synapse> = vec![
        TextLastHiddenState::default().into(),
        TextCausalLM::with_topk(4).into(),
        TextCausalLMNext::with_topk(4).into(),
        TextSeq2Seq {
            num_to_generate: 8,
            ..TextSeq2Seq::default()
        }
        .into(),
    ];
    let timeout = Duration::from_secs(30);
    let mut calls: Vec<Vec<Synapse>> = synapses.iter().map(|s| vec![s.clone()]).collect();
    calls.push(synapses.clone());
    for call in calls {
        let r = client
            .forward(
                std::slice::from_ref(&endpoint),
                &call,
                std::slice::from_ref(&input),
                timeout,
            )
            .await?;
        for (s, o) in call.iter().zip(&r[0].synapses) {
            println!(
                "forward {:<20} {:?} {:?} {:?} {:.1} ms {}",
                s.name(),
                o.code,
                o.output.shape(),
                o.output.dtype(),
                o.elapsed.as_secs_f64() * 1e3,
                o.message
            );
        }
    }
    let grads: Vec<Tensor> = synapses[..2]
        .iter()
        .map(|s| s.nill_forward_response(&input))
        .collect();
    let r = client
        .backward(&[endpoint], &synapses[..2], &[input], &[grads], timeout)
        .await?;
    for (s, o) in synapses.iter().zip(&r[0].synapses) {
        println!(
            "backward {:<19} {:?} {:.1} ms {}",
            s.name(),
            o.code,
            o.elapsed.as_secs_f64() * 1e3,
            o.message
        );
    }
    Ok(())
}
