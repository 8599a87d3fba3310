//! The 3.x wire: gRPC unary calls over HTTP/2 to Bittensor 3.x axons, on the shared core.
//!
//! - [`Grpc`]: the wire's part of a client (its receptor pool, the detached Backward cap) and
//!   its calls: [`forward`] (Forward, each endpoint's pipeline with its backoff and retries),
//!   [`backward`] (awaited and detached), [`round_signing`] (a fan-out's signatures in
//!   batches), [`checks`] (the caller's mistakes, before any RPC).
//! - [`receptor`]: one endpoint's lazily connected, multiplexed link ([`link`], whose streams
//!   are the shared transport's exchanges) and its signing lanes ([`lanes`]); [`pool`] bounds
//!   the receptors.
//! - [`unary`]: gRPC framing, `grpc-timeout`, compression and statuses on h2's streams.
//! - [`request`]: the `TensorMessage`s a call sends, encoded once per distinct input, and the
//!   answers read back into per-synapse results.
//! - [`results`]: those results, the 3.x `ReturnCode`s, how gRPC statuses become codes as the
//!   reference receptor maps them, which neutral [`crate::Outcome`] each code is, and the
//!   wire's [`report`] to observers.
//! - [`backward_plan`]: which endpoints a Backward goes to and with what.
//!
//! **Architecture invariant:** this module sits on the neutral core (`crate::neutral`) and
//! names nothing of the 10.x wire (`crate::http`, `dendrite_http`) nor the client facade;
//! `xtask`'s tidy test checks the edges.

pub(crate) mod backward;
pub mod backward_plan;
pub(crate) mod checks;
pub(crate) mod config;
pub(crate) mod direction;
pub(crate) mod forward;
pub(crate) mod lanes;
pub(crate) mod link;
pub(crate) mod pool;
pub(crate) mod receptor;
pub(crate) mod report;
pub(crate) mod request;
pub(crate) mod results;
pub(crate) mod round_signing;
pub(crate) mod unary;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dendrite_wire::{Endpoint, Synapse, Tensor};
use tokio::sync::Semaphore;

use crate::neutral::observer::CallKind;
use crate::neutral::policy::{CallClock, Core};
use config::ReceptorConfig;
use pool::ReceptorPool;

/// What every endpoint task of one 3.x call shares.
#[derive(Clone, Debug)]
pub(crate) struct CallContext {
    synapses: Arc<[Synapse]>,
    clock: CallClock,
}

impl CallContext {
    fn new(synapses: &[Synapse], timeout: Duration) -> Self {
        CallContext {
            synapses: synapses.into(),
            clock: CallClock::start(timeout),
        }
    }
}

/// What the 3.x wire is set to.
#[derive(Clone, Debug)]
pub(crate) struct GrpcSettings {
    /// Every receptor's channel.
    pub receptor: ReceptorConfig,
    /// The most receptors kept open.
    pub max_active_receptors: usize,
    /// Receptors unused for this long are closed.
    pub idle_timeout: Option<Duration>,
    /// The most fire-and-forget Backward RPCs in flight.
    pub max_detached_backward: usize,
    /// Float answers with NaN or infinities are `InvalidResponse`.
    pub reject_non_finite: bool,
}

/// The 3.x wire's part of a client: the shared core, the receptor pool, and the detached
/// Backward cap.
#[derive(Debug)]
pub(crate) struct Grpc {
    core: Arc<Core>,
    settings: GrpcSettings,
    pool: ReceptorPool,
    detached: Arc<Semaphore>,
    dropped_backward: AtomicU64,
}

impl Grpc {
    /// The wire on `core`, set to `settings`.
    pub fn new(core: Arc<Core>, settings: GrpcSettings) -> Self {
        Grpc {
            pool: ReceptorPool::new(
                settings.max_active_receptors,
                settings.receptor.clone(),
                settings.idle_timeout,
            ),
            detached: Arc::new(Semaphore::new(settings.max_detached_backward.max(1))),
            dropped_backward: AtomicU64::new(0),
            core,
            settings,
        }
    }

    /// The receptor pool.
    pub fn pool(&self) -> &ReceptorPool {
        &self.pool
    }

    /// Reports a finished call of `kind` to the core's observer.
    fn report(
        &self,
        kind: CallKind,
        call: &CallContext,
        endpoints: &[Endpoint],
        inputs: &[Tensor],
        results: &[results::EndpointResult],
    ) {
        let view = report::GrpcCallView {
            endpoints,
            synapses: &call.synapses,
            inputs,
            results,
        };
        self.core.report(kind, call.clock.start, &view);
    }

    /// Fire-and-forget Backward RPCs dropped so far.
    pub fn dropped_backward(&self) -> u64 {
        self.dropped_backward.load(Ordering::Relaxed)
    }
}
