//! A Forward call: inputs prepared once per distinct tensor, one task per endpoint, and each
//! endpoint's pipeline (local checks, backoff, a slot and a receptor, the RPC, budgeted retries
//! on `Unavailable`, reading the answer).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use dendrite_wire::proto::{RequestType, ReturnCode, TensorMessage};
use dendrite_wire::Endpoint;
use dendrite_wire::{Synapse, Tensor};

use super::checks::{check_call, CallError};
use super::lanes::SignedLane;
use super::request::{self, PreparedForward};
use super::results::{CallFailure, EndpointResult};
use super::round_signing::RoundSigner;
use super::{CallContext, Grpc};
use crate::neutral::observer::CallKind;
use crate::neutral::outcome::WireOutcome;
use crate::neutral::phases::Phases;
use crate::neutral::policy::WireFailure;
use crate::neutral::policy::{backoff_message, Attempt, Attempted};

impl Grpc {
    /// Sends `inputs[i]` to `endpoints[i]` for every synapse, all endpoints at once, and returns
    /// per endpoint × synapse the output (zeros of the expected shape on failure), code,
    /// message and time. Each endpoint's call ends by `timeout` from now, whatever the peer
    /// does. Errors are the caller's mistakes only; peer failures are codes.
    pub(crate) async fn forward(
        self: &Arc<Self>,
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
                    self.core.key().ss58_address(),
                    &call.synapses,
                    input.clone(),
                    self.settings.receptor.max_response_bytes,
                    self.settings.receptor.compression,
                ))
            }));
        }
        let sends = |index: usize| {
            let ready = self.forward_ready(&endpoints[index], &prepared[index]);
            ready.ok().map(|(addr, _frame)| addr)
        };
        let mut round = RoundSigner::new(self, endpoints, sends);
        let one = |index: usize| {
            let signed = round.take(index);
            let (inner, call) = (self.clone(), call.clone());
            let (endpoint, prepared) = (endpoints[index].clone(), prepared[index].clone());
            async move { inner.forward_one(&endpoint, &prepared, &call, signed).await }
        };
        let fallback = |index: usize, failure: CallFailure| {
            request::uniform_failure(&prepared[index].nills, &failure, call.clock.start.elapsed())
        };
        let results = self.core.fan_out(endpoints.len(), one, fallback).await;
        self.report(CallKind::Forward, &call, endpoints, inputs, &results);
        Ok(results)
    }
}

/// The 3.x wire's local checks and its slot-and-receptor step, shared by Forward and Backward.
impl Grpc {
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
    ) -> Result<
        (
            tokio::sync::OwnedSemaphorePermit,
            Arc<super::receptor::Receptor>,
        ),
        CallFailure,
    > {
        let addr = endpoint.socket_addr().map_err(bad_endpoint)?;
        let permit = self
            .core
            .slot(deadline)
            .await
            .map_err(|why| CallFailure::no_slot(why, timeout))?;
        let receptor = self.pool.get(endpoint, addr).map_err(bad_endpoint)?;
        Ok((permit, receptor))
    }
}

/// Why an endpoint's Forward is not sent.
enum NotSent {
    /// A local check failed: every synapse gets the failure.
    Local(CallFailure),
    /// The request cannot go: each synapse keeps its own serialization failure, the others get
    /// this one.
    Unsent(CallFailure),
}

impl Grpc {
    /// One endpoint's Forward: the local checks and the backoff, the RPC with its slot and
    /// retries, then the answer read into per-synapse results. The first attempt sends
    /// `signed`'s header when the round signed one.
    async fn forward_one(
        &self,
        endpoint: &Endpoint,
        prepared: &PreparedForward,
        call: &CallContext,
        mut signed: Option<SignedLane>,
    ) -> EndpointResult {
        let start = call.clock.start;
        let fail = |failure: CallFailure| {
            request::failure_except_unsent(
                &prepared.nills,
                &failure,
                &prepared.serialized,
                start.elapsed(),
            )
        };
        let (addr, frame) = match self.forward_ready(endpoint, prepared) {
            Ok(ready) => ready,
            Err(NotSent::Local(failure)) => {
                return request::uniform_failure(&prepared.nills, &failure, start.elapsed())
            }
            Err(NotSent::Unsent(failure)) => return fail(failure),
        };
        let mut retries = 0u32;
        let mut phases = Phases::default();
        let attempt = || self.forward_attempt(endpoint, addr, frame, prepared, call, signed.take());
        let tried = self
            .core
            .attempts(&call.clock, &mut phases, &mut retries, attempt)
            .await;
        let response = match tried {
            Attempted::Done(response) => response,
            // Nothing reached the network: the backoff does not hear of it.
            Attempted::NotSent(failure) => {
                return EndpointResult {
                    phases,
                    ..fail(failure)
                }
            }
        };
        let mut result = match response {
            Err(failure) => EndpointResult {
                bytes_sent: frame.len(),
                phases,
                ..fail(failure)
            },
            Ok((response, received)) => {
                self.read_forward(response, prepared, call, phases, (frame.len(), received))
            }
        };
        note_retries(&mut result, retries);
        self.record_outcome(endpoint, &result);
        result
    }

