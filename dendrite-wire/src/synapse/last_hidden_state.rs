//! `TextLastHiddenState`: the language model's last hidden layer, `[B, S, 1024]`, optionally only
//! at the sequence positions of a mask.

use super::{batch_seq, f32s, shape_error, zeros_or_empty, Codec, SerializerTypes, NETWORK_DIM};
use crate::proto::synapse::{self as ps, SynapseType};
use crate::{DType, SynapseError, Tensor};
use bytes::Bytes;
use prost::Message;
use std::collections::HashSet;

/// Parameters of the last-hidden-state synapse. Reference default: no mask.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TextLastHiddenState {
    /// Sequence positions to return (negative counts from the end); empty means all.
    pub mask: Vec<i32>,
    /// Serializers of the four tensor directions.
    pub serializers: SerializerTypes,
}

impl TextLastHiddenState {
    /// The synapse returning only the positions in `mask`.
    pub fn with_mask(mask: Vec<i32>) -> Self {
        TextLastHiddenState {
            mask,
            serializers: SerializerTypes::default(),
        }
    }

    /// Rows of the `[B*S, 1024]` stack that the mask selects, in order (the reference's
    /// `shift_mask_based_on_shape`).
    pub fn shifted_mask(&self, batch: usize, seq: usize) -> Result<Vec<usize>, SynapseError> {
        if self.mask.len() > seq {
            return Err(SynapseError::Values(
                "Trying to use a mask greater than the sequence length.".into(),
            ));
        }
        let positions = self
            .mask
            .iter()
            .map(|&m| {
                let m = m as i64;
                let s = seq as i64;
                if m < -s || m >= s {
                    return Err(SynapseError::Values(format!(
                        "Mask element {m} cannot be interpreted for sequence_length {seq}"
                    )));
                }
                Ok(m.rem_euclid(s) as usize)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((0..batch)
            .flat_map(|b| positions.iter().map(move |&p| b * seq + p))
            .collect())
    }
}

impl From<ps::TextLastHiddenState> for TextLastHiddenState {
    fn from(p: ps::TextLastHiddenState) -> Self {
        TextLastHiddenState {
            mask: p.mask,
            serializers: SerializerTypes::from_proto(
                p.forward_request_serializer_type,
                p.forward_response_serializer_type,
                p.backward_request_serializer_type,
                p.backward_response_serializer_type,
            ),
        }
    }
}

impl Codec for TextLastHiddenState {
    fn name(&self) -> &'static str {
        "TextLastHiddenState"
    }

    fn synapse_type(&self) -> SynapseType {
        SynapseType::TextLastHiddenState
    }

    fn serializers(&self) -> &SerializerTypes {
        &self.serializers
    }

    fn params_bytes(&self) -> Bytes {
        let s = &self.serializers;
        ps::TextLastHiddenState {
            synapse_type: 0,
            forward_request_serializer_type: s.forward_request as i32,
            forward_response_serializer_type: s.forward_response as i32,
            backward_request_serializer_type: s.backward_request as i32,
            backward_response_serializer_type: s.backward_response as i32,
            requires_grad: false,
            mask: self.mask.clone(),
        }
        .encode_to_vec()
        .into()
    }

    fn validate(&self) -> Result<(), SynapseError> {
        let unique: HashSet<_> = self.mask.iter().collect();
        if unique.len() != self.mask.len() {
            return Err(SynapseError::InvalidParams(
                "There are duplicate elements in the mask".into(),
            ));
        }
        Ok(())
    }

    /// The hidden states, or with a mask only the masked rows as `[B*len(mask), 1024]`.
    fn encode_forward_response(
        &self,
        _request: &Tensor,
        hidden: &Tensor,
    ) -> Result<Tensor, SynapseError> {
        let hidden = hidden.cast(DType::Float32);
        if self.mask.is_empty() {
            return Ok(hidden);
        }
        let &[b, s, NETWORK_DIM] = hidden.shape() else {
            return Err(shape_error(
                "forward_response_tensor",
                format!("[B, S, {NETWORK_DIM}]"),
                hidden.shape(),
                self.name(),
            ));
        };
        let rows = f32s(&hidden)?;
        let shifted = self.shifted_mask(b, s)?;
        let mut out = Vec::with_capacity(shifted.len() * NETWORK_DIM);
        for row in &shifted {
            out.extend_from_slice(&rows[row * NETWORK_DIM..(row + 1) * NETWORK_DIM]);
        }
        Ok(Tensor::from_vec(out, [shifted.len(), NETWORK_DIM])?)
    }

    fn check_forward_response(&self, request: &Tensor, wire: &Tensor) -> Result<(), SynapseError> {
        let (b, s) = batch_seq(request);
        let mask_len = if self.mask.is_empty() {
            s
        } else {
            self.mask.len()
        };
        match wire.shape() {
            [rb, rs, NETWORK_DIM] if *rb == b && *rs == s => Ok(()),
            [rows, NETWORK_DIM] if *rows == b * mask_len => Ok(()),
            shape => Err(shape_error(
                "forward_response_tensor",
                format!("[{b}, {s}, {NETWORK_DIM}]"),
                shape,
                self.name(),
            )),
        }
    }

    /// `[B, S, 1024]`: the response itself, or with a mask the masked rows put back in place
    /// and zeros elsewhere.
    fn decode_forward_response(
        &self,
        request: &Tensor,
        wire: Tensor,
    ) -> Result<Tensor, SynapseError> {
        let (b, s) = batch_seq(request);
        if self.mask.is_empty() {
            return Ok(wire.reshape([b, s, NETWORK_DIM])?);
        }
        // A peer may answer unmasked; select the rows ourselves then.
        let packed = if wire.ndim() == 3 {
            self.encode_forward_response(request, &wire)?
        } else {
            wire
        };
        let rows = f32s(&packed)?;
        let mut out = vec![0f32; b * s * NETWORK_DIM];
        for (j, row) in self.shifted_mask(b, s)?.into_iter().enumerate() {
            out[row * NETWORK_DIM..(row + 1) * NETWORK_DIM]
                .copy_from_slice(&rows[j * NETWORK_DIM..(j + 1) * NETWORK_DIM]);
        }
        Ok(Tensor::from_vec(out, [b, s, NETWORK_DIM])?)
    }

    /// The gradient of the decoded output: `[B, S, 1024]`. (The reference subtracts the mask length
    /// from S here, which rejects the gradient of its own masked output; we accept that gradient.)
    fn check_backward_request(&self, request: &Tensor, grad: &Tensor) -> Result<(), SynapseError> {
        let (b, s) = batch_seq(request);
        if grad.shape() != [b, s, NETWORK_DIM] {
            return Err(shape_error(
                "backward_request_gradient",
                format!("[{b}, {s}, {NETWORK_DIM}]"),
                grad.shape(),
                self.name(),
            ));
        }
        Ok(())
    }

    fn encode_backward_request(&self, grad: &Tensor) -> Result<Tensor, SynapseError> {
        Ok(grad.cast(DType::Float32))
    }

    fn decode_backward_request(
        &self,
        _request: &Tensor,
        wire: Tensor,
    ) -> Result<Tensor, SynapseError> {
        Ok(wire.cast(DType::Float32))
    }

    fn nill_forward_response(&self, request: &Tensor) -> Tensor {
        let (b, s) = batch_seq(request);
        zeros_or_empty(DType::Float32, vec![b, s, NETWORK_DIM])
    }

    fn nill_backward_response(&self, request: &Tensor) -> Tensor {
        self.nill_forward_response(request)
    }

    /// `[B, S, 1024]` f32.
    fn max_forward_response_payload(&self, batch: usize, sequence: usize) -> Option<usize> {
        Some(
            batch
                .saturating_mul(sequence)
                .saturating_mul(NETWORK_DIM)
                .saturating_mul(4),
        )
    }
}
