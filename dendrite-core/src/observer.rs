//! How the core reports finished calls to whoever watches (metrics, statistics), without
//! depending on any of them.
//!
//! A [`CallReport`] is a wire-neutral view: observers read operation names, counts, code names,
//! times, bytes and phases through its methods, never the wire's types (3.x `ReturnCode`s,
//! tensors), so a second wire can report through the same trait and the same metrics.

use std::time::Duration;

use dendrite_wire::Endpoint;
use dendrite_wire::{Synapse, Tensor};

use dendrite_http::{AxonTarget, SynapseCall};

use crate::client::SynapseOutcome;
use crate::grpc::results::EndpointResult;
use crate::outcome::{Outcome, WireOutcome};
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

/// One finished call, as observers see it: its wire, direction and time, the operations of
/// every request, what was sent, and per endpoint a summary ([`EndpointSummary`]).
#[derive(Clone, Copy, Debug)]
pub struct CallReport<'a> {
    /// Forward or backward.
    pub direction: Direction,
    /// Wall time of the whole call.
    pub elapsed: Duration,
    source: Source<'a>,
}

/// What a report reads, per wire.
#[derive(Clone, Copy, Debug)]
enum Source<'a> {
    /// A 3.x call: endpoints, synapses, input tensors, results.
    Tensors {
        endpoints: &'a [Endpoint],
        synapses: &'a [Synapse],
        inputs: &'a [Tensor],
        results: &'a [EndpointResult],
    },
    /// A 10.x synapse call: axons, the synapse, outcomes.
    Synapse {
        axons: &'a [AxonTarget],
        synapse: &'a SynapseCall,
        results: &'a [SynapseOutcome],
    },
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
        let source = Source::Tensors {
            endpoints,
            synapses,
            inputs,
            results,
        };
        CallReport {
            direction,
            elapsed,
            source,
        }
    }

    /// The report of a 10.x synapse call: the axons and what each answered, in order.
    pub fn synapse_call(
        direction: Direction,
        axons: &'a [AxonTarget],
        synapse: &'a SynapseCall,
        results: &'a [SynapseOutcome],
        elapsed: Duration,
    ) -> Self {
        let source = Source::Synapse {
            axons,
            synapse,
            results,
        };
        CallReport {
            direction,
            elapsed,
            source,
        }
    }

    /// The wire: `"grpc"` (3.x) or `"http"` (10.x).
    pub fn protocol(&self) -> &'static str {
        match self.source {
            Source::Tensors { .. } => "grpc",
            Source::Synapse { .. } => "http",
        }
    }

    /// The names of the operations every request carried (3.x: the synapses; 10.x: the one
    /// synapse's class name).
    pub fn operations(&self) -> Box<dyn Iterator<Item = &'a str> + 'a> {
        match self.source {
            Source::Tensors { synapses, .. } => Box::new(
                synapses
                    .iter()
                    .map(|s: &'a Synapse| -> &'a str { s.name() }),
            ),
            Source::Synapse { synapse, .. } => Box::new(std::iter::once(synapse.name())),
        }
    }

    /// How many endpoints were called.
    pub fn endpoint_count(&self) -> usize {
        match self.source {
            Source::Tensors { endpoints, .. } => endpoints.len(),
            Source::Synapse { axons, .. } => axons.len(),
        }
    }

    /// Values in the requests' inputs, summed over endpoints (the reference's request params;
    /// a 10.x synapse carries JSON, no tensor values: 0).
    pub fn request_values(&self) -> usize {
        match self.source {
            Source::Tensors { inputs, .. } => inputs.iter().map(Tensor::numel).sum(),
            Source::Synapse { .. } => 0,
        }
    }

    /// Bytes of the requests' inputs, summed over endpoints (10.x: the requests sent).
    pub fn request_bytes(&self) -> usize {
        match self.source {
            Source::Tensors { inputs, .. } => inputs.iter().map(|t| t.data().len()).sum(),
            Source::Synapse { results, .. } => results.iter().map(|r| r.bytes_sent).sum(),
        }
    }

    /// Each endpoint's summary, in call order.
    pub fn endpoints(&self) -> Box<dyn Iterator<Item = EndpointSummary<'a>> + 'a> {
        match self.source {
            Source::Tensors {
                endpoints, results, ..
            } => Box::new(
                endpoints
                    .iter()
                    .zip(results)
                    .map(|(endpoint, result)| EndpointSummary::Tensors { endpoint, result }),
            ),
            Source::Synapse { axons, results, .. } => Box::new(
                axons
                    .iter()
                    .zip(results)
                    .enumerate()
                    .map(|(index, (axon, outcome))| EndpointSummary::Synapse {
                        index,
                        axon,
                        outcome,
                    }),
            ),
        }
    }
}

