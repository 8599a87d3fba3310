//! A receptor: one lazily connected, multiplexed HTTP/2 link to one endpoint, with its
//! signing lanes (`super::lanes`: a uuid and a strictly increasing nonce each, signatures made
//! ahead of the calls that send them).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use dendrite_wire::proto::{RequestType, TensorMessage};
use dendrite_wire::Endpoint;
use dendrite_wire::VERSION_AS_INT;
use http::{HeaderMap, HeaderValue, Method, Uri};
use tokio::sync::Semaphore;

use super::config::ReceptorConfig;
use super::lanes::{Lanes, RoundCall, SignedLane};
use super::link::Link;
use super::results::CallFailure;
use super::unary;
use crate::neutral::connector::WireBytes;
use crate::neutral::phases::{transport_phases, ConnectLog, Phases, Probe};
use dendrite_keys::signature;
use dendrite_keys::Keypair;
use dendrite_wire::Compression;

/// A failure this close to the deadline is the deadline's doing.
const DEADLINE_SLACK: Duration = Duration::from_millis(5);

/// One endpoint's link and signing lanes. Shared as `Arc`; dropping the last clone closes
/// the connection.
#[derive(Debug)]
pub struct Receptor {
    hotkey: Arc<str>,
    addr: SocketAddr,
    version: u32,
    link: Link,
    forward_uri: Uri,
    backward_uri: Uri,
    /// `bittensor-version`, made once.
    version_header: HeaderValue,
    connects: Arc<ConnectLog>,
    compression: Option<Compression>,
    lanes: Lanes,
    /// Monotonic milliseconds (since the pool's epoch) of the last use.
    last_used_ms: AtomicU64,
}

impl Receptor {
    /// A receptor for `endpoint` at `addr`; no connection is made until the first call.
    /// Every connection it opens holds a permit of `connections` while open.
    pub(crate) fn new(
        endpoint: &Endpoint,
        addr: SocketAddr,
        config: &ReceptorConfig,
        connections: Arc<Semaphore>,
        bytes: Arc<WireBytes>,
    ) -> Result<Self, http::Error> {
        let connects = Arc::new(ConnectLog::default());
        let uri = |method: &str| Uri::try_from(format!("http://{addr}/Bittensor/{method}"));
        Ok(Receptor {
            hotkey: endpoint.hotkey.as_str().into(),
            addr,
            version: endpoint.version,
            link: Link::new(addr, config, connections, bytes, connects.clone()),
            forward_uri: uri("Forward")?,
            backward_uri: uri("Backward")?,
            version_header: HeaderValue::from(VERSION_AS_INT),
            connects,
            compression: config.compression,
            lanes: Lanes::new(config.presign),
            last_used_ms: AtomicU64::new(0),
        })
    }

    /// Whether this receptor still serves `endpoint` (same hotkey, address and version).
    pub fn serves(&self, endpoint: &Endpoint, addr: SocketAddr) -> bool {
        *self.hotkey == endpoint.hotkey && self.addr == addr && self.version == endpoint.version
    }

    /// The receptor's uuid (its first lane's), part of every signature it makes when calls
    /// do not overlap.
    pub fn uuid(&self) -> &str {
        self.lanes.uuid()
    }

