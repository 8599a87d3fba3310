//! The options beyond the reference (quorum, backoff, retries, compression, NaN/inf
//! rejection) against real dendrite-axon servers over loopback.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::*;
use dendrite_axon::{serve, AxonConfig, Behaviour, ToyModel};
use dendrite_core::{
    BackoffConfig, Client, ClientConfig, Compression, EndpointResult, Quorum, ReceptorConfig,
    RetryConfig,
};
use dendrite_wire::proto::Serializer;
use dendrite_wire::synapse::{SerializerTypes, TextLastHiddenState, NETWORK_DIM};
use dendrite_wire::Endpoint;
use dendrite_wire::{ReturnCode, Synapse, Tensor};

fn lhs() -> Synapse {
    TextLastHiddenState::default().into()
}

/// Whether `output` is the toy model's hidden state for `input`, value for value.
fn is_toy_hidden(input: &Tensor, output: &Tensor) -> bool {
    let tokens = input.to_vec::<i64>();
    let Ok(values) = output.as_slice::<f32>() else {
        return false;
    };
    values.len() == tokens.len() * NETWORK_DIM
        && tokens.iter().enumerate().all(|(i, &t)| {
            (0..NETWORK_DIM).all(|d| values[i * NETWORK_DIM + d] == ToyModel::hidden(t, d))
        })
}

