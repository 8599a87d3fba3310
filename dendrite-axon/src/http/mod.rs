//! Our axon on the 10.x HTTP wire: serves the synapses of `shared/peer10/synapses.py`
//! ([`Served`]) over HTTP/1.1 keep-alive with the 10.5.0 axon's checks, in its order, with its
//! status codes and messages, in the code's order (`answer_inner`, a function per stage):
//! route (404) → synapse from headers (500) → blacklist (403) → btauth/1's header checks when
//! asked (401) → signature and nonce over the body hash the headers claim (401, [`verify`]) →
//! only then the body: its declared length (413), read under `max_request_bytes` (413) within
//! `body_timeout` (408), hashed as it comes where btauth/1 needs it → btauth/1's signature
//! (401) → the body's fields and its recomputed body hash against the signed one (500) →
//! handler (200, or `text/event-stream` chunks). A stranger's body is never buffered: every
//! check that can refuse from the headers runs first.
//!
//! Connections: at most `max_connections`, and `max_connections_per_ip` from one address (one
//! over either is closed as accepted); a request's head must be complete within
//! `header_timeout` of the connection waiting for it (hyper's header timer, which also ends
//! idle keep-alive connections), its body within `body_timeout`.
//!
//! A request that names no dendrite in `bt_header_dendrite_*` is a signed REST request, as
//! bittensor 11's subnets send them, answered on any path by its `rest` module (Epistula v2 or btauth/1,
//! the reference miner's routes, signed answers, an SSE route).
//!
//! Differences from 10.5.0, on purpose: the nonce table is bounded (least recently used keys
//! forgotten) and keyed only by canonical uuids, its window always applied, a nonce passed at
//! most once ([`verify`]); bodies are bounded (`max_request_bytes`, 413) and refused from the
//! headers where they can be; slow clients are cut (408 for a body, a closed connection for a
//! head); error answers carry no axon signature of their own (10.5.0's dendrite never checks
//! it).

mod rest;
mod synapses;
pub mod verify;

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use dendrite_http::btauth::{self, Verifier};
use dendrite_http::request::body_hash_of;
use dendrite_http::value::float_repr;
use dendrite_http::{AxonTarget, PyValue, BASE_FIELDS};
use dendrite_keys::Keypair;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{HeaderMap, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use synapses::Served;
use verify::{Claim, Nonces};

use crate::AxonError;

/// [`HttpAxonConfig::header_timeout`] by default: longer than the keep-alive idle of the
/// dendrites that call (aiohttp's 15 s, ours 4 s), so they close first.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(20);
/// [`HttpAxonConfig::body_timeout`] by default: past any synapse's usual 12 s timeout.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(20);
/// [`HttpAxonConfig::max_connections`] by default (under the usual 65,536 descriptors, with
/// room for the process's own).
pub const DEFAULT_MAX_CONNECTIONS: usize = 16_384;
/// [`HttpAxonConfig::max_connections_per_ip`] by default: a validator's dendrite keeps a few
/// connections to one axon; 256 leaves room for many processes behind one address.
pub const DEFAULT_MAX_CONNECTIONS_PER_IP: usize = 256;

/// Settings of an HTTP axon.
#[derive(Clone, Debug)]
pub struct HttpAxonConfig {
    /// Address to listen on; port 0 picks a free one.
    pub addr: SocketAddr,
    /// The largest request body accepted, bytes (larger: 413).
    pub max_request_bytes: usize,
    /// Dendrite hotkeys refused with 403.
    pub blacklist: Vec<String>,
    /// Also require btauth/1 (`X-Bittensor-*`, bound to our hotkey) on every request.
    pub btauth: bool,
    /// The most `{hotkey}:{uuid}` nonce keys remembered (and Epistula uuids, on the REST
    /// routes).
    pub nonce_capacity: usize,
    /// Sign the answers to Epistula requests with Epistula (as miners that sign theirs do).
    pub sign_answers: bool,
    /// Between the events of a streamed `/v1/chat/completions` answer.
    pub token_delay: std::time::Duration,
    /// From when a connection waits for a request until that request's head is complete:
    /// bounds heads trickled byte by byte and idle keep-alive connections alike (hyper starts
    /// its header timer as soon as the connection is ready for the next request).
    pub header_timeout: Duration,
    /// From a request's complete head until its whole body is read (408 past it).
    pub body_timeout: Duration,
    /// Connections open at once; one over it is closed as soon as it is accepted.
    pub max_connections: usize,
    /// Connections open at once from one IP address; one over it is closed as accepted.
    pub max_connections_per_ip: usize,
    /// Also serve `Paths`, a price-path subnet's synapse (Synth's shape: `n_paths` × `n_steps`
    /// floats), for the numeric answers' benchmark and tests; off, the axon serves exactly
    /// `shared/peer10/synapses.py`'s synapses, as the real axon there does.
    pub serve_paths: bool,
}

impl Default for HttpAxonConfig {
    fn default() -> Self {
        HttpAxonConfig {
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            max_request_bytes: 64 << 20,
            blacklist: Vec::new(),
            btauth: false,
            nonce_capacity: 100_000,
            sign_answers: true,
            token_delay: std::time::Duration::from_millis(5),
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_ip: DEFAULT_MAX_CONNECTIONS_PER_IP,
            serve_paths: false,
        }
    }
}

/// What every connection of one axon shares.
struct Shared {
    key: Keypair,
    hotkey: String,
    addr: SocketAddr,
    config: HttpAxonConfig,
    nonces: Nonces,
    btauth: Option<Verifier>,
    rest: rest::RestState,
    answered: AtomicU64,
}

/// A running HTTP axon; dropping it stops accepting (open connections finish).
pub struct HttpAxonHandle {
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for HttpAxonHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpAxonHandle")
            .field("addr", &self.shared.addr)
            .field("hotkey", &self.shared.hotkey)
            .finish()
    }
}

