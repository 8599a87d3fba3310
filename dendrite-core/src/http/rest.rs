//! A signed REST request to many axons: any method, path (with its query), headers and body,
//! as bittensor 11's subnets send them, signed with btauth/1, Epistula v2 or not at all, on the
//! same pool, fan-out, deadline and policies as the synapse calls. Per axon: the status, the
//! headers, the body (or a `text/event-stream` answer's events, parsed as they arrive, and when
//! the first came), phases, the neutral outcome, and whether the answer carried a valid
//! Epistula signature from that axon for us.
//!
//! Each axon's pipeline: address → backoff → in-flight slot → the exchange on a pooled
//! connection ([`super::exchange`]) → the answer's signature read. Neither scheme names the
//! connection, so a call's signatures are made as its fan-out spawns its tasks, 8 together
//! (`Keypair::sign_many`, one shared inversion), the body hashed once per call; an attempt that
//! sent nothing is retried with the same signature (the axon never saw it). The answers'
//! Epistula signatures are checked together once the fan-out is done (one batch, each axon's
//! key kept: `answer_keys`), unless the request requires signed answers: then each answer's
//! signature decides its outcome, so it is checked as it comes, before the quorum counts it.
//!
//! **Invariants:** everything from the slot on is under the call's one deadline; an answer's
//! body, or the bytes of its stream, are at most the request's `max_answer_bytes`; a peer's
//! status or bytes only ever make that axon's result.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use dendrite_http::epistula::AnswerClaim;
use dendrite_http::sse::SseEvent;
use dendrite_http::{btauth, epistula, AxonTarget, CallSite, DendriteFailure};

use super::budget::ByteBudget;
use super::exchange::{EventSink, Reading, Received};
use super::Http;
use crate::neutral::observer::{http_status_name, CallKind, CallView, EndpointReport};
use crate::neutral::outcome::{Outcome, WireOutcome};
use crate::neutral::phases::Phases;
use crate::neutral::policy::{backoff_message, Attempted, CallClock};
use crate::neutral::transport::{one_part, RequestBody};

/// How a request is signed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum AuthScheme {
    /// Not at all.
    #[default]
    None,
    /// bittensor 11's `http_auth` (btauth/1, `X-Bittensor-*`), bound to the axon's hotkey.
    BtAuth,
    /// Epistula v2 (`Epistula-*`), signed for the axon's hotkey.
    Epistula,
}

impl AuthScheme {
    /// Every scheme.
    pub const ALL: [AuthScheme; 3] = [AuthScheme::None, AuthScheme::BtAuth, AuthScheme::Epistula];

    /// `"none"`, `"btauth"` or `"epistula"`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthScheme::None => "none",
            AuthScheme::BtAuth => "btauth",
            AuthScheme::Epistula => "epistula",
        }
    }
}

impl std::str::FromStr for AuthScheme {
    type Err = String;

    /// The scheme named `name` ([`AuthScheme::as_str`]).
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        AuthScheme::ALL
            .into_iter()
            .find(|s| s.as_str() == name)
            .ok_or_else(|| format!("{name:?} is none of none, btauth, epistula"))
    }
}

/// One request, sent to every axon of a call.
#[derive(Clone, Debug)]
pub struct RestRequest {
    /// The method.
    pub method: http::Method,
    /// The path with its query (`/v1/chat/completions`, `/score?n=3`).
    pub path: String,
    /// Headers sent besides `Host`, `Content-Length` and the scheme's.
    pub headers: Vec<(String, String)>,
    /// The body (empty for none).
    pub body: Bytes,
    /// How it is signed.
    pub auth: AuthScheme,
    /// The call ends this long after it starts, whatever the axons do.
    pub timeout: Duration,
    /// The most bytes one answer's body (or stream) may have.
    pub max_answer_bytes: usize,
    /// Read a 2xx `text/event-stream` answer as events, as they arrive.
    pub events: bool,
    /// An answer without a valid Epistula signature from its axon is a failure.
    pub require_signed_answers: bool,
}

impl RestRequest {
    /// Whether `path` can be a request's path (with its query): it starts with `/`. The one
    /// rule for every front end; one that is no valid URI otherwise fails each axon's request
    /// as the client's error.
    pub fn check_path(path: &str) -> Result<(), String> {
        if path.starts_with('/') {
            Ok(())
        } else {
            Err(format!("a request's path starts with '/', not {path:?}"))
        }
    }

