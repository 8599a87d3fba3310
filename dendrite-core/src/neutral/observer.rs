//! How the core reports finished calls to whoever watches (metrics, statistics), without
//! depending on any of them, and without naming any wire.
//!
//! A [`CallReport`] is a wire-neutral view: observers read operation names, counts, code names,
//! times, bytes and phases through its methods and each endpoint's [`EndpointReport`], never the
//! wire's types (3.x `ReturnCode`s and tensors, 10.x synapses). Each wire implements
//! [`CallView`] for its calls and [`EndpointReport`] for its endpoints' results, so a new wire
//! reports through the same traits and the same metrics.
//!
//! **Invariant:** an endpoint is identified by what its caller named it with (a uid where the
//! caller gave one, and its hotkey), never by its position in a call.

use std::time::Duration;

use super::outcome::Outcome;
use super::phases::Phases;

/// What kind of call a report is about, on which wire: a 3.x Forward or Backward, a 10.x
/// synapse, or a signed REST request (the last two come back answered, as a Forward does).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallKind {
    /// A 3.x Forward.
    Forward,
    /// A 3.x Backward (gradients sent; nothing comes back but codes).
    Backward,
    /// A 10.x synapse call (`POST /{Synapse}`).
    Synapse,
    /// A signed REST request (any method and path: bittensor 11's subnets).
    Request,
}

impl CallKind {
    /// Every kind, Forward first.
    pub const ALL: [CallKind; 4] = [
        CallKind::Forward,
        CallKind::Backward,
        CallKind::Synapse,
        CallKind::Request,
    ];

    /// `"forward"`, `"backward"` or `"synapse"`, as metrics label it.
    pub fn as_str(self) -> &'static str {
        match self {
            CallKind::Forward => "forward",
            CallKind::Backward => "backward",
            CallKind::Synapse => "synapse",
            CallKind::Request => "request",
        }
    }

    /// The wire of a call of this kind, as statistics name it: `grpc` (3.x forward and
    /// backward) or `http` (10.x synapses and signed REST requests).
    pub fn wire(self) -> &'static str {
        match self {
            CallKind::Forward | CallKind::Backward => "grpc",
            CallKind::Synapse | CallKind::Request => "http",
        }
    }

    /// Whether the call brings answers back (every kind but a Backward): the reference's
    /// request, response and success counters count these.
    pub fn answers(self) -> bool {
        self != CallKind::Backward
    }
}

impl std::fmt::Display for CallKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finished call, as observers see it: its kind and time, and through its wire's
/// [`CallView`] the operations of every request, what was sent, and per endpoint an
/// [`EndpointReport`].
#[derive(Clone, Copy)]
pub struct CallReport<'a> {
    /// What kind of call, on which wire.
    pub kind: CallKind,
    /// Wall time of the whole call.
    pub elapsed: Duration,
    call: &'a dyn CallView,
}

impl std::fmt::Debug for CallReport<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallReport")
            .field("kind", &self.kind)
            .field("elapsed", &self.elapsed)
            .field("protocol", &self.call.protocol())
            .field("endpoints", &self.call.endpoint_count())
            .finish()
    }
}

/// A wire's view of one finished call, which a [`CallReport`] reads.
pub trait CallView {
    /// The wire: `"grpc"` (3.x), `"http"` (10.x).
    fn protocol(&self) -> &'static str;
    /// The names of the operations every request carried (3.x: the synapses; 10.x: the
    /// synapse's class name).
    fn operations(&self) -> Box<dyn Iterator<Item = &str> + '_>;
    /// How many endpoints were called.
    fn endpoint_count(&self) -> usize;
    /// Values in the requests' inputs, summed over endpoints (the reference's request params;
    /// 0 where a request carries no tensor).
    fn request_values(&self) -> usize;
    /// Bytes of the requests' inputs, summed over endpoints.
    fn request_bytes(&self) -> usize;
    /// Calls `each` with every endpoint's report, in call order.
    fn for_each_endpoint(&self, each: &mut dyn FnMut(&dyn EndpointReport));
}

impl<'a> CallReport<'a> {
    /// The report of a call of `kind` that took `elapsed`, read through its wire's view.
    pub fn new(kind: CallKind, elapsed: Duration, call: &'a dyn CallView) -> Self {
        CallReport {
            kind,
            elapsed,
            call,
        }
    }

    /// The wire: `"grpc"` (3.x) or `"http"` (10.x).
    pub fn protocol(&self) -> &'static str {
        self.call.protocol()
    }

    /// The names of the operations every request carried.
    pub fn operations(&self) -> Box<dyn Iterator<Item = &'a str> + 'a> {
        self.call.operations()
    }

    /// How many endpoints were called.
    pub fn endpoint_count(&self) -> usize {
        self.call.endpoint_count()
    }

    /// Values in the requests' inputs, summed over endpoints.
    pub fn request_values(&self) -> usize {
        self.call.request_values()
    }

    /// Bytes of the requests' inputs, summed over endpoints.
    pub fn request_bytes(&self) -> usize {
        self.call.request_bytes()
    }

    /// Calls `each` with every endpoint's report, in call order.
    pub fn for_each_endpoint(&self, mut each: impl FnMut(&dyn EndpointReport)) {
        self.call.for_each_endpoint(&mut each)
    }
}

/// One endpoint's part of a finished call, as observers see it, whatever the wire.
pub trait EndpointReport {
    /// The uid the caller named the endpoint by, where it named one (3.x endpoints always
    /// have one; a 10.x axon has one when its caller gave it).
    fn uid(&self) -> Option<u64>;
    /// The endpoint's hotkey.
    fn hotkey(&self) -> &str;
    /// Whether the endpoint answered with a success (3.x: any of its synapses succeeded, as
    /// the reference counts; 10.x: status 200).
    fn success(&self) -> bool;
    /// The endpoint's outcome class, the same for every wire (3.x: every synapse succeeded, or
    /// the first failure's class).
    fn outcome(&self) -> Outcome;
    /// The outcome code of each operation, by name (3.x: `ReturnCode` names; 10.x: the HTTP
    /// status, e.g. `"408"`).
    fn codes(&self) -> Box<dyn Iterator<Item = &'static str> + '_>;
    /// The mean time of its operations (zero when it had none).
    fn time(&self) -> Duration;
    /// Values in its outputs (the reference's response params; 0 where an answer carries no
    /// tensor).
    fn output_values(&self) -> usize;
    /// Bytes of its outputs (10.x: the answer's body).
    fn output_bytes(&self) -> usize;
    /// Request bytes sent (see each wire for what is counted).
    fn bytes_sent(&self) -> usize;
    /// Response bytes received.
    fn bytes_received(&self) -> usize;
    /// Where its time went.
    fn phases(&self) -> &Phases;
}

/// The label an endpoint is known by in per-endpoint series: its uid where its caller gave
/// one, else its hotkey — never its position in a call.
pub fn endpoint_label(endpoint: &dyn EndpointReport) -> String {
    match endpoint.uid() {
        Some(uid) => uid.to_string(),
        None => endpoint.hotkey().to_owned(),
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
