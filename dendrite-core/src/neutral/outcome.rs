//! What became of one endpoint's call, in terms both wires share: the [`Outcome`] class that the
//! quorum counts, the retry and the backoff read, and observers may group by. Each wire keeps
//! its own results and codes (3.x `ReturnCode`s and tensors in the 3.x wire's module, 10.x status codes
//! and synapses in the synapse call) and says which class each is, through [`WireOutcome`].
//!
//! **Invariants:** a class is derived from a wire's code, never stored beside it, so the two
//! cannot disagree; only [`Outcome::Unavailable`] is retried (nothing reached the endpoint, so
//! sending again cannot do anything twice); only [`Outcome::Success`] counts towards a quorum and
//! as a success for the backoff.

/// The class of one endpoint's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The endpoint answered and its answer was read.
    Success,
    /// A deadline passed (the call's, or the peer's own), or a quorum cut the call.
    Timeout,
    /// The endpoint was not reached: refused, unreachable, or skipped by the backoff. The
    /// retry's case.
    Unavailable,
    /// The connection closed after the request went out and before an answer: the peer may
    /// have acted on it, so it is not sent again. (The 3.x wire cannot tell this from
    /// [`Outcome::Unavailable`]; gRPC reports both as UNAVAILABLE.)
    Dropped,
    /// The endpoint refused the caller: signature, nonce, version, blacklist.
    Refused,
    /// The endpoint answered with an error of its own, or with an answer that could not be
    /// read.
    PeerError,
    /// Our side failed without the endpoint's doing: an empty request, a bad address, a request
    /// that could not be encoded, the client shutting down.
    LocalError,
}

impl Outcome {
    /// Every class, [`Outcome::Success`] first.
    pub const ALL: [Outcome; 7] = [
        Outcome::Success,
        Outcome::Timeout,
        Outcome::Unavailable,
        Outcome::Dropped,
        Outcome::Refused,
        Outcome::PeerError,
        Outcome::LocalError,
    ];

    /// The class's name in snake case (`"peer_error"`), as labels and records spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Timeout => "timeout",
            Outcome::Unavailable => "unavailable",
            Outcome::Dropped => "dropped",
            Outcome::Refused => "refused",
            Outcome::PeerError => "peer_error",
            Outcome::LocalError => "local_error",
        }
    }

    /// Whether this is [`Outcome::Success`].
    pub fn is_success(self) -> bool {
        self == Outcome::Success
    }

    /// Whether a failure of this class may be sent again (budget, limit and deadline
    /// permitting): only when nothing reached the endpoint.
    pub fn is_retryable(self) -> bool {
        self == Outcome::Unavailable
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A wire's result or failure, read by the shared core through its class.
pub trait WireOutcome {
    /// The class of this result or failure.
    fn outcome(&self) -> Outcome;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_and_only_unavailable_is_retried() {
        let names: std::collections::HashSet<_> = Outcome::ALL.iter().map(|o| o.as_str()).collect();
        assert_eq!(names.len(), Outcome::ALL.len());
        let retried: Vec<_> = Outcome::ALL
            .into_iter()
            .filter(|o| o.is_retryable())
            .collect();
        assert_eq!(retried, [Outcome::Unavailable]);
        assert_eq!(Outcome::ALL[0], Outcome::Success);
        assert!(Outcome::ALL[1..].iter().all(|o| !o.is_success()));
    }
}
