//! Per-synapse facts the client relies on: the largest legal response bounds every legal
//! response message, and which outputs take a gradient.

use dendrite_wire::proto::{ReturnCode, TensorMessage};
use dendrite_wire::synapse::{
    max_backward_response_bytes, max_forward_response_bytes, TextCausalLM, TextCausalLMNext,
    TextLastHiddenState, TextSeq2Seq, NETWORK_DIM, RESPONSE_SLACK_BYTES, TENSOR_SLACK_BYTES,
    VOCAB_SIZE,
};
use dendrite_wire::{Synapse, Tensor};
use proptest::prelude::*;

/// The largest output an axon may answer `synapse` with for a `[b, s]` request.
fn largest_output(synapse: &Synapse, b: usize, s: usize) -> Tensor {
    match synapse {
        Synapse::TextLastHiddenState(_) => {
            Tensor::from_vec(vec![1.5f32; b * s * NETWORK_DIM], [b, s, NETWORK_DIM]).unwrap()
        }
        Synapse::TextCausalLM(_) => {
            let logits = (0..b * s * VOCAB_SIZE).map(|i| (i % 977) as f32).collect();
            Tensor::from_vec(logits, [b, s, VOCAB_SIZE]).unwrap()
        }
        Synapse::TextSeq2Seq(p) => {
            let n = p.num_to_generate as usize;
            Tensor::from_vec(vec![i64::MAX; b * n], [b, n]).unwrap()
        }
        Synapse::TextCausalLMNext(_) => unreachable!("unbounded: only the ceiling applies"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn a_legal_response_never_exceeds_its_bound(
        b in 1usize..3,
        s in 1usize..4,
        topk in 1i32..64,
        n in 1i32..40,
        which in proptest::sample::subsequence(vec![0usize, 1, 2], 1..=3),
    ) {
        let all = [
            Synapse::from(TextLastHiddenState::default()),
            Synapse::from(TextCausalLM::with_topk(topk)),
            Synapse::from(TextSeq2Seq { num_to_generate: n, ..TextSeq2Seq::default() }),
        ];
        let synapses: Vec<&Synapse> = which.iter().map(|&i| &all[i]).collect();
        let request = Tensor::from_vec(vec![7i64; b * s], [b, s]).unwrap();
        let mut message = TensorMessage { hotkey: "5".repeat(48), ..Default::default() };
        for synapse in &synapses {
            let output = largest_output(synapse, b, s);
            let tensor = synapse.serialize_forward_response(&request, &output).unwrap();
            // Each tensor within its own share: its payload bound plus one tensor's slack.
            let share = max_forward_response_bytes([*synapse], &request, usize::MAX)
                - RESPONSE_SLACK_BYTES;
            prop_assert!(prost::Message::encoded_len(&tensor) <= share, "{}", synapse.name());
            message.tensors.push(tensor);
            message.synapses.push(synapse.to_wire(ReturnCode::Success, "Success"));
        }
        let bound = max_forward_response_bytes(synapses.iter().copied(), &request, usize::MAX);
        prop_assert!(prost::Message::encoded_len(&message) <= bound);
        prop_assert_eq!(max_forward_response_bytes(synapses.iter().copied(), &request, 100), 100);
    }
}

#[test]
fn causal_lm_next_is_bounded_by_the_ceiling_alone() {
    let request = Tensor::from_vec(vec![7i64; 4], [1, 4]).unwrap();
    let next = Synapse::from(TextCausalLMNext::default());
    let hidden = Synapse::from(TextLastHiddenState::default());
    assert_eq!(
        max_forward_response_bytes([&hidden, &next], &request, 1 << 30),
        1 << 30
    );
    assert_eq!(
        max_backward_response_bytes(3, usize::MAX),
        RESPONSE_SLACK_BYTES + 3 * TENSOR_SLACK_BYTES
    );
}

#[test]
fn only_token_ids_take_no_gradient() {
    assert!(Synapse::from(TextLastHiddenState::default()).is_differentiable());
    assert!(Synapse::from(TextCausalLM::default()).is_differentiable());
    assert!(Synapse::from(TextCausalLMNext::default()).is_differentiable());
    assert!(!Synapse::from(TextSeq2Seq::default()).is_differentiable());
}