    /// A request of `method` to `path` with no body, unsigned, 12 s, answers up to 64 MiB.
    pub fn new(method: http::Method, path: impl Into<String>) -> Self {
        RestRequest {
            method,
            path: path.into(),
            headers: Vec::new(),
            body: Bytes::new(),
            auth: AuthScheme::None,
            timeout: Duration::from_secs(12),
            max_answer_bytes: 64 << 20,
            events: false,
            require_signed_answers: false,
        }
    }
}

/// One axon's answer to a [`RestRequest`].
#[derive(Clone, Debug, Default)]
pub struct RestAnswer {
    /// The answer's HTTP status (0 when none arrived).
    pub status: u16,
    /// Its headers, names in lower case, in order.
    pub headers: Vec<(String, String)>,
    /// Its body (empty when it was read as events, or none arrived).
    pub body: Bytes,
    /// A streamed answer's events, in order.
    pub events: Vec<SseEvent>,
    /// From the call's start until the first event was complete.
    pub first_event: Option<Duration>,
    /// The dendrite's own failure, when the call ended without an answer read whole.
    pub failure: Option<DendriteFailure>,
    /// What went wrong, in words (empty on success).
    pub message: String,
    /// From the call's start until this axon's result was known.
    pub elapsed: Duration,
    /// Request bytes the connection wrote (0 when nothing was sent).
    pub bytes_sent: usize,
    /// Answer bytes the connection read.
    pub bytes_received: usize,
    /// Where the time went.
    pub phases: Phases,
    /// Whether the answer carried Epistula headers that verify (signed by this axon's hotkey,
    /// for us, over the body received); `None` when it carried none.
    pub answer_signed: Option<bool>,
    /// Whether the request asked for signed answers.
    pub required_signed: bool,
}

impl RestAnswer {
    /// The status a caller reads: the answer's, else the dendrite's own (10.5.0's codes: 408
    /// the deadline, 503 unavailable, 500 ours, 400 a broken body).
    pub fn status_code(&self) -> u16 {
        match &self.failure {
            Some(failure) if self.status == 0 => {
                u16::try_from(failure.status_code()).unwrap_or(500)
            }
            _ => self.status,
        }
    }

    fn failed(
        failure: DendriteFailure,
        message: String,
        elapsed: Duration,
        phases: Phases,
    ) -> Self {
        RestAnswer {
            failure: Some(failure),
            message,
            elapsed,
            phases,
            ..RestAnswer::default()
        }
    }
}

impl WireOutcome for RestAnswer {
    /// The dendrite's failure's class; else by the axon's status: 2xx success (unless signed
    /// answers were required and this one is not), 401 and 403 a refusal, 408 and 504 its
    /// timeout, anything else its error.
    fn outcome(&self) -> Outcome {
        if let Some(failure) = &self.failure {
            return failure.outcome();
        }
        match self.status {
            200..=299 if self.required_signed && self.answer_signed != Some(true) => {
                Outcome::PeerError
            }
            200..=299 => Outcome::Success,
            401 | 403 => Outcome::Refused,
            408 | 504 => Outcome::Timeout,
            _ => Outcome::PeerError,
        }
    }
}

/// What every axon task of one request call shares.
struct RestContext {
    request: RestRequest,
    clock: CallClock,
    /// Where events go as they arrive (a live stream's consumer), if anywhere.
    live: Option<tokio::sync::mpsc::Sender<(usize, SseEvent)>>,
    /// The signed answers' claims left to check after the fan-out, by axon index (each pushed
    /// as its task returns the answer, with no await between).
    claims: std::sync::Mutex<Vec<(usize, AnswerClaim)>>,
    /// The answer bytes all the call's axons may still bring.
    budget: Arc<ByteBudget>,
}

/// Events read ahead of a live stream's consumer before the readers wait for it.
const LIVE_EVENTS_AHEAD: usize = 64;

/// A call's events as they arrive across all its axons ([`RestStream::next_event`]), then each
/// axon's answer ([`RestStream::answers`]). Dropping it cancels the call.
#[derive(Debug)]
pub struct RestStream {
    events: tokio::sync::mpsc::Receiver<(usize, SseEvent)>,
    task: Option<tokio::task::JoinHandle<Vec<RestAnswer>>>,
}

