//! Settings of the 3.x wire: each receptor's HTTP/2 channel.

use std::time::Duration;

use dendrite_wire::Compression;

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
