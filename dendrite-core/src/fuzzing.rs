//! Entry points for the fuzz targets (`fuzz/`): the response path of a forward call, from the
//! bytes of a gRPC message to per-synapse results. Not part of the API.

use std::time::Instant;

use dendrite_wire::proto::TensorMessage;
use dendrite_wire::{Synapse, Tensor};

use crate::grpc::request::{self, PreparedForward};
use crate::grpc::results::SynapseResult;

/// Decodes `message` as a `TensorMessage` and reads it as the answer to `synapses` for `input`,
/// as a receptor does (`None` when the bytes are not a `TensorMessage`, which tonic reports as
/// a status before our code runs).
pub fn read_forward_response(
    synapses: &[Synapse],
    input: &Tensor,
    message: &[u8],
    reject_non_finite: bool,
) -> Option<Vec<SynapseResult>> {
    let response = <TensorMessage as prost::Message>::decode(message).ok()?;
    let prepared = PreparedForward::new("fuzz", synapses, input.clone(), 256 << 20, None);
    Some(request::read_forward_response(
        synapses,
        &prepared,
        response,
        Instant::now(),
        reject_non_finite,
    ))
}

/// Reads `bytes` as an HTTP/1.1 connection's answers, in two reads split at `cut`, as the 10.x
/// client reads them (`http::h1`): each answer's status and body, or why the bytes broke the
/// rules.
pub fn read_http1_answers(bytes: &[u8], cut: usize) -> Result<Vec<(u16, Vec<u8>)>, String> {
    crate::http::h1::read_answers(bytes, cut)
}