impl RestStream {
    /// The next event of any axon, with that axon's index in the call; `None` once every
    /// stream ended (or the deadline passed).
    pub async fn next_event(&mut self) -> Option<(usize, SseEvent)> {
        self.events.recv().await
    }

    /// Every axon's answer once the call ended (events not read yet are read and dropped; the
    /// deadline bounds the wait). A task that died gives no answers.
    pub async fn answers(mut self) -> Vec<RestAnswer> {
        while self.events.recv().await.is_some() {}
        match self.task.take() {
            Some(task) => task.await.unwrap_or_else(|e| {
                tracing::error!("a request stream's task failed: {e}");
                Vec::new()
            }),
            None => Vec::new(),
        }
    }
}

impl Drop for RestStream {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// The scheme's headers for each axon of a call, signed 8 at a time as they are taken in order.
struct CallSigner<'a> {
    http: &'a Http,
    request: &'a RestRequest,
    axons: &'a [AxonTarget],
    body_sha256: String,
    batch_start: usize,
    batch: Vec<Vec<(&'static str, String)>>,
}

/// Axons signed together.
const SIGN_BATCH: usize = 8;

impl<'a> CallSigner<'a> {
    fn new(http: &'a Http, request: &'a RestRequest, axons: &'a [AxonTarget]) -> Self {
        let body_sha256 = match request.auth {
            AuthScheme::None => String::new(),
            _ => epistula::body_sha256(&request.body),
        };
        CallSigner {
            http,
            request,
            axons,
            body_sha256,
            batch_start: 0,
            batch: Vec::new(),
        }
    }

    /// Axon `index`'s headers, signing the batch that starts there when it is not in the
    /// current one.
    fn take(&mut self, index: usize) -> Vec<(&'static str, String)> {
        if self.request.auth == AuthScheme::None {
            return Vec::new();
        }
        if !(self.batch_start..self.batch_start + self.batch.len()).contains(&index) {
            self.sign_from(index);
        }
        std::mem::take(&mut self.batch[index - self.batch_start])
    }

    fn sign_from(&mut self, start: usize) {
        let end = (start + SIGN_BATCH).min(self.axons.len());
        let key = self.http.core.key();
        let pending: Vec<Pending> = self.axons[start..end]
            .iter()
            .map(|axon| self.pending(&axon.hotkey))
            .collect();
        let messages: Vec<&[u8]> = pending.iter().map(|p| p.message.as_slice()).collect();
        let signatures = key.sign_many(&messages);
        self.batch_start = start;
        self.batch = pending
            .iter()
            .zip(&signatures)
            .map(|(p, signature)| match &p.scheme {
                Signing::Epistula { uuid, now_ms } => {
                    epistula::headers(key, uuid, *now_ms, Some(&p.receiver), signature)
                }
                Signing::BtAuth { nonce } => {
                    btauth::headers(key, *nonce, Some(&p.receiver), signature)
                }
            })
            .collect();
    }

    /// What one axon's signature will cover, and what its headers name besides it.
    fn pending(&self, receiver: &str) -> Pending {
        let key = self.http.core.key();
        match self.request.auth {
            AuthScheme::Epistula => {
                let uuid = uuid::Uuid::new_v4().to_string();
                let now_ms = dendrite_keys::nonce::now_ns() / 1_000_000;
                let text =
                    epistula::signed_text_of_hash(&self.body_sha256, &uuid, now_ms, Some(receiver));
                Pending {
                    message: text.into_bytes(),
                    receiver: receiver.to_owned(),
                    scheme: Signing::Epistula { uuid, now_ms },
                }
            }
            _ => {
                let nonce = i128::from(self.http.nonces.next());
                let message = btauth::payload_of_hash(
                    self.request.method.as_str(),
                    &self.request.path,
                    &self.body_sha256,
                    nonce,
                    key.ss58_address(),
                    Some(receiver),
                );
                Pending {
                    message,
                    receiver: receiver.to_owned(),
                    scheme: Signing::BtAuth { nonce },
                }
            }
        }
    }
}

/// One axon's request before its signature: the signed bytes and what the headers name.
struct Pending {
    message: Vec<u8>,
    receiver: String,
    scheme: Signing,
}

/// The per-request values a scheme's headers carry beside the signature.
enum Signing {
    /// Epistula v2: the request's uuid and timestamp.
    Epistula { uuid: String, now_ms: u64 },
    /// btauth/1: the nonce.
    BtAuth { nonce: i128 },
}

impl Http {
    /// Sends `request` to every axon at once; one answer per axon, in order.
    pub(crate) async fn request(
        self: &Arc<Self>,
        axons: &[AxonTarget],
        request: &RestRequest,
    ) -> Vec<RestAnswer> {
        self.request_with(axons, request, None).await
    }

