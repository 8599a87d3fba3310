//! Backward delivery against real dendrite-axon servers over loopback.

use crate::common;

use std::time::Duration;

use crate::common::*;
use dendrite_axon::Behaviour;
use dendrite_core::{Client, ClientConfig};
use dendrite_wire::synapse::{TextCausalLM, TextLastHiddenState, NETWORK_DIM, VOCAB_SIZE};
use dendrite_wire::Endpoint;
use dendrite_wire::{ReturnCode, Synapse, Tensor};

fn synapses() -> Vec<Synapse> {
    vec![
        TextLastHiddenState::default().into(),
        TextCausalLM::with_topk(3).into(),
    ]
}

/// A hidden-state gradient with distinct values, and a vocabulary gradient with exactly three
/// non-zero entries per position (so the top-3 wire encoding carries it whole).
fn gradients(seed: usize, b: usize, s: usize) -> Vec<Tensor> {
    let hidden: Vec<f32> = (0..b * s * NETWORK_DIM)
        .map(|i| ((i * 7 + seed * 13) % 1000) as f32 / 1000.0 - 0.5)
        .collect();
    let mut vocab = vec![0f32; b * s * VOCAB_SIZE];
    for row in 0..b * s {
        for j in 0..3 {
            vocab[row * VOCAB_SIZE + (seed * 101 + row * 17 + j * 1000) % VOCAB_SIZE] =
                1.0 + (seed + row + j) as f32;
        }
    }
    vec![
        Tensor::from_vec(hidden, [b, s, NETWORK_DIM]).unwrap(),
        Tensor::from_vec(vocab, [b, s, VOCAB_SIZE]).unwrap(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_axon_receives_exactly_its_gradients() {
    let axons = axons(4, Behaviour::Normal).await;
    let endpoints: Vec<Endpoint> = axons
        .iter()
        .enumerate()
        .map(|(i, a)| a.endpoint(i as u64))
        .collect();
    let inputs: Vec<Tensor> = (0..4).map(|i| tokens(1 + i % 2, 3)).collect();
    let grads: Vec<Vec<Tensor>> = inputs
        .iter()
        .enumerate()
        .map(|(i, x)| gradients(i, x.shape()[0], x.shape()[1]))
        .collect();
    let client = client();
    let results = client
        .backward(&endpoints, &synapses(), &inputs, &grads, TIMEOUT)
        .await
        .unwrap();
    for (i, (result, axon)) in results.iter().zip(&axons).enumerate() {
        for outcome in &result.synapses {
            assert_eq!(outcome.code, ReturnCode::Success, "{}", outcome.message);
        }
        let received = axon.model.gradients();
        assert_eq!(received.len(), 2, "axon {i}");
        for (got, (synapse, sent)) in received.iter().zip(synapses().iter().zip(&grads[i])) {
            assert_eq!(got.caller, client.key().ss58_address());
            assert_eq!(got.synapse.synapse_type(), synapse.synapse_type());
            assert_eq!(got.input.to_vec::<i64>(), inputs[i].to_vec::<i64>());
            assert_eq!(got.grad.shape(), sent.shape());
            assert_eq!(
                got.grad.to_vec::<f32>(),
                sent.to_vec::<f32>(),
                "axon {i} {}",
                synapse.name()
            );
        }
        assert_eq!(axon.handle.backward_count(), 1);
    }
}

#[tokio::test]
async fn backward_failures_are_codes() {
    let refusing = axon(Behaviour::FixedCode(ReturnCode::NotImplemented)).await;
    let closed = closed_endpoint(3).await;
    let inputs = vec![tokens(1, 2); 3];
    let grads = vec![gradients(0, 1, 2); 3];
    let results = client()
        .backward(
            &[refusing.endpoint(0), closed, Endpoint::dummy()],
            &synapses(),
            &inputs,
            &grads,
            TIMEOUT,
        )
        .await
        .unwrap();
    let codes: Vec<Vec<ReturnCode>> = results.iter().map(|r| r.codes()).collect();
    assert_eq!(codes[0], vec![ReturnCode::NotImplemented; 2]);
    assert_eq!(codes[1], vec![ReturnCode::Unavailable; 2]);
    assert_eq!(codes[2], vec![ReturnCode::BadEndpoint; 2]);
    assert!(refusing.model.gradients().is_empty());
}

#[tokio::test]
async fn a_gradient_of_the_wrong_shape_is_a_serialization_failure_not_a_send() {
    let axon = axon(Behaviour::Normal).await;
    let mut grads = gradients(0, 1, 2);
    grads[0] = Tensor::zeros(dendrite_wire::DType::Float32, [1, 2, 7]).unwrap();
    let results = client()
        .backward(
            &[axon.endpoint(0)],
            &synapses(),
            &[tokens(1, 2)],
            &[grads],
            TIMEOUT,
        )
        .await
        .unwrap();
    assert_eq!(
        results[0].synapses[0].code,
        ReturnCode::RequestSerializationException
    );
    assert_eq!(results[0].synapses[1].code, ReturnCode::Success);
    assert_eq!(
        axon.model.gradients().len(),
        1,
        "only the good synapse was sent"
    );
}

#[tokio::test]
async fn detached_backward_arrives_and_is_bounded() {
    let axon = axon(Behaviour::Normal).await;
    let client = client();
    let dispatch = client
        .backward_detached(
            &[axon.endpoint(0)],
            &synapses(),
            &[tokens(1, 2)],
            &[gradients(1, 1, 2)],
            TIMEOUT,
        )
        .unwrap();
    assert_eq!((dispatch.started, dispatch.dropped), (1, 0));
    for _ in 0..200 {
        if axon.model.gradients().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        axon.model.gradients().len(),
        2,
        "fire-and-forget gradients arrive"
    );

    // With two slots and a hanging peer, the third and later calls are dropped, not queued.
    let hanging = common::axon(Behaviour::Hang).await;
    let bounded = Client::new(
        key(2),
        ClientConfig {
            max_detached_backward: 2,
            ..ClientConfig::default()
        },
    );
    let endpoints = vec![hanging.endpoint(0); 10];
    let dispatch = bounded
        .backward_detached(
            &endpoints,
            &synapses(),
            &vec![tokens(1, 2); 10],
            &vec![gradients(0, 1, 2); 10],
            Duration::from_millis(300),
        )
        .unwrap();
    assert_eq!((dispatch.started, dispatch.dropped), (2, 8));
    assert_eq!(bounded.dropped_backward(), 8);
    // Once the in-flight ones time out (300 ms), slots free up again: within a bound generous
    // enough for a loaded machine, polled rather than slept for.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let until = std::time::Instant::now() + Duration::from_secs(10);
    let again = loop {
        let dispatch = bounded
            .backward_detached(
                &endpoints[..1],
                &synapses(),
                &[tokens(1, 2)],
                &[gradients(0, 1, 2)],
                Duration::from_millis(100),
            )
            .unwrap();
        if dispatch.started == 1 || std::time::Instant::now() > until {
            break dispatch;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(again.started, 1, "no slot came free after the deadline");
}
