//! The HTTP/1.1 keep-alive pool of the 10.x wire: client connections ([`super::h1`]), several
//! per endpoint (HTTP/1.1 carries one request at a time), bounded per endpoint and in total.
//!
//! A call checks a connection out ([`Http1Pool::checkout`]: a per-endpoint slot, then an idle
//! connection or a new one) and checks it back in once its answer was read whole
//! ([`Checkout::release`]); one dropped before that (deadline, error) is closed.
//!
//! **Invariants:** at most `per_endpoint` connections to one address are in use or idle, and at
//! most `max_connections` TCP connections are open in total (every socket holds a permit of
//! the connection semaphore until it closes; when none is left an idle connection of another
//! endpoint is closed to make room); an idle connection is reused only while younger than
//! `idle_timeout` (uvicorn closes idle connections after 5 s; ours expire first); the endpoint
//! table holds only addresses with a connection in use or idle; an open connection holds a
//! uuid no other open connection to its endpoint holds, from the endpoint's few (at most
//! `per_endpoint`, the dendrite's own first), so an axon's nonce table gains a key per
//! concurrent connection, not one per connection ever opened.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::budget::ByteBudget;
use super::h1::{H1Body, H1Error, Limits, H1};
use crate::neutral::buffers::BodyBuffers;
use crate::neutral::connector::{connect_limited, LimitedStream, WireBytes};
use crate::neutral::phases::{ConnectLog, Probe};
use crate::neutral::transport::{AnswerBody, Exchange, RequestBody};

/// One open connection: its socket (while no answer's body holds it) and the uuid it holds.
/// Carries one [`Exchange`] at a time.
///
/// While open, a connection holds a uuid no other connection holds: a 10.x axon keeps the last
/// nonce per `{hotkey}:{uuid}` and refuses one not above it, so requests on several connections
/// to one axon, with one uuid, could arrive out of nonce order and be refused; on one HTTP/1.1
/// connection they cannot. The uuids are the endpoint's few ([`UuidLanes`]), given back when
/// the connection closes, so an axon sees the same ones however often connections come and go.
#[derive(Debug)]
pub(crate) struct Connection {
    /// The socket; `None` while an answer's body reads it, and for good once an exchange on it
    /// failed or left it unfit for another request.
    link: Option<H1<LimitedStream>>,
    pub uuid: UuidLease,
    /// The bytes through this connection's socket: as it carries one exchange at a time, the
    /// difference across an exchange is that exchange's own bytes on the wire.
    pub bytes: Arc<WireBytes>,
}

impl Connection {
    /// Bytes sent and received on this connection so far.
    pub fn wire_bytes(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (
            self.bytes.sent.load(Relaxed),
            self.bytes.received.load(Relaxed),
        )
    }

    /// Whether it can carry a request: its socket is back and the peer has not closed it.
    pub fn is_open(&self) -> bool {
        self.link
            .as_ref()
            .is_some_and(|link| !link.io().peer_closed())
    }

    /// Takes the socket back from an answer's body read to its end (when HTTP/1.1 lets the
    /// connection carry another request).
    pub fn restore(&mut self, body: Http1Body) {
        self.link = body.body.into_connection();
    }
}

impl Exchange for Connection {
    type Error = Http1BodyError;
    type Body = Http1Body;

    /// The request is written here, then *sent* is marked; *headers* when the answer's head
    /// was read.
    async fn exchange(
        &mut self,
        head: http::Request<()>,
        body: RequestBody,
        probe: &Probe,
    ) -> Result<http::Response<Http1Body>, Http1BodyError> {
        let mut link = self
            .link
            .take()
            .ok_or(Http1BodyError::Transport(H1Error::Closed))?;
        let answer = link
            .exchange(&head, &body, || probe.mark_sent())
            .await
            .map_err(Http1BodyError::Transport)?;
        probe.mark_headers();
        let body = Http1Body {
            body: H1Body::new(link, answer.framing, answer.reusable),
            trailers: None,
            budget: None,
            prepaid: 0,
        };
        Ok(http::Response::from_parts(answer.parts, body))
    }
}

/// An HTTP/1.1 answer's body (chunked answers may end with trailers), taken from its call's
/// byte budget where it has one: a declared length all at once before a byte is read (so the
/// answers that come first are whole and the rest fail at once, rather than every answer
/// failing half read), anything past it chunk by chunk as it arrives.
#[derive(Debug)]
pub(crate) struct Http1Body {
    body: H1Body<LimitedStream>,
    trailers: Option<http::HeaderMap>,
    budget: Option<Arc<ByteBudget>>,
    /// Bytes already taken from the budget and not yet read.
    prepaid: usize,
}