impl HttpAxonHandle {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// Its hotkey.
    pub fn hotkey(&self) -> &str {
        &self.shared.hotkey
    }

    /// Where a 10.x dendrite sends to it.
    pub fn target(&self) -> AxonTarget {
        AxonTarget {
            ip: self.shared.addr.ip().to_string(),
            port: self.shared.addr.port(),
            hotkey: self.shared.hotkey.clone(),
            uid: None,
        }
    }

    /// Its `AxonInfo` as JSON, as `shared/peer10/axon.py` writes it (`version` 10005000,
    /// coldkey = hotkey), with `pid`.
    pub fn info_json(&self, pid: u32) -> String {
        format!(
            r#"{{"version": {}, "ip": "{}", "port": {}, "ip_type": {}, "hotkey": "{}", "coldkey": "{}", "protocol": 4, "placeholder1": 0, "placeholder2": 0, "pid": {pid}}}"#,
            dendrite_http::VERSION_AS_INT,
            self.shared.addr.ip(),
            self.shared.addr.port(),
            if self.shared.addr.is_ipv4() { 4 } else { 6 },
            self.shared.hotkey,
            self.shared.hotkey,
        )
    }

    /// Requests answered so far (any status).
    pub fn answered(&self) -> u64 {
        self.shared.answered.load(Ordering::Relaxed)
    }

    /// `{hotkey}:{uuid}` keys in the nonce table now.
    pub fn nonce_keys(&self) -> usize {
        self.shared.nonces.len()
    }

    /// Stops accepting and waits for the accept loop to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for HttpAxonHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Starts an HTTP axon answering as `key`'s hotkey. Must be called inside a tokio runtime.
pub async fn serve_http(
    key: &Keypair,
    config: HttpAxonConfig,
) -> Result<HttpAxonHandle, AxonError> {
    let bind = |source| AxonError::Bind {
        addr: config.addr,
        source,
    };
    let listener = TcpListener::bind(config.addr).await.map_err(bind)?;
    let addr = listener.local_addr().map_err(bind)?;
    let shared = Arc::new(Shared {
        key: key.clone(),
        rest: rest::RestState::new(key.ss58_address(), config.nonce_capacity),
        hotkey: key.ss58_address().to_owned(),
        addr,
        nonces: Nonces::new(config.nonce_capacity),
        btauth: config.btauth.then(|| Verifier::new(key.ss58_address())),
        config,
        answered: AtomicU64::new(0),
    });
    let (stop, mut stopped) = oneshot::channel::<()>();
    let accepting = shared.clone();
    let task = tokio::spawn(async move {
        let open = Arc::new(OpenConnections::default());
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = &mut stopped => break,
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // fd exhaustion or a reset before accept must not end the server.
                    tracing::warn!("http axon accept failed: {e}");
                    continue;
                }
            };
            // Over a cap: closed at once, before a byte is read.
            let Some(slot) = open.enter(peer.ip(), &accepting.config) else {
                tracing::debug!("http axon: connection from {peer} over the caps, closed");
                continue;
            };
            let _ = stream.set_nodelay(true);
            let shared = accepting.clone();
            let service = hyper::service::service_fn(move |request| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(answer(&shared, peer, request).await) }
            });
            let header_timeout = accepting.config.header_timeout;
            tokio::spawn(async move {
                let _slot = slot;
                let served = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(header_timeout)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
                if let Err(e) = served {
                    tracing::debug!("http axon connection from {peer}: {e}");
                }
            });
        }
    });
    Ok(HttpAxonHandle {
        shared,
        stop: Some(stop),
        task: Some(task),
    })
}

