//! `dendrite_rs.http`'s signed REST requests (`Dendrite.request`, `get`, `post`, …): the
//! request Python describes, and each axon's answer as a `RestReply` with named fields, handed to
//! the caller's event loop as the synapse calls' answers are.
//!
//! Invariants: a caller's mistake (a method or path that is no HTTP, a scheme that does not
//! exist, a timeout that is not positive) is a `ValueError` before anything is sent; a peer's
//! failure is that axon's reply, never an exception.

use dendrite::core::{
    seconds, AuthScheme, Method, Phase, RestAnswer, RestRequest, SecondsRange, WireOutcome,
};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::value_error;

/// One axon's answer to a signed request, as Python reads it.
#[pyclass(module = "dendrite_rs._native", frozen, get_all)]
pub struct RestReply {
    /// The answer's HTTP status, else the dendrite's own (408 the deadline, 503 unavailable,
    /// 500 ours, 400 a broken body).
    status_code: u16,
    /// Whether an answer arrived (its status is the axon's).
    answered: bool,
    /// Its headers, names in lower case, in order.
    headers: Vec<(String, String)>,
    /// Its body (empty when read as events).
    content: Py<PyBytes>,
    /// A streamed answer's events: `(event type, data, last id)` in order.
    events: Vec<(String, String, String)>,
    /// Seconds from the call's start to the first event, if one came.
    first_event: Option<f64>,
    /// Seconds from the call's start to this axon's result.
    elapsed: f64,
    /// Seconds per phase, in `PHASES` order.
    phases: Vec<f64>,
    /// The neutral outcome class (`success`, `timeout`, `unavailable`, ...).
    outcome: String,
    /// What went wrong, in words (empty on success).
    message: String,
    /// Whether the answer's Epistula signature verified (`None`: it carried none).
    answer_signed: Option<bool>,
    /// Request bytes the connection wrote.
    bytes_sent: usize,
    /// Answer bytes the connection read.
    bytes_received: usize,
}

#[pymethods]
impl RestReply {
    fn __repr__(&self) -> String {
        format!(
            "RestReply(status_code={}, outcome={:?})",
            self.status_code, self.outcome
        )
    }
}

/// The reply Python reads of one axon's answer.
pub fn reply_of(py: Python<'_>, answer: &RestAnswer) -> RestReply {
    RestReply {
        status_code: answer.status_code(),
        answered: answer.status != 0,
        headers: answer.headers.clone(),
        content: PyBytes::new(py, &answer.body).unbind(),
        events: answer
            .events
            .iter()
            .map(|e| (e.event.clone(), e.data.clone(), e.id.clone()))
            .collect(),
        first_event: answer.first_event.map(|d| d.as_secs_f64()),
        elapsed: answer.elapsed.as_secs_f64(),
        phases: Phase::ALL
            .iter()
            .map(|phase| answer.phases.get(*phase).as_secs_f64())
            .collect(),
        outcome: answer.outcome().as_str().to_owned(),
        message: answer.message.clone(),
        answer_signed: answer.answer_signed,
        bytes_sent: answer.bytes_sent,
        bytes_received: answer.bytes_received,
    }
}

/// What Python gives of a request: method, path with query, headers, body, scheme, timeout
/// (seconds), the answer byte limit, whether to read events, whether answers must be signed.
pub type RequestParts = (
    String,
    String,
    Vec<(String, String)>,
    Vec<u8>,
    String,
    f64,
    usize,
    bool,
    bool,
);

/// The request `parts` describe; a caller's mistake is a `ValueError`.
pub fn rest_request(parts: RequestParts) -> PyResult<RestRequest> {
    let (method, path, headers, body, auth, timeout, max_answer_bytes, events, require_signed) =
        parts;
    let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).map_err(value_error)?;
    RestRequest::check_path(&path).map_err(value_error)?;
    let auth: AuthScheme = auth.parse().map_err(value_error)?;
    let timeout = seconds("timeout", timeout, SecondsRange::Positive).map_err(value_error)?;
    Ok(RestRequest {
        headers,
        body: body.into(),
        auth,
        timeout,
        max_answer_bytes,
        events,
        require_signed_answers: require_signed,
        ..RestRequest::new(method, path)
    })
}
