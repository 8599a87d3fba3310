//! Shared helpers: real dendrite-axon servers on loopback and a client.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use dendrite_axon::{
    serve, AxonConfig, AxonHandle, Behaviour, ToyModel, DEFAULT_GRADIENT_LOG_BYTES,
};
use dendrite_core::{Client, ClientConfig, Keypair};
use dendrite_wire::Endpoint;
use dendrite_wire::Tensor;

/// A toy axon and its model (to read the gradients it received).
pub struct TestAxon {
    pub handle: AxonHandle,
    pub model: Arc<ToyModel>,
}

impl TestAxon {
    pub fn endpoint(&self, uid: u64) -> Endpoint {
        self.handle.endpoint(uid)
    }
}

/// A deterministic key per index, fast to make (no derivation).
pub fn key(index: u32) -> Keypair {
    let mut seed = [7u8; 32];
    seed[..4].copy_from_slice(&index.to_le_bytes());
    Keypair::from_seed(seed).expect("seed")
}

/// Starts `n` toy axons on 127.0.0.1 with free ports.
pub async fn axons(n: usize, behaviour: Behaviour) -> Vec<TestAxon> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let model = Arc::new(ToyModel::recording(DEFAULT_GRADIENT_LOG_BYTES));
        let config = AxonConfig {
            behaviour: behaviour.clone(),
            ..AxonConfig::default()
        };
        let handle = serve(&key(1000 + i as u32), model.clone(), config)
            .await
            .expect("axon starts");
        out.push(TestAxon { handle, model });
    }
    out
}

pub async fn axon(behaviour: Behaviour) -> TestAxon {
    axons(1, behaviour).await.pop().expect("one axon")
}

pub fn client() -> Client {
    client_with(ClientConfig::default())
}

/// A client of `config` signing with `key(1)`.
pub fn client_with(config: ClientConfig) -> Client {
    Client::new(key(1), config)
}

/// `[b, s]` int64 tokens, distinct per position.
pub fn tokens(b: usize, s: usize) -> Tensor {
    let values: Vec<i64> = (0..(b * s) as i64).map(|i| 100 + 37 * i).collect();
    Tensor::from_vec(values, [b, s]).expect("tokens")
}

/// An endpoint on 127.0.0.1 at a port nothing listens on.
pub async fn closed_endpoint(hotkey_index: u32) -> Endpoint {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    endpoint_at(hotkey_index, "127.0.0.1", port)
}

pub fn endpoint_at(hotkey_index: u32, ip: &str, port: u16) -> Endpoint {
    let hotkey = key(hotkey_index).ss58_address().to_owned();
    Endpoint::new(
        370,
        hotkey_index as u64,
        hotkey.clone(),
        ip,
        4,
        port,
        hotkey,
    )
    .expect("endpoint")
}

pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Whether every element is zero.
pub fn all_zero(t: &Tensor) -> bool {
    t.data().iter().all(|&b| b == 0)
}