/// The connections open now, in all and per IP address (an address leaves the table with its
/// last connection, so it holds at most `max_connections` addresses).
#[derive(Debug, Default)]
struct OpenConnections {
    counts: std::sync::Mutex<(usize, std::collections::HashMap<IpAddr, usize>)>,
}

/// One open connection's place under the caps, given back when it is dropped.
struct ConnectionSlot {
    open: Arc<OpenConnections>,
    ip: IpAddr,
}

impl OpenConnections {
    /// A place for a connection from `ip`, unless it would go over a cap.
    fn enter(self: &Arc<Self>, ip: IpAddr, config: &HttpAxonConfig) -> Option<ConnectionSlot> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let (total, per_ip) = &mut *counts;
        let from_ip = per_ip.get(&ip).copied().unwrap_or(0);
        if *total >= config.max_connections || from_ip >= config.max_connections_per_ip {
            return None;
        }
        *total += 1;
        per_ip.insert(ip, from_ip + 1);
        Some(ConnectionSlot {
            open: self.clone(),
            ip,
        })
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut counts = self.open.counts.lock().unwrap_or_else(|e| e.into_inner());
        let (total, per_ip) = &mut *counts;
        *total = total.saturating_sub(1);
        if let Some(count) = per_ip.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                per_ip.remove(&self.ip);
            }
        }
    }
}

type Body = BoxBody<Bytes, Infallible>;

/// The synapse a request's headers describe (10.5.0's `Synapse.from_headers`).
struct HeaderSynapse<'a> {
    timeout: f64,
    claim: Claim<'a>,
    /// `bt_header_dendrite_*` as sent, in order.
    dendrite: Vec<(&'a str, &'a str)>,
    /// `bt_header_input_obj_*` as sent, in order.
    inputs: Vec<(&'a str, &'a str)>,
}

async fn answer(shared: &Shared, peer: SocketAddr, request: Request<Incoming>) -> Response<Body> {
    let started = Instant::now();
    let response = answer_inner(shared, peer, request, started).await;
    shared.answered.fetch_add(1, Ordering::Relaxed);
    response
}

/// Why a request is not handled: 10.5.0's status and message (the synapse's infos go back on
/// the answer where its headers described one), or its anonymous internal error.
enum Refusal {
    /// This status and message.
    Status(u16, String),
    /// A 500 with an error id and nothing of the request (10.5.0 answers a synapse it cannot
    /// build, a body that does not read or match its hash, a failed handler so).
    Internal,
}