/// One forward of `synapse` for `input` to `endpoint`, 5 s timeout.
async fn forward_one(
    client: &Client,
    endpoint: &Endpoint,
    synapse: Synapse,
    input: &Tensor,
) -> EndpointResult {
    let mut results = client
        .forward(
            std::slice::from_ref(endpoint),
            &[synapse],
            std::slice::from_ref(input),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    results.remove(0)
}

fn is_zero(output: &Tensor) -> bool {
    output
        .as_slice::<f32>()
        .is_ok_and(|v| v.iter().all(|&x| x == 0.0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quorum_returns_after_the_grace_period_and_cuts_the_stragglers() {
    let mut axons = axons(6, Behaviour::Normal).await;
    axons.extend(axons_slow(2).await);
    let endpoints: Vec<_> = axons
        .iter()
        .enumerate()
        .map(|(i, a)| a.endpoint(i as u64))
        .collect();
    let input = tokens(2, 4);
    let client = client_with(ClientConfig {
        quorum: Some(Quorum {
            k_min: 6,
            timeout_after_k_min: Duration::from_millis(100),
        }),
        ..ClientConfig::default()
    });
    let started = Instant::now();
    let results = client
        .forward(
            &endpoints,
            &[lhs()],
            &vec![input.clone(); 8],
            Duration::from_secs(20),
        )
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(3),
        "returned after {took:?}, not near the quorum"
    );
    for result in &results[..6] {
        assert_eq!(result.codes(), [ReturnCode::Success]);
        assert!(is_toy_hidden(&input, &result.synapses[0].output));
    }
    for result in &results[6..] {
        let cut = &result.synapses[0];
        assert_eq!(cut.code, ReturnCode::Timeout);
        assert!(
            cut.message.starts_with("Cut by quorum: 6 endpoints"),
            "{}",
            cut.message
        );
        assert!(is_zero(&cut.output));
        assert_eq!(cut.output.shape(), [2, 4, NETWORK_DIM]);
    }
}

async fn axons_slow(n: usize) -> Vec<TestAxon> {
    axons(n, Behaviour::Delay(Duration::from_secs(10))).await
}

#[tokio::test]
async fn backoff_skips_a_failing_endpoint_without_traffic_and_a_success_resets_it() {
    let axon = axon(Behaviour::Status(tonic::Code::Unavailable)).await;
    let endpoint = axon.endpoint(0);
    let client = client_with(ClientConfig {
        backoff: Some(BackoffConfig {
            base: Duration::from_millis(300),
            cap: Duration::from_secs(5),
            max_tracked: 16,
        }),
        ..ClientConfig::default()
    });
    let (input, synapses) = (vec![tokens(1, 2)], vec![lhs()]);
    let call = || {
        client.forward(
            std::slice::from_ref(&endpoint),
            &synapses,
            &input,
            Duration::from_secs(5),
        )
    };
    let requests = || axon.handle.counters().forward.load(Ordering::Relaxed);

    let first = call().await.unwrap();
    assert_eq!(first[0].codes(), [ReturnCode::Unavailable]);
    assert_eq!(requests(), 1);

    let skipped = call().await.unwrap();
    assert_eq!(skipped[0].codes(), [ReturnCode::Backoff]);
    assert!(skipped[0].synapses[0]
        .message
        .contains("after 1 failed calls"));
    assert!(is_zero(&skipped[0].synapses[0].output));
    assert_eq!(requests(), 1, "a skipped endpoint gets no request");
    assert_eq!(client.backing_off(), 1);

    tokio::time::sleep(Duration::from_millis(350)).await;
    let second = call().await.unwrap();
    assert_eq!(second[0].codes(), [ReturnCode::Unavailable]);
    let skipped = call().await.unwrap();
    assert!(skipped[0].synapses[0]
        .message
        .contains("after 2 failed calls"));
    let remaining: f64 = skipped[0].synapses[0].message["Backoff: skipped for ".len()..]
        .split('s')
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(
        remaining > 0.3 && remaining <= 0.6,
        "the period doubled: {remaining}s left"
    );

    tokio::time::sleep(Duration::from_millis(650)).await;
    axon.handle.set_behaviour(Behaviour::Normal);
    assert_eq!(call().await.unwrap()[0].codes(), [ReturnCode::Success]);
    assert_eq!(client.backing_off(), 0);
    axon.handle
        .set_behaviour(Behaviour::Status(tonic::Code::Unavailable));
    assert_eq!(call().await.unwrap()[0].codes(), [ReturnCode::Unavailable]);
    let skipped = call().await.unwrap();
    assert!(
        skipped[0].synapses[0]
            .message
            .contains("after 1 failed calls"),
        "a success reset the count: {}",
        skipped[0].synapses[0].message
    );
}

#[tokio::test]
async fn without_backoff_every_call_reaches_the_failing_endpoint() {
    let axon = axon(Behaviour::Status(tonic::Code::Unavailable)).await;
    let client = client();
    for _ in 0..3 {
        let r = forward_one(&client, &axon.endpoint(0), lhs(), &tokens(1, 2)).await;
        assert_eq!(r.codes(), [ReturnCode::Unavailable]);
    }
    assert_eq!(axon.handle.counters().forward.load(Ordering::Relaxed), 3);
}

fn retrying(reserve: u32) -> ClientConfig {
    ClientConfig {
        retry: Some(RetryConfig {
            max_retries: 2,
            budget_ratio: 0.0,
            budget_reserve: reserve,
            delay: Duration::from_millis(5),
        }),
        ..ClientConfig::default()
    }
}

#[tokio::test]
async fn an_unavailable_forward_is_retried_within_the_budget() {
    let axon = axon(Behaviour::DropConnections(1)).await;
    let client = client_with(retrying(1));
    let input = tokens(1, 3);
    let r = forward_one(&client, &axon.endpoint(0), lhs(), &input).await;
    assert_eq!(
        r.codes(),
        [ReturnCode::Success],
        "{}",
        r.synapses[0].message
    );
    assert!(is_toy_hidden(&input, &r.synapses[0].output));
    assert_eq!(client.retries(), 1);

    // The budget (reserve 1, nothing earned) is spent: the next drop is not retried.
    axon.handle.set_behaviour(Behaviour::DropConnections(1));
    client.pool().clear_idle();
    let r = forward_one(&client, &axon.endpoint(0), lhs(), &input).await;
    assert_eq!(r.codes(), [ReturnCode::Unavailable]);
    assert_eq!(client.retries(), 1);
}

#[tokio::test]
async fn without_retries_a_dropped_connection_is_unavailable_and_backward_is_never_retried() {
    let axon = axon(Behaviour::DropConnections(1)).await;
    let r = forward_one(&client(), &axon.endpoint(0), lhs(), &tokens(1, 3)).await;
    assert_eq!(r.codes(), [ReturnCode::Unavailable]);

    axon.handle.set_behaviour(Behaviour::DropConnections(1));
    let client = client_with(retrying(10));
    let input = tokens(1, 3);
    let grad = Tensor::zeros(dendrite_wire::DType::Float32, [1, 3, NETWORK_DIM]).unwrap();
    let r = client
        .backward(
            &[axon.endpoint(0)],
            &[lhs()],
            &[input],
            &[vec![grad]],
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(r[0].codes(), [ReturnCode::Unavailable]);
    assert_eq!(client.retries(), 0);
    assert_eq!(axon.handle.counters().backward.load(Ordering::Relaxed), 0);
}

/// Received wire bytes of one call of `synapse` through a fresh client.
async fn received_bytes(
    axon: &TestAxon,
    synapse: Synapse,
    compression: Option<Compression>,
) -> (u64, ReturnCode, bool, usize) {
    let client = client_with(ClientConfig {
        receptor: ReceptorConfig {
            compression,
            ..ReceptorConfig::default()
        },
        ..ClientConfig::default()
    });
    let input = tokens(4, 16);
    let r = forward_one(&client, &axon.endpoint(0), synapse, &input).await;
    let exact = is_toy_hidden(&input, &r.synapses[0].output);
    let pool = client.pool().wire_bytes().1;
    // The call's own count is its stream's bytes, within the connection's.
    assert!(r.bytes_received > 0 && r.bytes_received as u64 <= pool);
    (pool, r.synapses[0].code, exact, r.bytes_received)
}

async fn compressing_axon(compression: Option<Compression>) -> TestAxon {
    let model = Arc::new(ToyModel::new());
    let config = AxonConfig {
        compression,
        ..AxonConfig::default()
    };
    let handle = serve(&key(1500), model.clone(), config).await.unwrap();
    TestAxon { handle, model }
}

#[tokio::test]
async fn zstd_and_gzip_shrink_the_wire_and_keep_values_exact() {
    let (plain, code, exact, plain_call) =
        received_bytes(&compressing_axon(None).await, lhs(), None).await;
    assert_eq!((code, exact), (ReturnCode::Success, true));
    for compression in [Compression::Zstd, Compression::Gzip] {
        let axon = compressing_axon(Some(compression)).await;
        let (packed, code, exact, packed_call) =
            received_bytes(&axon, lhs(), Some(compression)).await;
        assert_eq!(
            (code, exact),
            (ReturnCode::Success, true),
            "{compression:?}"
        );
        assert!(
            (packed as f64) < 0.7 * plain as f64,
            "{compression:?}: {packed} bytes vs {plain} plain"
        );
        assert!(
            (packed_call as f64) < 0.7 * plain_call as f64,
            "{compression:?}: the call counts the bytes as they came, {packed_call} vs {plain_call}"
        );
    }
    // We always accept gzip and zstd: a compressing axon's answer is compressed even when our
    // requests are plain.
    let axon = compressing_axon(Some(Compression::Gzip)).await;
    let (packed, code, _, _) = received_bytes(&axon, lhs(), None).await;
    assert_eq!(code, ReturnCode::Success);
    assert!((packed as f64) < 0.7 * plain as f64);
}

#[tokio::test]
async fn cmppack_halves_the_response_and_stays_within_f16_precision() {
    let axon = axon(Behaviour::Normal).await;
    let (plain, ..) = received_bytes(&axon, lhs(), None).await;
    // Responses only: CMPPACK casts every dtype to f16, so token ids above 2048 in a CMPPACK
    // request would arrive rounded.
    let cmppack: Synapse = TextLastHiddenState {
        serializers: SerializerTypes {
            forward_response: Serializer::Cmppack,
            ..SerializerTypes::default()
        },
        ..TextLastHiddenState::default()
    }
    .into();
    let client = client();
    let input = tokens(4, 16);
    let r = forward_one(&client, &axon.endpoint(0), cmppack, &input).await;
    assert_eq!(r.codes(), [ReturnCode::Success]);
    let received = client.pool().wire_bytes().1;
    assert!(
        (received as f64) < 0.6 * plain as f64,
        "{received} vs {plain}"
    );
    let values = r.synapses[0].output.as_slice::<f32>().unwrap().to_vec();
    for (i, &t) in input.to_vec::<i64>().iter().enumerate() {
        for d in 0..NETWORK_DIM {
            let expected = ToyModel::hidden(t, d);
            let got = values[i * NETWORK_DIM + d];
            assert!(
                (got - expected).abs() <= 1e-3,
                "f16 rounding only: {got} vs {expected}"
            );
        }
    }
}

#[tokio::test]
async fn non_finite_values_are_cleaned_by_default_and_rejected_on_request() {
    let axon = axon(Behaviour::NonFinite).await;
    let input = tokens(1, 2);
    let cleaned = forward_one(&client(), &axon.endpoint(0), lhs(), &input).await;
    let out = cleaned.synapses[0]
        .output
        .as_slice::<f32>()
        .unwrap()
        .to_vec();
    assert_eq!(cleaned.codes(), [ReturnCode::Success]);
    assert_eq!(
        &out[..3],
        &[0.0, f32::MAX, f32::MIN],
        "the reference's nan_to_num"
    );

    let strict = client_with(ClientConfig {
        reject_non_finite: true,
        ..ClientConfig::default()
    });
    let rejected = forward_one(&strict, &axon.endpoint(0), lhs(), &input).await;
    let slot = &rejected.synapses[0];
    assert_eq!(slot.code, ReturnCode::InvalidResponse);
    assert!(
        slot.message
            .contains("3 of 2048 values are NaN or infinite"),
        "{}",
        slot.message
    );
    assert!(is_zero(&slot.output));

    axon.handle.set_behaviour(Behaviour::Normal);
    let fine = forward_one(&strict, &axon.endpoint(0), lhs(), &input).await;
    assert_eq!(fine.codes(), [ReturnCode::Success]);
}

/// The backoff reads the endpoint's `Outcome`: an endpoint whose first synapse failed while
/// its second succeeded did not succeed, and is backed off (it once reset the backoff, as "any
/// synapse succeeded" did).
#[tokio::test]
async fn backoff_counts_a_half_failed_endpoint_as_failed() {
    let axon = axon(Behaviour::FirstSynapseCode(ReturnCode::NotServingNucleus)).await;
    let endpoint = axon.endpoint(0);
    let client = client_with(ClientConfig {
        backoff: Some(BackoffConfig {
            base: Duration::from_secs(30),
            cap: Duration::from_secs(60),
            max_tracked: 16,
        }),
        ..ClientConfig::default()
    });
    let synapses = vec![lhs(), lhs()];
    let input = vec![tokens(1, 2)];
    let call = || {
        client.forward(
            std::slice::from_ref(&endpoint),
            &synapses,
            &input,
            Duration::from_secs(5),
        )
    };
    let half = call().await.unwrap();
    assert_eq!(
        half[0].codes(),
        [ReturnCode::NotServingNucleus, ReturnCode::Success]
    );
    assert_eq!(client.backing_off(), 1, "a half-failed endpoint failed");
    let skipped = call().await.unwrap();
    assert_eq!(
        skipped[0].codes(),
        [ReturnCode::Backoff, ReturnCode::Backoff]
    );
    assert_eq!(axon.handle.counters().forward.load(Ordering::Relaxed), 1);
}
