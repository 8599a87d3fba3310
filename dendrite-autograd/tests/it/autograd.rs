//! The autograd dendrite with real libtorch and real dendrite-axon servers on loopback.

use std::sync::Arc;
use std::time::Duration;

use crate::common::{dendrite, peers};
use dendrite_autograd::{from_torch, to_torch};
use dendrite_axon::Behaviour;
use dendrite_format::Endpoint;
use dendrite_wire::synapse::{TextCausalLM, TextLastHiddenState, TextSeq2Seq, VOCAB_SIZE};
use dendrite_wire::{ReturnCode, Synapse};
use tch::{Kind, Tensor};

fn tokens(seed: i64) -> Tensor {
    Tensor::f_from_slice(&[seed, seed + 1, seed + 2, seed + 3, seed + 4, seed + 5])
        .unwrap()
        .reshape([2, 3])
}

fn synapses() -> Vec<Synapse> {
    vec![
        TextLastHiddenState::default().into(),
        TextCausalLM::with_topk(3).into(),
    ]
}

/// A weight over the vocabulary with exactly three non-zero entries per position, so that the
/// causal LM's top-3 gradient encoding carries the whole gradient.
fn sparse_weight(seed: usize) -> Tensor {
    let mut w = vec![0f32; 2 * 3 * VOCAB_SIZE];
    for row in 0..6 {
        for j in 0..3 {
            w[row * VOCAB_SIZE + (seed * 997 + row * 31 + j * 5000) % VOCAB_SIZE] =
                0.5 + (seed + row + j) as f32;
        }
    }
    Tensor::f_from_slice(&w)
        .unwrap()
        .reshape([2, 3, VOCAB_SIZE as i64])
}

#[test]
fn conversions_are_exact_both_ways() {
    let t = Tensor::f_from_slice(&[1.5f32, -2.0, 3.25, 0.0])
        .unwrap()
        .reshape([2, 2]);
    let wire = from_torch(&t).unwrap();
    assert_eq!(wire.shape(), [2, 2]);
    assert_eq!(wire.to_vec::<f32>(), vec![1.5, -2.0, 3.25, 0.0]);
    let back = to_torch(&wire).unwrap();
    assert_eq!(back.kind(), Kind::Float);
    assert!(back.equal(&t));
    for kind in [
        Kind::Int64,
        Kind::Int,
        Kind::Double,
        Kind::Half,
        Kind::Uint8,
        Kind::Bool,
    ] {
        let t = Tensor::f_from_slice(&[1i64, 0, 3]).unwrap().to_kind(kind);
        let round = to_torch(&from_torch(&t).unwrap()).unwrap();
        assert_eq!(round.kind(), kind);
        assert!(round.equal(&t), "{kind:?}");
    }
    // Non-contiguous views are copied contiguous.
    let t = Tensor::f_from_slice(&[1f32, 2., 3., 4., 5., 6.])
        .unwrap()
        .reshape([2, 3])
        .transpose(0, 1);
    assert_eq!(
        from_torch(&t).unwrap().to_vec::<f32>(),
        vec![1., 4., 2., 5., 3., 6.]
    );
}

#[test]
fn every_axon_receives_exactly_the_gradient_of_its_outputs() {
    let peers = peers(&vec![Behaviour::Normal; 8]);
    let d = dendrite(true);
    let endpoints = peers.endpoints();
    let inputs: Vec<Tensor> = (0..8).map(|i| tokens(100 + 10 * i)).collect();
    let out = d.forward(&endpoints, &synapses(), &inputs, None).unwrap();
    assert_eq!(out.codes.size(), [16]);
    assert!(!out.codes.requires_grad() && !out.times.requires_grad());
    assert_eq!(
        Vec::<i64>::try_from(&out.codes).unwrap(),
        vec![ReturnCode::Success as i64; 16]
    );
    assert!(out.outputs.iter().all(|o| o.requires_grad()));
    // loss = Σ_e c_e · sum(hidden_e) + Σ_e sum(logprobs_e ⊙ w_e)
    let mut loss = Tensor::zeros([], (Kind::Float, tch::Device::Cpu));
    for e in 0..8 {
        loss += out.outputs[2 * e].sum(Kind::Float) * (e as f64 + 1.0);
        loss += (&out.outputs[2 * e + 1] * sparse_weight(e)).sum(Kind::Float);
    }
    loss.f_backward().unwrap();
    for (e, (handle, model)) in peers.axons.iter().enumerate() {
        let received = model.gradients();
        assert_eq!(received.len(), 2, "axon {e}");
        assert_eq!(handle.backward_count(), 1);
        let hidden = &received[0].grad;
        assert_eq!(hidden.shape(), [2, 3, 1024]);
        assert!(
            hidden.to_vec::<f32>().iter().all(|&g| g == e as f32 + 1.0),
            "axon {e}: hidden-state gradient"
        );
        let vocab = from_torch(&sparse_weight(e)).unwrap();
        assert_eq!(received[1].grad.shape(), vocab.shape());
        assert_eq!(
            received[1].grad.to_vec::<f32>(),
            vocab.to_vec::<f32>(),
            "axon {e}: causal LM gradient"
        );
    }
}

