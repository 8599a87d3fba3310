//! Settings of the client, its pool and each receptor's HTTP/2 channel.

use std::time::Duration;

/// Per-channel transport settings. The defaults are what DESIGN §3 measured on loopback:
/// 16 MiB stream / 64 MiB connection windows and 1 MiB frames made a 16 × 0.8 MB fan-out 2.5×
/// faster than tonic's defaults; adaptive windows made it slower.
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
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            receptor: ReceptorConfig::default(),
            max_active_receptors: 4096,
            max_in_flight: 4096,
            max_detached_backward: 1024,
            idle_timeout: Some(Duration::from_secs(600)),
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
