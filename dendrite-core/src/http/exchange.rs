//! One request and its answer on the HTTP/1.1 pool, whatever the request is (a 10.x synapse
//! today; the next kinds of signed request land beside it): a connection checked out, the
//! request signed for that connection's uuid and sent, the answer's head, its body read whole
//! under the bound (a declared length straight into one buffer) or handed on chunk by chunk,
//! the connection back to the pool, and the bytes the connection's socket carried for it.
//!
//! **Invariants:** a connection goes back to the pool only after its answer was read whole; one
//! whose exchange failed or was cut is closed; the phases `queue` (the pool's wait), `connect`,
//! `sign`, `send` (writing the request), `wait` (from then to the head) and `receive` are this
//! attempt's.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use dendrite_http::echoed::{Elided, SentStrings};
use dendrite_http::sse::{SseEvent, SseParser};
use dendrite_http::DendriteFailure;

use super::budget::ByteBudget;
use super::pool::{CheckoutError, Http1Body, Http1BodyError};
use super::Http;
use crate::neutral::buffers::BodyBuffers;
use crate::neutral::phases::{Phases, Probe};
use crate::neutral::transport::{read_whole, AnswerBody, BodyError, Exchange, RequestBody};

/// How an attempt reads a 200 answer's body.
pub(crate) enum Reading {
    /// Whole.
    Whole,
    /// Whole, as a synapse's JSON: on a 200, the first long string the request sent that came
    /// back unchanged is found in the body as it is read and elided
    /// (`dendrite_http::echoed::elide`; a declared length only).
    WholeEliding(Arc<SentStrings>),
    /// Chunk by chunk, each sent on as it arrives (a streaming synapse).
    Stream(tokio::sync::mpsc::Sender<Bytes>),
    /// A 2xx `text/event-stream` answer chunk by chunk into an event parser (any other answer
    /// whole).
    Events(std::sync::Mutex<EventSink>),
}

/// The events of a streamed answer as they are parsed, and when the first one came; each also
/// handed on as it completes, tagged with its axon's index, when a consumer reads them live.
#[derive(Debug, Default)]
pub(crate) struct EventSink {
    parser: SseParser,
    /// Every event so far, in order.
    pub events: Vec<SseEvent>,
    /// When the first event was complete.
    pub first_event: Option<Instant>,
    /// Where each event goes as it completes: the axon's index and the channel.
    pub live: Option<(usize, tokio::sync::mpsc::Sender<(usize, SseEvent)>)>,
}

impl EventSink {
    /// A sink that hands each event on to `live` (its axon's index and the channel), if given.
    pub fn new(live: Option<(usize, tokio::sync::mpsc::Sender<(usize, SseEvent)>)>) -> Self {
        EventSink {
            live,
            ..EventSink::default()
        }
    }

    /// Parses `data`; the events it completed, to hand on.
    fn push(&mut self, data: &[u8]) -> std::ops::Range<usize> {
        let before = self.events.len();
        self.parser.push(data, &mut self.events);
        if before == 0 && !self.events.is_empty() {
            self.first_event = Some(Instant::now());
        }
        before..self.events.len()
    }
}

/// A request exchanged: the answer's head, what its body gave, and the socket's bytes.
pub(super) struct Exchanged {
    /// The answer's status and headers.
    pub head: http::response::Parts,
    /// Its body, whole or streamed on.
    pub received: Received,
    /// Request bytes the connection wrote.
    pub bytes_sent: usize,
    /// Answer bytes the connection read.
    pub bytes_received: usize,
}