/// One request, in stages: its route, its head (the synapse the headers describe, the
/// blacklist, btauth/1's header checks where asked, the 10.x signature and nonce: all before a
/// byte of body is read), its body (its declared length, then read under the bound and the
/// body deadline, hashed where btauth/1 needs it), btauth/1's signature over it, the body
/// against the hash the 10.x signature covered, then the handler. The first stage that refuses
/// answers.
async fn answer_inner(
    shared: &Shared,
    peer: SocketAddr,
    request: Request<Incoming>,
    started: Instant,
) -> Response<Body> {
    let (parts, body) = request.into_parts();
    if !is_synapse_call(&parts.headers) {
        return rest::answer_rest(shared, &parts, body).await;
    }
    let served = match route(parts.uri.path(), shared.config.serve_paths) {
        Ok(served) => served,
        Err(message) => return error(shared, None, "Synapse", 12.0, 404, &message, started, peer),
    };
    let refuse = |sent: Option<&HeaderSynapse<'_>>, refusal: Refusal| match refusal {
        Refusal::Status(status, message) => {
            let timeout = sent.map_or(12.0, |s| s.timeout);
            error(
                shared,
                sent,
                served.name(),
                timeout,
                status,
                &message,
                started,
                peer,
            )
        }
        Refusal::Internal => internal_error(shared, served.name(), started, peer),
    };
    let Some(synapse) = header_synapse(&parts.headers, served) else {
        return refuse(None, Refusal::Internal);
    };
    let sent = Some(&synapse);
    if let Err(refusal) = check_blacklist(shared, &synapse) {
        return refuse(sent, refusal);
    }
    let headers = header_pairs(&parts.headers);
    let btauth = match check_btauth_head(shared, &headers) {
        Ok(btauth) => btauth,
        Err(refusal) => return refuse(sent, refusal),
    };
    if let Err(refusal) = verify_sender(shared, &synapse) {
        return refuse(sent, refusal);
    }
    let body = match read_request_body(shared, body, btauth.is_some()).await {
        Ok(body) => body,
        Err(refusal) => return refuse(sent, refusal),
    };
    if let Err(refusal) = finish_btauth(btauth, &parts, &body) {
        return refuse(sent, refusal);
    }
    let synapse_body = match check_body(&body.bytes, served, &synapse) {
        Ok(synapse_body) => synapse_body,
        Err(refusal) => return refuse(sent, refusal),
    };
    match handle(shared, served, &synapse, synapse_body, started).await {
        Ok(response) => response,
        Err(refusal) => refuse(sent, refusal),
    }
}

/// Whether a request is a 10.x synapse call (it names its dendrite in `bt_header_dendrite_*`);
/// anything else is a REST request, as bittensor 11's subnets send them.
fn is_synapse_call(headers: &HeaderMap) -> bool {
    headers
        .keys()
        .any(|name| name.as_str().starts_with("bt_header_dendrite_"))
}

/// The synapse a path names, or 10.5.0's 404 message listing the ones served.
fn route(path: &str, with_paths: bool) -> Result<Served, String> {
    let name = path.trim_start_matches('/');
    Served::served(with_paths)
        .find(|s| s.name() == name)
        .ok_or_else(|| {
            let available: Vec<String> = std::iter::once("Synapse")
                .chain(Served::served(with_paths).map(|s| s.name()))
                .map(|n| format!("'{n}'"))
                .collect();
            format!(
                "Synapse name '{name}' not found. Available synapses [{}]",
                available.join(", ")
            )
        })
}

/// A sender on the axon's blacklist: 403.
fn check_blacklist(shared: &Shared, synapse: &HeaderSynapse<'_>) -> Result<(), Refusal> {
    let hotkey = synapse.claim.hotkey;
    if shared.config.blacklist.iter().any(|h| h == hotkey) {
        let message =
            format!("Forbidden. Key is blacklisted: {hotkey} is on this axon's blacklist.");
        return Err(Refusal::Status(403, message));
    }
    Ok(())
}

/// A request's body as read: its bytes, and their sha256 (lower-case hex) where it was asked.
pub(crate) struct ReadBody {
    bytes: Bytes,
    sha256: Option<String>,
}

/// The whole body, at most `max_request_bytes` (413 when its declared length is over it,
/// before a byte of it is read, or when it grows past it or cannot be read), within
/// `body_timeout` (408 past it); hashed (sha256) as it arrives when `hash` (one pass, the one
/// copy the body is kept in).
async fn read_request_body(
    shared: &Shared,
    body: Incoming,
    hash: bool,
) -> Result<ReadBody, Refusal> {
    use sha2::Digest as _;
    let limit = shared.config.max_request_bytes;
    let over = |e: &dyn std::fmt::Display| {
        Refusal::Status(
            413,
            format!("Request body unreadable or over {limit} bytes: {e}"),
        )
    };
    let declared = hyper::body::Body::size_hint(&body).exact();
    if let Some(declared) = declared.filter(|&d| d > limit as u64) {
        return Err(over(&format!("{declared} bytes declared")));
    }
    let read = async {
        let mut body = body;
        let capacity = declared.map_or(0, |d| usize::try_from(d).unwrap_or(limit));
        let mut bytes = bytes::BytesMut::with_capacity(capacity.min(limit));
        let mut hasher = hash.then(sha2::Sha256::new);
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| over(&e))?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            if bytes.len() + data.len() > limit {
                return Err(over(&"the body grew past it"));
            }
            if let Some(hasher) = &mut hasher {
                hasher.update(&data);
            }
            bytes.extend_from_slice(&data);
        }
        Ok(ReadBody {
            bytes: bytes.freeze(),
            sha256: hasher.map(|h| hex::encode(h.finalize())),
        })
    };
    let timeout = shared.config.body_timeout;
    tokio::time::timeout(timeout, read)
        .await
        .unwrap_or_else(|_| {
            Err(Refusal::Status(
                408,
                format!(
                    "Request body not read within {:.1} seconds",
                    timeout.as_secs_f64()
                ),
            ))
        })
}

