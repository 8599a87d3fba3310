//! The facade's torch face (feature `torch`) against real toy axons.

use std::sync::Arc;
use std::time::Duration;

use dendrite::tch::{Kind, Tensor};
use dendrite::{torch_inputs, Dendrite, DendriteConfig, Keypair, ReturnCode, TextLastHiddenState};
use dendrite_axon::{serve, AxonConfig, ToyModel, DEFAULT_GRADIENT_LOG_BYTES};

#[test]
fn text_last_hidden_state_in_the_graph_and_gradients_back() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let model = Arc::new(ToyModel::recording(DEFAULT_GRADIENT_LOG_BYTES));
    let axon = runtime
        .block_on(serve(
            &Keypair::from_uri("//Bob").unwrap(),
            model.clone(),
            AxonConfig::default(),
        ))
        .unwrap();
    let dendrite = Dendrite::with_config(
        Keypair::from_uri("//Alice").unwrap(),
        DendriteConfig::default(),
    );
    let torch = dendrite.torch().unwrap();
    let tokens = Tensor::f_from_slice(&[31373i64, 995])
        .unwrap()
        .reshape([1, 2]);
    let response = torch
        .text_last_hidden_state(
            vec![axon.endpoint(0)],
            torch_inputs(&tokens).unwrap(),
            TextLastHiddenState::default(),
            None,
        )
        .unwrap();
    assert_eq!(response.codes, vec![vec![ReturnCode::Success]]);
    let hidden = &response.outputs[0][0];
    assert_eq!(hidden.size(), [1, 2, 1024]);
    assert!(hidden.requires_grad());
    (hidden * 2.0).sum(Kind::Float).backward();
    for _ in 0..200 {
        if !model.gradients().is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let received = model.gradients();
    assert_eq!(received.len(), 1, "the fire-and-forget gradient arrives");
    assert!(received[0].grad.to_vec::<f32>().iter().all(|&g| g == 2.0));
}