impl Http {
    /// One exchange with `addr` on a pooled connection: `sign(uuid)` makes the request for the
    /// connection's uuid (its time is the `sign` phase), the answer's body is read as `reading`
    /// says, at most `limit` bytes, each chunk taken from the call's `budget`. The caller bounds
    /// it by the call's deadline.
    pub(super) async fn exchange(
        &self,
        addr: SocketAddr,
        sign: impl FnOnce(&str) -> Result<(http::Request<()>, RequestBody), DendriteFailure>,
        reading: &Reading,
        (limit, budget): (usize, &Arc<ByteBudget>),
        phases: &mut Phases,
    ) -> Result<Exchanged, DendriteFailure> {
        let (mut checkout, queue) = self
            .pool
            .checkout(addr)
            .await
            .map_err(|e| checkout_failure(addr, e))?;
        phases.queue += queue;
        phases.connect += checkout.connect;
        phases.rpc_attempted = true;
        phases.reused_connection = checkout.reused;
        let signing = Instant::now();
        let signed = sign(&checkout.connection.uuid);
        phases.sign += signing.elapsed();
        let (head, body) = signed?;
        let wire_before = checkout.connection.wire_bytes();
        let waiting = Instant::now();
        let probe = Probe::new(waiting);
        let response = checkout.connection.exchange(head, body, &probe).await;
        // Sending is writing the request to the socket; waiting runs from then to the answer's
        // head.
        let (sent, headers, _) = probe.marks();
        let receiving = headers.unwrap_or_else(Instant::now);
        let sent = sent.unwrap_or(receiving).min(receiving);
        phases.send += sent.saturating_duration_since(waiting);
        phases.wait += receiving.saturating_duration_since(sent);
        let (head, mut body) = match response {
            Ok(response) => response.into_parts(),
            Err(e) => {
                self.pool.discard(checkout);
                return Err(transport_failure(&e));
            }
        };
        // Within the answer's own bound, its declared length is taken from the call's budget
        // before a byte is read.
        let declared = content_length(&head.headers).filter(|&len| len <= limit as u64);
        let budgeted = body.set_budget(budget.clone(), declared);
        let received = match budgeted.map_err(chunk_failure) {
            Ok(()) => read_body(&head, &mut body, reading, limit, &self.buffers).await,
            Err(failure) => Err(failure),
        };
        let received = match received {
            Ok(received) => received,
            Err(failure) => {
                self.pool.discard(checkout);
                return Err(failure);
            }
        };
        phases.receive += receiving.elapsed();
        let wire_after = checkout.connection.wire_bytes();
        checkout.connection.restore(body);
        self.pool.release(checkout);
        Ok(Exchanged {
            head,
            received,
            bytes_sent: (wire_after.0 - wire_before.0) as usize,
            bytes_received: (wire_after.1 - wire_before.1) as usize,
        })
    }
}

/// The answer's body, at most `limit` bytes: a 200 stream's chunks handed on as they arrive
/// (when streaming), a 2xx event stream's events parsed as they arrive (when reading events),
/// anything else read whole (into one of `buffers` when it comes in several chunks).
async fn read_body(
    parts: &http::response::Parts,
    body: &mut Http1Body,
    reading: &Reading,
    limit: usize,
    buffers: &Arc<BodyBuffers>,
) -> Result<Received, DendriteFailure> {
    match reading {
        Reading::Stream(chunks) if parts.status.as_u16() == 200 => {
            forward_chunks(body, chunks, limit)
                .await
                .map(|_| Received::Streamed)
        }
        Reading::Events(sink) if parts.status.is_success() && is_event_stream(parts) => {
            parse_events(body, sink, limit)
                .await
                .map(|_| Received::Streamed)
        }
        _ => {
            let elide = |bytes: &mut [u8]| match reading {
                Reading::WholeEliding(sent) if parts.status == http::StatusCode::OK => {
                    dendrite_http::echoed::elide(bytes, sent)
                }
                _ => None,
            };
            match body.read_declared(limit, buffers, elide).await {
                Some(whole) => whole
                    .map(|(body, elided)| Received::Whole(body, elided))
                    .map_err(chunk_failure),
                None => read_whole(body, content_length(&parts.headers), limit, buffers)
                    .await
                    .map(|body| Received::Whole(body, None))
                    .map_err(|e| body_failure(e, limit)),
            }
        }
    }
}

/// Whether an answer is a `text/event-stream`.
fn is_event_stream(parts: &http::response::Parts) -> bool {
    parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("text/event-stream")
        })
}