/// The 10.x signature and nonce, from the headers alone (the signature covers the body hash
/// the headers claim; the body is checked against it once read): 401 with the verifier's
/// reason.
fn verify_sender(shared: &Shared, synapse: &HeaderSynapse<'_>) -> Result<(), Refusal> {
    shared
        .nonces
        .verify(&synapse.claim, &shared.hotkey, now_ns())
        .map_err(|why| not_verified(&why))
}

/// 10.5.0's 401 message.
fn not_verified(why: &dyn std::fmt::Display) -> Refusal {
    Refusal::Status(401, format!("Not Verified with error: {why}"))
}

/// The headers of a request as `(name, value)` text pairs (values that are not text left out).
fn header_pairs(headers: &HeaderMap) -> Vec<(&str, &str)> {
    headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
        .collect()
}

/// btauth/1 where the axon asks for it: its head checks before the body is read (401 with the
/// verifier's reason), then [`finish_btauth`] over the body's hash.
fn check_btauth_head<'h>(
    shared: &'h Shared,
    headers: &'h [(&'h str, &'h str)],
) -> Result<Option<(&'h Verifier, btauth::HeadChecked<'h>)>, Refusal> {
    let Some(verifier) = &shared.btauth else {
        return Ok(None);
    };
    let checked = verifier
        .check_head(headers.iter().copied(), now_ns())
        .map_err(|e| not_verified(&e))?;
    Ok(Some((verifier, checked)))
}