    /// [`Http::request`] with its events handed on as they arrive; must be called within a
    /// tokio runtime.
    pub(crate) fn request_stream(
        self: &Arc<Self>,
        axons: &[AxonTarget],
        request: &RestRequest,
    ) -> RestStream {
        let (sender, events) = tokio::sync::mpsc::channel(LIVE_EVENTS_AHEAD);
        let request = RestRequest {
            events: true,
            ..request.clone()
        };
        let (http, axons) = (self.clone(), axons.to_vec());
        let task =
            tokio::spawn(async move { http.request_with(&axons, &request, Some(sender)).await });
        RestStream {
            events,
            task: Some(task),
        }
    }

    async fn request_with(
        self: &Arc<Self>,
        axons: &[AxonTarget],
        request: &RestRequest,
        live: Option<tokio::sync::mpsc::Sender<(usize, SseEvent)>>,
    ) -> Vec<RestAnswer> {
        let call = Arc::new(RestContext {
            request: request.clone(),
            clock: CallClock::start(request.timeout),
            live,
            claims: std::sync::Mutex::new(Vec::new()),
            budget: Arc::new(ByteBudget::new(self.config.max_call_bytes)),
        });
        let mut signer = CallSigner::new(self, request, axons);
        let one = |index: usize| {
            let auth = signer.take(index);
            let (http, call, axon) = (self.clone(), call.clone(), axons[index].clone());
            async move { http.rest_one(index, &axon, &call, auth).await }
        };
        let fallback = |index: usize, failure: DendriteFailure| {
            let message = failure.message(call_site(&axons[index], &call.request));
            RestAnswer::failed(
                failure,
                message,
                call.clock.start.elapsed(),
                Phases::default(),
            )
        };
        let mut answers = self.core.fan_out(axons.len(), one, fallback).await;
        self.settle_signatures(axons, &call, &mut answers);
        let view = RestCallView {
            axons,
            request,
            answers: &answers,
        };
        self.core.report(CallKind::Request, call.clock.start, &view);
        answers
    }

