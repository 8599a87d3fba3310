//! The fan-out client: every endpoint of a call runs concurrently on tokio, each under one hard
//! deadline, through the bounded receptor pool.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dendrite_format::Endpoint;
use dendrite_wire::proto::{RequestType, ReturnCode};
use dendrite_wire::{Synapse, SynapseError, Tensor};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::backoff::BackoffTable;
use crate::config::{ClientConfig, Quorum};
use crate::keys::Keypair;
use crate::observer::{CallObserver, CallReport, Direction};
use crate::outcome::{CallFailure, EndpointResult};
use crate::pool::ReceptorPool;
use crate::request::{self, PreparedForward};
use crate::retry::RetryBudget;

/// The hotkey of the reference's dummy endpoint.
const DUMMY_HOTKEY: &str = "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX";

/// A caller's mistake, found before any RPC is made.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// Endpoints and inputs (or gradients) must pair up one to one.
    #[error("{endpoints} endpoints but {items} {what}")]
    CountMismatch {
        /// Number of endpoints.
        endpoints: usize,
        /// Number of inputs or gradient lists.
        items: usize,
        /// "inputs" or "gradient lists".
        what: &'static str,
    },
    /// A call needs at least one synapse.
    #[error("no synapses given")]
    NoSynapses,
    /// A synapse's parameters are invalid.
    #[error("synapse {index} ({name}): {source}")]
    InvalidSynapse {
        /// Its position.
        index: usize,
        /// Its name.
        name: &'static str,
        /// What is wrong.
        #[source]
        source: SynapseError,
    },
    /// An endpoint's gradient list must have one gradient per synapse.
    #[error("endpoint {endpoint}: {grads} gradients for {synapses} synapses")]
    GradientCount {
        /// The endpoint's position.
        endpoint: usize,
        /// Gradients given.
        grads: usize,
        /// Synapses in the call.
        synapses: usize,
    },
}

/// How a fire-and-forget backward went out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BackwardDispatch {
    /// Backward RPCs started.
    pub started: usize,
    /// Backward RPCs dropped because `max_detached_backward` were already in flight.
    pub dropped: usize,
}

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
}

impl std::fmt::Debug for dyn CallObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallObserver")
    }
}

impl Client {
    /// A client that signs with `key`.
    pub fn new(key: Keypair, config: ClientConfig) -> Self {
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
        Client {
            inner: Arc::new(Inner {
                key,
                config,
                pool,
                in_flight,
                detached,
                dropped_backward: AtomicU64::new(0),
                observer: None,
                backoff,
                retry_budget,
                retries: AtomicU64::new(0),
            }),
        }
    }

