//! A 10.x synapse call: one request per axon over the HTTP/1.1 pool, on the same fan-out,
//! deadline, quorum, backoff, retries, in-flight slots, phases and observer as the 3.x calls.
//!
//! Each axon's pipeline: address → backoff → in-flight slot → the exchange on a pooled
//! connection ([`super::exchange`]: connection, render and sign (the signature covers the body
//! hash, so nothing is signed ahead), send, head, body bounded) →
//! [`dendrite_http::read_elided_answer`]. Everything from the slot on is under the call's one
//! deadline; what the deadline cuts is 10.5.0's 408.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use dendrite_http::{
    read_elided_answer, read_stream_head, AxonTarget, CallSite, DendriteFailure, SynapseAnswer,
    SynapseCall, TerminalInfo,
};

use super::budget::ByteBudget;
use super::exchange::{Reading, Received};
use super::result::{AxonResult, SynapseCallView};
use super::Http;
use crate::neutral::observer::CallKind;
use crate::neutral::outcome::WireOutcome;
use crate::neutral::phases::Phases;
use crate::neutral::policy::{backoff_message, Attempted, CallClock};

/// What every axon task of one synapse call shares.
pub(super) struct SynapseContext {
    pub synapse: SynapseCall,
    pub clock: CallClock,
    /// The answer bytes all the call's axons may still bring.
    pub budget: Arc<ByteBudget>,
    /// How the axons' whole answers are read: their sent long strings found where they came
    /// back unchanged, not parsed again (`dendrite_http::echoed`).
    pub whole: Reading,
}

impl SynapseContext {
    /// The context of a call of `synapse` starting now, ending by its timeout, its answers
    /// bounded together by `max_call_bytes`.
    pub fn new(synapse: &SynapseCall, max_call_bytes: usize) -> Self {
        let sent = synapse.sent_strings().clone();
        SynapseContext {
            synapse: synapse.clone(),
            clock: CallClock::start(Duration::from_secs_f64(synapse.timeout().min(1e9))),
            budget: Arc::new(ByteBudget::new(max_call_bytes)),
            whole: match sent.is_empty() {
                true => Reading::Whole,
                false => Reading::WholeEliding(Arc::new(sent)),
            },
        }
    }
}

impl Http {
    /// Sends `synapse` to every axon at once, as 10.5.0's `Dendrite.forward` does, and returns
    /// one outcome per axon in order. The call ends by the synapse's timeout from now, whatever
    /// the axons do; the dendrite's own failures are 10.5.0's status codes and messages (408
    /// deadline, 503 refused or dropped, 400/500/422); the axons' statuses pass through.
    pub(crate) async fn call_synapse(
        self: &Arc<Self>,
        axons: &[AxonTarget],
        synapse: &SynapseCall,
    ) -> Vec<AxonResult> {
        let call = Arc::new(SynapseContext::new(synapse, self.config.max_call_bytes));
        let one = |index: usize| {
            let (http, call, axon) = (self.clone(), call.clone(), axons[index].clone());
            async move { http.synapse_one(&axon, &call, &call.whole).await }
        };
        let fallback = |index: usize, failure: DendriteFailure| {
            let (dendrite, axon) = self.terminal_infos(&axons[index]);
            failed(
                &call,
                dendrite,
                axon,
                &axons[index],
                &failure,
                Phases::default(),
            )
        };
        let results = self.core.fan_out(axons.len(), one, fallback).await;
        let view = SynapseCallView {
            axons,
            synapse,
            results: &results,
        };
        self.core.report(CallKind::Synapse, call.clock.start, &view);
        results
    }
}

impl Http {
    pub(super) async fn synapse_one(
        &self,
        axon: &AxonTarget,
        call: &SynapseContext,
        reading: &Reading,
    ) -> AxonResult {
        let sent = self.terminal_infos(axon);
        let mut phases = Phases::default();
        let fail = |failure: DendriteFailure, phases: Phases| {
            failed(call, sent.0.clone(), sent.1.clone(), axon, &failure, phases)
        };
        let addr = match self.connect_addr(axon, call.clock.deadline).await {
            Ok(addr) => addr,
            Err(failure) => return fail(failure, phases),
        };
        if let Some(skip) = self.core.backoff_skip(&axon.hotkey, addr) {
            return fail(DendriteFailure::Unavailable, phases).with_message(backoff_message(&skip));
        }
        let mut retries = 0u32;
        let attempt = || async {
            let mut attempt_phases = Phases::default();
            let tried = tokio::time::timeout_at(
                call.clock.deadline.into(),
                self.synapse_attempt(axon, addr, &sent, call, reading, &mut attempt_phases),
            )
            .await
            .unwrap_or(Err(DendriteFailure::Timeout));
            Ok((tried, attempt_phases))
        };
        let tried = self
            .core
            .attempts(&call.clock, &mut phases, &mut retries, attempt)
            .await;
        let outcome = match tried {
            Attempted::Done(outcome) => outcome,
            Attempted::NotSent(failure) => return fail(failure, phases),
        };
        let outcome = match outcome {
            Ok(outcome) => AxonResult { phases, ..outcome },
            Err(failure) => fail(failure, phases),
        };
        self.core
            .backoff_record(&axon.hotkey, addr, outcome.outcome());
        outcome
    }