    /// One axon's request: its address and the backoff, then the attempts under the core's
    /// policies, then the answer's signature.
    async fn rest_one(
        &self,
        index: usize,
        axon: &AxonTarget,
        call: &RestContext,
        auth: Vec<(&'static str, String)>,
    ) -> RestAnswer {
        let site = call_site(axon, &call.request);
        let mut phases = Phases::default();
        let fail = |failure: DendriteFailure, phases: Phases| {
            let message = failure.message(site);
            RestAnswer::failed(failure, message, call.clock.start.elapsed(), phases)
        };
        let addr = match self.connect_addr(axon, call.clock.deadline).await {
            Ok(addr) => addr,
            Err(failure) => return fail(failure, phases),
        };
        if let Some(skip) = self.core.backoff_skip(&axon.hotkey, addr) {
            let mut answer = fail(DendriteFailure::Unavailable, phases);
            answer.message = backoff_message(&skip);
            return answer;
        }
        let mut retries = 0u32;
        let attempt = || async {
            let mut attempt_phases = Phases::default();
            let tried = tokio::time::timeout_at(
                call.clock.deadline.into(),
                self.rest_attempt(index, axon, addr, call, &auth, &mut attempt_phases),
            )
            .await
            .unwrap_or(Err(DendriteFailure::Timeout));
            Ok((tried, attempt_phases))
        };
        let tried = self
            .core
            .attempts(&call.clock, &mut phases, &mut retries, attempt)
            .await;
        let answer = match tried {
            Attempted::NotSent(failure) => return fail(failure, phases),
            Attempted::Done(Err(failure)) => fail(failure, phases),
            Attempted::Done(Ok((answer, claim))) => {
                if let Some(claim) = claim {
                    let mut claims = call.claims.lock().unwrap_or_else(|e| e.into_inner());
                    claims.push((index, claim));
                }
                RestAnswer { phases, ..answer }
            }
        };
        self.core
            .backoff_record(&axon.hotkey, addr, answer.outcome());
        answer
    }

    /// The answers' signatures left for after the fan-out, checked together; an answer the
    /// fan-out replaced (cut by the quorum) keeps its failure and no verdict.
    fn settle_signatures(
        &self,
        axons: &[AxonTarget],
        call: &RestContext,
        answers: &mut [RestAnswer],
    ) {
        let claims = std::mem::take(&mut *call.claims.lock().unwrap_or_else(|e| e.into_inner()));
        let claims: Vec<(usize, AnswerClaim)> = claims
            .into_iter()
            .filter(|(index, _)| answers.get(*index).is_some_and(|a| a.failure.is_none()))
            .collect();
        if claims.is_empty() {
            return;
        }
        let named: Vec<(&str, &AnswerClaim)> = claims
            .iter()
            .map(|(index, claim)| (axons[*index].hotkey.as_str(), claim))
            .collect();
        for ((index, _), verdict) in claims.iter().zip(self.answer_keys.verdicts(&named)) {
            answers[*index].answer_signed = verdict;
        }
    }

    /// One try: the request exchanged on a pooled connection, the answer (or its events)
    /// read, its Epistula signature read: checked now where signed answers are required, else
    /// handed back as a claim for the call's batch.
    async fn rest_attempt(
        &self,
        index: usize,
        axon: &AxonTarget,
        addr: SocketAddr,
        call: &RestContext,
        auth: &[(&'static str, String)],
        phases: &mut Phases,
    ) -> Result<(RestAnswer, Option<AnswerClaim>), DendriteFailure> {
        let request = &call.request;
        let reading = if request.events {
            let live = call.live.clone().map(|sender| (index, sender));
            Reading::Events(std::sync::Mutex::new(EventSink::new(live)))
        } else {
            Reading::Whole
        };
        let sign = |_uuid: &str| http_request(request, addr, auth);
        let bounds = (request.max_answer_bytes, &call.budget);
        let exchanged = self.exchange(addr, sign, &reading, bounds, phases).await?;
        let decoding = Instant::now();
        let headers: Vec<(String, String)> = exchanged
            .head
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let (body, events, first_event) = match (exchanged.received, reading) {
            (Received::Whole(body, _), _) => (body, Vec::new(), None),
            (Received::Streamed, Reading::Events(sink)) => {
                let sink: EventSink = sink.into_inner().unwrap_or_else(|e| e.into_inner());
                let first = sink
                    .first_event
                    .map(|at| at.saturating_duration_since(call.clock.start));
                (Bytes::new(), sink.events, first)
            }
            (Received::Streamed, _) => (Bytes::new(), Vec::new(), None),
        };
        // A streamed answer's bytes are not kept, so its signature (if any) is not checked.
        let claim = events.is_empty().then(|| {
            let view = headers.iter().map(|(k, v)| (k.as_str(), v.as_str()));
            epistula::answer_claim(view, &body, &axon.hotkey, self.core.key().ss58_address())
        });
        let (answer_signed, claim) = match claim {
            None => (None, None),
            Some(claim) => match claim.settled() {
                Some(verdict) => (verdict, None),
                None if request.require_signed_answers => {
                    (self.answer_keys.verdict(&axon.hotkey, &claim), None)
                }
                // Checked with the call's other answers once the fan-out is done.
                None => (None, Some(claim)),
            },
        };
        phases.decode += decoding.elapsed();
        let status = exchanged.head.status.as_u16();
        let mut answer = RestAnswer {
            status,
            headers,
            body,
            events,
            first_event,
            failure: None,
            message: String::new(),
            elapsed: call.clock.start.elapsed(),
            bytes_sent: exchanged.bytes_sent,
            bytes_received: exchanged.bytes_received,
            phases: *phases,
            answer_signed,
            required_signed: request.require_signed_answers,
        };
        if answer.outcome() == Outcome::PeerError && (200..300).contains(&status) {
            answer.message = "the answer carries no valid Epistula signature from its axon".into();
        }
        Ok((answer, claim))
    }
}

/// Where a request went, for failure messages: the axon and the path.
fn call_site<'a>(axon: &'a AxonTarget, request: &'a RestRequest) -> CallSite<'a> {
    CallSite {
        ip: &axon.ip,
        port: axon.port,
        name: request.path.trim_start_matches('/'),
        timeout: request.timeout.as_secs_f64(),
    }
}

/// The request as hyper sends it: `Host`, the caller's headers, the scheme's, then the body's
/// length; a header or path that is not valid HTTP is the client's error.
fn http_request(
    request: &RestRequest,
    addr: SocketAddr,
    auth: &[(&'static str, String)],
) -> Result<(http::Request<()>, RequestBody), DendriteFailure> {
    use http::header::{HeaderName, HeaderValue, CONTENT_LENGTH, HOST};
    let invalid = |e: &dyn std::fmt::Display| {
        DendriteFailure::Client(format!("the request cannot be sent: {e}"))
    };
    let mut head = http::Request::new(());
    *head.method_mut() = request.method.clone();
    *head.uri_mut() = request.path.parse::<http::Uri>().map_err(|e| invalid(&e))?;
    let headers = head.headers_mut();
    headers.insert(
        HOST,
        HeaderValue::from_str(&addr.to_string()).map_err(|e| invalid(&e))?,
    );
    let pairs = request
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain(auth.iter().map(|(k, v)| (*k, v.as_str())));
    for (name, value) in pairs {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| invalid(&e))?;
        headers.append(name, HeaderValue::from_str(value).map_err(|e| invalid(&e))?);
    }
    if !request.body.is_empty() || request.method != http::Method::GET {
        headers.insert(CONTENT_LENGTH, HeaderValue::from(request.body.len()));
    }
    Ok((head, one_part(request.body.clone())))
}

/// A finished REST call as observers read it: the axons and what each answered, in order.
#[derive(Clone, Copy, Debug)]
pub struct RestCallView<'a> {
    /// The axons called.
    pub axons: &'a [AxonTarget],
    /// The request sent.
    pub request: &'a RestRequest,
    /// Each axon's answer.
    pub answers: &'a [RestAnswer],
}

struct RestAxonView<'a> {
    axon: &'a AxonTarget,
    answer: &'a RestAnswer,
}

impl CallView for RestCallView<'_> {
    fn protocol(&self) -> &'static str {
        "http"
    }

