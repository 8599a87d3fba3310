//! Shared helpers: toy axons on their own runtime and a dendrite with awaited delivery.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use dendrite_autograd::{AutogradConfig, AutogradDendrite, Delivery};
use dendrite_axon::{
    serve, AxonConfig, AxonHandle, Behaviour, ToyModel, DEFAULT_GRADIENT_LOG_BYTES,
};
use dendrite_core::{Client, ClientConfig, Keypair};
use dendrite_format::Endpoint;

pub struct Peers {
    _runtime: tokio::runtime::Runtime,
    pub axons: Vec<(AxonHandle, Arc<ToyModel>)>,
}

/// Axons on their own runtime (the dendrite under test blocks, so it must not share a thread).
pub fn peers(behaviours: &[Behaviour]) -> Peers {
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
            let model = Arc::new(ToyModel::recording(DEFAULT_GRADIENT_LOG_BYTES));
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
    pub fn endpoints(&self) -> Vec<Endpoint> {
        self.axons
            .iter()
            .enumerate()
            .map(|(i, (h, _))| h.endpoint(i as u64))
            .collect()
    }
}

pub fn dendrite(requires_grad: bool) -> AutogradDendrite {
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
