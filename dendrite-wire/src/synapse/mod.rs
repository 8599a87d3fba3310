//! The four synapses of the 3.x protocol: what a request asks a remote neuron to compute, and how
//! its request, response and gradient tensors are checked, encoded and decoded.
//!
//! | synapse | request | response on the wire | decoded response | gradient on the wire |
//! |---|---|---|---|---|
//! | [`TextLastHiddenState`] | `[B,S]` ids | `[B,S,1024]` (or masked rows) | `[B,S,1024]` f32 | `[B,S,1024]` |
//! | [`TextCausalLM`] | `[B,S]` ids | `[B,S,2k]` top-k probs ++ ids | `[B,S,50258]` log-probs | `[B,S,2k]` top-k |
//! | [`TextCausalLMNext`] | `[B,S]` ids | compact 1-D phrases | `[B,k+1,max_len]` | `[2 + B*(k+1)]` |
//! | [`TextSeq2Seq`] | `[B,S]` ids | `[B,<=n]` ids | `[B,<=n]` i64 | none |
//!
//! ```
//! use dendrite_wire::synapse::{Synapse, TextCausalLM};
//! let synapse = Synapse::from(TextCausalLM::with_topk(4));
//! assert_eq!(&synapse.params_bytes()[..], &[0x10, 0x04]); // defaults are omitted on the wire
//! ```

mod causal_lm;
mod causal_lm_next;
mod last_hidden_state;
mod seq2seq;

pub use causal_lm::TextCausalLM;
pub use causal_lm_next::TextCausalLMNext;
pub use last_hidden_state::TextLastHiddenState;
pub use seq2seq::TextSeq2Seq;

use crate::proto::{self, synapse::SynapseType, ReturnCode, Serializer};
use crate::{serializer, DType, SynapseError, Tensor};
use bytes::Bytes;

/// Width of every hidden-state response (`bittensor.__network_dim__`).
pub const NETWORK_DIM: usize = 1024;
/// Vocabulary size of causal LM outputs (`bittensor.__vocab_size__`).
pub const VOCAB_SIZE: usize = 50258;
/// Padding of token phrases in causal LM next outputs.
pub const IGNORE_INDEX: i64 = -100;
/// Largest tensor, in elements, that decoding a response may allocate (1 GiB of f32).
pub const MAX_DECODED_ELEMENTS: usize = 1 << 28;
/// Slack in a response message for the protobuf framing, messages and echoed synapses.
pub const RESPONSE_SLACK_BYTES: usize = 64 * 1024;
/// Slack per response tensor for its msgpack header and proto fields.
pub const TENSOR_SLACK_BYTES: usize = 1024;

/// What decoding does with NaN and infinite values in a float response.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NonFinite {
    /// The reference's `torch.nan_to_num(nan=0)`: NaN becomes 0, infinities the largest finite
    /// values.
    #[default]
    Clean,
    /// The response is an error ([`SynapseError::NonFinite`]); checked on the tensor as it came
    /// off the wire, before the synapse decodes it.
    Reject,
}

/// The serializer of each of a synapse's four tensor directions. The reference default is MSGPACK
/// for all four.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SerializerTypes {
    /// Serializer of forward request tensors (and, as in the reference, of outgoing gradients).
    pub forward_request: Serializer,
    /// Serializer of forward response tensors.
    pub forward_response: Serializer,
    /// Serializer of backward request gradients.
    pub backward_request: Serializer,
    /// Serializer of backward responses.
    pub backward_response: Serializer,
}

impl SerializerTypes {
    /// The same serializer for all four directions.
    pub fn all(serializer: Serializer) -> Self {
        SerializerTypes {
            forward_request: serializer,
            forward_response: serializer,
            backward_request: serializer,
            backward_response: serializer,
        }
    }

