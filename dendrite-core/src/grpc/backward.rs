//! Backward calls: every endpoint gets the gradients of its outputs, awaited (results come
//! back) or detached (fire-and-forget, bounded by `max_detached_backward`, never queued).

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use dendrite_wire::proto::RequestType;
use dendrite_wire::synapse::max_backward_response_bytes;
use dendrite_wire::Endpoint;
use dendrite_wire::{Synapse, Tensor};

use super::checks::{check_call, check_grads, CallError};
use super::lanes::SignedLane;
use super::request;
use super::results::{CallFailure, EndpointResult};
use super::round_signing::RoundSigner;
use super::{CallContext, Grpc};
use crate::neutral::gather;
use crate::neutral::observer::CallKind;
use crate::neutral::policy::WireFailure;

/// How a fire-and-forget backward went out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BackwardDispatch {
    /// Backward RPCs started.
    pub started: usize,
    /// Backward RPCs dropped because `max_detached_backward` were already in flight.
    pub dropped: usize,
}

impl Grpc {
    /// Sends each endpoint its gradients (`grads[i]`, one per synapse, the shape of that
    /// synapse's forward output) with the forward inputs, all endpoints at once, and waits for
    /// every answer (or the deadline). Backward results carry empty output tensors.
    pub(crate) async fn backward(
        self: &Arc<Self>,
        endpoints: &[Endpoint],
        synapses: &[Synapse],
        inputs: &[Tensor],
        grads: &[Vec<Tensor>],
        timeout: Duration,
    ) -> Result<Vec<EndpointResult>, CallError> {
        check_call(endpoints, synapses, inputs)?;
        check_grads(endpoints, synapses, grads)?;
        let call = CallContext::new(synapses, timeout);
        let sends = |index: usize| self.backward_sends(&endpoints[index], &inputs[index]);
        let mut round = RoundSigner::new(self, endpoints, sends);
        let one = |index: usize| {
            let signed = round.take(index);
            let (inner, call) = (self.clone(), call.clone());
            let (endpoint, input) = (endpoints[index].clone(), inputs[index].clone());
            let grads = grads[index].clone();
            async move {
                inner
                    .backward_one(&endpoint, &input, &grads, &call, signed)
                    .await
            }
        };
        let empties = vec![Tensor::empty(); call.synapses.len()];
        let fallback = |_: usize, failure: CallFailure| {
            request::uniform_failure(&empties, &failure, call.clock.start.elapsed())
        };
        // No quorum: every endpoint is sent its gradients.
        let results = gather::fan_out(endpoints.len(), None, one, |index, why| {
            fallback(index, CallFailure::unfinished(why))
        })
        .await;
        self.report(CallKind::Backward, &call, endpoints, inputs, &results);
        Ok(results)
    }

    /// Starts the backward RPCs and returns at once. At most `max_detached_backward` are in
    /// flight; beyond that they are dropped (and counted), never queued. The observer hears of
    /// the call once, when its last started RPC finished, as of an awaited one. Must be called
    /// from within a tokio runtime.
    pub(crate) fn backward_detached(
        self: &Arc<Self>,
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
        // Permits first, so the report knows how many results to wait for.
        let permits: Vec<_> = endpoints
            .iter()
            .map(|_| self.detached.clone().try_acquire_owned().ok())
            .collect();
        dispatch.started = permits.iter().filter(|p| p.is_some()).count();
        dispatch.dropped = endpoints.len() - dispatch.started;
        self.dropped_backward
            .fetch_add(dispatch.dropped as u64, Ordering::Relaxed);
        let report = Arc::new(DetachedReport::new(dispatch.started));
        let permitted: Vec<bool> = permits.iter().map(Option::is_some).collect();
        let sends = |index: usize| {
            let sends = || self.backward_sends(&endpoints[index], &inputs[index]);
            permitted[index].then(sends).flatten()
        };
        let mut round = RoundSigner::new(self, endpoints, sends);
        for (index, permit) in permits.into_iter().enumerate() {
            let Some(permit) = permit else { continue };
            let signed = round.take(index);
            let (inner, call, report) = (self.clone(), call.clone(), report.clone());
            let (endpoint, input) = (endpoints[index].clone(), inputs[index].clone());
            let grads = grads[index].clone();
            tokio::spawn(async move {
                let result = inner
                    .backward_one(&endpoint, &input, &grads, &call, signed)
                    .await;
                tracing::debug!(hotkey = %endpoint.hotkey, codes = ?result.codes(), "detached backward");
                drop(permit);
                if let Some(finished) = report.finish(endpoint, input, result) {
                    let Finished {
                        endpoints,
                        inputs,
                        results,
                    } = &finished;
                    inner.report(CallKind::Backward, &call, endpoints, inputs, results);
                }
            });
        }
        Ok(dispatch)
    }
}

