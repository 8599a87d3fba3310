//! Settings of the 10.x HTTP wire: its connections, their bounds, its identity.

use std::time::Duration;

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
    /// The most answer bytes one call may take across all its axons (each chunk is taken from
    /// this budget as it arrives; an answer that finds it spent fails as the client's error).
    pub max_call_bytes: usize,
    /// The most header lines an answer's head may have (more: the client's error).
    pub max_answer_headers: usize,
    /// The most bytes an answer's head may have, status line and headers (more: the client's
    /// error).
    pub max_answer_head_bytes: usize,
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
            max_call_bytes: 1 << 30,
            max_answer_headers: 100,
            max_answer_head_bytes: 64 << 10,
            external_ip: "127.0.0.1".into(),
            btauth: false,
        }
    }
}
