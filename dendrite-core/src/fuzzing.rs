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
