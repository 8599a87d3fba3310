//! A 10.x synapse call: one request per axon over the HTTP/1.1 pool, on the same fan-out,
//! deadline, quorum, backoff, retries, in-flight slots, phases and observer as the 3.x calls.
//!
//! Each axon's pipeline: address → backoff → in-flight slot → connection (per-endpoint and
//! total caps) → render and sign (the signature covers the body hash, so nothing is signed
//! ahead) → send → head → body (bounded) → [`dendrite_http::read_answer`]. Everything from the
//! slot on is under the call's one deadline; what the deadline cuts is 10.5.0's 408.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use dendrite_http::{
    read_answer, read_stream_head, AxonTarget, CallSite, DendriteFailure, SynapseAnswer,
    SynapseCall, SynapseRequest, TerminalInfo,
};
use dendrite_keys::SigningScheme;

use super::gather::{fan_out, Unfinished};
use super::policy::{backoff_message, Attempted, NoSlot};
use super::{Client, Inner};
use crate::http1::CheckoutError;
use crate::observer::Direction;
use crate::outcome::{Outcome, WireOutcome};
use crate::phases::{Phases, Probe};
use crate::transport::{read_whole, AnswerBody, BodyError, Exchange};

/// One axon's result of a synapse call: the synapse's state after it, as 10.5.0 leaves it,
/// and what the call cost.
#[derive(Clone, Debug)]
pub struct SynapseOutcome {
    /// The terminal infos (the call's status is `answer.dendrite.status_code`) and, on 200,
    /// the synapse the axon returned.
    pub answer: SynapseAnswer,
    /// The answer's raw body (empty when none arrived), for callers that validate it
    /// themselves (Python's synapse classes).
    pub body: Bytes,
    /// From the call's start until this axon's result was known.
    pub elapsed: Duration,
    /// Request bytes (head and body) handed to the transport (0 when nothing was sent).
    pub bytes_sent: usize,
    /// Answer body bytes received.
    pub bytes_received: usize,
    /// Where the time went.
    pub phases: Phases,
    /// The answer's HTTP status (0 when none arrived).
    pub http_status: u16,
}

impl SynapseOutcome {
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
}

impl WireOutcome for SynapseOutcome {
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

/// What every axon task of one synapse call shares.
struct SynapseContext {
    synapse: SynapseCall,
    start: Instant,
    deadline: Instant,
}

impl Client {
    /// Sends `synapse` to every axon at once, as 10.5.0's `Dendrite.forward` does, and returns
    /// one outcome per axon in order. The call ends by the synapse's timeout from now, whatever
    /// the axons do; the dendrite's own failures are 10.5.0's status codes and messages (408
    /// deadline, 503 refused or dropped, 400/500/422); the axons' statuses pass through.
    pub async fn call_synapse(
        &self,
        axons: &[AxonTarget],
        synapse: &SynapseCall,
    ) -> Vec<SynapseOutcome> {
        let start = Instant::now();
        let timeout = Duration::from_secs_f64(synapse.timeout().min(1e9));
        let call = Arc::new(SynapseContext {
            synapse: synapse.clone(),
            start,
            deadline: start + timeout,
        });
        let one = |index: usize| {
            let (inner, call, axon) = (self.inner.clone(), call.clone(), axons[index].clone());
            async move { inner.synapse_one(&axon, &call, &Reading::Whole).await }
        };
        let fallback = |index: usize, why: &Unfinished| {
            let failure = match why {
                Unfinished::CutByQuorum(message) => DendriteFailure::Cut(message.clone()),
                Unfinished::TaskDied => DendriteFailure::Client("endpoint task failed".into()),
            };
            let (dendrite, axon) = self.inner.terminal_infos(&axons[index]);
            failed(
                &call,
                dendrite,
                axon,
                &axons[index],
                &failure,
                Phases::default(),
            )
        };
        let results = fan_out(axons.len(), self.inner.config.quorum, one, fallback).await;
        self.inner
            .report_synapse(Direction::Forward, axons, synapse, &results, start);
        results
    }
}

impl Client {
    /// Sends `synapse` to one axon and streams its answer (10.5.0's `call_stream`): a 200
    /// `text/event-stream` answer's body chunks as they arrive ([`SynapseStream::next_chunk`]),
    /// then the synapse's state from the answer's head ([`SynapseStream::outcome`]); any other
    /// answer is read whole, as [`Client::call_synapse`] reads it. The same policies and the
    /// same deadline (the whole stream ends by the synapse's timeout). Dropping the stream
    /// cancels the call. Must be called within a tokio runtime.
    pub fn call_synapse_stream(&self, axon: &AxonTarget, synapse: &SynapseCall) -> SynapseStream {
        let start = Instant::now();
        let timeout = Duration::from_secs_f64(synapse.timeout().min(1e9));
        let call = SynapseContext {
            synapse: synapse.clone(),
            start,
            deadline: start + timeout,
        };
        let (sender, chunks) = tokio::sync::mpsc::channel(STREAM_CHUNKS_AHEAD);
        let (inner, axon) = (self.inner.clone(), axon.clone());
        let task = tokio::spawn(async move {
            let outcome = inner
                .synapse_one(&axon, &call, &Reading::Stream(sender))
                .await;
            let results = std::slice::from_ref(&outcome);
            inner.report_synapse(
                Direction::Forward,
                std::slice::from_ref(&axon),
                &call.synapse,
                results,
                start,
            );
            outcome
        });
        SynapseStream {
            chunks,
            task: Some(task),
        }
    }
}

/// Chunks a stream reads ahead of its consumer before it waits for it.
const STREAM_CHUNKS_AHEAD: usize = 16;

/// How an attempt reads a 200 answer's body.
enum Reading {
    /// Whole, as the synapse's JSON.
    Whole,
    /// Chunk by chunk, each sent on as it arrives (a streaming synapse).
    Stream(tokio::sync::mpsc::Sender<Bytes>),
}

/// One axon's streamed answer: its chunks, then its outcome.
#[derive(Debug)]
pub struct SynapseStream {
    chunks: tokio::sync::mpsc::Receiver<Bytes>,
    task: Option<tokio::task::JoinHandle<SynapseOutcome>>,
}

impl SynapseStream {
    /// The next chunk of a streamed answer; `None` once the stream ended (or never began:
    /// the outcome says why).
    pub async fn next_chunk(&mut self) -> Option<Bytes> {
        self.chunks.recv().await
    }

