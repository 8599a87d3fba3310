//! Building requests and reading responses for one endpoint, following the reference
//! receptor's order of checks and its codes and messages.

use std::time::{Duration, Instant};

use dendrite_wire::proto::{ReturnCode, TensorMessage};
use dendrite_wire::synapse::{max_forward_response_bytes, NonFinite};
use dendrite_wire::{Synapse, SynapseError, Tensor, VERSION_AS_INT};

use super::results::{return_code, CallFailure, EndpointResult, SynapseResult};
use dendrite_wire::Compression;

/// A forward request for one input tensor, shared by every endpoint that gets that input.
#[derive(Debug)]
pub(crate) struct PreparedForward {
    /// The input, `[B, S]` int64.
    pub input: Tensor,
    /// The request encoded once as a gRPC frame (only the synapses whose input serialized),
    /// shared by every endpoint that gets this input; `Err` if it could not be encoded.
    pub frame: Result<bytes::Bytes, CallFailure>,
    /// Per synapse: `Err` when its input could not be serialized (it is then not sent).
    pub serialized: Vec<Result<(), CallFailure>>,
    /// Zeros of each synapse's expected output shape, shared by every non-response.
    pub nills: Vec<Tensor>,
    /// The largest legal response to this request.
    pub max_response_bytes: usize,
}

impl PreparedForward {
    pub fn new(
        hotkey: &str,
        synapses: &[Synapse],
        input: Tensor,
        ceiling: usize,
        compression: Option<Compression>,
    ) -> Self {
        let mut message = TensorMessage {
            version: VERSION_AS_INT,
            hotkey: hotkey.to_owned(),
            requires_grad: true,
            ..Default::default()
        };
        let mut serialized = Vec::with_capacity(synapses.len());
        let mut sent = Vec::new();
        for synapse in synapses {
            match synapse.serialize_forward_request(&input) {
                Ok(tensor) => {
                    message.tensors.push(tensor);
                    message
                        .synapses
                        .push(synapse.to_wire(ReturnCode::Success, ""));
                    sent.push(synapse);
                    serialized.push(Ok(()));
                }
                Err(e) => serialized.push(Err(CallFailure::new(
                    ReturnCode::RequestSerializationException,
                    format!("Input serialization exception with error:{e}"),
                ))),
            }
        }
        let nills = synapses
            .iter()
            .map(|s| s.nill_forward_response(&input))
            .collect();
        let max_response_bytes = max_forward_response_bytes(sent, &input, ceiling);
        PreparedForward {
            input,
            frame: crate::grpc::unary::encode_request(&message, compression),
            serialized,
            nills,
            max_response_bytes,
        }
    }

    /// Whether anything is left to send.
    pub fn has_requests(&self) -> bool {
        self.serialized.iter().any(|s| s.is_ok())
    }
}

/// Every synapse gets the same failure; outputs are the nills.
pub(crate) fn uniform_failure(
    nills: &[Tensor],
    failure: &CallFailure,
    elapsed: Duration,
) -> EndpointResult {
    EndpointResult {
        synapses: nills
            .iter()
            .map(|nill| SynapseResult {
                output: nill.clone(),
                code: failure.code,
                message: failure.message.clone(),
                elapsed,
            })
            .collect(),
        ..EndpointResult::default()
    }
}

/// Every synapse gets `failure`, except those whose request could not be serialized: they keep
/// their own code and message (they were never sent).
pub(crate) fn failure_except_unsent(
    outputs: &[Tensor],
    failure: &CallFailure,
    serialized: &[Result<(), CallFailure>],
    elapsed: Duration,
) -> EndpointResult {
    let mut result = uniform_failure(outputs, failure, elapsed);
    for (slot, serialized) in result.synapses.iter_mut().zip(serialized) {
        if let Err(own) = serialized {
            slot.code = own.code;
            slot.message = own.message.clone();
        }
    }
    result
}

/// Reads a Forward response, as the reference receptor does: a non-success top-level code
/// gives every synapse its wire code (or the top-level one); a tensor count that does not
/// match gives `ResponseShapeException`; per-synapse codes come from the response; a tensor
/// that fails to decode or check gives `ResponseDeserializationException` for that synapse.
/// With `reject_non_finite`, NaN or infinities in any response tensor make every synapse of
/// the endpoint `InvalidResponse` with zero outputs (the peer is not to be trusted).
pub(crate) fn read_forward_response(
    synapses: &[Synapse],
    prepared: &PreparedForward,
    response: TensorMessage,
    start: Instant,
    reject_non_finite: bool,
) -> Vec<SynapseResult> {
    let non_finite = if reject_non_finite {
        NonFinite::Reject
    } else {
        NonFinite::Clean
    };
    let now = || start.elapsed();
    let mut results = unanswered_results(prepared);
    let sent: Vec<usize> = (0..synapses.len())
        .filter(|&i| prepared.serialized[i].is_ok())
        .collect();
    let top = return_code(response.return_code);
    if top != ReturnCode::Success {
        mark_remote_failure(&mut results, &sent, &response, top, now);
        return results;
    }
    if response.tensors.len() != response.synapses.len() || response.tensors.len() != sent.len() {
        for &i in &sent {
            results[i].code = ReturnCode::ResponseShapeException;
            results[i].message = "Responses dont match synape length".into();
            results[i].elapsed = now();
        }
        return results;
    }
    let invalid = decode_answers(
        &mut results,
        &sent,
        synapses,
        prepared,
        &response,
        non_finite,
        now,
    );
    if let Some(message) = invalid {
        for &i in &sent {
            results[i].output = prepared.nills[i].clone();
            results[i].code = ReturnCode::InvalidResponse;
            results[i].message = message.clone();
        }
    }
    results
}

