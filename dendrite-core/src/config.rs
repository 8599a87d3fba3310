//! Settings of the client, its pool and each receptor's HTTP/2 channel.

use std::time::Duration;

use dendrite_wire::Compression;

/// The reference's default call timeout: `bittensor.__blocktime__ + 2` = 14 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(14);

/// Per-connection transport settings. The defaults (16 MiB stream / 64 MiB connection windows,
/// 1 MiB frames) are the measured ones of DESIGN §3 and ARCHITECTURE.md.
#[derive(Clone, Debug)]
pub struct ReceptorConfig {
    /// HTTP/2 initial stream window, bytes.
    pub stream_window: u32,
    /// HTTP/2 initial connection window, bytes.
    pub connection_window: u32,
    /// HTTP/2 max frame size the client accepts, bytes (16 KiB ..= 16 MiB - 1).
    pub max_frame_size: u32,
    /// The most bytes one response may have. Each call lowers it to the largest legal response
    /// for its synapses and input shape; this is the ceiling (never unlimited).
    pub max_response_bytes: usize,
    /// Limit for establishing the TCP connection (the call's deadline also applies).
    pub connect_timeout: Duration,
    /// HTTP/2 keepalive ping interval while calls are open; `None` disables pings. 3.x axons
    /// run grpc-core with its default 5 minute minimum ping interval, so we never ping more often.
    pub keepalive_interval: Option<Duration>,
    /// How long to wait for a keepalive ping's answer.
    pub keepalive_timeout: Duration,
    /// gRPC message compression of requests (`grpc-encoding`); `None` sends them plain, as the
    /// reference does. Compressed responses (gzip, zstd) are always accepted.
    pub compression: Option<Compression>,
    /// Sign each lane's next request as soon as its call ends (on a task of its own), so that
    /// a call sends a signature made ahead instead of signing on its critical path (its `sign`
    /// phase drops from ~19 µs to 0.2 µs). Off by default: measured on 2 cores, the extra task
    /// per call cost 10-20 µs of CPU per call and made back-to-back rounds no faster (see
    /// ARCHITECTURE.md, "Where a round's time goes"); it pays only where a core is idle
    /// between calls. 3.x receptors only: the 10.x signatures cover the body
    /// ([`dendrite_keys::SigningScheme::covers_body`]) and are made when it is sent.
    pub presign: bool,
}

impl Default for ReceptorConfig {
    fn default() -> Self {
        ReceptorConfig {
            stream_window: 16 << 20,
            connection_window: 64 << 20,
            max_frame_size: 1 << 20,
            max_response_bytes: 256 << 20,
            connect_timeout: Duration::from_secs(10),
            keepalive_interval: Some(Duration::from_secs(300)),
            keepalive_timeout: Duration::from_secs(20),
            compression: None,
            presign: false,
        }
    }
}

/// Settings of a [`Client`](crate::Client): the receptor pool and the bounds on concurrency.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Channel settings of every receptor.
    pub receptor: ReceptorConfig,
    /// The most receptors (channels, hence TCP connections) kept open; the least recently used
    /// idle one is closed to make room. Reference default: 4096.
    pub max_active_receptors: usize,
    /// The most RPCs in flight at once across all calls; further endpoints wait for a slot
    /// (within their deadline). Kept at or below `max_active_receptors` so that open
    /// connections never exceed the pool's cap.
    pub max_in_flight: usize,
    /// The most fire-and-forget Backward RPCs in flight; beyond it they are dropped and counted.
    pub max_detached_backward: usize,
    /// Receptors unused for this long are closed; `None` keeps them until evicted.
    pub idle_timeout: Option<Duration>,
    /// Return a forward call once enough endpoints answered; `None` (the reference) waits for
    /// every endpoint or the timeout.
    pub quorum: Option<Quorum>,
    /// Skip endpoints that keep failing; `None` (the reference) calls every endpoint every time.
    pub backoff: Option<BackoffConfig>,
    /// Retry forward calls that found the endpoint unavailable; `None` (the reference) never
    /// retries.
    pub retry: Option<RetryConfig>,
    /// Answer `InvalidResponse` for an endpoint whose float response holds NaN or infinities,
    /// instead of the reference's `nan_to_num`.
    pub reject_non_finite: bool,
    /// The 10.x HTTP wire's settings (its connections, its identity).
    pub http: HttpConfig,
}