/// Feeds each data frame of `body` to the event parser as it arrives; over `limit` bytes is
/// the client's error.
async fn parse_events(
    body: &mut Http1Body,
    sink: &std::sync::Mutex<EventSink>,
    limit: usize,
) -> Result<(), DendriteFailure> {
    let mut received = 0usize;
    while let Some(data) = bounded_chunk(body, &mut received, limit).await? {
        let (fresh, live) = {
            let mut sink = sink.lock().unwrap_or_else(|e| e.into_inner());
            let range = sink.push(&data);
            let fresh: Vec<SseEvent> = match &sink.live {
                Some(_) => sink.events[range].to_vec(),
                None => Vec::new(),
            };
            (fresh, sink.live.clone())
        };
        if let Some((index, live)) = live {
            for event in fresh {
                // A consumer that went away stops nothing: the events are kept for the answer.
                let _ = live.send((index, event)).await;
            }
        }
    }
    Ok(())
}

/// What an answer's body gave.
pub(super) enum Received {
    /// A stream, handed on chunk by chunk.
    Streamed,
    /// The whole body, and where a sent string was elided from it (`Reading::WholeEliding`).
    Whole(Bytes, Option<Elided>),
}

/// A connection that could not be had, as 10.5.0 reports it: refused 503, slow 408.
fn checkout_failure(addr: SocketAddr, error: CheckoutError) -> DendriteFailure {
    match error {
        CheckoutError::Connect(e) => {
            tracing::debug!("connect to {addr}: {e}");
            DendriteFailure::Unavailable
        }
        CheckoutError::ConnectTimeout => DendriteFailure::Timeout,
        CheckoutError::Closed => DendriteFailure::Client("client closed".into()),
    }
}

/// Sends each data frame of `body` on as it arrives; the bytes received. Over `limit` is the
/// client's error; a consumer that went away ends the call as cancelled.
async fn forward_chunks(
    body: &mut Http1Body,
    chunks: &tokio::sync::mpsc::Sender<Bytes>,
    limit: usize,
) -> Result<usize, DendriteFailure> {
    let mut received = 0usize;
    while let Some(data) = bounded_chunk(body, &mut received, limit).await? {
        if chunks.send(data).await.is_err() {
            return Err(DendriteFailure::Client(
                "the stream's reader went away".into(),
            ));
        }
    }
    Ok(received)
}

/// The body's next data frame, its bytes added to `received`; past `limit` the client's error,
/// a broken body the answer's.
async fn bounded_chunk(
    body: &mut Http1Body,
    received: &mut usize,
    limit: usize,
) -> Result<Option<Bytes>, DendriteFailure> {
    let Some(data) = body.chunk().await else {
        return Ok(None);
    };
    let data = data.map_err(chunk_failure)?;
    *received += data.len();
    if *received > limit {
        return Err(body_failure(BodyError::TooLarge, limit));
    }
    Ok(Some(data))
}

/// The length an answer's head declares (`Content-Length`), if it declares one.
fn content_length(headers: &http::HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// A failed exchange as 10.5.0 reports it: the connection closed, cut or reset before an
/// answer is "Service disconnected"; anything else the client's own error.
fn transport_failure(error: &Http1BodyError) -> DendriteFailure {
    let Http1BodyError::Transport(error) = error else {
        return DendriteFailure::Client(error.to_string());
    };
    if error.is_disconnect() {
        DendriteFailure::Disconnected
    } else {
        DendriteFailure::Client(error.to_string())
    }
}

/// A body that could not be read whole: over the bound or the call's budget (the client's
/// error), or cut short.
fn body_failure(error: BodyError<Http1BodyError>, limit: usize) -> DendriteFailure {
    match error {
        BodyError::TooLarge => {
            DendriteFailure::Client(format!("the answer is larger than {limit} bytes"))
        }
        BodyError::Transport(e) => chunk_failure(e),
    }
}

/// A chunk that did not come: the call's budget spent (the client's error), or the answer cut.
fn chunk_failure(error: Http1BodyError) -> DendriteFailure {
    match error {
        Http1BodyError::OverBudget(_) => DendriteFailure::Client(error.to_string()),
        Http1BodyError::Transport(e) => DendriteFailure::Payload(e.to_string()),
    }
}
