//! How the core reports finished calls to whoever watches (metrics, statistics), without
//! depending on any of them.
//!
//! A [`CallReport`] is a wire-neutral view: observers read operation names, counts, code names,
//! times, bytes and phases through its methods, never the wire's types (3.x `ReturnCode`s,
//! tensors), so a second wire can report through the same trait and the same metrics.

use std::time::Duration;

use dendrite_wire::Endpoint;
use dendrite_wire::{Synapse, Tensor};

use crate::outcome::EndpointResult;
use crate::phases::Phases;

/// Which RPC a report is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Forward.
    Forward,
    /// Backward.
    Backward,
}

impl Direction {
    /// Both, Forward first.
    pub const ALL: [Direction; 2] = [Direction::Forward, Direction::Backward];

    /// `"forward"` or `"backward"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Forward => "forward",
            Direction::Backward => "backward",
        }
    }

    /// The direction named `name` ([`Direction::as_str`]).
    pub fn from_name(name: &str) -> Option<Direction> {
        Direction::ALL.into_iter().find(|d| d.as_str() == name)
    }
}

impl std::str::FromStr for Direction {
    type Err = String;

    /// [`Direction::from_name`], with a message naming what was given.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Direction::from_name(name)
            .ok_or_else(|| format!("{name:?} is neither forward nor backward"))
    }
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finished call, as observers see it: its direction and time, the operations (synapses)
/// of every request, what was sent, and per endpoint a summary ([`EndpointSummary`]).
#[derive(Clone, Copy, Debug)]
pub struct CallReport<'a> {
    /// Forward or backward.
    pub direction: Direction,
    /// Wall time of the whole call.
    pub elapsed: Duration,
    endpoints: &'a [Endpoint],
    synapses: &'a [Synapse],
    inputs: &'a [Tensor],
    results: &'a [EndpointResult],
}

impl<'a> CallReport<'a> {
    /// The report of a 3.x call: the endpoints, synapses and inputs it had and what came back,
    /// in the same order.
    pub fn new(
        direction: Direction,
        endpoints: &'a [Endpoint],
        synapses: &'a [Synapse],
        inputs: &'a [Tensor],
        results: &'a [EndpointResult],
        elapsed: Duration,
    ) -> Self {
        CallReport {
            direction,
            elapsed,
            endpoints,
            synapses,
            inputs,
            results,
        }
    }

    /// The names of the operations every request carried (3.x: the synapses).
    pub fn operations(&self) -> impl Iterator<Item = &'static str> + 'a {
        self.synapses.iter().map(Synapse::name)
    }

    /// How many endpoints were called.
    pub fn endpoint_count(&self) -> usize {
        self.endpoints.len()
    }

    /// Values in the requests' inputs, summed over endpoints (the reference's request params).
    pub fn request_values(&self) -> usize {
        self.inputs.iter().map(Tensor::numel).sum()
    }

    /// Bytes of the requests' inputs, summed over endpoints.
    pub fn request_bytes(&self) -> usize {
        self.inputs.iter().map(|t| t.data().len()).sum()
    }

    /// Each endpoint's summary, in call order.
    pub fn endpoints(&self) -> impl Iterator<Item = EndpointSummary<'a>> + 'a {
        self.endpoints
            .iter()
            .zip(self.results)
            .map(|(endpoint, result)| EndpointSummary { endpoint, result })
    }
}

/// One endpoint's part of a call, as observers see it.
#[derive(Clone, Copy, Debug)]
pub struct EndpointSummary<'a> {
    endpoint: &'a Endpoint,
    result: &'a EndpointResult,
}

impl<'a> EndpointSummary<'a> {
    /// The endpoint's uid.
    pub fn uid(&self) -> u64 {
        self.endpoint.uid
    }

    /// The endpoint's hotkey.
    pub fn hotkey(&self) -> &'a str {
        &self.endpoint.hotkey
    }

    /// Whether any operation succeeded.
    pub fn success(&self) -> bool {
        self.result.any_success()
    }

    /// The outcome code of each operation, by name.
    pub fn codes(&self) -> impl Iterator<Item = &'static str> + 'a {
        self.result.synapses.iter().map(|s| s.code.as_str_name())
    }

    /// The mean time of its operations (zero when it had none).
    pub fn time(&self) -> Duration {
        let synapses = &self.result.synapses;
        match u32::try_from(synapses.len()) {
            Ok(n) if n > 0 => synapses.iter().map(|s| s.elapsed).sum::<Duration>() / n,
            _ => Duration::ZERO,
        }
    }

    /// Values in its outputs (the reference's response params).
    pub fn output_values(&self) -> usize {
        self.result.synapses.iter().map(|s| s.output.numel()).sum()
    }

    /// Bytes of its outputs.
    pub fn output_bytes(&self) -> usize {
        self.result
            .synapses
            .iter()
            .map(|s| s.output.data().len())
            .sum()
    }

    /// Encoded request bytes.
    pub fn bytes_sent(&self) -> usize {
        self.result.bytes_sent
    }

    /// Encoded response bytes.
    pub fn bytes_received(&self) -> usize {
        self.result.bytes_received
    }

    /// Where its time went.
    pub fn phases(&self) -> &'a Phases {
        &self.result.phases
    }
}

/// Receives a report after every call. Called on the caller's task once all endpoints have
/// answered: keep it cheap and never block.
pub trait CallObserver: Send + Sync + 'static {
    /// A call finished.
    fn call_finished(&self, report: &CallReport<'_>);
}
