//! `TextCausalLMNext`: the top-k next-token *phrases* with their probabilities, plus the floor
//! probability of everything else, per batch item.
//!
//! Decoded form `[B, k+1, max_len]`: row `j < k` is `[prob_j, tok_0, tok_1, ..., -100 padding]`,
//! row `k` is `[floor_prob, -100, ...]`. Wire form: the rows of every item concatenated without
//! padding, token ids offset by 2 so that values in `[0, 1]` mark the start of each phrase.

use super::{batch_seq, f32s, shape_error, zeros_or_empty, Codec, SerializerTypes};
use super::{IGNORE_INDEX, MAX_DECODED_ELEMENTS};
use crate::proto::synapse::{self as ps, SynapseType};
use crate::{DType, SynapseError, Tensor};
use bytes::Bytes;
use prost::Message;

/// Tolerance of the reference's probability markers.
const ATOL: f32 = 1e-6;

/// Parameters of the causal LM next synapse. Reference default: `topk = 4096`.
#[derive(Clone, Debug, PartialEq)]
pub struct TextCausalLMNext {
    /// How many phrases the peer returns per batch item.
    pub topk: i32,
    /// Serializers of the four tensor directions.
    pub serializers: SerializerTypes,
}

impl Default for TextCausalLMNext {
    fn default() -> Self {
        TextCausalLMNext::with_topk(4096)
    }
}

impl TextCausalLMNext {
    /// The synapse with `topk` and MSGPACK everywhere.
    pub fn with_topk(topk: i32) -> Self {
        TextCausalLMNext {
            topk,
            serializers: SerializerTypes::default(),
        }
    }

    fn k(&self) -> usize {
        self.topk.max(0) as usize
    }
}

