//! Faults below the gRPC layer (dendrite-axon's bare HTTP/2 fault server): every one is a code
//! for its endpoint with zero outputs, on time, and the good answer next to it is exact.

use std::time::{Duration, Instant};

use crate::common::*;
use dendrite_axon::{serve_wire_fault, Behaviour, ToyModel, WireFault};
use dendrite_wire::synapse::{TextLastHiddenState, NETWORK_DIM};
use dendrite_wire::Endpoint;
use dendrite_wire::{ReturnCode, Synapse};

/// The largest legal answer to a hidden-state request for `[1, 2]` tokens (see
/// `dendrite_wire::synapse::max_forward_response_bytes`: 64 KiB slack, 2 × 1024 f32, 1 KiB per tensor).
const LIMIT_1X2: usize = 64 * 1024 + 2 * NETWORK_DIM * 4 + 1024;

fn lhs() -> Synapse {
    TextLastHiddenState::default().into()
}

/// One call to a fault server and a good axon; returns the fault's code and message after
/// checking the good endpoint's exact answer, the deadline and the zero output.
async fn call_fault(fault: WireFault, timeout: Duration) -> (ReturnCode, String) {
    let server = serve_wire_fault(fault).await.unwrap();
    let good = axon(Behaviour::Normal).await;
    let port = server.local_addr().port();
    let endpoints: Vec<Endpoint> = vec![endpoint_at(3, "127.0.0.1", port), good.endpoint(1)];
    let input = tokens(1, 2);
    let started = Instant::now();
    let results = client()
        .forward(&endpoints, &[lhs()], &vec![input.clone(); 2], timeout)
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(
        took <= timeout + Duration::from_millis(100),
        "{fault:?}: {took:?}"
    );
    let good = &results[1].synapses[0];
    assert_eq!(good.code, ReturnCode::Success);
    let values = good.output.as_slice::<f32>().unwrap();
    assert_eq!(
        values[NETWORK_DIM + 5],
        ToyModel::hidden(input.to_vec::<i64>()[1], 5)
    );
    let bad = &results[0].synapses[0];
    if bad.code != ReturnCode::Success {
        assert_eq!(bad.output.shape(), [1, 2, NETWORK_DIM], "{fault:?}");
        assert!(bad
            .output
            .as_slice::<f32>()
            .unwrap()
            .iter()
            .all(|&v| v == 0.0));
    }
    (bad.code, bad.message.clone())
}

#[tokio::test]
async fn garbage_protobuf_is_an_unknown_exception() {
    let (code, message) = call_fault(WireFault::GarbageProtobuf, Duration::from_secs(5)).await;
    assert_eq!(code, ReturnCode::UnknownException, "{message}");
    assert!(message.contains("failed to decode Protobuf"), "{message}");
}

#[tokio::test]
async fn a_header_claiming_gigabytes_is_refused_without_allocating() {
    let (code, message) = call_fault(
        WireFault::ClaimedLength(4_000_000_000),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(code, ReturnCode::UnknownException);
    assert!(message.contains("too large"), "{message}");
}

#[tokio::test]
async fn a_message_just_over_the_limit_is_refused_and_just_under_is_read() {
    let (code, message) =
        call_fault(WireFault::PaddedTo(LIMIT_1X2 + 1), Duration::from_secs(5)).await;
    assert_eq!(code, ReturnCode::UnknownException);
    assert!(message.contains("too large"), "{message}");
    let (code, message) = call_fault(WireFault::PaddedTo(LIMIT_1X2), Duration::from_secs(5)).await;
    assert_eq!(code, ReturnCode::Success, "{message}");
}

#[tokio::test]
async fn a_response_trickled_past_the_deadline_times_out_on_time() {
    let fault = WireFault::Trickle {
        chunk: 64,
        interval: Duration::from_millis(10),
    };
    let (code, message) = call_fault(fault, Duration::from_millis(400)).await;
    assert_eq!(code, ReturnCode::Timeout, "{message}");
    // Fast enough, the same trickle is a success.
    let quick = WireFault::Trickle {
        chunk: 4096,
        interval: Duration::from_millis(5),
    };
    assert_eq!(
        call_fault(quick, Duration::from_secs(5)).await.0,
        ReturnCode::Success
    );
}

/// A reset stream (RST_STREAM INTERNAL_ERROR) is gRPC INTERNAL, which the reference maps to
/// UnknownException; the message says what happened.
#[tokio::test]
async fn a_stream_reset_mid_response_is_an_unknown_exception() {
    let (code, message) = call_fault(WireFault::ResetMidResponse, Duration::from_secs(5)).await;
    assert_eq!(code, ReturnCode::UnknownException, "{message}");
    assert!(message.contains("h2 protocol error"), "{message}");
}