    fn from_proto(fwd_req: i32, fwd_resp: i32, bwd_req: i32, bwd_resp: i32) -> Self {
        let ser = |v: i32| Serializer::try_from(v).unwrap_or_default();
        SerializerTypes {
            forward_request: ser(fwd_req),
            forward_response: ser(fwd_resp),
            backward_request: ser(bwd_req),
            backward_response: ser(bwd_resp),
        }
    }
}

/// A synapse: one kind of question asked of a remote neuron, with its parameters.
#[derive(Clone, Debug, PartialEq)]
pub enum Synapse {
    /// Last hidden state of a language model.
    TextLastHiddenState(TextLastHiddenState),
    /// Next-token log-probabilities at every position.
    TextCausalLM(TextCausalLM),
    /// Top-k next-token phrases with probabilities.
    TextCausalLMNext(TextCausalLMNext),
    /// Generated token ids.
    TextSeq2Seq(TextSeq2Seq),
}

/// What each synapse implements; the [`Synapse`] methods wrap it with (de)serialization.
pub(crate) trait Codec {
    fn name(&self) -> &'static str;
    fn synapse_type(&self) -> SynapseType;
    fn serializers(&self) -> &SerializerTypes;
    fn params_bytes(&self) -> Bytes;
    fn validate(&self) -> Result<(), SynapseError>;
    /// Dtype responses are cast to after deserialization.
    fn response_dtype(&self) -> DType {
        DType::Float32
    }
    /// Axon side: model output -> wire tensor.
    fn encode_forward_response(
        &self,
        request: &Tensor,
        output: &Tensor,
    ) -> Result<Tensor, SynapseError>;
    fn check_forward_response(&self, request: &Tensor, wire: &Tensor) -> Result<(), SynapseError>;
    /// Dendrite side: wire tensor -> user-facing output.
    fn decode_forward_response(
        &self,
        request: &Tensor,
        wire: Tensor,
    ) -> Result<Tensor, SynapseError>;
    /// Whether the output takes a gradient (a Backward carries one for it); token ids do not.
    fn differentiable(&self) -> bool {
        true
    }
    /// Whether `decode_forward_response` already maps every value through [`finite`], so the
    /// output needs no `nan_to_num` pass (a causal LM output is 3.2 MB per endpoint at [2, 8]).
    fn decodes_finite(&self) -> bool {
        false
    }
    fn check_backward_request(&self, request: &Tensor, grad: &Tensor) -> Result<(), SynapseError>;
    /// Dendrite side: user-facing gradient -> wire gradient.
    fn encode_backward_request(&self, grad: &Tensor) -> Result<Tensor, SynapseError>;
    /// Axon side: wire gradient -> gradient of the model output.
    fn decode_backward_request(
        &self,
        request: &Tensor,
        wire: Tensor,
    ) -> Result<Tensor, SynapseError>;
    fn nill_forward_response(&self, request: &Tensor) -> Tensor;
    fn nill_backward_response(&self, request: &Tensor) -> Tensor;
    /// Payload bytes of the largest legal forward response to a `[batch, sequence]` request on
    /// the wire; `None` where only the caller's ceiling bounds it.
    fn max_forward_response_payload(&self, batch: usize, sequence: usize) -> Option<usize>;
}

impl Synapse {
    fn codec(&self) -> &dyn Codec {
        match self {
            Synapse::TextLastHiddenState(s) => s,
            Synapse::TextCausalLM(s) => s,
            Synapse::TextCausalLMNext(s) => s,
            Synapse::TextSeq2Seq(s) => s,
        }
    }

