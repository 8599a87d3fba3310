//! One axon's result of a 10.x synapse call ([`AxonResult`]), which neutral class each result
//! and each of the dendrite's own failures is, what an axon the core ended gets, and the
//! wire's report to observers ([`SynapseCallView`]).
//!
//! **Invariants:** a class is read from the status 10.5.0 would leave on the synapse (or the
//! answer's HTTP status), never stored beside it; an axon is reported by the uid its caller
//! gave, else its hotkey, never by its position in the call.

use std::time::Duration;

use bytes::Bytes;
use dendrite_http::echoed::Elided;
use dendrite_http::{AxonTarget, DendriteFailure, SynapseAnswer, SynapseCall};

use crate::neutral::gather::Unfinished;
use crate::neutral::observer::{http_status_name, CallView, EndpointReport};
use crate::neutral::outcome::{Outcome, WireOutcome};
use crate::neutral::phases::Phases;
use crate::neutral::policy::{NoSlot, WireFailure};

/// One axon's result of a synapse call: the synapse's state after it, as 10.5.0 leaves it,
/// and what the call cost.
#[derive(Clone, Debug)]
pub struct AxonResult {
    /// The terminal infos (the call's status is `answer.dendrite.status_code`) and, on 200,
    /// the synapse the axon returned.
    pub answer: SynapseAnswer,
    /// The answer's body as read (empty when none arrived), for callers that validate it
    /// themselves (Python's synapse classes). On a 200 that carried a long string of the
    /// request back unchanged, rearranged around it ([`AxonResult::elided`]): the bytes as
    /// they came are [`AxonResult::raw_body`].
    pub body: Bytes,
    /// Where a sent string was elided from `body` as it was read (`dendrite_http::echoed`):
    /// `answer.fields` holds it again.
    pub elided: Option<Elided>,
    /// From the call's start until this axon's result was known.
    pub elapsed: Duration,
    /// Request bytes (head and body) the connection wrote to its socket (0 when nothing was
    /// sent).
    pub bytes_sent: usize,
    /// Answer bytes (head and body) the connection read from its socket (0 when nothing
    /// arrived).
    pub bytes_received: usize,
    /// Where the time went.
    pub phases: Phases,
    /// The answer's HTTP status (0 when none arrived).
    pub http_status: u16,
}

impl AxonResult {
    /// The call's status: 10.5.0's `synapse.dendrite.status_code`, else (an answer from a
    /// server that is no 10.x axon carries none) the answer's HTTP status.
    pub fn status_code(&self) -> i64 {
        self.answer
            .dendrite
            .status_code
            .unwrap_or(i64::from(self.http_status))
    }

    /// Whether the axon answered 200.
    pub fn success(&self) -> bool {
        self.status_code() == 200
    }

    /// The answer's body as it came (a copy where a sent string was elided from it).
    pub fn raw_body(&self) -> std::borrow::Cow<'_, [u8]> {
        match &self.elided {
            Some(elided) => std::borrow::Cow::Owned(elided.original(&self.body)),
            None => std::borrow::Cow::Borrowed(&self.body),
        }
    }
}

impl WireOutcome for AxonResult {
    /// An axon's own status: 200 success, 408 its timeout, 401 and 403 a refusal, anything
    /// else its error. The dendrite's (no answer arrived): 408 the deadline or a quorum cut,
    /// 503 unavailable, or dropped once the request had gone out, 500 ours, others the
    /// answer's fault (cut short, unreadable).
    fn outcome(&self) -> Outcome {
        let answered = self.http_status != 0;
        match self.status_code() {
            200 => Outcome::Success,
            408 => Outcome::Timeout,
            401 | 403 => Outcome::Refused,
            503 if !answered && self.phases.rpc_attempted => Outcome::Dropped,
            503 if !answered => Outcome::Unavailable,
            500 if !answered => Outcome::LocalError,
            _ => Outcome::PeerError,
        }
    }
}

impl WireOutcome for DendriteFailure {
    fn outcome(&self) -> Outcome {
        match self {
            DendriteFailure::Timeout | DendriteFailure::Cut(_) => Outcome::Timeout,
            DendriteFailure::Unavailable => Outcome::Unavailable,
            DendriteFailure::Disconnected => Outcome::Dropped,
            DendriteFailure::Payload(_) | DendriteFailure::Parse(_) => Outcome::PeerError,
            DendriteFailure::Client(_) => Outcome::LocalError,
        }
    }
}

impl WireFailure for DendriteFailure {
    /// No slot before the deadline is 10.5.0's 408; a client shutting down is ours (500).
    fn no_slot(why: NoSlot, _timeout: Duration) -> Self {
        match why {
            NoSlot::Deadline => DendriteFailure::Timeout,
            NoSlot::Closed => DendriteFailure::Client("client closed".into()),
        }
    }

    /// Cut by the quorum: 408 with the quorum's message; a task that died: ours (500).
    fn unfinished(why: &Unfinished) -> Self {
        match why {
            Unfinished::CutByQuorum(message) => DendriteFailure::Cut(message.clone()),
            Unfinished::TaskDied => DendriteFailure::Client("endpoint task failed".into()),
        }
    }
}

impl AxonResult {
    pub(super) fn with_message(mut self, message: String) -> Self {
        self.answer.dendrite.status_message = Some(message);
        self
    }
}

/// A finished 10.x synapse call as observers read it: the axons and what each answered, in
/// order.
#[derive(Clone, Copy, Debug)]
pub struct SynapseCallView<'a> {
    /// The axons called.
    pub axons: &'a [AxonTarget],
    /// The synapse sent.
    pub synapse: &'a SynapseCall,
    /// Each axon's result.
    pub results: &'a [AxonResult],
}

/// One axon and its result.
struct AxonView<'a> {
    axon: &'a AxonTarget,
    result: &'a AxonResult,
}

impl CallView for SynapseCallView<'_> {
    fn protocol(&self) -> &'static str {
        "http"
    }

    fn operations(&self) -> Box<dyn Iterator<Item = &str> + '_> {
        Box::new(std::iter::once(self.synapse.name()))
    }

    fn endpoint_count(&self) -> usize {
        self.axons.len()
    }

    /// A synapse carries JSON, no tensor values.
    fn request_values(&self) -> usize {
        0
    }

    /// The requests' bytes on the wire.
    fn request_bytes(&self) -> usize {
        self.results.iter().map(|r| r.bytes_sent).sum()
    }

    fn for_each_endpoint(&self, each: &mut dyn FnMut(&dyn EndpointReport)) {
        for (axon, result) in self.axons.iter().zip(self.results) {
            each(&AxonView { axon, result });
        }
    }
}

impl EndpointReport for AxonView<'_> {
    fn uid(&self) -> Option<u64> {
        self.axon.uid
    }

    fn hotkey(&self) -> &str {
        &self.axon.hotkey
    }

    fn success(&self) -> bool {
        self.result.success()
    }

    fn outcome(&self) -> Outcome {
        self.result.outcome()
    }

    fn codes(&self) -> Box<dyn Iterator<Item = &'static str> + '_> {
        Box::new(std::iter::once(http_status_name(self.result.status_code())))
    }

    fn time(&self) -> Duration {
        self.result.elapsed
    }

    fn output_values(&self) -> usize {
        0
    }

    fn output_bytes(&self) -> usize {
        self.result.body.len()
    }

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
