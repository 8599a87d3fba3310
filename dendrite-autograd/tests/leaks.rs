//! Call states are released: its own test binary, since the count is process-wide.

use std::sync::Arc;
use std::time::Duration;

use dendrite_autograd::{live_states, AutogradConfig, AutogradDendrite, Delivery};
use dendrite_axon::{serve, AxonConfig, AxonHandle, Behaviour, ToyModel};
use dendrite_core::{Client, ClientConfig, Keypair};
use dendrite_format::Endpoint;
use dendrite_wire::synapse::TextLastHiddenState;
use dendrite_wire::Synapse;
use tch::{Kind, Tensor};

struct Peers {
    _runtime: tokio::runtime::Runtime,
    axons: Vec<(AxonHandle, Arc<ToyModel>)>,
}

/// Axons on their own runtime (the dendrite under test blocks, so it must not share a thread).
fn peers(behaviours: &[Behaviour]) -> Peers {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let axons = runtime.block_on(async {
        let mut out = Vec::new();
        for (i, behaviour) in behaviours.iter().enumerate() {
            let mut seed = [9u8; 32];
            seed[0] = i as u8;
            let model = Arc::new(ToyModel::new());
            let config = AxonConfig {
                behaviour: behaviour.clone(),
                ..AxonConfig::default()
            };
            out.push((
                serve(&Keypair::from_seed(seed).unwrap(), model.clone(), config)
                    .await
                    .unwrap(),
                model,
            ));
        }
        out
    });
    Peers {
        _runtime: runtime,
        axons,
    }
}

impl Peers {
    fn endpoints(&self) -> Vec<Endpoint> {
        self.axons
            .iter()
            .enumerate()
            .map(|(i, (h, _))| h.endpoint(i as u64))
            .collect()
    }
}

fn dendrite(requires_grad: bool) -> AutogradDendrite {
    let client = Client::new(
        Keypair::from_uri("//Alice").unwrap(),
        ClientConfig::default(),
    );
    let config = AutogradConfig {
        requires_grad,
        delivery: Delivery::Await,
        timeout: Duration::from_secs(10),
    };
    AutogradDendrite::new(client, config).unwrap()
}

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