/// The finished endpoints of one detached backward, in the order they finished.
#[derive(Default)]
struct Finished {
    endpoints: Vec<Endpoint>,
    inputs: Vec<Tensor>,
    results: Vec<EndpointResult>,
}

/// Gathers a detached backward's results so that the observer gets one report per call.
struct DetachedReport {
    started: usize,
    finished: std::sync::Mutex<Finished>,
}

impl DetachedReport {
    fn new(started: usize) -> Self {
        DetachedReport {
            started,
            finished: std::sync::Mutex::default(),
        }
    }

    /// Adds one endpoint's result; all of them when it was the last.
    fn finish(
        &self,
        endpoint: Endpoint,
        input: Tensor,
        result: EndpointResult,
    ) -> Option<Finished> {
        let mut finished = self.finished.lock().unwrap_or_else(|e| e.into_inner());
        finished.endpoints.push(endpoint);
        finished.inputs.push(input);
        finished.results.push(result);
        (finished.results.len() == self.started).then(|| std::mem::take(&mut *finished))
    }
}

impl Grpc {
    /// The address a Backward to `endpoint` goes to, unless a local check answers it.
    fn backward_sends(&self, endpoint: &Endpoint, input: &Tensor) -> Option<SocketAddr> {
        match self.local_failure(endpoint, input) {
            Some(_) => None,
            None => endpoint.socket_addr().ok(),
        }
    }

    /// One endpoint's Backward; it sends `signed`'s header when its round signed one.
    async fn backward_one(
        &self,
        endpoint: &Endpoint,
        input: &Tensor,
        grads: &[Tensor],
        call: &CallContext,
        signed: Option<SignedLane>,
    ) -> EndpointResult {
        let (synapses, start) = (&call.synapses[..], call.clock.start);
        let (deadline, timeout) = (call.clock.deadline, call.clock.timeout);
        let empties = vec![Tensor::empty(); synapses.len()];
        if let Some(failure) = self.local_failure(endpoint, input) {
            return request::uniform_failure(&empties, &failure, start.elapsed());
        }
        let (message, serialized) =
            request::backward_message(self.core.key().ss58_address(), synapses, input, grads);
        let fail = |failure: &CallFailure| {
            request::failure_except_unsent(&empties, failure, &serialized, start.elapsed())
        };
        if serialized.iter().all(|s| s.is_err()) {
            return fail(&CallFailure::nothing_sent());
        }
        let connected = self.acquire(endpoint, deadline, timeout).await;
        // From the call's start: a task the runtime has not run yet is queued too.
        let queue = start.elapsed();
        let (permit, receptor) = match connected {
            Ok(connected) => connected,
            Err(failure) => {
                let mut result = fail(&failure);
                result.phases.queue = queue;
                return result;
            }
        };
        let limit =
            max_backward_response_bytes(synapses.len(), self.settings.receptor.max_response_bytes);
        let frame = match receptor.encode(&message) {
            Ok(frame) => frame,
            Err(failure) => return fail(&failure),
        };
        drop(message);
        let bytes_sent = frame.len();
        let called = receptor
            .call_signed(
                RequestType::Backward,
                frame,
                self.core.key(),
                signed,
                deadline,
                limit,
            )
            .await;
        drop(permit);
        let mut phases = called.phases;
        phases.queue = queue;
        match called.outcome {
            Ok(response) => {
                let decoding = start.elapsed();
                let synapses = request::read_backward_response(&serialized, &response, start);
                phases.decode = super::forward::decode_time(&synapses, decoding);
                EndpointResult {
                    synapses,
                    bytes_sent,
                    bytes_received: called.bytes_received,
                    phases,
                }
            }
            Err(failure) => {
                let mut result = fail(&failure);
                result.bytes_sent = bytes_sent;
                result.phases = phases;
                result
            }
        }
    }
}
