//! The facade's calls against real toy axons over loopback.

use std::sync::Arc;

use dendrite::{
    Dendrite, DendriteConfig, Endpoint, GenerateOptions, Inputs, Keypair, ReturnCode, Tensor,
    TextCausalLM, TextCausalLMNext, TextLastHiddenState,
};
use dendrite_axon::{serve, AxonConfig, AxonHandle, ToyModel, DEFAULT_GRADIENT_LOG_BYTES};

async fn axons(n: usize) -> Vec<(AxonHandle, Arc<ToyModel>)> {
    let mut out = Vec::new();
    for i in 0..n {
        let model = Arc::new(ToyModel::recording(DEFAULT_GRADIENT_LOG_BYTES));
        let key = Keypair::from_uri(&format!("//ApiAxon{i}")).unwrap();
        out.push((
            serve(&key, model.clone(), AxonConfig::default())
                .await
                .unwrap(),
            model,
        ));
    }
    out
}

fn dendrite(requires_grad: bool) -> Dendrite {
    let config = DendriteConfig {
        requires_grad,
        ..DendriteConfig::default()
    };
    Dendrite::with_config(Keypair::from_uri("//Alice").unwrap(), config)
}

#[tokio::test]
async fn the_references_calls_return_every_endpoint() {
    let axons = axons(3).await;
    let endpoints: Vec<Endpoint> = axons
        .iter()
        .enumerate()
        .map(|(i, (h, _))| h.endpoint(i as u64))
        .collect();
    let d = dendrite(true);

    let r = d
        .text_last_hidden_state(
            endpoints.clone(),
            "hello world",
            TextLastHiddenState::default(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        r.codes(),
        vec![vec![ReturnCode::Success]; 3],
        "every endpoint, not just the first"
    );
    for outputs in r.outputs() {
        assert_eq!(outputs[0].shape(), [1, 2, 1024]);
        let expected: Vec<f32> = (0..1024).map(|d| ToyModel::hidden(31373, d)).collect();
        assert_eq!(
            &outputs[0].to_vec::<f32>()[..1024],
            &expected[..],
            "token 31373 is 'hello'"
        );
    }

    let r = d
        .text_causal_lm(
            endpoints.clone(),
            "hello world",
            TextCausalLM::with_topk(3),
            None,
        )
        .await
        .unwrap();
    assert!(r.outputs().iter().all(|o| o[0].shape() == [1, 2, 50258]));
    let r = d
        .text_causal_lm_next(
            endpoints.clone(),
            "hello world",
            TextCausalLMNext::with_topk(3),
            None,
        )
        .await
        .unwrap();
    assert!(r.outputs().iter().all(|o| o[0].shape() == [1, 4, 3]));
    assert!(r.times().iter().all(|t| !t[0].is_zero()));

    let generations = d
        .generate(
            endpoints.clone(),
            "hello world",
            GenerateOptions {
                num_to_generate: 3,
                ..GenerateOptions::default()
            },
            None,
        )
        .await
        .unwrap();
    // The toy model continues the last token (" world" = 995) with 996, 997, 998.
    let tokenizer = dendrite::format::BittensorTokenizer::shared().unwrap();
    let expected = tokenizer.decode(&[996, 997, 998]).unwrap();
    assert_eq!(generations.len(), 3);
    assert!(generations
        .iter()
        .all(|g| g.code == ReturnCode::Success && g.text == expected));
}

#[tokio::test]
async fn backward_sends_nothing_without_requires_grad() {
    let axons = axons(1).await;
    let endpoints = vec![axons[0].0.endpoint(0)];
    let (endpoints, inputs) = dendrite(true)
        .format_text_inputs(endpoints, Inputs::Text("hi".into()))
        .unwrap();
    let synapses = [TextLastHiddenState::default().into()];
    let grads = vec![vec![Tensor::from_vec(
        vec![1f32; inputs[0].numel() * 1024],
        [1, inputs[0].numel(), 1024],
    )
    .unwrap()]];
    for (requires_grad, expected) in [(false, 0), (true, 1)] {
        let r = dendrite(requires_grad)
            .backward(&endpoints, &synapses, &inputs, &grads, None)
            .await
            .unwrap();
        assert_eq!(r[0].synapses[0].code, ReturnCode::Success);
        assert_eq!(
            axons[0].1.gradients().len(),
            expected,
            "requires_grad = {requires_grad}"
        );
    }
}

#[tokio::test]
async fn input_mistakes_are_errors() {
    let d = dendrite(true);
    let endpoint = Endpoint::dummy();
    assert!(d
        .text(vec![endpoint.clone()], &[], "hello", None)
        .await
        .is_err());
    assert!(d
        .text(
            Vec::<Endpoint>::new(),
            &[TextLastHiddenState::default().into()],
            "hello",
            None
        )
        .await
        .is_err());
    assert!(d
        .text(
            vec![endpoint],
            &[TextLastHiddenState::default().into()],
            Inputs::Texts(vec![]),
            None
        )
        .await
        .is_err());
}
