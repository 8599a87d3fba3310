//! The fan-out client: every endpoint of a call runs concurrently on tokio, each under one hard
//! deadline, through the bounded receptor pool.
//!
//! One module per concern: [`checks`] (the caller's mistakes, before any RPC), [`forward`] (a
//! Forward call and each endpoint's pipeline with its backoff and retry glue), [`backward`]
//! (awaited and detached Backward), [`gather`] (collecting results, quorum included); this
//! module holds the client, its settings and what the pipelines share (reporting, local
//! failures, a slot and a receptor).

mod backward;
mod checks;
mod forward;
mod gather;
mod policy;
mod round_signing;
mod synapse;

pub use backward::BackwardDispatch;
pub use checks::CallError;
pub(crate) use gather::Unfinished;
pub use synapse::{SynapseOutcome, SynapseStream};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dendrite_wire::Endpoint;
use dendrite_wire::{Synapse, Tensor};
use tokio::sync::Semaphore;

use crate::backoff::BackoffTable;
use crate::config::ClientConfig;
use crate::grpc::pool::ReceptorPool;
use crate::grpc::results::EndpointResult;
use crate::keys::Keypair;
use crate::observer::{CallObserver, CallReport, Direction};
use crate::retry::RetryBudget;

/// What every endpoint task of one call shares.
#[derive(Clone, Debug)]
struct CallContext {
    synapses: Arc<[Synapse]>,
    start: Instant,
    deadline: Instant,
    timeout: Duration,
}

impl CallContext {
    fn new(synapses: &[Synapse], timeout: Duration) -> Self {
        let start = Instant::now();
        CallContext {
            synapses: synapses.into(),
            start,
            deadline: start + timeout,
            timeout,
        }
    }
}

/// The dendrite's RPC core. Cheap to clone; clones share the pool and limits.
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    key: Keypair,
    config: ClientConfig,
    pool: ReceptorPool,
    in_flight: Arc<Semaphore>,
    detached: Arc<Semaphore>,
    dropped_backward: AtomicU64,
    observer: Option<Arc<dyn CallObserver>>,
    backoff: Option<BackoffTable>,
    retry_budget: Option<RetryBudget>,
    retries: AtomicU64,
    http: synapse::HttpSide,
}

impl std::fmt::Debug for dyn CallObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallObserver")
    }
}

impl Client {
    /// A client that signs with `key`.
    pub fn new(key: Keypair, config: ClientConfig) -> Self {
        Self::build(key, config, None)
    }

    /// A client that reports every finished call to `observer` (metrics, statistics).
    pub fn with_observer(
        key: Keypair,
        config: ClientConfig,
        observer: Arc<dyn CallObserver>,
    ) -> Self {
        Self::build(key, config, Some(observer))
    }

    fn build(key: Keypair, config: ClientConfig, observer: Option<Arc<dyn CallObserver>>) -> Self {
        let pool = ReceptorPool::new(
            config.max_active_receptors,
            config.receptor.clone(),
            config.idle_timeout,
        );
        let in_flight = Arc::new(Semaphore::new(config.effective_in_flight()));
        let detached = Arc::new(Semaphore::new(config.max_detached_backward.max(1)));
        let backoff = config.backoff.map(BackoffTable::new);
        let retry_budget = config
            .retry
            .as_ref()
            .map(|retry| RetryBudget::new(retry, config.effective_in_flight()));
        let http = synapse::HttpSide::new(key.clone(), &config.http);
        Client {
            inner: Arc::new(Inner {
                http,
                key,
                config,
                pool,
                in_flight,
                detached,
                dropped_backward: AtomicU64::new(0),
                observer,
                backoff,
                retry_budget,
                retries: AtomicU64::new(0),
            }),
        }
    }

    /// The signing key.
    pub fn key(&self) -> &Keypair {
        &self.inner.key
    }

    /// The settings.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The receptor pool (for inspection).
    pub fn pool(&self) -> &ReceptorPool {
        &self.inner.pool
    }

    /// Fire-and-forget backward RPCs dropped so far because too many were in flight.
    pub fn dropped_backward(&self) -> u64 {
        self.inner.dropped_backward.load(Ordering::Relaxed)
    }

    /// Endpoints being skipped by the backoff now (0 without backoff).
    pub fn backing_off(&self) -> usize {
        self.inner
            .backoff
            .as_ref()
            .map_or(0, |b| b.skipping(Instant::now()))
    }

    /// The uuid 10.x synapse requests name when no connection gives its own (failures before
    /// any connection).
    pub fn http_uuid(&self) -> &str {
        self.inner.http.dendrite.uuid()
    }

    /// HTTP/1.1 connections of the 10.x wire open now.
    pub fn http_connections(&self) -> usize {
        self.inner.http.pool.open_connections()
    }

    /// Closes every idle HTTP/1.1 connection of the 10.x wire.
    pub fn close_idle_http(&self) {
        self.inner.http.pool.clear_idle();
    }

    /// Forward retries made so far.
    pub fn retries(&self) -> u64 {
        self.inner.retries.load(Ordering::Relaxed)
    }
}

impl Inner {
    fn report_synapse(
        &self,
        direction: Direction,
        axons: &[dendrite_http::AxonTarget],
        synapse: &dendrite_http::SynapseCall,
        results: &[SynapseOutcome],
        start: Instant,
    ) {
        if let Some(observer) = &self.observer {
            observer.call_finished(&CallReport::synapse_call(
                direction,
                axons,
                synapse,
                results,
                start.elapsed(),
            ));
        }
    }

    fn report(
        &self,
        direction: Direction,
        endpoints: &[Endpoint],
        synapses: &[Synapse],
        inputs: &[Tensor],
        results: &[EndpointResult],
        start: Instant,
    ) {
        if let Some(observer) = &self.observer {
            observer.call_finished(&CallReport::new(
                direction,
                endpoints,
                synapses,
                inputs,
                results,
                start.elapsed(),
            ));
        }
    }
}
