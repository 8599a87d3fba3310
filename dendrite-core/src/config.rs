//! Settings of a [`Client`](crate::Client): the shared policies' ([`crate::neutral::settings`]),
//! each wire's ([`ReceptorConfig`] for 3.x, [`HttpConfig`] for 10.x) and the bounds on
//! concurrency, in one value a front end fills.

use std::time::Duration;

pub use crate::grpc::config::ReceptorConfig;
pub use crate::http::config::HttpConfig;
pub use crate::neutral::settings::{BackoffConfig, Quorum, RetryConfig, DEFAULT_TIMEOUT};

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
