//! A Forward call: inputs prepared once per distinct tensor, one task per endpoint, and each
//! endpoint's pipeline (local checks, backoff, a slot and a receptor, the RPC, budgeted retries
//! on `Unavailable`, reading the answer).

use std::sync::Arc;
use std::time::{Duration, Instant};

use dendrite_wire::proto::{RequestType, ReturnCode};
use dendrite_wire::Endpoint;
use dendrite_wire::{Synapse, Tensor};

use super::checks::{check_call, CallError};
use super::gather::{fan_out, Unfinished};
use super::policy::{backoff_message, Attempted, NoSlot};
use super::{CallContext, Client, Inner};
use crate::grpc::request::{self, PreparedForward};
use crate::grpc::results::{CallFailure, EndpointResult};
use crate::observer::Direction;
use crate::phases::Phases;

impl Client {
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
                    self.inner.config.receptor.compression,
                ))
            }));
        }
        let one = |index: usize| {
            let (inner, call) = (self.inner.clone(), call.clone());
            let (endpoint, prepared) = (endpoints[index].clone(), prepared[index].clone());
            async move { inner.forward_one(&endpoint, &prepared, &call).await }
        };
        let fallback = |index: usize, why: &Unfinished| {
            let failure = CallFailure::from(why);
            request::uniform_failure(&prepared[index].nills, &failure, call.start.elapsed())
        };
        let quorum = self.inner.config.quorum;
        let results = fan_out(endpoints.len(), quorum, one, fallback).await;
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
}

/// The 3.x wire's local checks and its slot-and-receptor step, shared by Forward and Backward.
impl Inner {
    /// Checks shared by forward and backward before any traffic: empty input, the dummy
    /// endpoint and an unusable address answer locally.
    pub(super) fn local_failure(&self, endpoint: &Endpoint, input: &Tensor) -> Option<CallFailure> {
        if input.numel() == 0 {
            return Some(CallFailure::new(ReturnCode::EmptyRequest, "Empty Request"));
        }
        if endpoint.hotkey == dendrite_wire::DUMMY_KEY {
            return Some(CallFailure::new(ReturnCode::BadEndpoint, "Bad endpoint."));
        }
        None
    }

    /// A slot in flight (waited for until the deadline) and the endpoint's receptor, or the
    /// failure that prevents the call. Opens no connection: the receptor's link does, on the
    /// call.
    pub(super) async fn acquire(
        &self,
        endpoint: &Endpoint,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<(tokio::sync::OwnedSemaphorePermit, Arc<crate::Receptor>), CallFailure> {
        let addr = endpoint
            .socket_addr()
            .map_err(|e| CallFailure::new(ReturnCode::BadEndpoint, format!("Bad endpoint: {e}")))?;
        let permit = self.slot(deadline).await.map_err(|no_slot| match no_slot {
            NoSlot::Deadline => CallFailure::timeout(timeout),
            NoSlot::Closed => CallFailure::new(ReturnCode::UnknownException, "client closed"),
        })?;
        let receptor = self
            .pool
            .get(endpoint, addr)
            .map_err(|e| CallFailure::new(ReturnCode::BadEndpoint, format!("Bad endpoint: {e}")))?;
        Ok((permit, receptor))
    }
}

impl Inner {
    async fn forward_one(
        &self,
        endpoint: &Endpoint,
        prepared: &PreparedForward,
        call: &CallContext,
    ) -> EndpointResult {
        let (synapses, start) = (&call.synapses[..], call.start);
        let (deadline, timeout) = (call.deadline, call.timeout);
        let fail = |failure: CallFailure| {
            request::failure_except_unsent(
                &prepared.nills,
                &failure,
                &prepared.serialized,
                start.elapsed(),
            )
        };
        if let Some(failure) = self.local_failure(endpoint, &prepared.input) {
            return request::uniform_failure(&prepared.nills, &failure, start.elapsed());
        }
        if !prepared.has_requests() {
            return fail(CallFailure::nothing_sent());
        }
        if let Some(skip) = self.skipped(endpoint) {
            return fail(skip);
        }
        let frame = match &prepared.frame {
            Ok(frame) => frame,
            Err(failure) => return fail(failure.clone()),
        };
        let mut retries = 0u32;
        let mut phases = Phases::default();
        let addr = match endpoint.socket_addr() {
            Ok(addr) => addr,
            Err(e) => {
                let message = format!("Bad endpoint: {e}");
                return fail(CallFailure::new(ReturnCode::BadEndpoint, message));
            }
        };
        let attempt = || async {
            let receptor = self.pool.get(endpoint, addr).map_err(|e| {
                CallFailure::new(ReturnCode::BadEndpoint, format!("Bad endpoint: {e}"))
            })?;
            let (response, phases) = receptor
                .call(
                    RequestType::Forward,
                    frame.clone(),
                    &self.key,
                    deadline,
                    prepared.max_response_bytes,
                )
                .await;
            Ok((response, phases))
        };
        let no_slot = |why: NoSlot| match why {
            NoSlot::Deadline => CallFailure::timeout(timeout),
            NoSlot::Closed => CallFailure::new(ReturnCode::UnknownException, "client closed"),
        };
        let tried = self
            .attempts(start, deadline, &mut phases, &mut retries, no_slot, attempt)
            .await;
        let response = match tried {
            Attempted::Done(response) => response,
            Attempted::NotSent(failure) => {
                let mut result = fail(failure);
                result.phases = phases;
                return result;
            }
        };
        let mut result = match response {
            Ok(response) => {
                let bytes_received = prost::Message::encoded_len(&response);
                let decoding = start.elapsed();
                let synapses = request::read_forward_response(
                    synapses,
                    prepared,
                    response,
                    start,
                    self.config.reject_non_finite,
                );
                phases.decode = decode_time(&synapses, decoding);
                EndpointResult {
                    synapses,
                    bytes_sent: prepared.encoded_len,
                    bytes_received,
                    phases,
                }
            }
            Err(failure) => {
                let mut result = fail(failure);
                result.bytes_sent = prepared.encoded_len;
                result.phases = phases;
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
        let skip = self.backoff_skip(&endpoint.hotkey, endpoint.socket_addr().ok()?)?;
        Some(CallFailure::new(
            ReturnCode::Backoff,
            backoff_message(&skip),
        ))
    }

    /// Feeds a forward result that reached the network to the backoff: any successful
    /// synapse counts as a success.
    fn record_outcome(&self, endpoint: &Endpoint, result: &EndpointResult) {
        if let Ok(addr) = endpoint.socket_addr() {
            self.backoff_record(&endpoint.hotkey, addr, result.any_success());
        }
    }
}

/// From `decoding` (since the call's start) until the last synapse's result was known, so that
/// the phases end with the call's time and never sum past it.
pub(super) fn decode_time(results: &[crate::SynapseResult], decoding: Duration) -> Duration {
    results
        .iter()
        .map(|s| s.elapsed)
        .max()
        .unwrap_or(decoding)
        .saturating_sub(decoding)
}

/// Whether two tensors share one buffer (clones of the same input).
fn same_tensor(a: &Tensor, b: &Tensor) -> bool {
    a.dtype() == b.dtype()
        && a.shape() == b.shape()
        && a.data().as_ptr() == b.data().as_ptr()
        && a.data().len() == b.data().len()
}
