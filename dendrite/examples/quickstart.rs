//! Every main call of the facade against two local toy axons: runnable with no setup.
//!
//! `cargo run -p dendrite --example quickstart`

use std::sync::Arc;

use dendrite::{
    Dendrite, DendriteConfig, GenerateOptions, Keypair, Tensor, TextCausalLM, TextCausalLMNext,
    TextLastHiddenState,
};
use dendrite_axon::{serve, AxonConfig, ToyModel};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Two toy axons on 127.0.0.1 (a real deployment reads endpoints from the metagraph or a file:
    // `dendrite::load_endpoints`).
    let mut endpoints = Vec::new();
    let mut axons = Vec::new();
    for (uid, uri) in ["//Bob", "//Charlie"].into_iter().enumerate() {
        let axon = serve(
            &Keypair::from_uri(uri)?,
            Arc::new(ToyModel::new()),
            AxonConfig::default(),
        )
        .await?;
        endpoints.push(axon.endpoint(uid as u64));
        axons.push(axon);
    }
    let dendrite = Dendrite::with_config(Keypair::from_uri("//Alice")?, DendriteConfig::default());

    let hidden = dendrite
        .text_last_hidden_state(
            endpoints.clone(),
            "hello world",
            TextLastHiddenState::default(),
            None,
        )
        .await?;
    println!(
        "text_last_hidden_state: codes {:?}, shape {:?}",
        hidden.codes(),
        hidden.outputs()[0][0].shape()
    );

    let logits = dendrite
        .text_causal_lm(
            endpoints.clone(),
            "hello world",
            TextCausalLM::with_topk(16),
            None,
        )
        .await?;
    println!(
        "text_causal_lm: codes {:?}, shape {:?}",
        logits.codes(),
        logits.outputs()[0][0].shape()
    );

    let next = dendrite
        .text_causal_lm_next(
            endpoints.clone(),
            "hello world",
            TextCausalLMNext::with_topk(4),
            None,
        )
        .await?;
    println!(
        "text_causal_lm_next: codes {:?}, shape {:?}",
        next.codes(),
        next.outputs()[0][0].shape()
    );

    let options = GenerateOptions {
        num_to_generate: 4,
        ..GenerateOptions::default()
    };
    for g in dendrite
        .generate(endpoints.clone(), "hello world", options, None)
        .await?
    {
        println!("generate: {:?} in {:?}: {:?}", g.code, g.time, g.text);
    }

    // forward/backward by hand: the gradient of sum(hidden states) goes back to each axon.
    let (endpoints, inputs) = dendrite.format_text_inputs(endpoints, "hello world")?;
    let synapses = [TextLastHiddenState::default().into()];
    let forward = dendrite
        .forward(&endpoints, &synapses, &inputs, None)
        .await?;
    let grads = forward
        .iter()
        .map(|r| {
            let out = &r.synapses[0].output;
            Tensor::from_vec(vec![1f32; out.numel()], out.shape().to_vec()).map(|g| vec![g])
        })
        .collect::<Result<Vec<_>, _>>()?;
    let backward = dendrite
        .backward(&endpoints, &synapses, &inputs, &grads, None)
        .await?;
    println!(
        "backward codes: {:?}",
        backward.iter().map(|r| r.codes()).collect::<Vec<_>>()
    );
    Ok(())
}