    /// The synapse's state once the call ended; chunks not read yet are read and dropped (the
    /// deadline bounds the wait).
    pub async fn outcome(mut self) -> SynapseOutcome {
        while self.chunks.recv().await.is_some() {}
        let joined = match self.task.take() {
            Some(task) => task.await.map_err(|e| e.to_string()),
            None => Err("the outcome was taken".to_owned()),
        };
        joined.unwrap_or_else(|why| {
            tracing::error!("a synapse stream's task failed: {why}");
            let failure = DendriteFailure::Client("endpoint task failed".into());
            let site = CallSite {
                ip: "",
                port: 0,
                name: "",
                timeout: 0.0,
            };
            SynapseOutcome {
                answer: SynapseAnswer::failed(
                    TerminalInfo::default(),
                    TerminalInfo::default(),
                    &failure,
                    site,
                ),
                body: Bytes::new(),
                elapsed: Duration::ZERO,
                bytes_sent: 0,
                bytes_received: 0,
                phases: Phases::default(),
                http_status: 0,
            }
        })
    }
}

impl Drop for SynapseStream {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

impl Inner {
    async fn synapse_one(
        &self,
        axon: &AxonTarget,
        call: &SynapseContext,
        reading: &Reading,
    ) -> SynapseOutcome {
        let sent = self.terminal_infos(axon);
        let mut phases = Phases::default();
        let fail = |failure: DendriteFailure, phases: Phases| {
            failed(call, sent.0.clone(), sent.1.clone(), axon, &failure, phases)
        };
        let addr = match self.connect_addr(axon) {
            Ok(addr) => addr,
            Err(failure) => return fail(failure, phases),
        };
        if let Some(skip) = self.backoff_skip(&axon.hotkey, addr) {
            return fail(DendriteFailure::Unavailable, phases).with_message(backoff_message(&skip));
        }
        let mut retries = 0u32;
        let attempt = || async {
            let mut attempt_phases = Phases::default();
            let tried = tokio::time::timeout_at(
                call.deadline.into(),
                self.synapse_attempt(axon, addr, &sent, call, reading, &mut attempt_phases),
            )
            .await
            .unwrap_or(Err(DendriteFailure::Timeout));
            Ok((tried, attempt_phases))
        };
        let no_slot = |why: NoSlot| match why {
            NoSlot::Deadline => DendriteFailure::Timeout,
            NoSlot::Closed => DendriteFailure::Client("client closed".into()),
        };
        let tried = self
            .attempts(
                call.start,
                call.deadline,
                &mut phases,
                &mut retries,
                no_slot,
                attempt,
            )
            .await;
        let outcome = match tried {
            Attempted::Done(outcome) => outcome,
            Attempted::NotSent(failure) => return fail(failure, phases),
        };
        let outcome = match outcome {
            Ok(outcome) => SynapseOutcome { phases, ..outcome },
            Err(failure) => fail(failure, phases),
        };
        self.backoff_record(&axon.hotkey, addr, outcome.success());
        outcome
    }

