//! `TextCausalLM`: next-token log-probabilities over the whole vocabulary at every position,
//! sent as the top-k probabilities and their token ids.

use super::{batch_seq, f32s, finite, shape_error, top_k, zeros_or_empty, Codec, SerializerTypes};
use super::{MAX_DECODED_ELEMENTS, VOCAB_SIZE};
use crate::proto::synapse::{self as ps, SynapseType};
use crate::{DType, SynapseError, Tensor};
use bytes::Bytes;
use prost::Message;

/// Parameters of the causal LM synapse. Reference default: `topk = 512`.
#[derive(Clone, Debug, PartialEq)]
pub struct TextCausalLM {
    /// How many of the most probable tokens the peer sends per position.
    pub topk: i32,
    /// Serializers of the four tensor directions.
    pub serializers: SerializerTypes,
}

impl Default for TextCausalLM {
    fn default() -> Self {
        TextCausalLM::with_topk(512)
    }
}

impl TextCausalLM {
    /// The synapse with `topk` and MSGPACK everywhere.
    pub fn with_topk(topk: i32) -> Self {
        TextCausalLM {
            topk,
            serializers: SerializerTypes::default(),
        }
    }

    fn k(&self) -> usize {
        self.topk.max(0) as usize
    }
}

impl From<ps::TextCausalLm> for TextCausalLM {
    fn from(p: ps::TextCausalLm) -> Self {
        TextCausalLM {
            topk: p.topk,
            serializers: SerializerTypes::from_proto(
                p.forward_request_serializer_type,
                p.forward_response_serializer_type,
                p.backward_request_serializer_type,
                p.backward_response_serializer_type,
            ),
        }
    }
}

