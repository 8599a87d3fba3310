//! A whole Forward response, as the receptor reads it: the first byte picks the request's
//! `[B, S]` and whether NaN/inf is rejected, the rest is the `TensorMessage`. The requested
//! synapses are the ones the message itself names (at most four), or the hidden state.
#![no_main]

use dendrite_wire::proto::TensorMessage;
use dendrite_wire::synapse::TextLastHiddenState;
use dendrite_wire::{Synapse, Tensor};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&head, message)) = data.split_first() else {
        return;
    };
    let (b, s) = (1 + (head & 0x3) as usize, 1 + ((head >> 2) & 0x7) as usize);
    let tokens: Vec<i64> = (0..(b * s) as i64).map(|i| 100 + 37 * i).collect();
    let Ok(input) = Tensor::from_vec(tokens, [b, s]) else {
        return;
    };
    let mut synapses: Vec<Synapse> = <TensorMessage as prost::Message>::decode(message)
        .map(|m| {
            m.synapses
                .iter()
                .filter_map(|w| Synapse::from_wire(w).ok())
                .take(4)
                .collect()
        })
        .unwrap_or_default();
    if synapses.is_empty() || synapses.iter().any(|s| s.validate().is_err()) {
        synapses = vec![TextLastHiddenState::default().into()];
    }
    if let Some(results) =
        dendrite_core::fuzzing::read_forward_response(&synapses, &input, message, head & 0x80 != 0)
    {
        assert_eq!(results.len(), synapses.len());
    }
});