    /// A client that reports every finished call to `observer` (metrics, statistics).
    pub fn with_observer(
        key: Keypair,
        config: ClientConfig,
        observer: Arc<dyn CallObserver>,
    ) -> Self {
        let mut client = Client::new(key, config);
        if let Some(inner) = Arc::get_mut(&mut client.inner) {
            inner.observer = Some(observer);
        }
        client
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

    /// Forward retries made so far.
    pub fn retries(&self) -> u64 {
        self.inner.retries.load(Ordering::Relaxed)
    }

    /// Sends `inputs[i]` to `endpoints[i]` for every synapse, all endpoints at once, and returns
    /// per endpoint × synapse the output (zeros of the expected shape on failure), code,
    /// message and time. Each endpoint's call ends by `timeout` from now, whatever the peer
    /// does. Errors are the caller's mistakes only; peer failures are codes.
    pub async fn forward(
        &self,
        endpoints: &[Endpoint],
        synapses: &[Synapse],
        inputs: &[Tensor],
        timeout: Duration,
    ) -> Result<Vec<EndpointResult>, CallError> {
        check_call(endpoints, synapses, inputs)?;
        let call = CallContext::new(synapses, timeout);
        let mut prepared: Vec<Arc<PreparedForward>> = Vec::with_capacity(inputs.len());
        for input in inputs {
            let reuse = prepared
                .last()
                .filter(|p| same_tensor(&p.input, input))
                .cloned();
            prepared.push(reuse.unwrap_or_else(|| {
                Arc::new(PreparedForward::new(
                    self.inner.key.ss58_address(),
                    &call.synapses,
                    input.clone(),
                    self.inner.config.receptor.max_response_bytes,
                ))
            }));
        }
        let mut tasks = JoinSet::new();
        for (index, (endpoint, prepared)) in endpoints.iter().zip(&prepared).enumerate() {
            let (inner, endpoint, call) = (self.inner.clone(), endpoint.clone(), call.clone());
            let prepared = prepared.clone();
            tasks.spawn(
                async move { (index, inner.forward_one(&endpoint, &prepared, &call).await) },
            );
        }
        let fallback = |index: usize, failure: &CallFailure| {
            request::uniform_failure(&prepared[index].nills, failure, call.start.elapsed())
        };
        let results = collect(tasks, endpoints.len(), self.inner.config.quorum, fallback).await;
        self.inner.report(
            Direction::Forward,
            endpoints,
            &call.synapses,
            inputs,
            &results,
            call.start,
        );
        Ok(results)
    }

    /// Sends each endpoint its gradients (`grads[i]`, one per synapse, the shape of that
    /// synapse's forward output) with the forward inputs, all endpoints at once, and waits for
    /// every answer (or the deadline). Backward results carry empty output tensors.
    pub async fn backward(
        &self,
        endpoints: &[Endpoint],
        synapses: &[Synapse],
        inputs: &[Tensor],
        grads: &[Vec<Tensor>],
        timeout: Duration,
    ) -> Result<Vec<EndpointResult>, CallError> {
        check_call(endpoints, synapses, inputs)?;
        check_grads(endpoints, synapses, grads)?;
        let call = CallContext::new(synapses, timeout);
        let mut tasks = JoinSet::new();
        for (index, ((endpoint, input), grads)) in
            endpoints.iter().zip(inputs).zip(grads).enumerate()
        {
            let (inner, call) = (self.inner.clone(), call.clone());
            let (endpoint, input, grads) = (endpoint.clone(), input.clone(), grads.clone());
            tasks.spawn(async move {
                let result = inner.backward_one(&endpoint, &input, &grads, &call).await;
                (index, result)
            });
        }
        let empties = vec![Tensor::empty(); call.synapses.len()];
        let fallback = |_: usize, failure: &CallFailure| {
            request::uniform_failure(&empties, failure, call.start.elapsed())
        };
        let results = collect(tasks, endpoints.len(), None, fallback).await;
        self.inner.report(
            Direction::Backward,
            endpoints,
            &call.synapses,
            inputs,
            &results,
            call.start,
        );
        Ok(results)
    }

    /// Starts the backward RPCs and returns at once. At most `max_detached_backward` are in
    /// flight; beyond that they are dropped (and counted), never queued. Must be called from
    /// within a tokio runtime.
    pub fn backward_detached(
        &self,
        endpoints: &[Endpoint],
        synapses: &[Synapse],
        inputs: &[Tensor],
        grads: &[Vec<Tensor>],
        timeout: Duration,
    ) -> Result<BackwardDispatch, CallError> {
        check_call(endpoints, synapses, inputs)?;
        check_grads(endpoints, synapses, grads)?;
        let call = CallContext::new(synapses, timeout);
        let mut dispatch = BackwardDispatch::default();
        for ((endpoint, input), grads) in endpoints.iter().zip(inputs).zip(grads) {
            let Ok(permit) = self.inner.detached.clone().try_acquire_owned() else {
                dispatch.dropped += 1;
                self.inner.dropped_backward.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            dispatch.started += 1;
            let (inner, call) = (self.inner.clone(), call.clone());
            let (endpoint, input, grads) = (endpoint.clone(), input.clone(), grads.clone());
            tokio::spawn(async move {
                let result = inner.backward_one(&endpoint, &input, &grads, &call).await;
                tracing::debug!(hotkey = %endpoint.hotkey, codes = ?result.codes(), "detached backward");
                inner.report(
                    Direction::Backward,
                    std::slice::from_ref(&endpoint),
                    &call.synapses,
                    std::slice::from_ref(&input),
                    std::slice::from_ref(&result),
                    call.start,
                );
                drop(permit);
            });
        }
        Ok(dispatch)
    }
}

impl Inner {
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
            observer.call_finished(&CallReport {
                direction,
                endpoints,
                synapses,
                inputs,
                results,
                elapsed: start.elapsed(),
            });
        }
    }