impl From<ps::TextCausalLmNext> for TextCausalLMNext {
    fn from(p: ps::TextCausalLmNext) -> Self {
        TextCausalLMNext {
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

impl Codec for TextCausalLMNext {
    fn name(&self) -> &'static str {
        "TextCausalLMNext"
    }

    fn synapse_type(&self) -> SynapseType {
        SynapseType::TextCausalLmNext
    }

    fn serializers(&self) -> &SerializerTypes {
        &self.serializers
    }

    fn params_bytes(&self) -> Bytes {
        let s = &self.serializers;
        ps::TextCausalLmNext {
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
        if self.topk < 1 || self.k() > super::VOCAB_SIZE {
            return Err(SynapseError::InvalidParams(format!(
                "TextCausalLMNext topk must be in [1, {}], got {}",
                super::VOCAB_SIZE,
                self.topk
            )));
        }
        Ok(())
    }

    /// Compacts `[B, k+1, max_len]` phrases: token ids + 2, padding (< -1) removed.
    fn encode_forward_response(
        &self,
        _request: &Tensor,
        phrases: &Tensor,
    ) -> Result<Tensor, SynapseError> {
        let phrases = phrases.cast(DType::Float32);
        let &[_, _, width] = phrases.shape() else {
            return Err(shape_error(
                "topk_tensor",
                "[B, topk + 1, max_len]".into(),
                phrases.shape(),
                self.name(),
            ));
        };
        let mut compact = Vec::with_capacity(phrases.numel());
        for row in f32s(&phrases)?.chunks_exact(width.max(1)) {
            for (col, &v) in row.iter().enumerate() {
                let v = if col == 0 { v } else { v + 2.0 };
                if v > -1.0 {
                    compact.push(v);
                }
            }
        }
        Ok(Tensor::from_slice(&compact))
    }

    fn check_forward_response(&self, request: &Tensor, wire: &Tensor) -> Result<(), SynapseError> {
        let (b, _) = batch_seq(request);
        let min_len = b * (2 * self.k() + 1);
        match wire.shape() {
            [n] if *n >= min_len => {}
            shape => {
                return Err(shape_error(
                    "forward_response_tensor",
                    format!("[>={b} x (2 x {} + 1)]", self.topk),
                    shape,
                    self.name(),
                ))
            }
        }
        if f32s(wire)?.iter().any(|&v| v < -ATOL) {
            return Err(SynapseError::Values(
                "forward_response_tensor values below tolerance.".into(),
            ));
        }
        Ok(())
    }

    /// Unravels the compact phrases into `[B, k+1, max_len]` (the reference's
    /// `unravel_topk_token_phrases`), checking the markers against the request's batch size.
    fn decode_forward_response(
        &self,
        request: &Tensor,
        wire: Tensor,
    ) -> Result<Tensor, SynapseError> {
        let (b, _) = batch_seq(request);
        let rows_per_item = self.k() + 1;
        let compact = f32s(&wire)?;
        let markers: Vec<usize> = (0..compact.len())
            .filter(|&i| -ATOL < compact[i] && compact[i] < 1.0 + ATOL)
            .collect();
        if markers.len() != b * rows_per_item {
            return Err(SynapseError::Values(format!(
                "unravel_topk_token_phrases() probability marker failure: {b} * ({} + 1) != {}",
                self.topk,
                markers.len()
            )));
        }
        let probs: Vec<f32> = markers
            .iter()
            .map(|&i| compact[i].clamp(0.0, 1.0))
            .collect();
        for item in probs.chunks_exact(rows_per_item) {
            let sum: f32 = item.iter().sum();
            if !(-ATOL < sum && sum < 1.0 + ATOL) {
                return Err(SynapseError::Values(
                    "unravel_topk_token_phrases(): probs_sum not in [0, 1]".into(),
                ));
            }
        }
        // Each phrase runs to the next marker; the last (a floor probability) has length 1.
        let phrase_len = |r: usize| markers.get(r + 1).map_or(1, |&next| next - markers[r]);
        let max_len = (0..markers.len()).map(phrase_len).max().unwrap_or(1);
        if markers.len().saturating_mul(max_len) > MAX_DECODED_ELEMENTS {
            return Err(SynapseError::Shape(format!(
                "[{b}, {rows_per_item}, {max_len}] is larger than {MAX_DECODED_ELEMENTS} elements"
            )));
        }
        let mut out = vec![IGNORE_INDEX as f32; markers.len() * max_len];
        for (r, (&start, &prob)) in markers.iter().zip(&probs).enumerate() {
            let row = &mut out[r * max_len..(r + 1) * max_len];
            row[0] = prob;
            for p in 1..phrase_len(r) {
                row[p] = compact[start + p] - 2.0;
            }
        }
        Ok(Tensor::from_vec(out, [b, rows_per_item, max_len])?)
    }

    fn check_backward_request(&self, request: &Tensor, grad: &Tensor) -> Result<(), SynapseError> {
        let (b, _) = batch_seq(request);
        match grad.shape() {
            [gb, rows, _] if *gb == b && *rows == self.k() + 1 => Ok(()),
            shape => Err(shape_error(
                "backward_request_gradient",
                format!("[{b}, ({} + 1), max_len]", self.topk),
                shape,
                self.name(),
            )),
        }
    }

    /// `[B, max_len, grads of the probability column...]` as one f32 vector.
    fn encode_backward_request(&self, grad: &Tensor) -> Result<Tensor, SynapseError> {
        let grad = grad.cast(DType::Float32);
        let &[b, _, max_len] = grad.shape() else {
            return Err(shape_error(
                "gradient",
                "[B, k+1, max_len]".into(),
                grad.shape(),
                self.name(),
            ));
        };
        let mut out = vec![b as f32, max_len as f32];
        out.extend(f32s(&grad)?.chunks_exact(max_len.max(1)).map(|row| row[0]));
        Ok(Tensor::from_slice(&out))
    }

    /// Back to `[B, k+1, max_len]` with the gradients in column 0 and zeros elsewhere.
    fn decode_backward_request(
        &self,
        request: &Tensor,
        wire: Tensor,
    ) -> Result<Tensor, SynapseError> {
        let wire = wire.cast(DType::Float32);
        let values = f32s(&wire)?;
        let (b, _) = batch_seq(request);
        let rows = b * (self.k() + 1);
        let (Some(&gb), Some(&max_len)) = (values.first(), values.get(1)) else {
            return Err(SynapseError::Shape(
                "gradient has no [batch, max_len] header".into(),
            ));
        };
        let max_len = max_len as usize;
        if gb as usize != b || values.len() != 2 + rows || max_len == 0 {
            return Err(SynapseError::Shape(format!(
                "gradient of {} values does not match [{b}, {} + 1, {max_len}]",
                values.len(),
                self.topk
            )));
        }
        if rows.saturating_mul(max_len) > MAX_DECODED_ELEMENTS {
            return Err(SynapseError::Shape(format!(
                "max_len {max_len} is too large"
            )));
        }
        let mut out = vec![0f32; rows * max_len];
        for (row, &g) in out.chunks_exact_mut(max_len).zip(&values[2..]) {
            row[0] = g;
        }
        Ok(Tensor::from_vec(out, [b, self.k() + 1, max_len])?)
    }

    /// `[B, k+1, 2]`: zero probabilities, token 2 in the phrase rows and -100 in the floor row.
    fn nill_forward_response(&self, request: &Tensor) -> Tensor {
        let (b, _) = batch_seq(request);
        let rows = self.k() + 1;
        if b == 0 || b.saturating_mul(rows * 2) > MAX_DECODED_ELEMENTS {
            return Tensor::empty();
        }
        let mut out = vec![0f32; b * rows * 2];
        for (r, row) in out.chunks_exact_mut(2).enumerate() {
            row[1] = if r % rows == self.k() {
                IGNORE_INDEX as f32
            } else {
                2.0
            };
        }
        Tensor::from_vec(out, [b, rows, 2]).unwrap_or_else(|_| Tensor::empty())
    }

    fn nill_backward_response(&self, request: &Tensor) -> Tensor {
        let (b, _) = batch_seq(request);
        if b == 0 {
            return Tensor::empty();
        }
        zeros_or_empty(DType::Float32, vec![b, self.k() + 1, 2])
    }

    /// Phrases have no length bound in the protocol: only the caller's ceiling bounds them.
    fn max_forward_response_payload(&self, _batch: usize, _sequence: usize) -> Option<usize> {
        None
    }
}
