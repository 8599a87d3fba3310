//! The client facade: [`Client`] holds the wire-neutral core and each wire above it (3.x gRPC,
//! 10.x HTTP), and is the one public door to their calls.
//!
//! **Architecture invariant:** the facade only builds the parts and hands calls to the wire
//! that makes them; the fan-out, deadlines and policies are the core's (`crate::neutral`), each
//! wire's requests and results its own (`crate::grpc`, `crate::http`), and neither wire knows
//! the other or the facade.

use std::sync::Arc;
use std::time::Duration;

use dendrite_http::{AxonTarget, SynapseCall};
use dendrite_keys::Keypair;
use dendrite_wire::{Endpoint, Synapse, Tensor};

use crate::config::ClientConfig;
use crate::grpc::backward::BackwardDispatch;
use crate::grpc::checks::CallError;
use crate::grpc::pool::ReceptorPool;
use crate::grpc::results::EndpointResult;
use crate::grpc::{Grpc, GrpcSettings};
use crate::http::rest::{RestAnswer, RestRequest, RestStream};
use crate::http::result::AxonResult;
use crate::http::stream::SynapseStream;
use crate::http::Http;
use crate::neutral::observer::CallObserver;
use crate::neutral::policy::{Core, CoreSettings};

/// The dendrite's client, on both wires. Cheap to clone; clones share the core (slots, backoff,
/// retry budget, observer), the pools and the limits.
#[derive(Clone, Debug)]
pub struct Client {
    core: Arc<Core>,
    config: Arc<ClientConfig>,
    grpc: Arc<Grpc>,
    http: Arc<Http>,
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
        let settings = CoreSettings {
            in_flight: config.effective_in_flight(),
            quorum: config.quorum,
            backoff: config.backoff,
            retry: config.retry,
        };
        let core = Arc::new(Core::new(key, settings, observer));
        let grpc = Grpc::new(
            core.clone(),
            GrpcSettings {
                receptor: config.receptor.clone(),
                max_active_receptors: config.max_active_receptors,
                idle_timeout: config.idle_timeout,
                max_detached_backward: config.max_detached_backward,
                reject_non_finite: config.reject_non_finite,
            },
        );
        let http = Http::new(core.clone(), config.http.clone());
        Client {
            core,
            config: Arc::new(config),
            grpc: Arc::new(grpc),
            http: Arc::new(http),
        }
    }

    /// The signing key.
    pub fn key(&self) -> &Keypair {
        self.core.key()
    }

    /// The settings.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Sends `inputs[i]` to `endpoints[i]` for every synapse, all endpoints at once, and returns
    /// per endpoint × synapse the output (zeros of the expected shape on failure), code,
    /// message and time (3.x Forward). Each endpoint's call ends by `timeout` from now,
    /// whatever the peer does. Errors are the caller's mistakes only; peer failures are codes.
    pub async fn forward(
        &self,
        endpoints: &[Endpoint],
        synapses: &[Synapse],
        inputs: &[Tensor],
        timeout: Duration,
    ) -> Result<Vec<EndpointResult>, CallError> {
        self.grpc
            .forward(endpoints, synapses, inputs, timeout)
            .await
    }

    /// Sends each endpoint its gradients (`grads[i]`, one per synapse, the shape of that
    /// synapse's forward output) with the forward inputs, all endpoints at once, and waits for
    /// every answer (or the deadline) (3.x Backward). Backward results carry empty output
    /// tensors.
    pub async fn backward(
        &self,
        endpoints: &[Endpoint],
        synapses: &[Synapse],
        inputs: &[Tensor],
        grads: &[Vec<Tensor>],
        timeout: Duration,
    ) -> Result<Vec<EndpointResult>, CallError> {
        self.grpc
            .backward(endpoints, synapses, inputs, grads, timeout)
            .await
    }

    /// Starts the backward RPCs and returns at once. At most `max_detached_backward` are in
    /// flight; beyond that they are dropped (and counted), never queued. The observer hears of
    /// the call once, when its last started RPC finished, as of an awaited one. Must be called
    /// from within a tokio runtime.
    pub fn backward_detached(
        &self,
        endpoints: &[Endpoint],
        synapses: &[Synapse],
        inputs: &[Tensor],
        grads: &[Vec<Tensor>],
        timeout: Duration,
    ) -> Result<BackwardDispatch, CallError> {
        self.grpc
            .backward_detached(endpoints, synapses, inputs, grads, timeout)
    }

    /// Sends `synapse` to every axon at once, as 10.5.0's `Dendrite.forward` does, and returns
    /// one result per axon in order. The call ends by the synapse's timeout from now, whatever
    /// the axons do; the dendrite's own failures are 10.5.0's status codes and messages (408
    /// deadline, 503 refused or dropped, 400/500/422); the axons' statuses pass through.
    pub async fn call_synapse(
        &self,
        axons: &[AxonTarget],
        synapse: &SynapseCall,
    ) -> Vec<AxonResult> {
        self.http.call_synapse(axons, synapse).await
    }

    /// Sends `synapse` to one axon and streams its answer (10.5.0's `call_stream`): a 200
    /// `text/event-stream` answer's body chunks as they arrive ([`SynapseStream::next_chunk`]),
    /// then the synapse's state from the answer's head ([`SynapseStream::outcome`]); any other
    /// answer is read whole, as [`Client::call_synapse`] reads it. The same policies and the
    /// same deadline (the whole stream ends by the synapse's timeout). Dropping the stream
    /// cancels the call. Must be called within a tokio runtime.
    pub fn call_synapse_stream(&self, axon: &AxonTarget, synapse: &SynapseCall) -> SynapseStream {
        self.http.call_synapse_stream(axon, synapse)
    }

    /// Sends `request` (any method and path, signed as it says) to every axon at once, as
    /// bittensor 11's subnets send theirs, and returns one answer per axon in order, on the same
    /// pool, deadline and policies as [`Client::call_synapse`].
    pub async fn request(&self, axons: &[AxonTarget], request: &RestRequest) -> Vec<RestAnswer> {
        self.http.request(axons, request).await
    }

    /// [`Client::request`] with each `text/event-stream` answer's events handed on as they
    /// arrive, across all axons ([`RestStream::next_event`]), then every answer
    /// ([`RestStream::answers`]). Dropping the stream cancels the call. Must be called within a
    /// tokio runtime.
    pub fn request_stream(&self, axons: &[AxonTarget], request: &RestRequest) -> RestStream {
        self.http.request_stream(axons, request)
    }

    /// The receptor pool of the 3.x wire (for inspection).
    pub fn pool(&self) -> &ReceptorPool {
        self.grpc.pool()
    }

    /// Fire-and-forget backward RPCs dropped so far because too many were in flight.
    pub fn dropped_backward(&self) -> u64 {
        self.grpc.dropped_backward()
    }

    /// Endpoints being skipped by the backoff now (0 without backoff).
    pub fn backing_off(&self) -> usize {
        self.core.backing_off()
    }

    /// The dendrite's own uuid: the one 10.x requests to an axon name while no other request
    /// to it is in flight (a few more, stable per axon, only for concurrent connections).
    pub fn http_uuid(&self) -> &str {
        self.http.uuid()
    }

    /// HTTP/1.1 connections of the 10.x wire open now.
    pub fn http_connections(&self) -> usize {
        self.http.open_connections()
    }

    /// Closes every idle HTTP/1.1 connection of the 10.x wire.
    pub fn close_idle_http(&self) {
        self.http.clear_idle();
    }

    /// Retries made so far (either wire).
    pub fn retries(&self) -> u64 {
        self.core.retries()
    }
}
