//! The 10.x HTTP wire, on the shared core: bittensor 10.x's `POST /{Synapse}` requests (signed
//! as 10.5.0 signs them, and with btauth/1 when asked) over an HTTP/1.1 keep-alive pool.
//!
//! - [`Http`]: the wire's part of a client: its identity (`dendrite_http::Dendrite`), its
//!   nonce clock and its connections ([`pool`]), each speaking HTTP/1.1 ([`h1`]).
//! - [`exchange`]: one request and its answer on a pooled connection, whatever the request
//!   (the step a further kind of request shares).
//! - [`synapse`]: a synapse call to many axons, each axon's pipeline under the core's
//!   policies; [`stream`]: one axon's streamed answer; [`request`]: the request as it goes out.
//! - [`rest`]: a signed REST request (any method and path; btauth/1, Epistula v2 or unsigned)
//!   to many axons, its answers and events, and its report to observers.
//! - [`result`]: [`result::AxonResult`], the classes of results and failures, and the report
//!   to observers.
//! - [`config`]: the wire's settings.
//!
//! **Architecture invariant:** this module sits on the neutral core (`crate::neutral`) and
//! names nothing of the 3.x wire (`crate::grpc`, `dendrite_wire`) nor the client facade;
//! `xtask`'s tidy test checks the edges. A further kind of HTTP request lands here, beside
//! [`synapse`], on the same pool and core.

pub(crate) mod answer_keys;
pub(crate) mod budget;
pub(crate) mod config;
pub(crate) mod exchange;
pub(crate) mod h1;
pub(crate) mod pool;
pub(crate) mod request;
pub(crate) mod rest;
pub(crate) mod result;
pub(crate) mod stream;
pub(crate) mod synapse;

use std::sync::Arc;

use dendrite_keys::nonce::NonceClock;

use config::HttpConfig;
use pool::{Http1Pool, Http1Settings};

use crate::neutral::buffers::{BodyBuffers, DEFAULT_IDLE_BYTES};
use crate::neutral::policy::Core;

/// The HTTP wire's part of a client: the shared core, its settings, its identity, its nonces,
/// its connections and the buffers its answers are gathered into.
#[derive(Debug)]
pub(crate) struct Http {
    core: Arc<Core>,
    config: HttpConfig,
    dendrite: dendrite_http::Dendrite,
    pool: Http1Pool,
    nonces: NonceClock,
    answer_keys: answer_keys::AxonKeys,
    /// The buffers answers' bodies are gathered into, kept between calls.
    buffers: Arc<BodyBuffers>,
}

impl Http {
    /// The wire on `core`, set to `config`.
    pub fn new(core: Arc<Core>, config: HttpConfig) -> Self {
        let dendrite = dendrite_http::Dendrite::new(core.key().clone(), &config.external_ip);
        let settings = Http1Settings {
            max_connections: config.max_connections,
            per_endpoint: config.connections_per_endpoint,
            idle_timeout: config.idle_timeout,
            connect_timeout: config.connect_timeout,
            max_headers: config.max_answer_headers,
            max_head_bytes: config.max_answer_head_bytes,
        };
        Http {
            pool: Http1Pool::new(settings, dendrite.uuid()),
            dendrite,
            nonces: NonceClock::new(),
            answer_keys: answer_keys::AxonKeys::default(),
            buffers: BodyBuffers::new(DEFAULT_IDLE_BYTES),
            core,
            config,
        }
    }

    /// The dendrite's own uuid: every axon's first (a connection to an axon signs with it
    /// unless another open connection to that axon holds it).
    pub fn uuid(&self) -> &str {
        self.dendrite.uuid()
    }

    /// HTTP/1.1 connections open now.
    pub fn open_connections(&self) -> usize {
        self.pool.open_connections()
    }

    /// Closes every idle connection.
    pub fn clear_idle(&self) {
        self.pool.clear_idle();
    }

    /// `time.time_ns()`, made strictly increasing across this client's requests: 10.5.0 axons
    /// refuse a nonce not above the last one they accepted from this hotkey and uuid.
    fn next_nonce(&self) -> i128 {
        i128::from(self.nonces.next())
    }
}
