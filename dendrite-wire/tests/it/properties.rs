//! Property tests: round-trips for arbitrary tensors and synapse tensors, and no panic on
//! arbitrary bytes.

use bytes::Bytes;
use dendrite_wire::proto::{self, ReturnCode, Serializer};
use dendrite_wire::synapse::{
    Synapse, TextCausalLM, TextCausalLMNext, TextLastHiddenState, TextSeq2Seq, IGNORE_INDEX,
    NETWORK_DIM, VOCAB_SIZE,
};
use dendrite_wire::{msgpack, serializer, DType, Tensor};
use proptest::prelude::*;
use prost::Message;

fn dtype() -> impl Strategy<Value = DType> {
    proptest::sample::select(DType::ALL.to_vec())
}

/// Any dtype, up to 4 dimensions of up to 6, random element bytes (bools 0/1).
fn any_tensor() -> impl Strategy<Value = Tensor> {
    (dtype(), proptest::collection::vec(0usize..6, 0..5)).prop_flat_map(|(dtype, shape)| {
        let n: usize = shape.iter().product();
        proptest::collection::vec(any::<u8>(), n * dtype.size()).prop_map(move |mut data| {
            if dtype == DType::Bool {
                data.iter_mut().for_each(|b| *b &= 1);
            }
            Tensor::from_bytes(dtype, shape.clone(), Bytes::from(data)).unwrap()
        })
    })
}

fn through_the_wire(t: &Tensor, ser: Serializer) -> Tensor {
    let wire = serializer::serialize(t, ser).unwrap();
    let received = proto::Tensor::decode(Bytes::from(wire.encode_to_vec())).unwrap();
    serializer::deserialize(&received).unwrap()
}