    /// The reference's name of the synapse (`"TextCausalLM"`, ...).
    pub fn name(&self) -> &'static str {
        self.codec().name()
    }

    /// Whether the synapse's output takes a gradient: a Backward sends one for it (seq2seq
    /// outputs are token ids and get an empty tensor).
    pub fn is_differentiable(&self) -> bool {
        self.codec().differentiable()
    }

    /// The proto enum value.
    pub fn synapse_type(&self) -> SynapseType {
        self.codec().synapse_type()
    }

    /// The serializers of the four tensor directions.
    pub fn serializers(&self) -> &SerializerTypes {
        self.codec().serializers()
    }

    /// The same synapse with other serializers.
    pub fn with_serializers(mut self, serializers: SerializerTypes) -> Self {
        match &mut self {
            Synapse::TextLastHiddenState(s) => s.serializers = serializers,
            Synapse::TextCausalLM(s) => s.serializers = serializers,
            Synapse::TextCausalLMNext(s) => s.serializers = serializers,
            Synapse::TextSeq2Seq(s) => s.serializers = serializers,
        }
        self
    }

    /// The serialized parameter proto (`synapse_data`); default fields are omitted.
    pub fn params_bytes(&self) -> Bytes {
        self.codec().params_bytes()
    }

    /// Checks the parameters (top-k positive, mask without duplicates, ...).
    pub fn validate(&self) -> Result<(), SynapseError> {
        self.codec().validate()
    }

    /// The wire proto as `serialize_to_wire_proto(code, message)` builds it.
    pub fn to_wire(&self, code: ReturnCode, message: impl Into<String>) -> proto::Synapse {
        proto::Synapse {
            tensor_pos: Vec::new(),
            synapse_data: self.params_bytes(),
            synapse_type: self.synapse_type() as i32,
            return_code: code as i32,
            message: message.into(),
            requires_grad: false,
        }
    }

    /// Parses a wire proto (type and parameters). Never panics on remote bytes.
    pub fn from_wire(wire: &proto::Synapse) -> Result<Self, SynapseError> {
        use prost::Message;
        let data = &wire.synapse_data[..];
        let bad = |e: prost::DecodeError| SynapseError::InvalidParams(e.to_string());
        let synapse = match SynapseType::try_from(wire.synapse_type) {
            Ok(SynapseType::TextLastHiddenState) => {
                let p = proto::synapse::TextLastHiddenState::decode(data).map_err(bad)?;
                Synapse::TextLastHiddenState(p.into())
            }
            Ok(SynapseType::TextCausalLm) => {
                let p = proto::synapse::TextCausalLm::decode(data).map_err(bad)?;
                Synapse::TextCausalLM(p.into())
            }
            Ok(SynapseType::TextCausalLmNext) => {
                let p = proto::synapse::TextCausalLmNext::decode(data).map_err(bad)?;
                Synapse::TextCausalLMNext(p.into())
            }
            Ok(SynapseType::TextSeq2Seq) => {
                let p = proto::synapse::TextSeq2Seq::decode(data).map_err(bad)?;
                Synapse::TextSeq2Seq(p.into())
            }
            Ok(SynapseType::NullSynapse) | Err(_) => {
                return Err(SynapseError::UnknownType(wire.synapse_type))
            }
        };
        Ok(synapse)
    }

    /// Checks a forward request: `[B, S]` with `B, S > 0`, as every 3.x synapse requires.
    pub fn check_forward_request(&self, request: &Tensor) -> Result<(), SynapseError> {
        match request.shape() {
            [b, s] if *b > 0 && *s > 0 => Ok(()),
            shape => Err(SynapseError::Shape(format!(
                "forward_request_tensor.shape must be in [-1, -1], got: {shape:?} for synapse: {}",
                self.name()
            ))),
        }
    }

    /// Dendrite side: checks and serializes a forward request tensor.
    pub fn serialize_forward_request(
        &self,
        request: &Tensor,
    ) -> Result<proto::Tensor, SynapseError> {
        self.check_forward_request(request)?;
        Ok(serializer::serialize(
            request,
            self.serializers().forward_request,
        )?)
    }

    /// Axon side: deserializes and checks a forward request tensor.
    pub fn deserialize_forward_request(
        &self,
        wire: &proto::Tensor,
    ) -> Result<Tensor, SynapseError> {
        let request = serializer::deserialize(wire)?;
        self.check_forward_request(&request)?;
        Ok(request)
    }

    /// Axon side: encodes a model output (hidden states, logits, phrases or ids), checks it
    /// against the request and serializes it.
    pub fn serialize_forward_response(
        &self,
        request: &Tensor,
        output: &Tensor,
    ) -> Result<proto::Tensor, SynapseError> {
        let codec = self.codec();
        let wire = codec.encode_forward_response(request, output)?;
        codec.check_forward_response(request, &wire)?;
        Ok(serializer::serialize(
            &wire,
            self.serializers().forward_response,
        )?)
    }

    /// Axon side: checks and serializes a response already in wire form (the causal LM's
    /// `[B, S, 2k]` top-k, the compact phrases of causal LM next, ...).
    pub fn serialize_wire_forward_response(
        &self,
        request: &Tensor,
        wire: &Tensor,
    ) -> Result<proto::Tensor, SynapseError> {
        let codec = self.codec();
        let wire = cast_response(wire.clone(), codec.response_dtype())?;
        codec.check_forward_response(request, &wire)?;
        Ok(serializer::serialize(
            &wire,
            self.serializers().forward_response,
        )?)
    }

    /// Dendrite side: deserializes, checks and decodes a response tensor into the user-facing
    /// output; NaN becomes 0 and infinities the largest finite values, as the reference's
    /// `torch.nan_to_num(nan=0)`.
    pub fn deserialize_forward_response(
        &self,
        request: &Tensor,
        wire: &proto::Tensor,
    ) -> Result<Tensor, SynapseError> {
        self.deserialize_forward_response_with(request, wire, NonFinite::Clean)
    }

    /// [`Synapse::deserialize_forward_response`] with a choice of what NaN and infinities do.
    pub fn deserialize_forward_response_with(
        &self,
        request: &Tensor,
        wire: &proto::Tensor,
        non_finite: NonFinite,
    ) -> Result<Tensor, SynapseError> {
        let codec = self.codec();
        let response = serializer::deserialize(wire)?;
        let response = cast_response(response, codec.response_dtype())?;
        codec.check_forward_response(request, &response)?;
        if non_finite == NonFinite::Reject {
            reject_non_finite(&response)?;
        }
        let decoded = codec.decode_forward_response(request, response)?;
        if codec.decodes_finite() {
            return Ok(decoded);
        }
        Ok(nan_to_num(decoded))
    }

    /// Dendrite side: checks, encodes and serializes the gradient of this synapse's output.
    /// Serialized with the forward-request serializer, as the reference does.
    pub fn serialize_backward_request(
        &self,
        request: &Tensor,
        grad: &Tensor,
    ) -> Result<proto::Tensor, SynapseError> {
        let codec = self.codec();
        codec.check_backward_request(request, grad)?;
        let wire = codec.encode_backward_request(grad)?;
        Ok(serializer::serialize(
            &wire,
            self.serializers().forward_request,
        )?)
    }

    /// Axon side: deserializes, decodes and checks a gradient from a Backward request.
    pub fn deserialize_backward_request(
        &self,
        request: &Tensor,
        wire: &proto::Tensor,
    ) -> Result<Tensor, SynapseError> {
        let codec = self.codec();
        let grad = serializer::deserialize(wire)?;
        let grad = codec.decode_backward_request(request, grad)?;
        codec.check_backward_request(request, &grad)?;
        Ok(grad)
    }

    /// Zeros of the shape a successful response to `request` decodes to.
    pub fn nill_forward_response(&self, request: &Tensor) -> Tensor {
        self.codec().nill_forward_response(request)
    }

    /// Zeros of the shape of a backward response to `request`.
    pub fn nill_backward_response(&self, request: &Tensor) -> Tensor {
        self.codec().nill_backward_response(request)
    }
}