/// The btauth/1 signature over the body read (its sha256), and the replay store.
fn finish_btauth(
    pending: Option<(&Verifier, btauth::HeadChecked<'_>)>,
    parts: &hyper::http::request::Parts,
    body: &ReadBody,
) -> Result<(), Refusal> {
    let Some((verifier, checked)) = pending else {
        return Ok(());
    };
    let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let sha256 = body.sha256.as_deref().unwrap_or_default();
    checked
        .finish(verifier, sha256, parts.method.as_str(), target)
        .map(|_| ())
        .map_err(|e| not_verified(&e))
}

/// The body read as the synapse, its hash fields matching the hash the signature covered (a
/// 500 otherwise, as 10.5.0 answers).
fn check_body(
    body: &Bytes,
    served: Served,
    synapse: &HeaderSynapse<'_>,
) -> Result<SynapseBody, Refusal> {
    let synapse_body = read_body(body, served).ok_or(Refusal::Internal)?;
    let fields = synapse_body.subclass_fields();
    let hash = body_hash_of(&PyValue::Dict(fields.to_vec()), served.hash_fields());
    if hash != synapse.claim.body_hash {
        return Err(Refusal::Internal);
    }
    Ok(synapse_body)
}

/// The handler's answer: the synapse it filled in, with 10.5.0's answer headers (a stream for a
/// streaming synapse).
async fn handle(
    shared: &Shared,
    served: Served,
    synapse: &HeaderSynapse<'_>,
    mut synapse_body: SynapseBody,
    started: Instant,
) -> Result<Response<Body>, Refusal> {
    let delay = served.delay(synapse_body.subclass_fields());
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    served
        .handle(synapse_body.subclass_fields_mut())
        .map_err(|_| Refusal::Internal)?;
    let process_time = started.elapsed().as_secs_f64();
    synapse_body.answered(&shared.hotkey, shared.addr, process_time);
    let mut response = Response::builder()
        .status(StatusCode::OK)
        .header("name", served.name())
        .header("timeout", float_repr(synapse.timeout))
        .header("bt_header_axon_status_code", "200")
        .header("bt_header_axon_status_message", "Success")
        .header("bt_header_axon_process_time", float_repr(process_time))
        .header("bt_header_axon_ip", shared.addr.ip().to_string())
        .header("bt_header_axon_port", shared.addr.port().to_string())
        .header("bt_header_axon_hotkey", shared.hotkey.as_str());
    for (name, value) in synapse.dendrite.iter().chain(&synapse.inputs) {
        response = response.header(*name, *value);
    }
    let chunks = served.chunks(synapse_body.subclass_fields());
    let json = synapse_body.json.dumps_compact();
    response = response
        .header("header_size", "0")
        .header("total_size", json.len().to_string())
        .header("computed_body_hash", synapse.claim.body_hash);
    if served == Served::Stream {
        return Ok(streamed(response, |send| async move {
            for chunk in chunks {
                if !send_chunk(&send, Bytes::from(chunk)).await {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }));
    }
    Ok(response
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(json)).boxed())
        .unwrap_or_else(|_| plain(500, "Internal Server Error")))
}

/// The synapse the headers describe; `None` where 10.5.0 fails to build it (a required field
/// without its `bt_header_input_obj_*`, a value that does not decode, a nonce that is no int).
fn header_synapse(headers: &HeaderMap, served: Served) -> Option<HeaderSynapse<'_>> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let timeout = match text("timeout") {
        Some(t) => t.trim().parse::<f64>().ok().filter(|t| t.is_finite())?,
        None => 12.0,
    };
    let mut dendrite = Vec::new();
    let mut inputs = Vec::new();
    for (name, value) in headers {
        let Ok(value) = value.to_str() else { continue };
        let name = name.as_str();
        if name.starts_with("bt_header_dendrite_") {
            dendrite.push((name, value));
        } else if let Some(field) = name.strip_prefix("bt_header_input_obj_") {
            let json = base64::engine::general_purpose::STANDARD
                .decode(value)
                .ok()?;
            PyValue::parse(&json).ok()?;
            let _ = field;
            inputs.push((name, value));
        }
    }
    for required in served.required() {
        let header = format!("bt_header_input_obj_{required}");
        if !inputs.iter().any(|(name, _)| *name == header) {
            return None;
        }
    }
    let nonce = match text("bt_header_dendrite_nonce") {
        Some(n) => n.trim().parse().ok()?,
        None => 0,
    };
    let version = match text("bt_header_dendrite_version") {
        Some(v) => Some(v.trim().parse().ok()?),
        None => None,
    };
    Some(HeaderSynapse {
        timeout,
        claim: Claim {
            hotkey: text("bt_header_dendrite_hotkey").unwrap_or(""),
            nonce,
            uuid: text("bt_header_dendrite_uuid").unwrap_or(""),
            signature: text("bt_header_dendrite_signature"),
            version,
            body_hash: text("computed_body_hash").unwrap_or(""),
            timeout,
        },
        dendrite,
        inputs,
    })
}

/// A request's body read as the synapse: the JSON object with every subclass field present
/// (defaults filled in) after the base class's.
struct SynapseBody {
    json: PyValue,
    /// Where the subclass fields start in the object.
    first_field: usize,
}

impl SynapseBody {
    fn subclass_fields(&self) -> &[(String, PyValue)] {
        match &self.json {
            PyValue::Dict(items) => &items[self.first_field..],
            _ => &[],
        }
    }

    fn subclass_fields_mut(&mut self) -> &mut [(String, PyValue)] {
        match &mut self.json {
            PyValue::Dict(items) => &mut items[self.first_field..],
            _ => &mut [],
        }
    }

    /// Fills the axon's side as 10.5.0's answer has it: status 200 "Success", the time spent,
    /// our address and hotkey.
    fn answered(&mut self, hotkey: &str, addr: SocketAddr, process_time: f64) {
        let PyValue::Dict(items) = &mut self.json else {
            return;
        };
        let axon = PyValue::parse(
            dendrite_http::TerminalInfo {
                status_code: Some(200),
                status_message: Some("Success".into()),
                process_time: Some(process_time),
                ip: Some(addr.ip().to_string()),
                port: Some(i64::from(addr.port())),
                hotkey: Some(hotkey.to_owned()),
                ..Default::default()
            }
            .to_json()
            .as_bytes(),
        )
        .unwrap_or(PyValue::None);
        match items.iter_mut().find(|(k, _)| k == "axon") {
            Some((_, slot)) => *slot = axon,
            None => items.push(("axon".into(), axon)),
        }
    }
}