    /// The method (paths are left out: a label per path would not stay a small set).
    fn operations(&self) -> Box<dyn Iterator<Item = &str> + '_> {
        Box::new(std::iter::once(self.request.method.as_str()))
    }

    fn endpoint_count(&self) -> usize {
        self.axons.len()
    }

    fn request_values(&self) -> usize {
        0
    }

    fn request_bytes(&self) -> usize {
        self.answers.iter().map(|a| a.bytes_sent).sum()
    }

    fn for_each_endpoint(&self, each: &mut dyn FnMut(&dyn EndpointReport)) {
        for (axon, answer) in self.axons.iter().zip(self.answers) {
            each(&RestAxonView { axon, answer });
        }
    }
}

impl EndpointReport for RestAxonView<'_> {
    fn uid(&self) -> Option<u64> {
        self.axon.uid
    }

    fn hotkey(&self) -> &str {
        &self.axon.hotkey
    }

    fn success(&self) -> bool {
        self.answer.outcome().is_success()
    }

    fn outcome(&self) -> Outcome {
        self.answer.outcome()
    }

    fn codes(&self) -> Box<dyn Iterator<Item = &'static str> + '_> {
        let status = i64::from(self.answer.status_code());
        Box::new(std::iter::once(http_status_name(status)))
    }

    fn time(&self) -> Duration {
        self.answer.elapsed
    }

    fn output_values(&self) -> usize {
        0
    }

    fn output_bytes(&self) -> usize {
        self.answer.body.len()
            + self
                .answer
                .events
                .iter()
                .map(|e| e.data.len())
                .sum::<usize>()
    }

    fn bytes_sent(&self) -> usize {
        self.answer.bytes_sent
    }

    fn bytes_received(&self) -> usize {
        self.answer.bytes_received
    }

    fn phases(&self) -> &Phases {
        &self.answer.phases
    }
}
