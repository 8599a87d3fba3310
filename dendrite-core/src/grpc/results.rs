//! What a 3.x call brings back per endpoint × synapse, how transport failures become 3.x
//! `ReturnCode`s (as the reference receptor maps gRPC statuses), and which neutral
//! [`Outcome`] each code is.

use std::time::Duration;

use dendrite_wire::proto::ReturnCode;
use dendrite_wire::Tensor;
use tonic::Code;

use crate::neutral::gather::Unfinished;
use crate::neutral::outcome::{Outcome, WireOutcome};
use crate::neutral::phases::Phases;
use crate::neutral::policy::{NoSlot, WireFailure};

/// The result of one synapse at one endpoint.
#[derive(Clone, Debug)]
pub struct SynapseResult {
    /// The decoded output; zeros of the expected shape unless `code` is `Success`. Backward
    /// results carry an empty tensor.
    pub output: Tensor,
    /// The outcome.
    pub code: ReturnCode,
    /// A human-readable message (the peer's, or ours for local failures).
    pub message: String,
    /// Time from the start of the call until this synapse's result was known.
    pub elapsed: Duration,
}

/// The results of one endpoint, one per synapse in request order, with wire byte counts.
#[derive(Clone, Debug, Default)]
pub struct EndpointResult {
    /// Per synapse, in the order of the request.
    pub synapses: Vec<SynapseResult>,
    /// The request's bytes on its HTTP/2 stream: the gRPC frame (prefix and message,
    /// compressed as sent) handed to the transport (0 when no RPC was attempted). A
    /// connection's HPACK headers and frame headers are not one call's: its totals are
    /// [`crate::ReceptorPool::wire_bytes`].
    pub bytes_sent: usize,
    /// The answer's bytes on its HTTP/2 stream (the DATA payload as it came; 0 when nothing
    /// arrived).
    pub bytes_received: usize,
    /// Where the call's time went (zeros for the phases it did not reach).
    pub phases: Phases,
}

impl EndpointResult {
    /// Whether every synapse succeeded.
    pub fn all_success(&self) -> bool {
        self.synapses.iter().all(|s| s.code == ReturnCode::Success)
    }

    /// Whether any synapse succeeded (the endpoint answered).
    pub fn any_success(&self) -> bool {
        self.synapses.iter().any(|s| s.code == ReturnCode::Success)
    }

    /// The codes, in synapse order.
    pub fn codes(&self) -> Vec<ReturnCode> {
        self.synapses.iter().map(|s| s.code).collect()
    }
}

impl WireOutcome for EndpointResult {
    /// Success when every synapse succeeded (what the quorum counts), else the class of the
    /// first synapse that did not.
    fn outcome(&self) -> Outcome {
        self.synapses
            .iter()
            .map(WireOutcome::outcome)
            .find(|o| !o.is_success())
            .unwrap_or(Outcome::Success)
    }
}

impl WireOutcome for SynapseResult {
    fn outcome(&self) -> Outcome {
        outcome_of(self.code)
    }
}

impl WireOutcome for CallFailure {
    fn outcome(&self) -> Outcome {
        outcome_of(self.code)
    }
}

/// The neutral class of a 3.x code: who failed (the peer, us, the network), or the deadline.
pub fn outcome_of(code: ReturnCode) -> Outcome {
    use ReturnCode as R;
    match code {
        R::Success => Outcome::Success,
        R::Timeout | R::NucleusTimeout => Outcome::Timeout,
        R::Unavailable | R::Backoff => Outcome::Unavailable,
        R::Unauthenticated | R::SenderUnknown | R::RequestIncompatibleVersion => Outcome::Refused,
        R::EmptyRequest | R::BadEndpoint | R::RequestSerializationException => Outcome::LocalError,
        R::NoReturn
        | R::NotImplemented
        | R::EmptyResponse
        | R::InvalidResponse
        | R::InvalidRequest
        | R::RequestShapeException
        | R::ResponseShapeException
        | R::ResponseSerializationException
        | R::RequestDeserializationException
        | R::ResponseDeserializationException
        | R::NotServingNucleus
        | R::NucleusFull
        | R::ResponseIncompatibleVersion
        | R::UnknownException => Outcome::PeerError,
    }
}

impl WireFailure for CallFailure {
    /// The deadline passed waiting for a slot: `Timeout`, as the reference's timeout reads;
    /// a client shutting down: `UnknownException`.
    fn no_slot(why: NoSlot, timeout: Duration) -> Self {
        match why {
            NoSlot::Deadline => CallFailure::timeout(timeout),
            NoSlot::Closed => CallFailure::new(ReturnCode::UnknownException, "client closed"),
        }
    }