    /// Checks shared by forward and backward before any traffic: empty input, the dummy
    /// endpoint and an unusable address answer locally.
    fn local_failure(&self, endpoint: &Endpoint, input: &Tensor) -> Option<CallFailure> {
        if input.numel() == 0 {
            return Some(CallFailure::new(ReturnCode::EmptyRequest, "Empty Request"));
        }
        if endpoint.hotkey == DUMMY_HOTKEY {
            return Some(CallFailure::new(ReturnCode::BadEndpoint, "Bad endpoint."));
        }
        None
    }

    /// A slot in flight and the endpoint's receptor, or the failure that prevents the call.
    async fn connect(
        &self,
        endpoint: &Endpoint,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<(tokio::sync::OwnedSemaphorePermit, Arc<crate::Receptor>), CallFailure> {
        let addr = endpoint
            .socket_addr()
            .map_err(|e| CallFailure::new(ReturnCode::BadEndpoint, format!("Bad endpoint: {e}")))?;
        let permit =
            tokio::time::timeout_at(deadline.into(), self.in_flight.clone().acquire_owned())
                .await
                .map_err(|_| CallFailure::timeout(timeout))?
                .map_err(|_| CallFailure::new(ReturnCode::UnknownException, "client closed"))?;
        let receptor = self
            .pool
            .get(endpoint, addr)
            .map_err(|e| CallFailure::new(ReturnCode::BadEndpoint, format!("Bad endpoint: {e}")))?;
        Ok((permit, receptor))
    }

    async fn forward_one(
        &self,
        endpoint: &Endpoint,
        prepared: &PreparedForward,
        call: &CallContext,
    ) -> EndpointResult {
        let (synapses, start) = (&call.synapses[..], call.start);
        let (deadline, timeout) = (call.deadline, call.timeout);
        let fail = |failure: CallFailure| {
            let mut result = request::uniform_failure(&prepared.nills, &failure, start.elapsed());
            for (slot, serialized) in result.synapses.iter_mut().zip(&prepared.serialized) {
                if let Err(own) = serialized {
                    slot.code = own.code;
                    slot.message = own.message.clone();
                }
            }
            result
        };
        if let Some(failure) = self.local_failure(endpoint, &prepared.input) {
            return request::uniform_failure(&prepared.nills, &failure, start.elapsed());
        }
        if !prepared.has_requests() {
            return fail(CallFailure::new(ReturnCode::Success, ""));
        }
        if let Some(skip) = self.skipped(endpoint) {
            return fail(skip);
        }
        if let Some(budget) = &self.retry_budget {
            budget.deposit();
        }
        let mut retries = 0u32;
        let response = loop {
            let (permit, receptor) = match self.connect(endpoint, deadline, timeout).await {
                Ok(connected) => connected,
                Err(failure) => return fail(failure),
            };
            let response = receptor
                .call(
                    RequestType::Forward,
                    prepared.message.clone(),
                    &self.key,
                    deadline,
                    prepared.max_response_bytes,
                )
                .await;
            drop(permit);
            match response {
                Err(failure) if self.may_retry(&failure, retries, deadline).await => {
                    retries += 1;
                }
                response => break response,
            }
        };
        let mut result = match response {
            Ok(response) => {
                let bytes_received = prost::Message::encoded_len(&response);
                EndpointResult {
                    synapses: request::read_forward_response(
                        synapses,
                        prepared,
                        response,
                        start,
                        self.config.reject_non_finite,
                    ),
                    bytes_sent: prepared.encoded_len,
                    bytes_received,
                }
            }
            Err(failure) => {
                let mut result = fail(failure);
                result.bytes_sent = prepared.encoded_len;
                result
            }
        };
        if retries > 0 {
            for slot in result
                .synapses
                .iter_mut()
                .filter(|s| s.code != ReturnCode::Success)
            {
                slot.message
                    .push_str(&format!(" (after {retries} retries)"));
            }
        }
        self.record_outcome(endpoint, &result);
        result
    }

    /// The `Backoff` failure of an endpoint being skipped.
    fn skipped(&self, endpoint: &Endpoint) -> Option<CallFailure> {
        let backoff = self.backoff.as_ref()?;
        let addr = endpoint.socket_addr().ok()?;
        let skip = backoff.check(&endpoint.hotkey, addr, Instant::now())?;
        Some(CallFailure::new(
            ReturnCode::Backoff,
            format!(
                "Backoff: skipped for {:.2}s more after {} failed calls",
                skip.remaining.as_secs_f64(),
                skip.failures
            ),
        ))
    }

    /// Feeds a forward result that reached the network to the backoff: any successful
    /// synapse counts as a success.
    fn record_outcome(&self, endpoint: &Endpoint, result: &EndpointResult) {
        let (Some(backoff), Ok(addr)) = (&self.backoff, endpoint.socket_addr()) else {
            return;
        };
        let succeeded = result
            .synapses
            .iter()
            .any(|s| s.code == ReturnCode::Success);
        backoff.record(&endpoint.hotkey, addr, succeeded, Instant::now());
    }

    /// Whether to retry after `failure`: only `Unavailable`, within the retry limit and the
    /// budget, and only if the pause before it ends before the deadline (it is taken here).
    async fn may_retry(&self, failure: &CallFailure, retries: u32, deadline: Instant) -> bool {
        let (Some(config), Some(budget)) = (&self.config.retry, &self.retry_budget) else {
            return false;
        };
        if failure.code != ReturnCode::Unavailable || retries >= config.max_retries {
            return false;
        }
        let pause = config.delay.saturating_mul(1u32 << retries.min(16));
        if Instant::now() + pause >= deadline || !budget.try_withdraw() {
            return false;
        }
        self.retries.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(pause).await;
        true
    }

    async fn backward_one(
        &self,
        endpoint: &Endpoint,
        input: &Tensor,
        grads: &[Tensor],
        call: &CallContext,
    ) -> EndpointResult {
        let (synapses, start) = (&call.synapses[..], call.start);
        let (deadline, timeout) = (call.deadline, call.timeout);
        let empties = vec![Tensor::empty(); synapses.len()];
        if let Some(failure) = self.local_failure(endpoint, input) {
            return request::uniform_failure(&empties, &failure, start.elapsed());
        }
        let (message, serialized) =
            request::backward_message(self.key.ss58_address(), synapses, input, grads);
        let fail = |failure: &CallFailure| {
            let mut result = request::uniform_failure(&empties, failure, start.elapsed());
            for (slot, own) in result.synapses.iter_mut().zip(&serialized) {
                if let Err(own) = own {
                    slot.code = own.code;
                    slot.message = own.message.clone();
                }
            }
            result
        };
        if serialized.iter().all(|s| s.is_err()) {
            return fail(&CallFailure::new(ReturnCode::Success, ""));
        }
        let (permit, receptor) = match self.connect(endpoint, deadline, timeout).await {
            Ok(connected) => connected,
            Err(failure) => return fail(&failure),
        };
        let bytes_sent = prost::Message::encoded_len(&message);
        let limit =
            request::max_response_bytes(&[], input, self.config.receptor.max_response_bytes)
                + synapses.len() * 1024;
        let response = receptor
            .call(RequestType::Backward, message, &self.key, deadline, limit)
            .await;
        drop(permit);
        match response {
            Ok(response) => EndpointResult {
                synapses: request::read_backward_response(&serialized, &response, start),
                bytes_sent,
                bytes_received: prost::Message::encoded_len(&response),
            },
            Err(failure) => {
                let mut result = fail(&failure);
                result.bytes_sent = bytes_sent;
                result
            }
        }
    }
}

fn check_call(
    endpoints: &[Endpoint],
    synapses: &[Synapse],
    inputs: &[Tensor],
) -> Result<(), CallError> {
    if endpoints.len() != inputs.len() {
        return Err(CallError::CountMismatch {
            endpoints: endpoints.len(),
            items: inputs.len(),
            what: "inputs",
        });
    }
    if synapses.is_empty() {
        return Err(CallError::NoSynapses);
    }
    for (index, synapse) in synapses.iter().enumerate() {
        synapse
            .validate()
            .map_err(|source| CallError::InvalidSynapse {
                index,
                name: synapse.name(),
                source,
            })?;
    }
    Ok(())
}

fn check_grads(
    endpoints: &[Endpoint],
    synapses: &[Synapse],
    grads: &[Vec<Tensor>],
) -> Result<(), CallError> {
    if grads.len() != endpoints.len() {
        return Err(CallError::CountMismatch {
            endpoints: endpoints.len(),
            items: grads.len(),
            what: "gradient lists",
        });
    }
    if let Some((endpoint, g)) = grads
        .iter()
        .enumerate()
        .find(|(_, g)| g.len() != synapses.len())
    {
        return Err(CallError::GradientCount {
            endpoint,
            grads: g.len(),
            synapses: synapses.len(),
        });
    }
    Ok(())
}

/// Whether two tensors share one buffer (clones of the same input).
fn same_tensor(a: &Tensor, b: &Tensor) -> bool {
    a.dtype() == b.dtype()
        && a.shape() == b.shape()
        && a.data().as_ptr() == b.data().as_ptr()
        && a.data().len() == b.data().len()
}

/// Gathers task results in endpoint order. With a quorum, stops once `k_min` endpoints
/// succeeded and the grace period passed, and cuts the rest (`Timeout`, saying so); dropping
/// the `JoinSet` cancels their tasks. A task that died (it cannot, short of a bug) gives
/// `UnknownException` for its endpoint rather than losing the whole call.
async fn collect(
    mut tasks: JoinSet<(usize, EndpointResult)>,
    count: usize,
    quorum: Option<Quorum>,
    fallback: impl Fn(usize, &CallFailure) -> EndpointResult,
) -> Vec<EndpointResult> {
    let mut results: Vec<Option<EndpointResult>> = vec![None; count];
    let mut succeeded = 0usize;
    let mut grace_ends: Option<tokio::time::Instant> = None;
    loop {
        let joined = match grace_ends {
            Some(end) => match tokio::time::timeout_at(end, tasks.join_next()).await {
                Ok(joined) => joined,
                Err(_grace_over) => break,
            },
            None => tasks.join_next().await,
        };
        let Some(joined) = joined else { break };
        match joined {
            Ok((index, result)) => {
                succeeded += usize::from(result.all_success());
                results[index] = Some(result);
            }
            Err(e) => tracing::error!("endpoint task failed: {e}"),
        }
        if let Some(q) = quorum.filter(|q| grace_ends.is_none() && succeeded >= q.k_min) {
            grace_ends = Some(tokio::time::Instant::now() + q.timeout_after_k_min);
        }
    }
    let finished = tasks.is_empty();
    drop(tasks);
    let cut = CallFailure::new(
        ReturnCode::Timeout,
        format!(
            "Cut by quorum: {succeeded} endpoints had succeeded and the {:.3}s grace period passed",
            quorum.map_or(0.0, |q| q.timeout_after_k_min.as_secs_f64())
        ),
    );
    let died = CallFailure::new(ReturnCode::UnknownException, "endpoint task failed");
    results
        .into_iter()
        .enumerate()
        .map(|(index, r)| r.unwrap_or_else(|| fallback(index, if finished { &died } else { &cut })))
        .collect()
}