impl Http1Body {
    /// Takes the body from `budget`: its `declared` length now (an error when the budget has
    /// not that much left), every byte past it as it arrives.
    pub fn set_budget(
        &mut self,
        budget: Arc<ByteBudget>,
        declared: Option<u64>,
    ) -> Result<(), Http1BodyError> {
        if let Some(declared) = declared {
            let declared = usize::try_from(declared).unwrap_or(usize::MAX);
            if !budget.take(declared) {
                return Err(Http1BodyError::OverBudget(budget.total()));
            }
            self.prepaid = declared;
        }
        self.budget = Some(budget);
        Ok(())
    }

    /// The whole body when its head declared a length of at most `limit` that the budget paid
    /// for: read by the socket straight into one of `buffers` ([`H1Body::read_whole`]), then
    /// `edit`ed in place before anything shares it; `None` for any other body (read it chunk by
    /// chunk).
    pub async fn read_declared<T>(
        &mut self,
        limit: usize,
        buffers: &Arc<BodyBuffers>,
        edit: impl FnOnce(&mut [u8]) -> T,
    ) -> Option<Result<(Bytes, T), Http1BodyError>> {
        let declared = self.body.declared()?;
        let paid = usize::try_from(declared).is_ok_and(|d| d <= limit && d <= self.prepaid);
        if !paid {
            return None;
        }
        let whole = self.body.read_whole(buffers, edit).await?;
        Some(
            whole
                .map_err(Http1BodyError::Transport)
                .inspect(|(whole, _)| {
                    self.prepaid -= whole.len();
                }),
        )
    }
}

/// Why an exchange or its answer's body could not go on.
#[derive(Debug)]
pub(crate) enum Http1BodyError {
    /// The connection failed, or its answer broke HTTP/1.1.
    Transport(H1Error),
    /// The call's byte budget (this many bytes) is spent.
    OverBudget(usize),
}

impl std::fmt::Display for Http1BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Http1BodyError::Transport(e) => e.fmt(f),
            Http1BodyError::OverBudget(total) => write!(
                f,
                "the call's answers brought more than its budget of {total} bytes"
            ),
        }
    }
}

impl std::error::Error for Http1BodyError {}

impl AnswerBody for Http1Body {
    type Error = Http1BodyError;

    async fn chunk(&mut self) -> Option<Result<Bytes, Http1BodyError>> {
        let data = match self.body.chunk().await {
            None => {
                self.trailers = self.body.take_trailers();
                return None;
            }
            Some(Err(e)) => return Some(Err(Http1BodyError::Transport(e))),
            Some(Ok(data)) => data,
        };
        let unpaid = data.len().saturating_sub(self.prepaid);
        self.prepaid = self.prepaid.saturating_sub(data.len());
        if let Some(budget) = self.budget.as_ref().filter(|_| unpaid > 0) {
            if !budget.take(unpaid) {
                return Some(Err(Http1BodyError::OverBudget(budget.total())));
            }
        }
        Some(Ok(data))
    }

    async fn trailers(&mut self) -> Result<Option<http::HeaderMap>, Http1BodyError> {
        while let Some(chunk) = self.chunk().await {
            chunk?;
        }
        Ok(self.trailers.take())
    }
}

/// The uuids one endpoint's connections sign with: the dendrite's own first, then one more for
/// each connection open at once beyond the first (at most `per_endpoint`), each held by one
/// open connection at a time and given back when it closes. A validator calling an axon one
/// request at a time names only the dendrite's uuid, as 10.5.0's dendrite does; concurrency
/// adds a few, the same ones every time.
#[derive(Debug)]
pub(crate) struct UuidLanes {
    free: Mutex<std::collections::VecDeque<Arc<str>>>,
    own: Arc<str>,
}

impl UuidLanes {
    fn new(own: Arc<str>) -> Arc<Self> {
        Arc::new(UuidLanes {
            free: Mutex::new(std::collections::VecDeque::from([own.clone()])),
            own,
        })
    }