    /// One try: the signed request exchanged on a pooled connection, the answer read into the
    /// synapse that was `sent` (its terminal infos).
    async fn synapse_attempt(
        &self,
        axon: &AxonTarget,
        addr: SocketAddr,
        sent: &(TerminalInfo, TerminalInfo),
        call: &SynapseContext,
        reading: &Reading,
        phases: &mut Phases,
    ) -> Result<AxonResult, DendriteFailure> {
        let sign = |uuid: &str| self.signed_request(uuid, axon, addr, call);
        let bounds = (self.config.max_response_bytes, &call.budget);
        let exchanged = self.exchange(addr, sign, reading, bounds, phases).await?;
        let decoding = Instant::now();
        let status = exchanged.head.status.as_u16();
        let headers = exchanged
            .head
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_bytes()));
        let (mut answer, body, elided) = match exchanged.received {
            Received::Streamed => {
                let answer = read_stream_head(status, headers, &sent.0, &sent.1)?;
                (answer, Bytes::new(), None)
            }
            Received::Whole(body, elided) => {
                let (dendrite, axon) = (&sent.0, &sent.1);
                let answer =
                    read_elided_answer(status, headers, &body, elided.as_ref(), dendrite, axon)?;
                phases.decode += decoding.elapsed();
                (answer, body, elided)
            }
        };
        let elapsed = call.clock.start.elapsed();
        answer.dendrite.process_time = Some(elapsed.as_secs_f64());
        Ok(AxonResult {
            answer,
            http_status: status,
            body,
            elided,
            elapsed,
            bytes_sent: exchanged.bytes_sent,
            bytes_received: exchanged.bytes_received,
            phases: *phases,
        })
    }

    /// The terminal infos a request to `axon` carries, as the answer starts from them (nonce
    /// and signature are the response's to fill back in).
    fn terminal_infos(&self, axon: &AxonTarget) -> (TerminalInfo, TerminalInfo) {
        let dendrite = &self.dendrite;
        (
            TerminalInfo {
                ip: Some(dendrite.external_ip().to_owned()),
                version: Some(dendrite_http::VERSION_AS_INT),
                uuid: Some(dendrite.uuid().to_owned()),
                hotkey: Some(dendrite.key().ss58_address().to_owned()),
                ..TerminalInfo::default()
            },
            TerminalInfo {
                ip: Some(axon.ip.clone()),
                port: Some(i64::from(axon.port)),
                hotkey: Some(axon.hotkey.clone()),
                ..TerminalInfo::default()
            },
        )
    }

    /// Where to connect: the axon's address, or loopback when it is our own external IP (10.5.0
    /// calls `0.0.0.0` then). An IP address is taken as it is; a host name is resolved on the
    /// runtime's blocking pool (never on a worker: the other calls' deadlines keep running),
    /// within the call's `deadline` (a timeout past it).
    pub(super) async fn connect_addr(
        &self,
        axon: &AxonTarget,
        deadline: Instant,
    ) -> Result<SocketAddr, DendriteFailure> {
        let ip = if axon.ip == self.config.external_ip {
            "127.0.0.1"
        } else {
            axon.ip.as_str()
        };
        let invalid =
            || DendriteFailure::Client(format!("invalid axon address {}:{}", axon.ip, axon.port));
        if axon.port == 0 {
            return Err(invalid());
        }
        if let Ok(ip) = ip
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            return Ok(SocketAddr::new(ip, axon.port));
        }
        let resolved = tokio::time::timeout_at(
            deadline.into(),
            tokio::net::lookup_host((ip.to_owned(), axon.port)),
        )
        .await
        .map_err(|_| DendriteFailure::Timeout)?;
        resolved
            .ok()
            .and_then(|mut addrs| addrs.next())
            .ok_or_else(invalid)
    }
}

/// The synapse after a failure of the dendrite's own.
fn failed(
    call: &SynapseContext,
    dendrite: TerminalInfo,
    axon_info: TerminalInfo,
    axon: &AxonTarget,
    failure: &DendriteFailure,
    phases: Phases,
) -> AxonResult {
    let site = CallSite {
        ip: &axon.ip,
        port: axon.port,
        name: call.synapse.name(),
        timeout: call.synapse.timeout(),
    };
    AxonResult {
        answer: SynapseAnswer::failed(dendrite, axon_info, failure, site),
        body: Bytes::new(),
        elided: None,
        elapsed: call.clock.start.elapsed(),
        bytes_sent: 0,
        bytes_received: 0,
        phases,
        http_status: 0,
    }
}