/// The largest legal Forward response message answering `synapses` for `request`, capped by
/// `ceiling`: [`RESPONSE_SLACK_BYTES`] plus, per synapse, its largest payload and
/// [`TENSOR_SLACK_BYTES`]. A receiver sets its decoder's limit to this, so a peer cannot make it
/// buffer more than a correct answer needs.
///
/// ```
/// use dendrite_wire::synapse::{max_forward_response_bytes, Synapse, TextLastHiddenState};
/// use dendrite_wire::Tensor;
/// let request = Tensor::from_vec(vec![0i64; 20], [2, 10]).unwrap();
/// let hidden = Synapse::from(TextLastHiddenState::default());
/// let bytes = max_forward_response_bytes([&hidden], &request, usize::MAX);
/// assert_eq!(bytes, 64 * 1024 + 2 * 10 * 1024 * 4 + 1024);
/// ```
pub fn max_forward_response_bytes<'a>(
    synapses: impl IntoIterator<Item = &'a Synapse>,
    request: &Tensor,
    ceiling: usize,
) -> usize {
    let (batch, sequence) = match request.shape() {
        [b, s] => (*b, *s),
        _ => (request.numel(), 1),
    };
    let mut total = RESPONSE_SLACK_BYTES;
    for synapse in synapses {
        let Some(payload) = synapse
            .codec()
            .max_forward_response_payload(batch, sequence)
        else {
            return ceiling;
        };
        total = total
            .saturating_add(payload)
            .saturating_add(TENSOR_SLACK_BYTES);
    }
    total.min(ceiling)
}

