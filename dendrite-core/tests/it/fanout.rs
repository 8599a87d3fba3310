//! Forward fan-out against real dendrite-axon servers over loopback.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::*;
use dendrite_axon::{Behaviour, ToyModel};
use dendrite_core::{Client, ClientConfig, ReceptorConfig};
use dendrite_wire::synapse::{
    TextCausalLM, TextCausalLMNext, TextLastHiddenState, TextSeq2Seq, NETWORK_DIM, VOCAB_SIZE,
};
use dendrite_wire::Endpoint;
use dendrite_wire::{ReturnCode, Synapse, Tensor};

fn lhs() -> Synapse {
    TextLastHiddenState::default().into()
}

fn causal_lm(k: i32) -> Synapse {
    TextCausalLM::with_topk(k).into()
}

fn next(k: i32) -> Synapse {
    TextCausalLMNext::with_topk(k).into()
}

fn seq2seq(n: i32) -> Synapse {
    TextSeq2Seq {
        num_to_generate: n,
        ..TextSeq2Seq::default()
    }
    .into()
}

/// Checks an output against what the toy model must have produced for `input`.
fn assert_toy_output(synapse: &Synapse, input: &Tensor, output: &Tensor) {
    let tokens = input.to_vec::<i64>();
    let &[b, s] = input.shape() else {
        panic!("input shape")
    };
    let last = |item: usize| tokens[item * s + s - 1];
    match synapse {
        Synapse::TextLastHiddenState(_) => {
            assert_eq!(output.shape(), [b, s, NETWORK_DIM]);
            let values = output.as_slice::<f32>().unwrap();
            for (i, &t) in tokens.iter().enumerate() {
                for d in [0, 1, 511, NETWORK_DIM - 1] {
                    assert_eq!(values[i * NETWORK_DIM + d], ToyModel::hidden(t, d));
                }
            }
        }
        Synapse::TextCausalLM(p) => {
            assert_eq!(output.shape(), [b, s, VOCAB_SIZE]);
            let values = output.as_slice::<f32>().unwrap();
            for (i, &t) in tokens.iter().enumerate() {
                let row = &values[i * VOCAB_SIZE..(i + 1) * VOCAB_SIZE];
                for j in 0..p.topk as usize {
                    let id = ToyModel::next_token(t, j) as usize;
                    let expected = (ToyModel::probability(j) + 1e-40).ln();
                    assert!(
                        (row[id] - expected).abs() < 1e-5,
                        "{} vs {expected}",
                        row[id]
                    );
                }
                let total: f64 = row.iter().map(|&l| (l as f64).exp()).sum();
                assert!((total - 1.0).abs() < 1e-3, "probabilities sum to {total}");
            }
        }
        Synapse::TextCausalLMNext(p) => {
            let k = p.topk as usize;
            assert_eq!(output.shape(), [b, k + 1, 3]);
            let values = output.as_slice::<f32>().unwrap();
            for item in 0..b {
                for j in 0..k {
                    let row = &values[(item * (k + 1) + j) * 3..][..3];
                    let first = ToyModel::next_token(last(item), j);
                    assert_eq!(row[0], ToyModel::probability(j));
                    assert_eq!(row[1], first as f32);
                    assert_eq!(row[2], ToyModel::next_token(first, 0) as f32);
                }
            }
        }
        Synapse::TextSeq2Seq(p) => {
            let n = p.num_to_generate as usize;
            assert_eq!(output.shape(), [b, n]);
            let values = output.as_slice::<i64>().unwrap();
            for item in 0..b {
                for i in 0..n {
                    assert_eq!(values[item * n + i], ToyModel::next_token(last(item), i));
                }
            }
        }
    }
}

/// A non-response is the reference's nill output: zeros of the expected shape (for causal LM
/// next, zero-probability phrases).
fn assert_nill(synapse: &Synapse, input: &Tensor, output: &Tensor) {
    let nill = synapse.nill_forward_response(input);
    assert_eq!(output.shape(), nill.shape(), "{}", synapse.name());
    assert_eq!(output.data(), nill.data(), "{}", synapse.name());
    if !matches!(synapse, Synapse::TextCausalLMNext(_)) {
        assert!(all_zero(output));
    }
}

fn all_synapses() -> Vec<Synapse> {
    vec![lhs(), causal_lm(4), next(4), seq2seq(5)]
}