impl Codec for TextCausalLM {
    fn name(&self) -> &'static str {
        "TextCausalLM"
    }

    fn synapse_type(&self) -> SynapseType {
        SynapseType::TextCausalLm
    }

    fn serializers(&self) -> &SerializerTypes {
        &self.serializers
    }

    fn params_bytes(&self) -> Bytes {
        let s = &self.serializers;
        ps::TextCausalLm {
            synapse_type: 0,
            topk: self.topk,
            forward_request_serializer_type: s.forward_request as i32,
            forward_response_serializer_type: s.forward_response as i32,
            backward_request_serializer_type: s.backward_request as i32,
            backward_response_serializer_type: s.backward_response as i32,
            requires_grad: false,
        }
        .encode_to_vec()
        .into()
    }

    fn validate(&self) -> Result<(), SynapseError> {
        if self.topk < 1 || self.k() > VOCAB_SIZE {
            return Err(SynapseError::InvalidParams(format!(
                "TextCausalLM topk must be in [1, {VOCAB_SIZE}], got {}",
                self.topk
            )));
        }
        Ok(())
    }

    /// Softmax over the logits, then the top-k probabilities followed by their ids.
    fn encode_forward_response(
        &self,
        _request: &Tensor,
        logits: &Tensor,
    ) -> Result<Tensor, SynapseError> {
        let logits = logits.cast(DType::Float32);
        let &[b, s, v] = logits.shape() else {
            return Err(shape_error(
                "logits",
                "[B, S, V]".into(),
                logits.shape(),
                self.name(),
            ));
        };
        let k = self.k();
        if k > v {
            return Err(SynapseError::Values(format!(
                "topk {k} is larger than the vocabulary {v}"
            )));
        }
        let values = f32s(&logits)?;
        let mut out = Vec::with_capacity(b * s * 2 * k);
        let (mut probs, mut scratch) = (vec![0f32; v], Vec::new());
        for row in values.chunks_exact(v.max(1)).take(b * s) {
            softmax(row, &mut probs);
            let top = top_k(&probs, k, &mut scratch);
            out.extend(top.iter().map(|&(p, _)| p));
            out.extend(top.iter().map(|&(_, i)| i as f32));
        }
        Ok(Tensor::from_vec(out, [b, s, 2 * k])?)
    }

    fn check_forward_response(&self, request: &Tensor, wire: &Tensor) -> Result<(), SynapseError> {
        let (b, s) = batch_seq(request);
        if wire.shape() != [b, s, 2 * self.k()] {
            return Err(shape_error(
                "forward_response_tensor",
                format!("[{b}, {s}, {}]", 2 * self.k()),
                wire.shape(),
                self.name(),
            ));
        }
        Ok(())
    }

    /// Log-probabilities over the vocabulary: the top-k where given, the remaining probability
    /// mass spread evenly over the other tokens as a floor.
    fn decode_forward_response(
        &self,
        request: &Tensor,
        wire: Tensor,
    ) -> Result<Tensor, SynapseError> {
        let (b, s) = batch_seq(request);
        let k = self.k();
        let rows = b * s;
        if rows.saturating_mul(VOCAB_SIZE) > MAX_DECODED_ELEMENTS {
            return Err(SynapseError::Shape(format!(
                "[{b}, {s}, {VOCAB_SIZE}] is larger than {MAX_DECODED_ELEMENTS} elements"
            )));
        }
        let encoded = f32s(&wire)?;
        // Written once (no zero fill first), each value already through `finite`: this is
        // 3.2 MB per endpoint at [2, 8], and every extra pass over it showed in the profile.
        let mut logits = Vec::with_capacity(rows * VOCAB_SIZE);
        let floor_divisor = (VOCAB_SIZE - k) as f32;
        for row in encoded.chunks_exact(2 * k.max(1)).take(rows) {
            let (probs, ids) = row.split_at(k);
            let mass: f32 = probs.iter().sum();
            let remainder = (1.0 - mass).clamp(1e-40, 1.0);
            let start = logits.len();
            logits.resize(start + VOCAB_SIZE, finite((remainder / floor_divisor).ln()));
            let out = &mut logits[start..];
            for (&p, &id) in probs.iter().zip(ids) {
                out[token_slot(id)?] = finite((p + 1e-40).ln());
            }
        }
        Ok(Tensor::from_vec(logits, [b, s, VOCAB_SIZE])?)
    }

    fn decodes_finite(&self) -> bool {
        true
    }

    fn check_backward_request(&self, request: &Tensor, grad: &Tensor) -> Result<(), SynapseError> {
        let (b, s) = batch_seq(request);
        if grad.shape() != [b, s, VOCAB_SIZE] {
            return Err(shape_error(
                "backward_request_gradient",
                format!("[{b}, {s}, {VOCAB_SIZE}]"),
                grad.shape(),
                self.name(),
            ));
        }
        Ok(())
    }

    /// The top-k gradient values per position followed by their token ids.
    fn encode_backward_request(&self, grad: &Tensor) -> Result<Tensor, SynapseError> {
        let grad = grad.cast(DType::Float32);
        let &[b, s, v] = grad.shape() else {
            return Err(shape_error(
                "gradient",
                "[B, S, V]".into(),
                grad.shape(),
                self.name(),
            ));
        };
        let k = self.k().min(v);
        let mut out = Vec::with_capacity(b * s * 2 * k);
        let mut scratch = Vec::new();
        for row in f32s(&grad)?.chunks_exact(v.max(1)).take(b * s) {
            let top = top_k(row, k, &mut scratch);
            out.extend(top.iter().map(|&(g, _)| g));
            out.extend(top.iter().map(|&(_, i)| i as f32));
        }
        Ok(Tensor::from_vec(out, [b, s, 2 * k])?)
    }

    /// Scatters the top-k gradient back into a zero `[B, S, V]` gradient.
    fn decode_backward_request(
        &self,
        request: &Tensor,
        wire: Tensor,
    ) -> Result<Tensor, SynapseError> {
        let wire = wire.cast(DType::Float32);
        let (b, s) = batch_seq(request);
        let k = self.k();
        if wire.shape() != [b, s, 2 * k] {
            return Err(shape_error(
                "backward_request_gradient",
                format!("[{b}, {s}, {}]", 2 * k),
                wire.shape(),
                self.name(),
            ));
        }
        let mut grads = vec![0f32; b * s * VOCAB_SIZE];
        for (row, out) in f32s(&wire)?
            .chunks_exact(2 * k.max(1))
            .zip(grads.chunks_exact_mut(VOCAB_SIZE))
        {
            let (values, ids) = row.split_at(k);
            for (&g, &id) in values.iter().zip(ids) {
                out[token_slot(id)?] = g;
            }
        }
        Ok(Tensor::from_vec(grads, [b, s, VOCAB_SIZE])?)
    }

    fn nill_forward_response(&self, request: &Tensor) -> Tensor {
        let (b, s) = batch_seq(request);
        zeros_or_empty(DType::Float32, vec![b, s, VOCAB_SIZE])
    }

    fn nill_backward_response(&self, request: &Tensor) -> Tensor {
        self.nill_forward_response(request)
    }

    /// `[B, S, 2k]` f32: the top-k probabilities and their token ids.
    fn max_forward_response_payload(&self, batch: usize, sequence: usize) -> Option<usize> {
        Some(
            batch
                .saturating_mul(sequence)
                .saturating_mul(2 * self.topk.max(0) as usize)
                .saturating_mul(4),
        )
    }
}

/// A token id sent as a float, truncated as torch's `.long()`, checked against the vocabulary.
fn token_slot(id: f32) -> Result<usize, SynapseError> {
    let slot = id.trunc();
    if !(0.0..VOCAB_SIZE as f32).contains(&slot) {
        return Err(SynapseError::Values(format!(
            "token id {id} outside the vocabulary [0, {VOCAB_SIZE})"
        )));
    }
    Ok(slot as usize)
}

/// Numerically stable softmax of `logits` into `out`.
fn softmax(logits: &[f32], out: &mut [f32]) {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0f32;
    for (o, &l) in out.iter_mut().zip(logits) {
        *o = (l - max).exp();
        sum += *o;
    }
    for o in out.iter_mut() {
        *o /= sum;
    }
}
