//! Call states are released: its own test binary, since the count is process-wide.

mod common;

use common::{dendrite, peers};
use dendrite_autograd::live_states;
use dendrite_axon::Behaviour;
use dendrite_wire::synapse::TextLastHiddenState;
use dendrite_wire::Synapse;
use tch::{Kind, Tensor};

#[test]
fn a_thousand_rounds_release_every_call_state() {
    let peers = peers(&[Behaviour::Normal]);
    let d = dendrite(true);
    let endpoints = peers.endpoints();
    let synapses: Vec<Synapse> = vec![TextLastHiddenState::default().into()];
    let input = Tensor::f_from_slice(&[42i64]).unwrap().reshape([1, 1]);
    for _ in 0..1000 {
        let out = d
            .forward(&endpoints, &synapses, std::slice::from_ref(&input), None)
            .unwrap();
        out.outputs[0].sum(Kind::Float).f_backward().unwrap();
    }
    assert_eq!(live_states(), 0, "every call's state is released");
    assert_eq!(peers.axons[0].0.backward_count(), 1000);
    // Recorded but never backpropagated, and recorded under no_grad: released too.
    for _ in 0..10 {
        let out = d
            .forward(&endpoints, &synapses, std::slice::from_ref(&input), None)
            .unwrap();
        drop(out);
    }
    assert_eq!(live_states(), 0, "dropped graphs release their state");
}