    /// 3.x codes for endpoints the fan-out ended: `Timeout` when cut by the quorum,
    /// `UnknownException` for a task that died.
    fn unfinished(why: &Unfinished) -> Self {
        match why {
            Unfinished::CutByQuorum(message) => {
                CallFailure::new(ReturnCode::Timeout, message.clone())
            }
            Unfinished::TaskDied => {
                CallFailure::new(ReturnCode::UnknownException, "endpoint task failed")
            }
        }
    }
}

/// A failure that applies to every synapse of one endpoint's call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallFailure {
    /// The code every synapse gets.
    pub code: ReturnCode,
    /// Why.
    pub message: String,
}

impl CallFailure {
    /// What the synapses whose requests all failed to serialize get for the endpoint as a
    /// whole: nothing was sent, and each synapse keeps its own serialization failure (see
    /// `request::failure_except_unsent`), so this carries no code of its own.
    pub fn nothing_sent() -> Self {
        CallFailure::new(ReturnCode::Success, "")
    }

    /// A failure with `code` and `message`.
    pub fn new(code: ReturnCode, message: impl Into<String>) -> Self {
        CallFailure {
            code,
            message: message.into(),
        }
    }

    /// The code and message of a gRPC status, mapped as the reference receptor maps them:
    /// DEADLINE_EXCEEDED → Timeout, UNAVAILABLE → Unavailable, UNAUTHENTICATED →
    /// Unauthenticated, anything else → UnknownException.
    ///
    /// A status made locally by the transport (it carries the underlying error, e.g. the peer
    /// closed or reset the connection before answering) with code CANCELLED or UNKNOWN is
    /// UNAVAILABLE, as Python's grpc reports a dropped connection.
    pub fn from_status(status: &tonic::Status) -> Self {
        let transport_failure = std::error::Error::source(status).is_some()
            && matches!(status.code(), Code::Cancelled | Code::Unknown);
        let status_code = if transport_failure {
            Code::Unavailable
        } else {
            status.code()
        };
        let name = python_status_name(status_code);
        let details = status.message();
        let (code, message) = match status_code {
            Code::DeadlineExceeded => (ReturnCode::Timeout, format!("grpc.{name}: {details}")),
            Code::Unavailable => (ReturnCode::Unavailable, format!("grpc.{name}: {details}")),
            Code::Unauthenticated => (
                ReturnCode::Unauthenticated,
                format!("grpc.{name}: {details}"),
            ),
            _ => (
                ReturnCode::UnknownException,
                format!("GRPC error code: {name}, details: {details}"),
            ),
        };
        CallFailure { code, message }
    }

    /// The local deadline passed before the call completed.
    pub fn timeout(timeout: Duration) -> Self {
        CallFailure::new(
            ReturnCode::Timeout,
            format!("GRPC request timeout after: {}s", timeout.as_secs_f64()),
        )
    }
}

/// `StatusCode.NAME` as Python's grpc prints a status code.
pub fn python_status_name(code: Code) -> String {
    let name = match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    };
    format!("StatusCode.{name}")
}

/// A wire return code; values outside the enum are `UnknownException`.
pub fn return_code(raw: i32) -> ReturnCode {
    ReturnCode::try_from(raw).unwrap_or(ReturnCode::UnknownException)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn any_code() -> impl Strategy<Value = Code> {
        (0i32..=16).prop_map(Code::from_i32)
    }

    proptest! {
        /// Only the three statuses the reference names keep their meaning; all others are
        /// UnknownException, and every message names the status.
        #[test]
        fn status_mapping_is_the_references(code in any_code(), details in ".{0,40}") {
            let failure = CallFailure::from_status(&tonic::Status::new(code, details.clone()));
            let expected = match code {
                Code::DeadlineExceeded => ReturnCode::Timeout,
                Code::Unavailable => ReturnCode::Unavailable,
                Code::Unauthenticated => ReturnCode::Unauthenticated,
                _ => ReturnCode::UnknownException,
            };
            prop_assert_eq!(failure.code, expected);
            prop_assert!(failure.message.contains(&python_status_name(code)));
            prop_assert!(failure.message.ends_with(&details));
        }

        #[test]
        fn any_wire_code_maps_to_a_code(raw in any::<i32>()) {
            let code = return_code(raw);
            prop_assert!(code as i32 == raw || code == ReturnCode::UnknownException);
        }
    }
}
