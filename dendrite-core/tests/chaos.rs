//! The fault suite: many endpoints, mixed good and faulty (every axon behaviour, every wire
//! fault, wrong hotkeys, closed ports), over several rounds. Every round returns within its
//! timeout + 100 ms, every faulty endpoint gets its code and zero outputs, every good endpoint's
//! output is exact.
//!
//! `cargo test` runs a small version; `cargo xtask chaos` runs 1,000 endpoints for 20 rounds
//! in release (`CHAOS_ENDPOINTS`, `CHAOS_ROUNDS`).

mod common;

use std::time::{Duration, Instant};

use common::*;
use dendrite_axon::{serve_wire_fault, Behaviour, ToyModel, WireFault, WireFaultServer};
use dendrite_wire::synapse::{TextLastHiddenState, NETWORK_DIM};
use dendrite_wire::Endpoint;
use dendrite_wire::{ReturnCode, Synapse};

const TIMEOUT: Duration = Duration::from_secs(1);
const SLACK: Duration = Duration::from_millis(100);
/// The largest legal answer to a hidden-state request for `[2, 3]` tokens.
const LIMIT_2X3: usize = 64 * 1024 + 6 * NETWORK_DIM * 4 + 1024;

#[derive(Clone, Debug)]
enum Peer {
    Good,
    Axon(Behaviour),
    Wire(WireFault),
    WrongHotkey,
    ClosedPort,
}