    /// One attempt of an endpoint's Forward: its receptor, then the call (sending `signed`'s
    /// header when there is one) under the call's deadline.
    async fn forward_attempt(
        &self,
        endpoint: &Endpoint,
        addr: SocketAddr,
        frame: &Bytes,
        prepared: &PreparedForward,
        call: &CallContext,
        signed: Option<SignedLane>,
    ) -> Attempt<(TensorMessage, usize), CallFailure> {
        let receptor = self.pool.get(endpoint, addr).map_err(bad_endpoint)?;
        let (key, limit) = (self.core.key(), prepared.max_response_bytes);
        let kind = RequestType::Forward;
        let called = receptor
            .call_signed(kind, frame.clone(), key, signed, call.clock.deadline, limit)
            .await;
        let received = called.bytes_received;
        Ok((
            called.outcome.map(|answer| (answer, received)),
            called.phases,
        ))
    }

    /// An endpoint's answer read into per-synapse results (the reference receptor's checks),
    /// with the decode phase and the call's stream bytes (`wire`: sent, received).
    fn read_forward(
        &self,
        response: TensorMessage,
        prepared: &PreparedForward,
        call: &CallContext,
        mut phases: Phases,
        wire: (usize, usize),
    ) -> EndpointResult {
        let decoding = call.clock.start.elapsed();
        let synapses = request::read_forward_response(
            &call.synapses,
            prepared,
            response,
            call.clock.start,
            self.settings.reject_non_finite,
        );
        phases.decode = decode_time(&synapses, decoding);
        EndpointResult {
            synapses,
            bytes_sent: wire.0,
            bytes_received: wire.1,
            phases,
        }
    }

    /// The address and request frame of an endpoint's Forward, or why it is not sent: in the
    /// reference's order, an empty input or the dummy endpoint, no request to send, the
    /// backoff, a request that did not encode, an unusable address.
    fn forward_ready<'p>(
        &self,
        endpoint: &Endpoint,
        prepared: &'p PreparedForward,
    ) -> Result<(SocketAddr, &'p Bytes), NotSent> {
        if let Some(failure) = self.local_failure(endpoint, &prepared.input) {
            return Err(NotSent::Local(failure));
        }
        if !prepared.has_requests() {
            return Err(NotSent::Unsent(CallFailure::nothing_sent()));
        }
        if let Some(skip) = self.skipped(endpoint) {
            return Err(NotSent::Unsent(skip));
        }
        let frame = prepared
            .frame
            .as_ref()
            .map_err(|f| NotSent::Unsent(f.clone()))?;
        let addr = endpoint
            .socket_addr()
            .map_err(|e| NotSent::Unsent(bad_endpoint(e)))?;
        Ok((addr, frame))
    }

    /// The `Backoff` failure of an endpoint being skipped.
    fn skipped(&self, endpoint: &Endpoint) -> Option<CallFailure> {
        let skip = self
            .core
            .backoff_skip(&endpoint.hotkey, endpoint.socket_addr().ok()?)?;
        Some(CallFailure::new(
            ReturnCode::Backoff,
            backoff_message(&skip),
        ))
    }

    /// Feeds a forward result that reached the network to the backoff, by its class: only an
    /// endpoint whose every synapse succeeded resets it.
    fn record_outcome(&self, endpoint: &Endpoint, result: &EndpointResult) {
        if let Ok(addr) = endpoint.socket_addr() {
            self.core
                .backoff_record(&endpoint.hotkey, addr, result.outcome());
        }
    }
}

/// From `decoding` (since the call's start) until the last synapse's result was known, so that
/// the phases end with the call's time and never sum past it.
pub(super) fn decode_time(
    results: &[super::results::SynapseResult],
    decoding: Duration,
) -> Duration {
    results
        .iter()
        .map(|s| s.elapsed)
        .max()
        .unwrap_or(decoding)
        .saturating_sub(decoding)
}

/// `BadEndpoint` for an endpoint whose address or receptor cannot be had.
fn bad_endpoint(error: impl std::fmt::Display) -> CallFailure {
    CallFailure::new(ReturnCode::BadEndpoint, format!("Bad endpoint: {error}"))
}

/// Says in every failed synapse's message that it failed after `retries` retries.
fn note_retries(result: &mut EndpointResult, retries: u32) {
    if retries == 0 {
        return;
    }
    for slot in result
        .synapses
        .iter_mut()
        .filter(|s| s.code != ReturnCode::Success)
    {
        slot.message
            .push_str(&format!(" (after {retries} retries)"));
    }
}

/// Whether two tensors share one buffer (clones of the same input).
fn same_tensor(a: &Tensor, b: &Tensor) -> bool {
    a.dtype() == b.dtype()
        && a.shape() == b.shape()
        && a.data().as_ptr() == b.data().as_ptr()
        && a.data().len() == b.data().len()
}