/// Per synapse before its answer is read: the zero output, and `Success` or its own
/// serialization failure.
fn unanswered_results(prepared: &PreparedForward) -> Vec<SynapseResult> {
    prepared
        .nills
        .iter()
        .zip(&prepared.serialized)
        .map(|(nill, serialized)| SynapseResult {
            output: nill.clone(),
            code: serialized
                .as_ref()
                .map_or_else(|f| f.code, |_| ReturnCode::Success),
            message: serialized
                .as_ref()
                .map_or_else(|f| f.message.clone(), |_| "Success".into()),
            elapsed: Duration::ZERO,
        })
        .collect()
}

/// A response whose top-level code is a failure (`top`): each sent synapse gets its own
/// failing code when the response echoed one per synapse, else the top-level one.
fn mark_remote_failure(
    results: &mut [SynapseResult],
    sent: &[usize],
    response: &TensorMessage,
    top: ReturnCode,
    now: impl Fn() -> Duration,
) {
    let echoed = response.synapses.len() == sent.len();
    for (position, &i) in sent.iter().enumerate() {
        let (code, message) = match response.synapses.get(position).filter(|_| echoed) {
            Some(wire) if return_code(wire.return_code) != ReturnCode::Success => {
                (return_code(wire.return_code), wire.message.as_str())
            }
            _ => (top, response.message.as_str()),
        };
        results[i].code = code;
        results[i].message = format!("Remote Server Failure: {message}");
        results[i].elapsed = now();
    }
}

/// Each sent synapse's code and, where it succeeded, its decoded output. Returns the message
/// that makes the whole endpoint `InvalidResponse` when a tensor held non-finite values under
/// [`NonFinite::Reject`].
fn decode_answers(
    results: &mut [SynapseResult],
    sent: &[usize],
    synapses: &[Synapse],
    prepared: &PreparedForward,
    response: &TensorMessage,
    non_finite: NonFinite,
    now: impl Fn() -> Duration,
) -> Option<String> {
    let mut invalid: Option<String> = None;
    for (position, &i) in sent.iter().enumerate() {
        let wire = &response.synapses[position];
        let code = return_code(wire.return_code);
        if code != ReturnCode::Success {
            results[i].code = code;
            results[i].message = wire.message.clone();
        } else {
            match synapses[i].deserialize_forward_response_with(
                &prepared.input,
                &response.tensors[position],
                non_finite,
            ) {
                Ok(output) => {
                    results[i].output = output;
                    results[i].message = "Success".into();
                }
                Err(e @ SynapseError::NonFinite { .. }) => {
                    invalid.get_or_insert(format!(
                        "Invalid response: {} answered {e}",
                        synapses[i].name()
                    ));
                }
                Err(e) => {
                    results[i].code = ReturnCode::ResponseDeserializationException;
                    results[i].message =
                        format!("Response deserialization exception with error:{e}");
                }
            }
        }
        results[i].elapsed = now();
    }
    invalid
}

/// Builds a Backward request (inputs, then gradients, for the synapses whose tensors
/// serialized) and the per-synapse serialization failures.
pub(crate) fn backward_message(
    hotkey: &str,
    synapses: &[Synapse],
    input: &Tensor,
    grads: &[Tensor],
) -> (TensorMessage, Vec<Result<(), CallFailure>>) {
    let mut inputs = Vec::new();
    let mut gradients = Vec::new();
    let mut wire_synapses = Vec::new();
    let mut serialized = Vec::with_capacity(synapses.len());
    for (synapse, grad) in synapses.iter().zip(grads) {
        let pair = synapse
            .serialize_forward_request(input)
            .and_then(|request| Ok((request, synapse.serialize_backward_request(input, grad)?)));
        match pair {
            Ok((request, gradient)) => {
                inputs.push(request);
                gradients.push(gradient);
                wire_synapses.push(synapse.to_wire(ReturnCode::Success, ""));
                serialized.push(Ok(()));
            }
            Err(e) => serialized.push(Err(CallFailure::new(
                ReturnCode::RequestSerializationException,
                format!("Backward serialization exception with error:{e}"),
            ))),
        }
    }
    inputs.extend(gradients);
    let message = TensorMessage {
        version: VERSION_AS_INT,
        hotkey: hotkey.to_owned(),
        tensors: inputs,
        synapses: wire_synapses,
        requires_grad: true,
        ..Default::default()
    };
    (message, serialized)
}

/// Reads a Backward response: per-synapse codes from the echoed synapses when they match the
/// request, else the top-level code for all.
pub(crate) fn read_backward_response(
    serialized: &[Result<(), CallFailure>],
    response: &TensorMessage,
    start: Instant,
) -> Vec<SynapseResult> {
    let sent: Vec<usize> = (0..serialized.len())
        .filter(|&i| serialized[i].is_ok())
        .collect();
    let top = return_code(response.return_code);
    let echoed = response.synapses.len() == sent.len();
    let mut results: Vec<SynapseResult> = serialized
        .iter()
        .map(|s| SynapseResult {
            output: Tensor::empty(),
            code: s.as_ref().map_or_else(|f| f.code, |_| top),
            message: s
                .as_ref()
                .map_or_else(|f| f.message.clone(), |_| response.message.clone()),
            elapsed: start.elapsed(),
        })
        .collect();
    if echoed {
        for (position, &i) in sent.iter().enumerate() {
            let wire = &response.synapses[position];
            results[i].code = return_code(wire.return_code);
            results[i].message = wire.message.clone();
        }
    }
    results
}