    /// The endpoint's socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub(crate) fn touch(&self, now_ms: u64) {
        self.last_used_ms.store(now_ms, Ordering::Relaxed);
    }

    pub(crate) fn last_used_ms(&self) -> u64 {
        self.last_used_ms.load(Ordering::Relaxed)
    }

    /// Sends `frame` (a request encoded by [`Receptor::encode`]) as a Forward or Backward RPC
    /// signed by `key`, and waits for the answer until `deadline` (which also goes to the peer as
    /// `grpc-timeout`). The deadline covers connecting, sending, waiting and receiving. Responses
    /// larger than `max_response_bytes` are refused before they are buffered. The phases from
    /// `sign` to `receive` come back with the outcome (`queue` and `decode` are the caller's).
    pub async fn call(
        &self,
        kind: RequestType,
        frame: Bytes,
        key: &Keypair,
        deadline: Instant,
        max_response_bytes: usize,
    ) -> (Result<TensorMessage, CallFailure>, Phases) {
        let called = self
            .call_signed(kind, frame, key, None, deadline, max_response_bytes)
            .await;
        (called.outcome, called.phases)
    }

    /// A lane of this receptor for a call of a round signed together
    /// ([`crate::grpc::lanes::sign_round`]).
    pub(crate) fn round_call(&self) -> RoundCall {
        RoundCall {
            lane: self.lanes.take(),
            version: self.version,
            receiver: self.hotkey.clone(),
        }
    }

    /// [`Receptor::call`] sending `signed`'s header on its lane when there is one (its
    /// signing phase is then zero: the round's signing happened before the call's slot), else
    /// signing on a lane of its own; also how many bytes of answer its stream carried.
    pub(crate) async fn call_signed(
        &self,
        kind: RequestType,
        frame: Bytes,
        key: &Keypair,
        signed: Option<SignedLane>,
        deadline: Instant,
        max_response_bytes: usize,
    ) -> Called {
        let started = Instant::now();
        let timeout = deadline.saturating_duration_since(started);
        let (lane, signature) = match signed {
            Some(SignedLane { lane, header }) => (lane, header),
            None => {
                let mut lane = self.lanes.take();
                let header = lane.header(key, self.version, &self.hotkey);
                (lane, header)
            }
        };
        let signed = Instant::now();
        let reused = self.connects.is_open();
        let probe = Probe::new(signed);
        let request = self.request(kind, signature, timeout);
        let call = async {
            let sender = self.link.sender().await?;
            unary::call(sender, request, frame, &probe, max_response_bytes).await
        };
        let outcome = tokio::time::timeout_at(deadline.into(), call).await;
        drop(lane);
        let end = Instant::now();
        let (connect, send, wait, receive) =
            transport_phases(&probe, &self.connects, reused, signed, end);
        let phases = Phases {
            sign: signed - started,
            connect,
            send,
            wait,
            receive,
            rpc_attempted: true,
            reused_connection: reused,
            ..Phases::default()
        };
        let outcome = match outcome {
            Ok(Ok(response)) => Ok(response),
            // The peer enforces the same deadline (`grpc-timeout`) and may give up a moment
            // before we do; tonic servers say CANCELLED "Timeout expired" then.
            Ok(Err(_)) if deadline.saturating_duration_since(Instant::now()) < DEADLINE_SLACK => {
                Err(CallFailure::timeout(timeout))
            }
            Ok(Err(status)) => Err(CallFailure::from_status(&status)),
            Err(_elapsed) => Err(CallFailure::timeout(timeout)),
        };
        Called {
            outcome,
            phases,
            bytes_received: probe.received(),
        }
    }
}

/// One call's result on a receptor: the answer or the failure, where its time went, and the
/// answer's bytes on its HTTP/2 stream (the DATA payload: the gRPC frame as it came, compressed
/// or not; a connection's HPACK headers are not one call's).
pub(crate) struct Called {
    pub outcome: Result<TensorMessage, CallFailure>,
    pub phases: Phases,
    pub bytes_received: usize,
}

impl Receptor {
    /// `message` encoded as the request frame of a call on this receptor, compressed as its
    /// `grpc-encoding` header says.
    pub fn encode(&self, message: &TensorMessage) -> Result<Bytes, CallFailure> {
        unary::encode_request(message, self.compression)
    }

    /// The HTTP/2 request head of one call: gRPC headers and the Bittensor metadata. Values that
    /// change with every call (signature, timeout) are sent as never-indexed literals: entering
    /// them into the HPACK tables would only evict the constant ones.
    fn request(
        &self,
        kind: RequestType,
        signature: String,
        timeout: Duration,
    ) -> http::Request<()> {
        let (uri, request_type) = match kind {
            RequestType::Backward => (self.backward_uri.clone(), "2"),
            RequestType::Forward => (self.forward_uri.clone(), "1"),
            RequestType::Notdefined => (self.forward_uri.clone(), "0"),
        };
        let mut request = http::Request::new(());
        *request.method_mut() = Method::POST;
        *request.uri_mut() = uri;
        let headers = request.headers_mut();
        headers.reserve(10);
        grpc_headers(headers, self.compression);
        if let Some(value) = changing_value(unary::grpc_timeout(timeout)) {
            headers.insert("grpc-timeout", value);
        }
        headers.insert(
            signature::AUTH_HEADER,
            HeaderValue::from_static(signature::AUTH_HEADER_VALUE),
        );
        // Signatures are ASCII; one that is not (impossible for a valid key) would only lose
        // its header and be rejected by the peer.
        if let Some(value) = changing_value(signature) {
            headers.insert(signature::SIGNATURE_HEADER, value);
        }
        headers.insert(signature::VERSION_HEADER, self.version_header.clone());
        headers.insert(
            signature::REQUEST_TYPE_HEADER,
            HeaderValue::from_static(request_type),
        );
        request
    }
}

/// A header value that differs on every request: taken without a copy, never indexed.
fn changing_value(text: String) -> Option<HeaderValue> {
    let mut value = HeaderValue::from_maybe_shared(Bytes::from(text)).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// The headers of a gRPC request (as tonic's client sends them).
fn grpc_headers(headers: &mut HeaderMap, compression: Option<Compression>) {
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    headers.insert(http::header::TE, HeaderValue::from_static("trailers"));
    headers.insert(
        http::header::USER_AGENT,
        HeaderValue::from_static(concat!("dendrite/", env!("CARGO_PKG_VERSION"))),
    );
    headers.insert(
        "grpc-accept-encoding",
        HeaderValue::from_static("gzip,zstd"),
    );
    if let Some(compression) = compression {
        headers.insert(
            "grpc-encoding",
            HeaderValue::from_static(compression.name()),
        );
    }
}