/// One endpoint's part of a call, as observers see it.
#[derive(Clone, Copy, Debug)]
pub enum EndpointSummary<'a> {
    /// A 3.x endpoint.
    #[doc(hidden)]
    Tensors {
        /// The endpoint.
        endpoint: &'a Endpoint,
        /// Its result.
        result: &'a EndpointResult,
    },
    /// A 10.x axon.
    #[doc(hidden)]
    Synapse {
        /// Its position in the call (10.x axons carry no uid).
        index: usize,
        /// The axon.
        axon: &'a AxonTarget,
        /// Its outcome.
        outcome: &'a SynapseOutcome,
    },
}

impl<'a> EndpointSummary<'a> {
    /// The endpoint's uid (10.x: its position in the call, as an `AxonInfo` has no uid).
    pub fn uid(&self) -> u64 {
        match self {
            EndpointSummary::Tensors { endpoint, .. } => endpoint.uid,
            EndpointSummary::Synapse { index, .. } => *index as u64,
        }
    }

    /// The endpoint's hotkey.
    pub fn hotkey(&self) -> &'a str {
        match self {
            EndpointSummary::Tensors { endpoint, .. } => &endpoint.hotkey,
            EndpointSummary::Synapse { axon, .. } => &axon.hotkey,
        }
    }

    /// Whether any operation succeeded.
    pub fn success(&self) -> bool {
        match self {
            EndpointSummary::Tensors { result, .. } => result.any_success(),
            EndpointSummary::Synapse { outcome, .. } => outcome.success(),
        }
    }

    /// The endpoint's outcome class, the same for both wires (3.x: every synapse succeeded, or
    /// the first failure's class).
    pub fn outcome(&self) -> Outcome {
        match self {
            EndpointSummary::Tensors { result, .. } => result.outcome(),
            EndpointSummary::Synapse { outcome, .. } => outcome.outcome(),
        }
    }

    /// The outcome code of each operation, by name (10.x: the HTTP status, e.g. `"408"`).
    pub fn codes(&self) -> Box<dyn Iterator<Item = &'static str> + 'a> {
        match self {
            EndpointSummary::Tensors { result, .. } => {
                Box::new(result.synapses.iter().map(|s| s.code.as_str_name()))
            }
            EndpointSummary::Synapse { outcome, .. } => {
                Box::new(std::iter::once(http_status_name(outcome.status_code())))
            }
        }
    }

    /// The mean time of its operations (zero when it had none).
    pub fn time(&self) -> Duration {
        match self {
            EndpointSummary::Tensors { result, .. } => {
                let synapses = &result.synapses;
                match u32::try_from(synapses.len()) {
                    Ok(n) if n > 0 => synapses.iter().map(|s| s.elapsed).sum::<Duration>() / n,
                    _ => Duration::ZERO,
                }
            }
            EndpointSummary::Synapse { outcome, .. } => outcome.elapsed,
        }
    }

    /// Values in its outputs (the reference's response params; 10.x: none).
    pub fn output_values(&self) -> usize {
        match self {
            EndpointSummary::Tensors { result, .. } => {
                result.synapses.iter().map(|s| s.output.numel()).sum()
            }
            EndpointSummary::Synapse { .. } => 0,
        }
    }

    /// Bytes of its outputs (10.x: the answer's body).
    pub fn output_bytes(&self) -> usize {
        match self {
            EndpointSummary::Tensors { result, .. } => {
                result.synapses.iter().map(|s| s.output.data().len()).sum()
            }
            EndpointSummary::Synapse { outcome, .. } => outcome.body.len(),
        }
    }

    /// Encoded request bytes.
    pub fn bytes_sent(&self) -> usize {
        match self {
            EndpointSummary::Tensors { result, .. } => result.bytes_sent,
            EndpointSummary::Synapse { outcome, .. } => outcome.bytes_sent,
        }
    }

    /// Encoded response bytes.
    pub fn bytes_received(&self) -> usize {
        match self {
            EndpointSummary::Tensors { result, .. } => result.bytes_received,
            EndpointSummary::Synapse { outcome, .. } => outcome.bytes_received,
        }
    }

    /// Where its time went.
    pub fn phases(&self) -> &'a Phases {
        match self {
            EndpointSummary::Tensors { result, .. } => &result.phases,
            EndpointSummary::Synapse { outcome, .. } => &outcome.phases,
        }
    }
}

/// A metrics label for an HTTP status: its digits for the statuses 10.x calls end with, else
/// its class (`"2xx"` … `"5xx"`, `"other"`), so that labels stay a small fixed set.
pub fn http_status_name(status: i64) -> &'static str {
    match status {
        200 => "200",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        408 => "408",
        422 => "422",
        500 => "500",
        502 => "502",
        503 => "503",
        504 => "504",
        201..=299 => "2xx",
        300..=399 => "3xx",
        402 | 405..=407 | 409..=421 | 423..=499 => "4xx",
        501 | 505..=599 => "5xx",
        _ => "other",
    }
}

/// Receives a report after every call. Called on the caller's task once all endpoints have
/// answered: keep it cheap and never block.
pub trait CallObserver: Send + Sync + 'static {
    /// A call finished.
    fn call_finished(&self, report: &CallReport<'_>);
}
