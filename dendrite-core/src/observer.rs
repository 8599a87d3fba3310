//! How the core reports finished calls to whoever watches (metrics, statistics), without
//! depending on any of them.

use std::time::Duration;

use dendrite_wire::Endpoint;
use dendrite_wire::{Synapse, Tensor};

use crate::outcome::EndpointResult;

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

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finished call: the endpoints, synapses and inputs it had and what came back, in the
/// same order.
#[derive(Clone, Copy, Debug)]
pub struct CallReport<'a> {
    /// Forward or backward.
    pub direction: Direction,
    /// The endpoints called.
    pub endpoints: &'a [Endpoint],
    /// The synapses of every request.
    pub synapses: &'a [Synapse],
    /// One input per endpoint.
    pub inputs: &'a [Tensor],
    /// One result per endpoint.
    pub results: &'a [EndpointResult],
    /// Wall time of the whole call.
    pub elapsed: Duration,
}

/// Receives a report after every call. Called on the caller's task once all endpoints have
/// answered: keep it cheap and never block.
pub trait CallObserver: Send + Sync + 'static {
    /// A call finished.
    fn call_finished(&self, report: &CallReport<'_>);
}