/// The largest legal answer to a Backward of `n_synapses` gradients (the reference's axons
/// answer with empty tensors): the framing slack, capped by `ceiling`, plus one tensor's slack
/// per synapse.
pub fn max_backward_response_bytes(n_synapses: usize, ceiling: usize) -> usize {
    RESPONSE_SLACK_BYTES
        .min(ceiling)
        .saturating_add(n_synapses.saturating_mul(TENSOR_SLACK_BYTES))
}

macro_rules! impl_from {
    ($($t:ident),*) => {$(
        impl From<$t> for Synapse {
            fn from(s: $t) -> Self {
                Synapse::$t(s)
            }
        }
    )*};
}
impl_from!(
    TextLastHiddenState,
    TextCausalLM,
    TextCausalLMNext,
    TextSeq2Seq
);

/// Casts a deserialized response to the synapse's dtype: floats to f32 for the float synapses,
/// integers to i64 for seq2seq. A response of the other kind is a deserialization error.
fn cast_response(response: Tensor, dtype: DType) -> Result<Tensor, SynapseError> {
    if response.dtype().is_float() != dtype.is_float() && response.numel() > 0 {
        return Err(SynapseError::Values(format!(
            "response dtype {} where {} was expected",
            response.dtype(),
            dtype
        )));
    }
    Ok(response.cast(dtype))
}

/// Whether every value is finite; this runs on every float response (17% of client CPU at
/// 256 x 0.8 MB answers with 128-bit vectors). Where the CPU has AVX2 the same loop is compiled
/// for 256-bit vectors.
fn all_finite(values: &[f32]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU was just found to support AVX2, all the function requires.
        return unsafe { all_finite_avx2(values) };
    }
    all_finite_portable(values)
}

/// # Safety
/// Only on a CPU with AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn all_finite_avx2(values: &[f32]) -> bool {
    all_finite_portable(values)
}

/// Branch-free per block so the check vectorizes.
#[inline(always)]
fn all_finite_portable(values: &[f32]) -> bool {
    values
        .chunks(1024)
        .all(|block| block.iter().fold(true, |ok, v| ok & v.is_finite()))
}

/// `Err(NonFinite)` when an f32 tensor holds NaN or infinities; other dtypes pass.
fn reject_non_finite(tensor: &Tensor) -> Result<(), SynapseError> {
    match tensor.as_slice::<f32>() {
        Ok(values) if !all_finite(values) => Err(SynapseError::NonFinite {
            count: values.iter().filter(|v| !v.is_finite()).count(),
            total: values.len(),
        }),
        _ => Ok(()),
    }
}