    /// One try: a connection, the signed request, the whole answer, read into the synapse
    /// that was `sent` (its terminal infos).
    async fn synapse_attempt(
        &self,
        axon: &AxonTarget,
        addr: SocketAddr,
        sent: &(TerminalInfo, TerminalInfo),
        call: &SynapseContext,
        reading: &Reading,
        phases: &mut Phases,
    ) -> Result<SynapseOutcome, DendriteFailure> {
        let http = &self.http;
        let (mut checkout, queue) = http
            .pool
            .checkout(addr)
            .await
            .map_err(|e| checkout_failure(addr, e))?;
        phases.queue += queue;
        phases.connect += checkout.connect;
        phases.rpc_attempted = true;
        phases.reused_connection = checkout.reused;
        let signing = Instant::now();
        let signed = self.signed_request(&checkout.connection.uuid, axon, addr, call);
        phases.sign += signing.elapsed();
        let (head, body, bytes_sent) = signed?;
        let waiting = Instant::now();
        let probe = Probe::new(waiting);
        let response = checkout.connection.exchange(head, body, &probe).await;
        // hyper writes the request on the connection's task: waiting runs from the hand-over
        // to the answer's head.
        let (_, headers, _) = probe.marks();
        let receiving = headers.unwrap_or_else(Instant::now);
        phases.wait += receiving.saturating_duration_since(waiting);
        let (parts, mut body) = match response {
            Ok(response) => response.into_parts(),
            Err(e) => {
                http.pool.discard(checkout);
                return Err(transport_failure(&e));
            }
        };
        let received = match self.read_body(&parts, &mut body, reading).await {
            Ok(received) => received,
            Err(failure) => {
                http.pool.discard(checkout);
                return Err(failure);
            }
        };
        phases.receive += receiving.elapsed();
        http.pool.release(checkout);
        let decoding = Instant::now();
        let status = parts.status.as_u16();
        let headers = parts
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_bytes()));
        let (mut answer, body, bytes_received) = match received {
            Received::Streamed(bytes) => {
                let answer = read_stream_head(status, headers, &sent.0, &sent.1)?;
                (answer, Bytes::new(), bytes)
            }
            Received::Whole(body) => {
                let answer = read_answer(status, headers, &body, &sent.0, &sent.1)?;
                phases.decode += decoding.elapsed();
                let len = body.len();
                (answer, body, len)
            }
        };
        let elapsed = call.start.elapsed();
        answer.dendrite.process_time = Some(elapsed.as_secs_f64());
        Ok(SynapseOutcome {
            answer,
            http_status: status,
            body,
            elapsed,
            bytes_sent,
            bytes_received,
            phases: *phases,
        })
    }

    /// The request to `axon` on a connection of `uuid`, rendered and signed (both 10.x schemes
    /// cover the body, so it is signed now that it exists), and the bytes it takes.
    fn signed_request(
        &self,
        uuid: &str,
        axon: &AxonTarget,
        addr: SocketAddr,
        call: &SynapseContext,
    ) -> Result<(http::Request<()>, Bytes, usize), DendriteFailure> {
        const _: () = assert!(SigningScheme::Synapse10.covers_body());
        const _: () = assert!(SigningScheme::BtAuth1.covers_body());
        let http = &self.http;
        let rendered = http
            .dendrite
            .render_as(uuid, &call.synapse, axon, http.next_nonce());
        let btauth = self.config.http.btauth.then(|| {
            dendrite_http::btauth::sign(
                http.dendrite.key(),
                "POST",
                &rendered.path,
                rendered.body.as_bytes(),
                Some(&axon.hotkey),
                http.next_nonce(),
            )
        });
        let bytes_sent = rendered.body.len()
            + rendered
                .headers
                .iter()
                .map(|(k, v)| k.len() + v.len() + 4)
                .sum::<usize>();
        let (head, body) = http_request(rendered, addr, btauth.as_deref().unwrap_or_default())
            .map_err(DendriteFailure::Client)?;
        Ok((head, body, bytes_sent))
    }