fn read_body(body: &[u8], served: Served) -> Option<SynapseBody> {
    let PyValue::Dict(items) = PyValue::parse(body).ok()? else {
        return None;
    };
    let mut json: Vec<(String, PyValue)> = BASE_FIELDS
        .iter()
        .filter_map(|base| items.iter().find(|(k, _)| k == base).cloned())
        .collect();
    let first_field = json.len();
    for (field, default) in served.fields() {
        match items.iter().rev().find(|(k, _)| k == field) {
            Some(given) => json.push(given.clone()),
            None if *default == synapses::FieldDefault::Required => return None,
            None => json.push(((*field).to_owned(), default.value())),
        }
    }
    Some(SynapseBody {
        json: PyValue::Dict(json),
        first_field,
    })
}

/// 10.5.0's answer to a failure: `{"message": …}`, the axon's status in the headers, the
/// request's dendrite headers (10.5.0 writes the TCP peer's address there).
#[allow(clippy::too_many_arguments)]
fn error(
    shared: &Shared,
    sent: Option<&HeaderSynapse<'_>>,
    name: &str,
    timeout: f64,
    status: u16,
    message: &str,
    started: Instant,
    peer: SocketAddr,
) -> Response<Body> {
    let mut response = Response::builder()
        .status(status)
        .header("name", name)
        .header("timeout", float_repr(timeout))
        .header("bt_header_axon_status_code", status.to_string())
        .header("bt_header_axon_status_message", header_text(message))
        .header(
            "bt_header_axon_process_time",
            float_repr(started.elapsed().as_secs_f64()),
        )
        .header("bt_header_axon_ip", shared.addr.ip().to_string())
        .header("bt_header_axon_port", shared.addr.port().to_string())
        .header("bt_header_axon_hotkey", shared.hotkey.as_str());
    if let Some(sent) = sent {
        response = response
            .header("bt_header_dendrite_ip", peer.ip().to_string())
            .header("bt_header_dendrite_port", peer.port().to_string());
        for (name, value) in &sent.dendrite {
            if *name != "bt_header_dendrite_ip" && *name != "bt_header_dendrite_port" {
                response = response.header(*name, *value);
            }
        }
    }
    let mut body = String::from("{\"message\":");
    body.push_str(&PyValue::Str(message.to_owned()).dumps_compact());
    body.push('}');
    response
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)).boxed())
        .unwrap_or_else(|_| plain(500, "Internal Server Error"))
}

/// 10.5.0's 500 for a request it could not read or handle: `Internal Server Error #<uuid>`.
fn internal_error(
    shared: &Shared,
    name: &str,
    started: Instant,
    peer: SocketAddr,
) -> Response<Body> {
    let message = format!("Internal Server Error #{}", uuid::Uuid::new_v4());
    error(shared, None, name, 12.0, 500, &message, started, peer)
}

/// A header value's text: visible ASCII and spaces as they are, anything else `?` (a status
/// message may quote what a peer sent).
fn header_text(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c == ' ' || c.is_ascii_graphic() {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// A plain-text answer of `status` saying `message`.
fn plain(status: u16, message: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(Full::new(message.into()).boxed());
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
}

/// A `text/event-stream` answer sending `chunks` 20 ms apart, one body chunk each.
/// The sending end of an event-stream answer's body.
type Chunks = tokio::sync::mpsc::Sender<Result<Frame<Bytes>, Infallible>>;

/// A `text/event-stream` answer whose chunks `write` sends, on a task of its own (a client
/// that went away makes its sends fail, and `write` stops).
fn streamed<Write>(
    response: hyper::http::response::Builder,
    write: impl FnOnce(Chunks) -> Write,
) -> Response<Body>
where
    Write: std::future::Future<Output = ()> + Send + 'static,
{
    let (send, receive) = tokio::sync::mpsc::channel(4);
    tokio::spawn(write(send));
    let body = StreamBody::new(tokio_stream::wrappers::ReceiverStream::new(receive));
    response
        .header("content-type", "text/event-stream")
        .body(BodyExt::boxed(body))
        .unwrap_or_else(|_| plain(500, "Internal Server Error"))
}

/// Sends one chunk; `false` when the client went away.
async fn send_chunk(chunks: &Chunks, chunk: Bytes) -> bool {
    chunks.send(Ok(Frame::data(chunk))).await.is_ok()
}

fn now_ns() -> i128 {
    i128::from(dendrite_keys::nonce::now_ns())
}