/// `torch.nan_to_num(t, nan=0)` for f32 tensors; other dtypes are returned as they are.
fn nan_to_num(tensor: Tensor) -> Tensor {
    let Ok(values) = tensor.as_slice::<f32>() else {
        return tensor;
    };
    if all_finite(values) {
        return tensor;
    }
    let cleaned: Vec<f32> = values.iter().map(|&v| finite(v)).collect();
    Tensor::from_vec(cleaned, tensor.shape()).unwrap_or(tensor)
}

/// One value of `torch.nan_to_num(t, nan=0)`: NaN to 0, infinities to the largest finite values.
pub(crate) fn finite(value: f32) -> f32 {
    match value {
        v if v.is_nan() => 0.0,
        f32::INFINITY => f32::MAX,
        f32::NEG_INFINITY => f32::MIN,
        v => v,
    }
}

/// `[B, S]` of a checked forward request (zeros for anything else).
pub(crate) fn batch_seq(request: &Tensor) -> (usize, usize) {
    match request.shape() {
        [b, s] => (*b, *s),
        [b, ..] => (*b, 0),
        [] => (0, 0),
    }
}

/// Zeros of `dtype` and `shape`, or the empty tensor when the shape is too large to allocate.
pub(crate) fn zeros_or_empty(dtype: DType, shape: Vec<usize>) -> Tensor {
    let fits = crate::tensor::checked_numel(&shape)
        .map(|n| n <= MAX_DECODED_ELEMENTS)
        .unwrap_or(false);
    if !fits {
        return Tensor::empty();
    }
    Tensor::zeros(dtype, shape).unwrap_or_else(|_| Tensor::empty())
}

/// Builds a shape error with the reference's wording.
pub(crate) fn shape_error(what: &str, expected: String, got: &[usize], name: &str) -> SynapseError {
    SynapseError::Shape(format!(
        "{what}.shape must be in {expected}, got: {got:?} for synapse: {name}"
    ))
}

/// The f32 values of a tensor whose dtype the caller has already made f32.
pub(crate) fn f32s(tensor: &Tensor) -> Result<&[f32], SynapseError> {
    tensor.as_slice::<f32>().map_err(SynapseError::from)
}

/// Top-`k` (value, index) pairs of `row`, largest first, as `torch.topk(row, k)`.
pub(crate) fn top_k(row: &[f32], k: usize, scratch: &mut Vec<u32>) -> Vec<(f32, u32)> {
    scratch.clear();
    scratch.extend(0..row.len() as u32);
    let k = k.min(row.len());
    let by_value_desc = |a: &u32, b: &u32| row[*b as usize].total_cmp(&row[*a as usize]);
    if k < scratch.len() && k > 0 {
        scratch.select_nth_unstable_by(k - 1, by_value_desc);
    }
    let top = &mut scratch[..k];
    top.sort_by(by_value_desc);
    top.iter().map(|&i| (row[i as usize], i)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The dispatched check (AVX2 where the CPU has it) agrees with the portable loop, for
        /// any length and wherever a NaN or an infinity sits.
        #[test]
        fn the_finite_check_agrees_with_the_portable_loop(
            len in 0usize..5000,
            bad in proptest::option::of((any::<usize>(), 0u8..3)),
        ) {
            let mut values: Vec<f32> = (0..len).map(|i| i as f32 * 0.5 - 7.0).collect();
            if let (Some((at, kind)), false) = (bad, values.is_empty()) {
                let at = at % values.len();
                values[at] = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY][kind as usize];
            }
            let expected = values.iter().all(|v| v.is_finite());
            prop_assert_eq!(all_finite(&values), expected);
            prop_assert_eq!(all_finite_portable(&values), expected);
        }
    }
}