    /// A uuid no open connection holds: the dendrite's own when it is free, else another of
    /// the endpoint's, else a new one.
    fn lease(self: &Arc<Self>) -> UuidLease {
        let free = self
            .free
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front();
        UuidLease {
            uuid: free.unwrap_or_else(|| uuid::Uuid::new_v4().to_string().into()),
            lanes: self.clone(),
        }
    }
}

/// A uuid held by one open connection, given back to its endpoint's lanes when dropped.
#[derive(Debug)]
pub(crate) struct UuidLease {
    uuid: Arc<str>,
    lanes: Arc<UuidLanes>,
}

impl std::ops::Deref for UuidLease {
    type Target = str;

    fn deref(&self) -> &str {
        &self.uuid
    }
}

impl Drop for UuidLease {
    fn drop(&mut self) {
        let mut free = self.lanes.free.lock().unwrap_or_else(|e| e.into_inner());
        if self.uuid == self.lanes.own {
            free.push_front(self.uuid.clone());
        } else {
            free.push_back(self.uuid.clone());
        }
    }
}

/// Endpoints whose uuids are remembered at most (the least recently used forgotten first: its
/// next connections start again from the dendrite's own uuid).
const UUID_ENDPOINTS: usize = 65_536;

/// Why no connection was had.
#[derive(Debug)]
pub(crate) enum CheckoutError {
    /// TCP connect failed (refused, unreachable).
    Connect(std::io::Error),
    /// The connection attempt took longer than the connect timeout.
    ConnectTimeout,
    /// The pool is shutting down.
    Closed,
}

/// The pool's settings.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Http1Settings {
    pub max_connections: usize,
    pub per_endpoint: usize,
    pub idle_timeout: Duration,
    pub connect_timeout: Duration,
    /// The most header lines of an answer's head.
    pub max_headers: usize,
    /// The most bytes of an answer's head.
    pub max_head_bytes: usize,
}

/// HTTP/1.1 connections by address.
#[derive(Debug)]
pub(crate) struct Http1Pool {
    hosts: Mutex<HashMap<SocketAddr, Host>>,
    connections: Arc<Semaphore>,
    settings: Http1Settings,
    /// The dendrite's own uuid, every endpoint's first.
    own_uuid: Arc<str>,
    /// Each endpoint's uuids (bounded).
    uuids: Mutex<lru::LruCache<SocketAddr, Arc<UuidLanes>>>,
}

#[derive(Debug)]
struct Host {
    slots: Arc<Semaphore>,
    idle: Vec<(Connection, Instant)>,
}

/// A connection checked out for one request, with the endpoint slot it holds.
#[derive(Debug)]
pub(crate) struct Checkout {
    /// The connection.
    pub connection: Connection,
    /// Whether it was open before this call.
    pub reused: bool,
    /// Time spent opening it (zero when reused).
    pub connect: Duration,
    addr: SocketAddr,
    _slot: OwnedSemaphorePermit,
}

impl Http1Pool {
    /// A pool whose connections sign with `own_uuid` first (the dendrite's).
    pub(crate) fn new(settings: Http1Settings, own_uuid: &str) -> Self {
        let endpoints =
            std::num::NonZeroUsize::new(UUID_ENDPOINTS).unwrap_or(std::num::NonZeroUsize::MIN);
        Http1Pool {
            hosts: Mutex::default(),
            connections: Arc::new(Semaphore::new(settings.max_connections.max(1))),
            settings,
            own_uuid: own_uuid.into(),
            uuids: Mutex::new(lru::LruCache::new(endpoints)),
        }
    }

    /// A uuid for a new connection to `addr` ([`UuidLanes::lease`]).
    fn lease_uuid(&self, addr: SocketAddr) -> UuidLease {
        let mut uuids = self.uuids.lock().unwrap_or_else(|e| e.into_inner());
        let lanes = uuids.get_or_insert(addr, || UuidLanes::new(self.own_uuid.clone()));
        lanes.lease()
    }

    /// TCP connections open now.
    pub(crate) fn open_connections(&self) -> usize {
        self.settings.max_connections.max(1) - self.connections.available_permits()
    }