/// Every fault once, with the code it must give; the good peers are as many as the rest.
fn kinds() -> Vec<(Peer, ReturnCode)> {
    use ReturnCode as C;
    let mut kinds = vec![
        (Peer::Axon(Behaviour::Hang), C::Timeout),
        (
            Peer::Axon(Behaviour::Delay(Duration::from_secs(5))),
            C::Timeout,
        ),
        (Peer::Axon(Behaviour::DropConnection), C::Unavailable),
        (
            Peer::Axon(Behaviour::GarbageTensors),
            C::ResponseDeserializationException,
        ),
        (
            Peer::Axon(Behaviour::WrongShape),
            C::ResponseDeserializationException,
        ),
        (
            Peer::Axon(Behaviour::WrongDtype),
            C::ResponseDeserializationException,
        ),
        (
            Peer::Axon(Behaviour::MissingTensor),
            C::ResponseShapeException,
        ),
        (
            Peer::Axon(Behaviour::FixedCode(C::NucleusFull)),
            C::NucleusFull,
        ),
        (Peer::Wire(WireFault::GarbageProtobuf), C::UnknownException),
        (
            Peer::Wire(WireFault::ClaimedLength(4_000_000_000)),
            C::UnknownException,
        ),
        (
            Peer::Wire(WireFault::PaddedTo(LIMIT_2X3 + 1)),
            C::UnknownException,
        ),
        (Peer::Wire(WireFault::ResetMidResponse), C::UnknownException),
        (
            Peer::Wire(WireFault::Trickle {
                chunk: 256,
                interval: Duration::from_millis(20),
            }),
            C::Timeout,
        ),
        (Peer::WrongHotkey, C::Unauthenticated),
        (Peer::ClosedPort, C::Unavailable),
    ];
    for status in 1..=16 {
        let code = tonic::Code::from_i32(status);
        let expected = match code {
            tonic::Code::DeadlineExceeded => C::Timeout,
            tonic::Code::Unavailable => C::Unavailable,
            tonic::Code::Unauthenticated => C::Unauthenticated,
            _ => C::UnknownException,
        };
        kinds.push((Peer::Axon(Behaviour::Status(code)), expected));
    }
    let faults = kinds.len();
    kinds.extend((0..faults).map(|_| (Peer::Good, C::Success)));
    kinds
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Keeps every server of the suite alive.
#[derive(Default)]
struct Fleet {
    axons: Vec<TestAxon>,
    wire: Vec<WireFaultServer>,
}

impl Fleet {
    async fn endpoint(&mut self, uid: usize, peer: &Peer) -> Endpoint {
        let uid64 = uid as u64;
        match peer {
            Peer::Good => {
                self.axons.push(axon(Behaviour::Normal).await);
                self.axons.last().unwrap().endpoint(uid64)
            }
            Peer::Axon(behaviour) => {
                self.axons.push(axon(behaviour.clone()).await);
                self.axons.last().unwrap().endpoint(uid64)
            }
            Peer::Wire(fault) => {
                let server = serve_wire_fault(*fault).await.unwrap();
                let port = server.local_addr().port();
                self.wire.push(server);
                endpoint_at(5000 + uid as u32, "127.0.0.1", port)
            }
            Peer::WrongHotkey => {
                self.axons.push(axon(Behaviour::Normal).await);
                let port = self.axons.last().unwrap().handle.local_addr().port();
                endpoint_at(9000 + uid as u32, "127.0.0.1", port)
            }
            Peer::ClosedPort => closed_endpoint(7000 + uid as u32).await,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_fleet_codes_outputs_and_deadlines_hold_every_round() {
    let count = env_number("CHAOS_ENDPOINTS", 62);
    let rounds = env_number("CHAOS_ROUNDS", 3);
    let kinds = kinds();
    let mut fleet = Fleet::default();
    let mut endpoints = Vec::with_capacity(count);
    let mut expected = Vec::with_capacity(count);
    for uid in 0..count {
        let (peer, code) = &kinds[uid % kinds.len()];
        // Closed ports last: a port freed earlier could be taken by a later axon.
        if !matches!(peer, Peer::ClosedPort) {
            endpoints.push(Some(fleet.endpoint(uid, peer).await));
        } else {
            endpoints.push(None);
        }
        expected.push(*code);
    }
    let mut closed = Vec::new();
    for (uid, slot) in endpoints.iter().enumerate() {
        if slot.is_none() {
            closed.push(fleet.endpoint(uid, &Peer::ClosedPort).await);
        }
    }
    let mut closed = closed.into_iter();
    let endpoints: Vec<Endpoint> = endpoints
        .into_iter()
        .map(|e| {
            e.or_else(|| closed.next())
                .expect("a closed endpoint per slot")
        })
        .collect();
    let synapse: Synapse = TextLastHiddenState::default().into();
    let input = tokens(2, 3);
    let tokens_in = input.to_vec::<i64>();
    let inputs = vec![input; count];
    let client = client();
    let mut worst = Duration::ZERO;
    for round in 0..rounds {
        let started = Instant::now();
        let results = client
            .forward(&endpoints, std::slice::from_ref(&synapse), &inputs, TIMEOUT)
            .await
            .unwrap();
        let took = started.elapsed();
        worst = worst.max(took.saturating_sub(TIMEOUT));
        assert!(took <= TIMEOUT + SLACK, "round {round} took {took:?}");
        for (uid, (result, code)) in results.iter().zip(&expected).enumerate() {
            let slot = &result.synapses[0];
            let peer = &kinds[uid % kinds.len()].0;
            assert_eq!(
                slot.code, *code,
                "round {round}, uid {uid} ({peer:?}): {}",
                slot.message
            );
            assert_eq!(slot.output.shape(), [2, 3, NETWORK_DIM]);
            let values = slot.output.as_slice::<f32>().unwrap();
            if *code == ReturnCode::Success {
                for (i, &t) in tokens_in.iter().enumerate() {
                    for d in 0..NETWORK_DIM {
                        assert_eq!(values[i * NETWORK_DIM + d], ToyModel::hidden(t, d));
                    }
                }
            } else {
                assert!(values.iter().all(|&v| v == 0.0), "uid {uid} ({peer:?})");
            }
        }
    }
    eprintln!(
        "chaos: {count} endpoints ({} kinds), {rounds} rounds, worst overshoot past the {TIMEOUT:?} deadline {worst:?}",
        kinds.len()
    );
}