proptest! {
    #[test]
    fn msgpack_round_trips_every_tensor(t in any_tensor()) {
        prop_assert_eq!(through_the_wire(&t, Serializer::Msgpack), t.clone());
        prop_assert_eq!(msgpack::decode(&msgpack::encode(&t).unwrap()).unwrap(), t);
    }

    #[test]
    fn cmppack_round_trips_floats_within_f16_precision(
        values in proptest::collection::vec(-60000f32..60000f32, 0..200)
    ) {
        let t = Tensor::from_slice(&values);
        let back = through_the_wire(&t, Serializer::Cmppack);
        prop_assert_eq!(back.dtype(), DType::Float32);
        for (a, b) in back.to_vec::<f32>().iter().zip(&values) {
            prop_assert!((a - b).abs() <= b.abs() / 1024.0 + 1e-7, "{} vs {}", a, b);
        }
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(data in proptest::collection::vec(any::<u8>(), 0..256)) {
        let bytes = Bytes::from(data);
        let _ = msgpack::decode(&bytes);
        if let Ok(message) = proto::TensorMessage::decode(bytes.clone()) {
            for t in &message.tensors {
                let _ = serializer::deserialize(t);
            }
            for s in &message.synapses {
                let _ = Synapse::from_wire(s);
            }
        }
        if let Ok(s) = proto::Synapse::decode(bytes) {
            let _ = Synapse::from_wire(&s);
        }
    }

    #[test]
    fn corrupting_a_valid_buffer_never_panics(
        t in any_tensor(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut buffer = msgpack::encode(&t).unwrap().to_vec();
        for (at, value) in flips {
            let i = at.index(buffer.len());
            buffer[i] = value;
        }
        let buffer = Bytes::from(buffer);
        let _ = msgpack::decode(&buffer);
        let _ = msgpack::decode(&buffer.slice(..cut.index(buffer.len() + 1)));
    }

    #[test]
    fn any_proto_shape_and_dtype_is_handled(
        t in any_tensor(),
        shape in proptest::collection::vec(any::<i64>(), 0..4),
        dtype in any::<i32>(),
    ) {
        let mut wire = serializer::serialize(&t, Serializer::Msgpack).unwrap();
        wire.shape = shape;
        wire.dtype = dtype;
        if let Ok(back) = serializer::deserialize(&wire) {
            prop_assert_eq!(back.numel(), t.numel());
        }
    }

    #[test]
    fn synapse_params_round_trip(topk in 1i32..5000, mask in proptest::collection::btree_set(-8i32..8, 0..4), n in 1i32..300) {
        let synapses = [
            Synapse::from(TextCausalLM::with_topk(topk)),
            Synapse::from(TextCausalLMNext::with_topk(topk)),
            Synapse::from(TextLastHiddenState::with_mask(mask.into_iter().collect())),
            Synapse::from(TextSeq2Seq { num_to_generate: n, ..TextSeq2Seq::default() }),
        ];
        for s in synapses {
            let wire = proto::Synapse::decode(&s.to_wire(ReturnCode::Success, "ok").encode_to_vec()[..]).unwrap();
            prop_assert_eq!(Synapse::from_wire(&wire).unwrap(), s);
        }
    }

    #[test]
    fn causal_lm_log_probs_are_a_distribution(
        topk in 1usize..16,
        seed in proptest::collection::vec(-20f32..20f32, 64),
    ) {
        let (b, s) = (1usize, 2usize);
        let logits: Vec<f32> = (0..b * s * VOCAB_SIZE)
            .map(|i| seed[(i * 31 + i / 7) % seed.len()] + (i % 13) as f32 * 0.01)
            .collect();
        let logits = Tensor::from_vec(logits, [b, s, VOCAB_SIZE]).unwrap();
        let request = Tensor::from_vec(vec![1i64, 2], [b, s]).unwrap();
        let synapse = Synapse::from(TextCausalLM::with_topk(topk as i32));
        let wire = synapse.serialize_forward_response(&request, &logits).unwrap();
        let log_probs = synapse.deserialize_forward_response(&request, &wire).unwrap();
        for row in log_probs.to_vec::<f32>().chunks(VOCAB_SIZE) {
            let total: f64 = row.iter().map(|&l| (l as f64).exp()).sum();
            prop_assert!((total - 1.0).abs() < 1e-3, "probabilities sum to {}", total);
        }
    }

    #[test]
    fn causal_lm_gradient_top_k_survives_the_wire(
        topk in 1usize..8,
        grads in proptest::collection::vec(-1f32..1f32, VOCAB_SIZE),
    ) {
        let request = Tensor::from_vec(vec![7i64], [1, 1]).unwrap();
        let grad = Tensor::from_vec(grads.clone(), [1, 1, VOCAB_SIZE]).unwrap();
        let synapse = Synapse::from(TextCausalLM::with_topk(topk as i32));
        let wire = synapse.serialize_backward_request(&request, &grad).unwrap();
        let back = synapse.deserialize_backward_request(&request, &wire).unwrap().to_vec::<f32>();
        let mut sorted = grads.clone();
        sorted.sort_by(|a, b| b.total_cmp(a));
        let kept: Vec<f32> = back.iter().copied().filter(|&g| g != 0.0).collect();
        prop_assert!(kept.len() <= topk);
        for (i, &g) in back.iter().enumerate() {
            prop_assert!(g == 0.0 || g == grads[i]);
            if g != 0.0 { prop_assert!(g >= sorted[topk - 1]); }
        }
    }

    #[test]
    fn causal_lm_next_phrases_round_trip(
        batch in 1usize..4,
        topk in 1usize..5,
        lens in proptest::collection::vec(1usize..4, 16),
        tokens in proptest::collection::vec(0i64..50000, 64),
        weights in proptest::collection::vec(1u32..100, 20),
    ) {
        let width = 1 + (0..batch * topk).map(|i| lens[i % lens.len()]).max().unwrap();
        let mut phrases = vec![IGNORE_INDEX as f32; batch * (topk + 1) * width];
        for b in 0..batch {
            let total: u32 = (0..=topk).map(|j| weights[(b * 5 + j) % weights.len()]).sum();
            for j in 0..=topk {
                let row = &mut phrases[((b * (topk + 1)) + j) * width..][..width];
                row[0] = weights[(b * 5 + j) % weights.len()] as f32 / total as f32 * 0.999;
                if j < topk {
                    for p in 0..lens[(b * topk + j) % lens.len()] {
                        row[1 + p] = tokens[(b * 7 + j * 3 + p) % tokens.len()] as f32;
                    }
                }
            }
        }
        let phrases = Tensor::from_vec(phrases, [batch, topk + 1, width]).unwrap();
        let request = Tensor::from_vec(vec![1i64; batch * 3], [batch, 3]).unwrap();
        let synapse = Synapse::from(TextCausalLMNext::with_topk(topk as i32));
        let wire = synapse.serialize_forward_response(&request, &phrases).unwrap();
        let back = synapse.deserialize_forward_response(&request, &wire).unwrap();
        prop_assert_eq!(back, phrases);
    }

    #[test]
    fn last_hidden_state_mask_round_trips(
        batch in 1usize..3, seq in 1usize..6,
        mask in proptest::collection::btree_set(0usize..6, 1..4),
    ) {
        let mask: Vec<i32> = mask.into_iter().filter(|&m| m < seq).map(|m| m as i32).collect();
        prop_assume!(!mask.is_empty());
        let hidden: Vec<f32> = (0..batch * seq * NETWORK_DIM).map(|i| (i % 251) as f32 + 1.0).collect();
        let hidden = Tensor::from_vec(hidden, [batch, seq, NETWORK_DIM]).unwrap();
        let request = Tensor::from_vec(vec![1i64; batch * seq], [batch, seq]).unwrap();
        let synapse = Synapse::from(TextLastHiddenState::with_mask(mask.clone()));
        let wire = synapse.serialize_forward_response(&request, &hidden).unwrap();
        let back = synapse.deserialize_forward_response(&request, &wire).unwrap().to_vec::<f32>();
        let original = hidden.to_vec::<f32>();
        for (row, (a, o)) in back.chunks(NETWORK_DIM).zip(original.chunks(NETWORK_DIM)).enumerate() {
            if mask.contains(&((row % seq) as i32)) {
                prop_assert_eq!(a, o);
            } else {
                prop_assert!(a.iter().all(|&v| v == 0.0));
            }
        }
    }
}

#[test]
fn a_header_claiming_a_huge_shape_is_an_error() {
    let small = Tensor::from_vec(vec![1f32], [1]).unwrap();
    let mut buffer = msgpack::encode(&small).unwrap().to_vec();
    // Replace `shape: [1]` (0x91 0x01) with `shape: [2^32, 2^32, 2^32]`.
    let at = buffer.windows(2).position(|w| w == [0x91, 0x01]).unwrap();
    let huge = [
        0x93, 0xcf, 0, 0, 0, 1, 0, 0, 0, 0, 0xcf, 0, 0, 0, 1, 0, 0, 0, 0, 0xcf, 0, 0, 0, 1, 0, 0,
        0, 0,
    ];
    buffer.splice(at..at + 2, huge);
    assert!(msgpack::decode(&Bytes::from(buffer)).is_err());
}

#[test]
fn a_response_of_the_wrong_shape_or_dtype_is_an_error_not_a_panic() {
    let request = Tensor::from_vec(vec![1i64, 2, 3, 4], [2, 2]).unwrap();
    let wrong = serializer::serialize(
        &Tensor::zeros(DType::Float32, [2, 3, 8]).unwrap(),
        Serializer::Msgpack,
    )
    .unwrap();
    let ints = serializer::serialize(
        &Tensor::zeros(DType::Int64, [2, 2, 1024]).unwrap(),
        Serializer::Msgpack,
    )
    .unwrap();
    for synapse in [
        Synapse::from(TextLastHiddenState::default()),
        Synapse::from(TextCausalLM::with_topk(4)),
        Synapse::from(TextCausalLMNext::with_topk(4)),
        Synapse::from(TextSeq2Seq::default()),
    ] {
        assert!(
            synapse
                .deserialize_forward_response(&request, &wrong)
                .is_err(),
            "{}",
            synapse.name()
        );
        let _ = synapse.deserialize_forward_response(&request, &ints);
        let nill = synapse.nill_forward_response(&request);
        assert!(nill
            .to_vec::<f32>()
            .iter()
            .all(|&v| v == 0.0 || v == 2.0 || v == IGNORE_INDEX as f32));
    }
    let lhs = Synapse::from(TextLastHiddenState::default());
    assert!(
        lhs.deserialize_forward_response(&request, &ints).is_err(),
        "ints are not hidden states"
    );
}

/// A peer's NaN, infinite or negative top-k probabilities decode as `torch.nan_to_num` of the
/// log-probabilities would: NaN to 0, infinities to the largest finite values.
#[test]
fn causal_lm_non_finite_probabilities_decode_as_nan_to_num() {
    let request = Tensor::from_vec(vec![1i64, 2], [1, 2]).unwrap();
    let synapse = Synapse::from(TextCausalLM::with_topk(3));
    // Row 0: NaN, +inf and a negative probability at tokens 5, 6, 7 (the mass is NaN, so the
    // floor is too). Row 1: ordinary probabilities at tokens 1, 2, 3.
    let rows = [
        [f32::NAN, f32::INFINITY, -0.5, 5.0, 6.0, 7.0],
        [0.5, 0.25, 0.125, 1.0, 2.0, 3.0],
    ];
    let wire = Tensor::from_vec(rows.concat(), [1, 2, 6]).unwrap();
    let wire = serializer::serialize(&wire, Serializer::Msgpack).unwrap();
    let decoded = synapse
        .deserialize_forward_response(&request, &wire)
        .unwrap()
        .to_vec::<f32>();
    let (row0, row1) = decoded.split_at(VOCAB_SIZE);
    assert_eq!((row0[5], row0[6], row0[7]), (0.0, f32::MAX, 0.0));
    assert!(row0
        .iter()
        .enumerate()
        .all(|(i, &v)| (5..8).contains(&i) || v == 0.0));
    let floor = (0.125f32.clamp(1e-40, 1.0) / (VOCAB_SIZE - 3) as f32).ln();
    assert_eq!(row1[1], (0.5f32 + 1e-40).ln());
    assert_eq!(row1[0], floor);
    assert!(decoded.iter().all(|v| v.is_finite()));
}
