//! One receptor's HTTP/2 connection: h2's `SendRequest` on a TCP stream from the limited
//! connector, opened by the first call that needs it, shared by concurrent calls (one stream
//! each), and reopened by the next call after it closed.
//! The calling task queues HEADERS and DATA itself and the connection task writes them once.
//! Settings: connect timeout, stream and connection windows, frame size, keep-alive pings
//! (`ReceptorConfig`). Why h2's handle and not tonic's `Channel` or hyper's client:
//! ARCHITECTURE.md, "Where a round's time goes".
//!
//! **Invariants:** at most one connection attempt per link at a time (later callers wait for
//! it and share its result); an attempt ends within `connect_timeout` (the caller's deadline
//! covers the wait); a connection whose keep-alive ping goes unanswered for
//! `keepalive_timeout` is closed; the connection's task ends once the link is dropped and its
//! streams are done, which closes the socket and releases its pool permit.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use h2::client::SendRequest;
use tokio::sync::Semaphore;

use super::config::ReceptorConfig;
use crate::neutral::connector::{connect_limited, WireBytes};
use crate::neutral::phases::{ConnectLog, Probe};
use crate::neutral::transport::{AnswerBody, Exchange, RequestBody};

/// A handle for opening streams on one connection: each [`Exchange`] is one stream.
#[derive(Clone, Debug)]
pub(crate) struct Sender {
    send: SendRequest<Bytes>,
    closed: Arc<AtomicBool>,
}

impl Exchange for Sender {
    type Error = h2::Error;
    type Body = H2Body;

    /// HEADERS and the one DATA frame are both queued before the connection task runs: one
    /// write.
    async fn exchange(
        &mut self,
        head: http::Request<()>,
        body: RequestBody,
        probe: &Probe,
    ) -> Result<http::Response<H2Body>, h2::Error> {
        std::future::poll_fn(|cx| self.send.poll_ready(cx)).await?;
        let (response, mut send) = self.send.send_request(head, false)?;
        let (own, shared) = body.into_inner();
        if shared.is_empty() {
            send.send_data(own, true)?;
        } else {
            send.send_data(own, false)?;
            send.send_data(shared, true)?;
        }
        probe.mark_sent();
        let response = response.await?;
        probe.mark_headers();
        Ok(response.map(H2Body))
    }
}

/// An HTTP/2 answer's body. Each chunk read gives its bytes back to the stream's window: the
/// reader's limit, not flow control, bounds what is held.
#[derive(Debug)]
pub(crate) struct H2Body(h2::RecvStream);

impl AnswerBody for H2Body {
    type Error = h2::Error;

    async fn chunk(&mut self) -> Option<Result<Bytes, h2::Error>> {
        let data = self.0.data().await?;
        if let Ok(data) = &data {
            let _ = self.0.flow_control().release_capacity(data.len());
        }
        Some(data)
    }

    async fn trailers(&mut self) -> Result<Option<http::HeaderMap>, h2::Error> {
        self.0.trailers().await
    }
}

/// The HTTP/2 settings of every connection a link opens.
#[derive(Clone, Debug)]
struct Settings {
    connect_timeout: Duration,
    stream_window: u32,
    connection_window: u32,
    max_frame_size: u32,
    keepalive_interval: Option<Duration>,
    keepalive_timeout: Duration,
}

/// A lazily opened, self-healing HTTP/2 connection to one address.
#[derive(Debug)]
pub(crate) struct Link {
    addr: SocketAddr,
    settings: Settings,
    connections: Arc<Semaphore>,
    bytes: Arc<WireBytes>,
    connects: Arc<ConnectLog>,
    current: Mutex<Option<Sender>>,
    connecting: tokio::sync::Mutex<()>,
}

impl Link {
    /// A link to `addr`; no I/O until the first [`Link::sender`].
    pub(crate) fn new(
        addr: SocketAddr,
        config: &ReceptorConfig,
        connections: Arc<Semaphore>,
        bytes: Arc<WireBytes>,
        connects: Arc<ConnectLog>,
    ) -> Self {
        Link {
            addr,
            settings: Settings {
                connect_timeout: config.connect_timeout,
                stream_window: config.stream_window,
                connection_window: config.connection_window,
                max_frame_size: config.max_frame_size,
                keepalive_interval: config.keepalive_interval,
                keepalive_timeout: config.keepalive_timeout,
            },
            connections,
            bytes,
            connects,
            current: Mutex::new(None),
            connecting: tokio::sync::Mutex::new(()),
        }
    }

    /// A sender on the open connection, opening one first when there is none or it closed.
    /// Failures are UNAVAILABLE, as a gRPC channel reports them.
    pub(crate) async fn sender(&self) -> Result<Sender, tonic::Status> {
        if let Some(sender) = self.open() {
            return Ok(sender);
        }
        let _one_attempt_at_a_time = self.connecting.lock().await;
        if let Some(sender) = self.open() {
            return Ok(sender);
        }
        let sender = tokio::time::timeout(self.settings.connect_timeout, self.connect())
            .await
            .map_err(|_| {
                tonic::Status::unavailable(format!(
                    "connect to {} timed out after {:?}",
                    self.addr, self.settings.connect_timeout
                ))
            })??;
        *self.slot() = Some(sender.clone());
        Ok(sender)
    }

    fn open(&self) -> Option<Sender> {
        self.slot()
            .as_ref()
            .filter(|s| !s.closed.load(Ordering::Relaxed))
            .cloned()
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<Sender>> {
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn connect(&self) -> Result<Sender, tonic::Status> {
        let stream = connect_limited(
            self.addr,
            &self.connections,
            self.bytes.clone(),
            self.connects.clone(),
        )
        .await
        .map_err(|e| tonic::Status::unavailable(format!("tcp connect error: {e}")))?;
        let s = &self.settings;
        let (send, mut connection) = h2::client::Builder::new()
            .initial_window_size(s.stream_window)
            .initial_connection_window_size(s.connection_window)
            .max_frame_size(s.max_frame_size)
            .handshake::<_, Bytes>(stream)
            .await
            .map_err(|e| tonic::Status::unavailable(format!("http2 handshake error: {e}")))?;
        let closed = Arc::new(AtomicBool::new(false));
        let pings = connection.ping_pong();
        let keepalive = keep_alive(pings, s.keepalive_interval, s.keepalive_timeout);
        let (addr, ended) = (self.addr, closed.clone());
        tokio::spawn(async move {
            tokio::select! {
                result = &mut connection => if let Err(e) = result {
                    tracing::debug!("connection to {addr} ended: {e}");
                },
                () = keepalive => tracing::debug!("connection to {addr} missed a keep-alive ping"),
            }
            ended.store(true, Ordering::Relaxed);
        });
        Ok(Sender { send, closed })
    }
}

/// Pings every `interval`, idle or not (a handle that could count open streams would keep
/// the connection open); returns when a ping goes unanswered for `timeout`, and the
/// connection is then dropped. Never returns without an interval.
async fn keep_alive(pings: Option<h2::PingPong>, interval: Option<Duration>, timeout: Duration) {
    let (Some(mut pings), Some(interval)) = (pings, interval) else {
        return std::future::pending().await;
    };
    loop {
        tokio::time::sleep(interval).await;
        let answered = tokio::time::timeout(timeout, pings.ping(h2::Ping::opaque())).await;
        if !matches!(answered, Ok(Ok(_))) {
            return;
        }
    }
}