#[test]
fn no_backward_without_requires_grad_or_under_no_grad() {
    let peers = peers(&[Behaviour::Normal]);
    let endpoints = peers.endpoints();
    let out = dendrite(false)
        .forward(&endpoints, &synapses(), &[tokens(5)], None)
        .unwrap();
    assert!(out.outputs.iter().all(|o| !o.requires_grad()));
    let d = dendrite(true);
    let out = tch::no_grad(|| {
        d.forward(&endpoints, &synapses(), &[tokens(5)], None)
            .unwrap()
    });
    assert!(out.outputs.iter().all(|o| !o.requires_grad()));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(peers.axons[0].0.backward_count(), 0);
    assert_eq!(peers.axons[0].0.forward_count(), 2);
}

#[test]
fn a_failed_endpoint_gives_zeros_and_gets_no_backward() {
    let peers = peers(&[
        Behaviour::Normal,
        Behaviour::FixedCode(ReturnCode::NotServingNucleus),
    ]);
    let d = dendrite(true);
    let endpoints = peers.endpoints();
    let synapses: Vec<Synapse> = vec![TextLastHiddenState::default().into()];
    let out = d
        .forward(&endpoints, &synapses, &[tokens(1), tokens(2)], None)
        .unwrap();
    let codes = Vec::<i64>::try_from(&out.codes).unwrap();
    assert_eq!(
        codes,
        vec![
            ReturnCode::Success as i64,
            ReturnCode::NotServingNucleus as i64
        ]
    );
    assert_eq!(out.outputs[1].size(), [2, 3, 1024]);
    assert_eq!(out.outputs[1].abs().sum(Kind::Float).double_value(&[]), 0.0);
    (out.outputs[0].sum(Kind::Float) + out.outputs[1].sum(Kind::Float))
        .f_backward()
        .unwrap();
    assert_eq!(peers.axons[0].0.backward_count(), 1);
    assert_eq!(peers.axons[1].0.backward_count(), 0);
}

#[test]
fn seq2seq_outputs_are_ids_that_never_require_grad() {
    let peers = peers(&[Behaviour::Normal]);
    let synapses: Vec<Synapse> = vec![
        TextSeq2Seq {
            num_to_generate: 4,
            ..TextSeq2Seq::default()
        }
        .into(),
        TextLastHiddenState::default().into(),
    ];
    let d = dendrite(true);
    let out = d
        .forward(&peers.endpoints(), &synapses, &[tokens(7)], None)
        .unwrap();
    assert_eq!(out.outputs[0].kind(), Kind::Int64);
    assert!(!out.outputs[0].requires_grad() && out.outputs[1].requires_grad());
    out.outputs[1].sum(Kind::Float).f_backward().unwrap();
    assert_eq!(
        peers.axons[0].1.gradients().len(),
        2,
        "seq2seq gets its empty gradient"
    );
}

#[test]
fn eight_threads_share_one_dendrite() {
    let peers = peers(&[Behaviour::Normal, Behaviour::Normal]);
    let d = Arc::new(dendrite(true));
    let endpoints = Arc::new(peers.endpoints());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (d, endpoints) = (d.clone(), endpoints.clone());
            std::thread::spawn(move || {
                for round in 0..5 {
                    let inputs = [tokens(t * 100 + round), tokens(t * 100 + round + 50)];
                    let out = d.forward(&endpoints, &synapses(), &inputs, None).unwrap();
                    let loss = out.outputs.iter().map(|o| o.sum(Kind::Float)).fold(
                        Tensor::zeros([], (Kind::Float, tch::Device::Cpu)),
                        |a, b| a + b,
                    );
                    loss.f_backward().unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    for (handle, _) in &peers.axons {
        assert_eq!((handle.forward_count(), handle.backward_count()), (40, 40));
    }
}

#[test]
fn double_backward_is_an_error_not_a_crash() {
    let peers = peers(&[Behaviour::Normal]);
    let d = dendrite(true);
    let out = d
        .forward(&peers.endpoints(), &synapses()[..1], &[tokens(3)], None)
        .unwrap();
    let loss = out.outputs[0].sum(Kind::Float);
    loss.f_backward().unwrap();
    // Nothing in this graph saves tensors, so torch runs the dendrite's backward again: it must
    // refuse with an error that reaches the caller, not abort.
    let err = loss.f_backward().unwrap_err().to_string();
    assert!(err.contains("backward ran twice"), "{err}");
    assert_eq!(peers.axons[0].0.backward_count(), 1);
}

#[test]
fn the_blocking_api_refuses_async_threads() {
    let d = dendrite(true);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let err = rt.block_on(async {
        d.forward(&[Endpoint::dummy()], &synapses(), &[tokens(1)], None)
            .unwrap_err()
    });
    assert!(err.to_string().contains("outside async code"));
}