/// Settings of the 10.x HTTP wire: HTTP/1.1 carries one request per connection at a time, so
/// an endpoint may have several, under their own caps (the 3.x wire's one multiplexed
/// connection per receptor is `max_active_receptors`).
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// The most TCP connections open at once for the HTTP wire; when none is left an idle one
    /// is closed to make room, and a call waits (within its deadline) for one otherwise.
    pub max_connections: usize,
    /// The most connections to one endpoint (in use or idle); further calls to it wait.
    pub connections_per_endpoint: usize,
    /// Idle connections older than this are not reused (uvicorn, the 10.x axon's server,
    /// closes idle connections after 5 s).
    pub idle_timeout: Duration,
    /// Limit for opening a connection (the call's deadline also applies).
    pub connect_timeout: Duration,
    /// The most bytes one answer's body may have.
    pub max_response_bytes: usize,
    /// The IP address requests report as the dendrite's (`bt_header_dendrite_ip`). 10.5.0
    /// looks its external address up on the internet; we never do: say it here.
    pub external_ip: String,
    /// Also sign every request with btauth/1 (bittensor 11's `http_auth`: `X-Bittensor-*`
    /// headers bound to the axon's hotkey), for axons that verify that instead of, or beside,
    /// the 10.x synapse signature.
    pub btauth: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_connections: 4096,
            connections_per_endpoint: 8,
            idle_timeout: Duration::from_secs(4),
            connect_timeout: Duration::from_secs(10),
            max_response_bytes: 64 << 20,
            external_ip: "127.0.0.1".into(),
            btauth: false,
        }
    }
}

/// Return once `k_min` endpoints succeeded and `timeout_after_k_min` more has passed; the
/// endpoints still running then are cut (`Timeout`, with a message saying so). This is
/// hivemind's `RemoteMixtureOfExperts` quorum. Forward calls only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quorum {
    /// Endpoints whose every synapse succeeded, needed before the grace period starts.
    pub k_min: usize,
    /// How long to wait for further endpoints once `k_min` have succeeded.
    pub timeout_after_k_min: Duration,
}

/// Exponential per-endpoint backoff: after `n` consecutive failed forward calls an endpoint is
/// skipped (`Backoff`, no traffic) for `min(base * 2^(n-1), cap)`; a success resets it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackoffConfig {
    /// The first period.
    pub base: Duration,
    /// The longest period.
    pub cap: Duration,
    /// Endpoints whose failures are remembered (least recently failed forgotten first).
    pub max_tracked: usize,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(60),
            max_tracked: 16_384,
        }
    }
}

/// Retries of forward calls answered `Unavailable` (connection refused or dropped before an
/// answer), within the call's own deadline. Every forward call adds `budget_ratio` of a retry
/// to a shared budget and every retry takes one, so retries stay a fraction of calls even when
/// many peers are down. Backward is never retried (a gradient must not be applied twice).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryConfig {
    /// Retries per endpoint call.
    pub max_retries: u32,
    /// Retries earned per forward call.
    pub budget_ratio: f64,
    /// Retries available before any were earned (also the budget's floor for its cap).
    pub budget_reserve: u32,
    /// Pause before the first retry, doubled for each further one (never past the deadline).
    pub delay: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_retries: 2,
            budget_ratio: 0.1,
            budget_reserve: 10,
            delay: Duration::from_millis(10),
        }
    }
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            receptor: ReceptorConfig::default(),
            max_active_receptors: 4096,
            max_in_flight: 4096,
            max_detached_backward: 1024,
            idle_timeout: Some(Duration::from_secs(600)),
            quorum: None,
            backoff: None,
            retry: None,
            reject_non_finite: false,
            http: HttpConfig::default(),
        }
    }
}

impl ClientConfig {
    /// The in-flight cap actually applied: at least 1 and at most the pool's cap.
    pub(crate) fn effective_in_flight(&self) -> usize {
        self.max_in_flight
            .clamp(1, self.max_active_receptors.max(1))
    }
}
