//! What an axon serves: a handler per synapse call, answering with a model output or a code.

use dendrite_wire::proto::{self, ReturnCode};
use dendrite_wire::{Synapse, SynapseError, Tensor};

/// A handler's answer for one synapse.
#[derive(Clone, Debug)]
pub enum SynapseOutput {
    /// What the model produced (hidden states, logits, phrases or ids); the axon encodes it
    /// with the synapse's response encoding (softmax + top-k for causal LM, ...).
    Model(Tensor),
    /// A response already in wire form (e.g. the causal LM's `[B, S, 2k]` top-k), only
    /// checked and serialized. Lets toy models and benchmarks skip the full vocabulary.
    Wire(Tensor),
    /// A response tensor already serialized for this synapse and input, sent as it is
    /// (see [`Memoized`](crate::Memoized)).
    Serialized(proto::Tensor),
}

impl SynapseOutput {
    /// Encodes and serializes the output for `synapse` and `input`, with the reference's codes
    /// for failures: a shape problem is `ResponseShapeException`, anything else
    /// `ResponseSerializationException`.
    pub fn serialize(
        self,
        synapse: &Synapse,
        input: &Tensor,
    ) -> Result<proto::Tensor, HandlerError> {
        let serialized = match self {
            SynapseOutput::Model(t) => synapse.serialize_forward_response(input, &t),
            SynapseOutput::Wire(t) => synapse.serialize_wire_forward_response(input, &t),
            SynapseOutput::Serialized(t) => Ok(t),
        };
        serialized.map_err(response_failure)
    }
}

/// The reference axon's classification of a response encoding failure.
pub(crate) fn response_failure(e: SynapseError) -> HandlerError {
    match e {
        SynapseError::Shape(_) => HandlerError::new(
            ReturnCode::ResponseShapeException,
            format!("Synapse response shape exception with error: {e}"),
        ),
        e => HandlerError::new(
            ReturnCode::ResponseSerializationException,
            format!("Synapse response serialization exception with error: {e}"),
        ),
    }
}

/// A handler's refusal for one synapse: the code and message the caller sees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandlerError {
    /// The synapse's return code.
    pub code: ReturnCode,
    /// Its message.
    pub message: String,
}

impl HandlerError {
    /// A refusal with `code` and `message`.
    pub fn new(code: ReturnCode, message: impl Into<String>) -> Self {
        HandlerError {
            code,
            message: message.into(),
        }
    }

    /// The reference's answer for a synapse no callback is attached to.
    pub fn not_implemented() -> Self {
        HandlerError::new(ReturnCode::NotImplemented, "Not Implemented")
    }
}

/// Serves synapse calls. Called on the axon's async workers: keep it quick, or hand heavy work
/// to a thread pool inside.
pub trait SynapseHandler: Send + Sync + 'static {
    /// Answers one synapse of a Forward request from `caller` (the sender's SS58 hotkey) for
    /// `input` (`[B, S]` int64, already checked).
    fn forward(
        &self,
        caller: &str,
        synapse: &Synapse,
        input: &Tensor,
    ) -> Result<SynapseOutput, HandlerError>;

    /// Takes the gradient of one synapse's output from a Backward request. The default refuses
    /// it as the reference's default backward callback does.
    fn backward(
        &self,
        caller: &str,
        synapse: &Synapse,
        input: &Tensor,
        grad: &Tensor,
    ) -> Result<(), HandlerError> {
        let _ = (caller, synapse, input, grad);
        Err(HandlerError::new(
            ReturnCode::UnknownException,
            "No Backward Function Attached",
        ))
    }
}
