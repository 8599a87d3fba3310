//! Where a call's time went, against real peers over loopback: a black hole's time is `wait`,
//! a closed port's is `connect`, a slow body's is `receive`, a reused connection connects in
//! zero time, and the phases never add up to more than the call.

use std::time::Duration;

use crate::common::*;
use dendrite_axon::{serve_wire_fault, Behaviour, WireFault};
use dendrite_core::{EndpointResult, Phases};
use dendrite_wire::synapse::TextLastHiddenState;
use dendrite_wire::{Endpoint, ReturnCode, Synapse};

async fn call(endpoint: Endpoint, timeout: Duration) -> EndpointResult {
    let synapse: Synapse = TextLastHiddenState::default().into();
    let mut results = client()
        .forward(&[endpoint], &[synapse], &[tokens(1, 2)], timeout)
        .await
        .unwrap();
    results.remove(0)
}

/// The phase that took longest, and checks every call must pass.
fn dominant(result: &EndpointResult) -> &'static str {
    let phases = &result.phases;
    let elapsed = result.synapses[0].elapsed;
    assert!(
        phases.total() <= elapsed,
        "phases {phases:?} sum past the call's {elapsed:?}"
    );
    phases
        .named()
        .into_iter()
        .max_by_key(|(_, d)| *d)
        .map(|(name, _)| name)
        .unwrap()
}

#[tokio::test]
async fn a_black_hole_is_waited_for() {
    let hole = axon(Behaviour::Hang).await;
    let result = call(hole.endpoint(0), Duration::from_millis(400)).await;
    assert_eq!(result.synapses[0].code, ReturnCode::Timeout);
    assert_eq!(dominant(&result), "wait", "{:?}", result.phases);
    assert!(result.phases.wait >= Duration::from_millis(300));
    assert_eq!(result.phases.receive, Duration::ZERO);
    assert_eq!(result.phases.decode, Duration::ZERO);
}

#[tokio::test]
async fn a_closed_port_is_connecting() {
    let closed = closed_endpoint(2).await;
    let result = call(closed, Duration::from_secs(2)).await;
    assert_eq!(result.synapses[0].code, ReturnCode::Unavailable);
    // A refusal on loopback takes a fraction of a millisecond, less than starting the task may
    // (queue): all the time after signing is connecting, and nothing comes after it.
    assert!(
        result.phases.connect > Duration::ZERO,
        "{:?}",
        result.phases
    );
    assert!(result.phases.rpc_attempted && !result.phases.reused_connection);
    let after_connect = [
        result.phases.send,
        result.phases.wait,
        result.phases.receive,
        result.phases.decode,
    ];
    assert_eq!(after_connect, [Duration::ZERO; 4]);
}

#[tokio::test]
async fn a_slow_body_is_receiving() {
    let server = serve_wire_fault(WireFault::Trickle {
        chunk: 1024,
        interval: Duration::from_millis(20),
    })
    .await
    .unwrap();
    let endpoint = endpoint_at(3, "127.0.0.1", server.local_addr().port());
    let result = call(endpoint, Duration::from_secs(5)).await;
    assert_eq!(result.synapses[0].code, ReturnCode::Success);
    assert_eq!(dominant(&result), "receive", "{:?}", result.phases);
    assert!(result.phases.receive >= Duration::from_millis(100));
}

#[tokio::test]
async fn a_second_call_reuses_the_connection() {
    let good = axon(Behaviour::Normal).await;
    let client = client();
    let synapse: Synapse = TextLastHiddenState::default().into();
    let mut seen = Vec::new();
    for _ in 0..2 {
        let results = client
            .forward(
                &[good.endpoint(0)],
                std::slice::from_ref(&synapse),
                &[tokens(1, 2)],
                Duration::from_secs(5),
            )
            .await
            .unwrap();
        assert_eq!(results[0].synapses[0].code, ReturnCode::Success);
        seen.push(results[0].phases);
    }
    assert_eq!(seen[0].connection_reuse(), Some(false));
    assert!(seen[0].connect > Duration::ZERO, "{:?}", seen[0]);
    assert_eq!(seen[1].connection_reuse(), Some(true));
    assert_eq!(seen[1].connect, Duration::ZERO);
    for phases in &seen {
        assert!(phases.wait > Duration::ZERO && phases.decode > Duration::ZERO);
    }
}

#[tokio::test]
async fn local_failures_reach_no_phase() {
    let result = call(Endpoint::dummy(), Duration::from_secs(1)).await;
    assert_eq!(result.synapses[0].code, ReturnCode::BadEndpoint);
    assert_eq!(result.phases, Phases::default());
}