    /// The answer's body: a 200 stream's chunks handed on as they arrive (when streaming),
    /// anything else read whole under the bound.
    async fn read_body(
        &self,
        parts: &http::response::Parts,
        body: &mut crate::http1::Http1Body,
        reading: &Reading,
    ) -> Result<Received, DendriteFailure> {
        let limit = self.config.http.max_response_bytes;
        if let (Reading::Stream(chunks), 200) = (reading, parts.status.as_u16()) {
            return forward_chunks(body, chunks, limit)
                .await
                .map(Received::Streamed);
        }
        read_whole(body, content_length(&parts.headers), limit)
            .await
            .map(Received::Whole)
            .map_err(|e| body_failure(e, limit))
    }

    /// The terminal infos a request to `axon` carries, as the answer starts from them (nonce
    /// and signature are the response's to fill back in).
    fn terminal_infos(&self, axon: &AxonTarget) -> (TerminalInfo, TerminalInfo) {
        let dendrite = &self.http.dendrite;
        (
            TerminalInfo {
                ip: Some(dendrite.external_ip().to_owned()),
                version: Some(dendrite_http::VERSION_AS_INT),
                uuid: Some(dendrite.uuid().to_owned()),
                hotkey: Some(dendrite.key().ss58_address().to_owned()),
                ..TerminalInfo::default()
            },
            TerminalInfo {
                ip: Some(axon.ip.clone()),
                port: Some(i64::from(axon.port)),
                hotkey: Some(axon.hotkey.clone()),
                ..TerminalInfo::default()
            },
        )
    }

    /// Where to connect: the axon's address, or loopback when it is our own external IP (10.5.0
    /// calls `0.0.0.0` then).
    fn connect_addr(&self, axon: &AxonTarget) -> Result<SocketAddr, DendriteFailure> {
        let ip = if axon.ip == self.config.http.external_ip {
            "127.0.0.1"
        } else {
            axon.ip.as_str()
        };
        (ip, axon.port)
            .to_socket_addrs()
            .ok()
            .and_then(|mut addrs| addrs.next())
            .filter(|addr| addr.port() != 0)
            .ok_or_else(|| {
                DendriteFailure::Client(format!("invalid axon address {}:{}", axon.ip, axon.port))
            })
    }
}