#[tokio::test]
async fn every_synapse_alone_and_all_four_in_one_request() {
    let axon = axon(Behaviour::Normal).await;
    let client = client();
    let input = tokens(2, 3);
    let mut cases: Vec<Vec<Synapse>> = all_synapses().into_iter().map(|s| vec![s]).collect();
    cases.push(all_synapses());
    for synapses in cases {
        let results = client
            .forward(
                &[axon.endpoint(0)],
                &synapses,
                std::slice::from_ref(&input),
                TIMEOUT,
            )
            .await
            .unwrap();
        assert_eq!(results.len(), 1);
        let result = &results[0];
        assert_eq!(result.synapses.len(), synapses.len());
        for (synapse, outcome) in synapses.iter().zip(&result.synapses) {
            assert_eq!(
                outcome.code,
                ReturnCode::Success,
                "{}: {}",
                synapse.name(),
                outcome.message
            );
            assert_toy_output(synapse, &input, &outcome.output);
            assert!(outcome.elapsed > Duration::ZERO);
        }
        assert!(result.bytes_sent > 0 && result.bytes_received > 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_fifty_six_endpoints_in_one_call() {
    let axons = axons(256, Behaviour::Normal).await;
    let endpoints: Vec<Endpoint> = axons
        .iter()
        .enumerate()
        .map(|(i, a)| a.endpoint(i as u64))
        .collect();
    let inputs: Vec<Tensor> = (0..256).map(|i| tokens(1 + i % 3, 2 + i % 5)).collect();
    let synapses = vec![lhs(), causal_lm(2)];
    let results = client()
        .forward(&endpoints, &synapses, &inputs, TIMEOUT)
        .await
        .unwrap();
    assert_eq!(results.len(), 256);
    for ((result, input), axon) in results.iter().zip(&inputs).zip(&axons) {
        for (synapse, outcome) in synapses.iter().zip(&result.synapses) {
            assert_eq!(outcome.code, ReturnCode::Success, "{}", outcome.message);
            assert_toy_output(synapse, input, &outcome.output);
        }
        assert_eq!(axon.handle.forward_count(), 1);
    }
}

#[tokio::test]
async fn a_hanging_axon_times_out_at_the_deadline() {
    let hanging = axon(Behaviour::Hang).await;
    let good = axon(Behaviour::Normal).await;
    let timeout = Duration::from_millis(300);
    let start = Instant::now();
    let results = client()
        .forward(
            &[hanging.endpoint(0), good.endpoint(1)],
            &[lhs()],
            &[tokens(1, 2), tokens(1, 2)],
            timeout,
        )
        .await
        .unwrap();
    let wall = start.elapsed();
    // The axon enforces the same deadline from `grpc-timeout` and may answer a moment early.
    let early = timeout - Duration::from_millis(10);
    assert!(
        wall >= early && wall < timeout + Duration::from_millis(50),
        "returned after {wall:?}"
    );
    let hung = &results[0].synapses[0];
    assert_eq!(hung.code, ReturnCode::Timeout, "{}", hung.message);
    assert!(hung.elapsed >= early && hung.elapsed < timeout + Duration::from_millis(50));
    assert_eq!(hung.output.shape(), [1, 2, NETWORK_DIM]);
    assert!(all_zero(&hung.output));
    assert_eq!(results[1].synapses[0].code, ReturnCode::Success);
}

#[tokio::test]
async fn a_delayed_answer_within_the_deadline_succeeds() {
    let slow = axon(Behaviour::Delay(Duration::from_millis(100))).await;
    let results = client()
        .forward(
            &[slow.endpoint(0)],
            &[lhs()],
            &[tokens(1, 2)],
            Duration::from_secs(2),
        )
        .await
        .unwrap();
    let outcome = &results[0].synapses[0];
    assert_eq!(outcome.code, ReturnCode::Success);
    assert!(outcome.elapsed >= Duration::from_millis(100));
}

#[tokio::test]
async fn connection_refused_is_unavailable_with_zero_outputs() {
    let endpoint = closed_endpoint(5).await;
    let results = client()
        .forward(&[endpoint], &all_synapses(), &[tokens(2, 3)], TIMEOUT)
        .await
        .unwrap();
    let input = tokens(2, 3);
    for (synapse, outcome) in all_synapses().iter().zip(&results[0].synapses) {
        assert_eq!(outcome.code, ReturnCode::Unavailable, "{}", outcome.message);
        assert!(
            outcome.message.starts_with("grpc.StatusCode.UNAVAILABLE"),
            "{}",
            outcome.message
        );
        assert_nill(synapse, &input, &outcome.output);
    }
}

#[tokio::test]
async fn the_dummy_endpoint_is_bad_and_an_empty_input_is_empty() {
    let good = axon(Behaviour::Normal).await;
    let results = client()
        .forward(
            &[Endpoint::dummy(), good.endpoint(1)],
            &[lhs()],
            &[
                tokens(1, 2),
                Tensor::zeros(dendrite_wire::DType::Int64, [1, 0]).unwrap(),
            ],
            TIMEOUT,
        )
        .await
        .unwrap();
    assert_eq!(results[0].synapses[0].code, ReturnCode::BadEndpoint);
    assert_eq!(results[0].bytes_sent, 0);
    assert_eq!(results[1].synapses[0].code, ReturnCode::EmptyRequest);
    assert_eq!(
        good.handle.forward_count(),
        0,
        "neither call may reach an axon"
    );
}

#[tokio::test]
async fn a_wrong_receiver_hotkey_is_unauthenticated() {
    let axon = axon(Behaviour::Normal).await;
    let mut endpoint = axon.endpoint(0);
    endpoint.hotkey = key(99).ss58_address().to_owned();
    let results = client()
        .forward(&[endpoint], &[lhs()], &[tokens(1, 2)], TIMEOUT)
        .await
        .unwrap();
    let outcome = &results[0].synapses[0];
    assert_eq!(outcome.code, ReturnCode::Unauthenticated);
    assert_eq!(
        outcome.message,
        "grpc.StatusCode.UNAUTHENTICATED: Signature mismatch"
    );
    assert_eq!(
        axon.handle
            .counters()
            .rejected
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}

/// Each misbehaviour gives the reference receptor's code to every synapse, with zero outputs,
/// while a good axon in the same call is unaffected.
#[tokio::test]
async fn peer_faults_become_the_references_codes() {
    let cases = [
        (
            Behaviour::GarbageTensors,
            ReturnCode::ResponseDeserializationException,
        ),
        (
            Behaviour::WrongShape,
            ReturnCode::ResponseDeserializationException,
        ),
        (
            Behaviour::WrongDtype,
            ReturnCode::ResponseDeserializationException,
        ),
        (Behaviour::MissingTensor, ReturnCode::ResponseShapeException),
        (
            Behaviour::FixedCode(ReturnCode::NotServingNucleus),
            ReturnCode::NotServingNucleus,
        ),
        (
            Behaviour::Status(tonic::Code::Internal),
            ReturnCode::UnknownException,
        ),
        (
            Behaviour::Status(tonic::Code::Unavailable),
            ReturnCode::Unavailable,
        ),
        (
            Behaviour::Status(tonic::Code::DeadlineExceeded),
            ReturnCode::Timeout,
        ),
        (Behaviour::DropConnection, ReturnCode::Unavailable),
    ];
    let good = axon(Behaviour::Normal).await;
    let input = tokens(2, 3);
    let synapses = vec![lhs(), causal_lm(3)];
    for (behaviour, expected) in cases {
        let bad = axon(behaviour.clone()).await;
        let results = client()
            .forward(
                &[bad.endpoint(0), good.endpoint(1)],
                &synapses,
                &[input.clone(), input.clone()],
                TIMEOUT,
            )
            .await
            .unwrap();
        for (synapse, outcome) in synapses.iter().zip(&results[0].synapses) {
            assert_eq!(outcome.code, expected, "{behaviour:?}: {}", outcome.message);
            assert_nill(synapse, &input, &outcome.output);
        }
        for (synapse, outcome) in synapses.iter().zip(&results[1].synapses) {
            assert_eq!(outcome.code, ReturnCode::Success, "{behaviour:?}");
            assert_toy_output(synapse, &input, &outcome.output);
        }
    }
}

/// A client that signs each lane's next header ahead of its call when `presign` is on.
fn presigning_client(presign: bool) -> Client {
    client_with(ClientConfig {
        receptor: ReceptorConfig {
            presign,
            ..ReceptorConfig::default()
        },
        ..ClientConfig::default()
    })
}

/// Eight tasks share one client and one endpoint: every call is accepted, so the axon saw a
/// strictly increasing nonce for every uuid, also from signatures made ahead of their calls
/// (`presign`), never the same one twice (the axon refuses a replay).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nonces_increase_across_eight_concurrent_callers() {
    for presign in [false, true] {
        let axon = axon(Behaviour::Normal).await;
        let client = presigning_client(presign);
        let endpoint = axon.endpoint(0);
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let (client, endpoint) = (client.clone(), endpoint.clone());
            tasks.spawn(async move {
                let mut codes = Vec::new();
                for _ in 0..25 {
                    let r = client
                        .forward(
                            std::slice::from_ref(&endpoint),
                            &[lhs()],
                            &[tokens(1, 2)],
                            TIMEOUT,
                        )
                        .await
                        .unwrap();
                    codes.push((r[0].synapses[0].code, r[0].synapses[0].message.clone()));
                }
                codes
            });
        }
        while let Some(codes) = tasks.join_next().await {
            for (code, message) in codes.unwrap() {
                assert_eq!(code, ReturnCode::Success, "presign {presign}: {message}");
            }
        }
        assert_eq!(axon.handle.forward_count(), 200);
        assert_eq!(client.pool().len(), 1);
    }
}

/// One call to the same endpoint 20 times (20 lanes, signed in batches of 8 as the fan-out
/// spawns its tasks), with endpoints that send nothing between them: every request is
/// accepted, call after call, so each batch's headers verify and their nonces rise per uuid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fan_out_signed_in_batches_is_accepted_call_after_call() {
    for presign in [false, true] {
        let axon = axon(Behaviour::Normal).await;
        let client = presigning_client(presign);
        let mut endpoints = vec![axon.endpoint(0); 20];
        let mut dummy = axon.endpoint(0);
        dummy.hotkey = dendrite_wire::DUMMY_KEY.into();
        endpoints[3] = dummy.clone();
        endpoints[11] = dummy;
        let inputs = vec![tokens(1, 2); endpoints.len()];
        for call in 0..5 {
            let results = client
                .forward(&endpoints, &[lhs()], &inputs, TIMEOUT)
                .await
                .unwrap();
            for (i, result) in results.iter().enumerate() {
                let outcome = &result.synapses[0];
                let expected = if i == 3 || i == 11 {
                    ReturnCode::BadEndpoint
                } else {
                    ReturnCode::Success
                };
                assert_eq!(
                    outcome.code, expected,
                    "presign {presign}, call {call}, endpoint {i}: {}",
                    outcome.message
                );
            }
        }
        assert_eq!(axon.handle.forward_count(), 5 * 18);
    }
}

#[tokio::test]
async fn caller_mistakes_are_errors_before_any_rpc() {
    let axon = axon(Behaviour::Normal).await;
    let client = client();
    let e = [axon.endpoint(0)];
    assert!(client.forward(&e, &[lhs()], &[], TIMEOUT).await.is_err());
    assert!(client
        .forward(&e, &[], &[tokens(1, 1)], TIMEOUT)
        .await
        .is_err());
    assert!(client
        .forward(&e, &[causal_lm(0)], &[tokens(1, 1)], TIMEOUT)
        .await
        .is_err());
    assert_eq!(axon.handle.forward_count(), 0);
}

#[tokio::test]
async fn a_moved_endpoint_gets_a_new_channel() {
    let first = axon(Behaviour::Normal).await;
    let second = dendrite_axon::serve(
        &key(1000), // the same hotkey as `first`, on another port
        Arc::new(dendrite_axon::ToyModel::new()),
        dendrite_axon::AxonConfig::default(),
    )
    .await
    .unwrap();
    let client = client();
    let synapses = vec![lhs()];
    let r = client
        .forward(&[first.endpoint(0)], &synapses, &[tokens(1, 2)], TIMEOUT)
        .await
        .unwrap();
    assert_eq!(r[0].synapses[0].code, ReturnCode::Success);
    let r = client
        .forward(&[second.endpoint(0)], &synapses, &[tokens(1, 2)], TIMEOUT)
        .await
        .unwrap();
    assert_eq!(r[0].synapses[0].code, ReturnCode::Success);
    assert_eq!(client.pool().len(), 1, "one hotkey, one receptor");
    assert_eq!(
        (first.handle.forward_count(), second.forward_count()),
        (1, 1)
    );
}