    /// A connection to `addr`: waits for one of the endpoint's slots, then reuses an idle
    /// connection or opens one. The caller bounds the wait by its deadline.
    pub(crate) async fn checkout(
        &self,
        addr: SocketAddr,
    ) -> Result<(Checkout, Duration), CheckoutError> {
        let queued = Instant::now();
        let slots = {
            let mut hosts = self.lock();
            let host = hosts.entry(addr).or_insert_with(|| Host {
                slots: Arc::new(Semaphore::new(self.settings.per_endpoint.max(1))),
                idle: Vec::new(),
            });
            host.slots.clone()
        };
        let slot = slots
            .acquire_owned()
            .await
            .map_err(|_| CheckoutError::Closed)?;
        let queue = queued.elapsed();
        if let Some(connection) = self.take_idle(addr) {
            let checkout = Checkout {
                connection,
                reused: true,
                connect: Duration::ZERO,
                addr,
                _slot: slot,
            };
            return Ok((checkout, queue));
        }
        let connecting = Instant::now();
        let connection =
            match tokio::time::timeout(self.settings.connect_timeout, self.connect(addr)).await {
                Ok(Ok(connection)) => connection,
                Ok(Err(e)) => {
                    drop(slot);
                    self.forget_if_unused(addr);
                    return Err(CheckoutError::Connect(e));
                }
                Err(_) => {
                    drop(slot);
                    self.forget_if_unused(addr);
                    return Err(CheckoutError::ConnectTimeout);
                }
            };
        let checkout = Checkout {
            connection,
            reused: false,
            connect: connecting.elapsed(),
            addr,
            _slot: slot,
        };
        Ok((checkout, queue))
    }

    /// Returns a connection whose answer was read whole; a closed one is dropped.
    pub(crate) fn release(&self, checkout: Checkout) {
        let Checkout {
            connection,
            addr,
            _slot,
            ..
        } = checkout;
        if connection.is_open() {
            if let Some(host) = self.lock().get_mut(&addr) {
                host.idle.push((connection, Instant::now()));
            }
        }
        drop(_slot);
        self.forget_if_unused(addr);
    }

    /// Drops a connection that cannot be reused (its request failed or was cut).
    pub(crate) fn discard(&self, checkout: Checkout) {
        let addr = checkout.addr;
        drop(checkout);
        self.forget_if_unused(addr);
    }

    fn take_idle(&self, addr: SocketAddr) -> Option<Connection> {
        let mut hosts = self.lock();
        let host = hosts.get_mut(&addr)?;
        let now = Instant::now();
        while let Some((connection, since)) = host.idle.pop() {
            let fresh = now.duration_since(since) < self.settings.idle_timeout;
            if fresh && connection.is_open() {
                return Some(connection);
            }
        }
        None
    }

    async fn connect(&self, addr: SocketAddr) -> std::io::Result<Connection> {
        if self.connections.available_permits() == 0 {
            self.close_one_idle();
        }
        let bytes = Arc::new(WireBytes::default());
        let stream = connect_limited(
            addr,
            &self.connections,
            bytes.clone(),
            Arc::new(ConnectLog::default()),
        )
        .await?;
        let limits = Limits {
            max_headers: self.settings.max_headers,
            max_head_bytes: self.settings.max_head_bytes,
        };
        Ok(Connection {
            link: Some(H1::new(stream, limits)),
            uuid: self.lease_uuid(addr),
            bytes,
        })
    }

    /// Closes the oldest idle connection of any endpoint, to free a connection permit.
    fn close_one_idle(&self) {
        let mut hosts = self.lock();
        let oldest = hosts
            .iter()
            .filter_map(|(addr, host)| host.idle.first().map(|(_, since)| (*since, *addr)))
            .min();
        if let Some((_, addr)) = oldest {
            if let Some(host) = hosts.get_mut(&addr) {
                host.idle.remove(0);
            }
        }
    }

    /// Removes `addr`'s entry once nothing uses it and nothing idles there.
    fn forget_if_unused(&self, addr: SocketAddr) {
        let mut hosts = self.lock();
        // No waiter or permit holds a clone of the slots: nothing uses the endpoint.
        let unused = hosts
            .get(&addr)
            .is_some_and(|host| host.idle.is_empty() && Arc::strong_count(&host.slots) == 1);
        if unused {
            hosts.remove(&addr);
        }
    }

    /// Closes every idle connection.
    pub(crate) fn clear_idle(&self) {
        let mut hosts = self.lock();
        for host in hosts.values_mut() {
            host.idle.clear();
        }
        hosts.retain(|_, host| Arc::strong_count(&host.slots) > 1);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, Host>> {
        self.hosts.lock().unwrap_or_else(|e| e.into_inner())
    }
}