/// What an answer's body gave.
enum Received {
    /// A stream's bytes, handed on chunk by chunk.
    Streamed(usize),
    /// The whole body.
    Whole(Bytes),
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
async fn forward_chunks<B: AnswerBody>(
    body: &mut B,
    chunks: &tokio::sync::mpsc::Sender<Bytes>,
    limit: usize,
) -> Result<usize, DendriteFailure>
where
    B::Error: std::fmt::Display,
{
    let mut received = 0usize;
    while let Some(data) = body.chunk().await {
        let data = data.map_err(|e| DendriteFailure::Payload(e.to_string()))?;
        received += data.len();
        if received > limit {
            return Err(body_failure(BodyError::<B::Error>::TooLarge, limit));
        }
        if chunks.send(data).await.is_err() {
            return Err(DendriteFailure::Client(
                "the stream's reader went away".into(),
            ));
        }
    }
    Ok(received)
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

/// The synapse after a failure of the dendrite's own.
fn failed(
    call: &SynapseContext,
    dendrite: TerminalInfo,
    axon_info: TerminalInfo,
    axon: &AxonTarget,
    failure: &DendriteFailure,
    phases: Phases,
) -> SynapseOutcome {
    let site = CallSite {
        ip: &axon.ip,
        port: axon.port,
        name: call.synapse.name(),
        timeout: call.synapse.timeout(),
    };
    SynapseOutcome {
        answer: SynapseAnswer::failed(dendrite, axon_info, failure, site),
        body: Bytes::new(),
        elapsed: call.start.elapsed(),
        bytes_sent: 0,
        bytes_received: 0,
        phases,
        http_status: 0,
    }
}

impl SynapseOutcome {
    fn with_message(mut self, message: String) -> Self {
        self.answer.dendrite.status_message = Some(message);
        self
    }
}

/// The request as hyper sends it: `Host` first, bittensor's headers in order, the btauth/1
/// headers when asked, then the body's length and type. Fixed names are static (no parse, no
/// allocation) and values take their strings' buffers (no copy).
fn http_request(
    rendered: SynapseRequest,
    addr: SocketAddr,
    btauth: &[(&'static str, String)],
) -> Result<(http::Request<()>, Bytes), String> {
    use http::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, HOST};
    let invalid = |e: &dyn std::fmt::Display| format!("the request cannot be sent: {e}");
    let value = |text: String| HeaderValue::from_maybe_shared(Bytes::from(text));
    let name = |key: dendrite_http::HeaderKey| match key {
        // dendrite-http's own constants (`bt_header_*`, `name`, `timeout`, ...), all valid
        // lowercase names: `from_static` checks them without allocating.
        std::borrow::Cow::Borrowed(name) => Ok(HeaderName::from_static(name)),
        std::borrow::Cow::Owned(name) => HeaderName::from_bytes(name.as_bytes()),
    };
    let mut headers = HeaderMap::with_capacity(rendered.headers.len() + btauth.len() + 3);
    headers.insert(HOST, value(addr.to_string()).map_err(|e| invalid(&e))?);
    for (key, text) in rendered.headers {
        let name = name(key).map_err(|e| invalid(&e))?;
        headers.append(name, value(text).map_err(|e| invalid(&e))?);
    }
    for (key, text) in btauth {
        let name = HeaderName::from_bytes(key.as_bytes()).map_err(|e| invalid(&e))?;
        headers.append(name, HeaderValue::from_str(text).map_err(|e| invalid(&e))?);
    }
    headers.insert(CONTENT_LENGTH, HeaderValue::from(rendered.body.len()));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let path = http::uri::PathAndQuery::from_maybe_shared(Bytes::from(rendered.path))
        .map_err(|e| invalid(&e))?;
    let mut request = http::Request::new(());
    *request.method_mut() = http::Method::POST;
    *request.uri_mut() = http::Uri::from(path);
    *request.headers_mut() = headers;
    Ok((request, Bytes::from(rendered.body)))
}

/// A failed exchange as 10.5.0 reports it: the connection closed before an answer is
/// "Service disconnected"; anything else the client's own error.
fn transport_failure(error: &hyper::Error) -> DendriteFailure {
    if error.is_incomplete_message() || error.is_closed() || error.is_canceled() {
        DendriteFailure::Disconnected
    } else {
        DendriteFailure::Client(error.to_string())
    }
}

/// A body that could not be read whole: over the bound (the client's error), or cut short.
fn body_failure<E: std::fmt::Display>(error: BodyError<E>, limit: usize) -> DendriteFailure {
    match error {
        BodyError::TooLarge => {
            DendriteFailure::Client(format!("the answer is larger than {limit} bytes"))
        }
        BodyError::Transport(e) => DendriteFailure::Payload(e.to_string()),
    }
}

/// The HTTP wire's part of a client: its identity, its nonces and its connections.
#[derive(Debug)]
pub(super) struct HttpSide {
    pub dendrite: dendrite_http::Dendrite,
    pub pool: crate::http1::Http1Pool,
    last_nonce: std::sync::atomic::AtomicU64,
}

impl HttpSide {
    pub(super) fn new(key: crate::Keypair, config: &crate::config::HttpConfig) -> Self {
        HttpSide {
            dendrite: dendrite_http::Dendrite::new(key, &config.external_ip),
            pool: crate::http1::Http1Pool::new(crate::http1::Http1Settings {
                max_connections: config.max_connections,
                per_endpoint: config.connections_per_endpoint,
                idle_timeout: config.idle_timeout,
                connect_timeout: config.connect_timeout,
            }),
            last_nonce: Default::default(),
        }
    }

    /// `time.time_ns()`, made strictly increasing across this client's requests: 10.5.0 axons
    /// refuse a nonce not above the last one they accepted from this hotkey and uuid.
    fn next_nonce(&self) -> i128 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let mut last = self.last_nonce.load(Ordering::Relaxed);
        loop {
            let next = now.max(last + 1);
            match self.last_nonce.compare_exchange_weak(
                last,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return i128::from(next),
                Err(seen) => last = seen,
            }
        }
    }
}
