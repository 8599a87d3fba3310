//! The 3.x wire's report of a finished call to observers: [`GrpcCallView`] over the call's
//! endpoints, synapses, inputs and results, each endpoint read as an
//! [`EndpointReport`](crate::EndpointReport).
//!
//! **Invariant:** an endpoint is reported by its own uid and hotkey; `success` is the
//! reference's "any synapse succeeded", `outcome` the neutral class (every synapse succeeded, or
//! the first failure's class).

use std::time::Duration;

use dendrite_wire::{Endpoint, Synapse, Tensor};

use super::results::EndpointResult;
use crate::neutral::observer::{CallView, EndpointReport};
use crate::neutral::outcome::{Outcome, WireOutcome};
use crate::neutral::phases::Phases;

/// A finished 3.x call as observers read it: the endpoints, synapses and inputs it had and what
/// came back, in the same order.
#[derive(Clone, Copy, Debug)]
pub struct GrpcCallView<'a> {
    /// The endpoints called.
    pub endpoints: &'a [Endpoint],
    /// The synapses every request carried.
    pub synapses: &'a [Synapse],
    /// Each endpoint's input.
    pub inputs: &'a [Tensor],
    /// Each endpoint's results.
    pub results: &'a [EndpointResult],
}

/// One 3.x endpoint and its results.
struct GrpcEndpointView<'a> {
    endpoint: &'a Endpoint,
    result: &'a EndpointResult,
}

impl CallView for GrpcCallView<'_> {
    fn protocol(&self) -> &'static str {
        "grpc"
    }

    fn operations(&self) -> Box<dyn Iterator<Item = &str> + '_> {
        Box::new(self.synapses.iter().map(|s| -> &str { s.name() }))
    }

    fn endpoint_count(&self) -> usize {
        self.endpoints.len()
    }

    fn request_values(&self) -> usize {
        self.inputs.iter().map(Tensor::numel).sum()
    }

    fn request_bytes(&self) -> usize {
        self.inputs.iter().map(|t| t.data().len()).sum()
    }

    fn for_each_endpoint(&self, each: &mut dyn FnMut(&dyn EndpointReport)) {
        for (endpoint, result) in self.endpoints.iter().zip(self.results) {
            each(&GrpcEndpointView { endpoint, result });
        }
    }
}

impl EndpointReport for GrpcEndpointView<'_> {
    fn uid(&self) -> Option<u64> {
        Some(self.endpoint.uid)
    }

    fn hotkey(&self) -> &str {
        &self.endpoint.hotkey
    }

    fn success(&self) -> bool {
        self.result.any_success()
    }

    fn outcome(&self) -> Outcome {
        self.result.outcome()
    }

    fn codes(&self) -> Box<dyn Iterator<Item = &'static str> + '_> {
        Box::new(self.result.synapses.iter().map(|s| s.code.as_str_name()))
    }

    fn time(&self) -> Duration {
        let synapses = &self.result.synapses;
        match u32::try_from(synapses.len()) {
            Ok(n) if n > 0 => synapses.iter().map(|s| s.elapsed).sum::<Duration>() / n,
            _ => Duration::ZERO,
        }
    }

    fn output_values(&self) -> usize {
        self.result.synapses.iter().map(|s| s.output.numel()).sum()
    }

    fn output_bytes(&self) -> usize {
        self.result
            .synapses
            .iter()
            .map(|s| s.output.data().len())
            .sum()
    }

    /// The gRPC frame on the call's stream (HTTP/2 multiplexes a connection's calls, so its
    /// frame headers and HPACK headers are not one call's).
    fn bytes_sent(&self) -> usize {
        self.result.bytes_sent
    }

    fn bytes_received(&self) -> usize {
        self.result.bytes_received
    }

    fn phases(&self) -> &Phases {
        &self.result.phases
    }
}
