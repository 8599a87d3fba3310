//! A 10.x synapse streamed from one axon (10.5.0's `call_stream`): a 200
//! `text/event-stream` answer's body chunks as they arrive, then the synapse's state.
//!
//! **Invariants:** the whole stream ends by the synapse's timeout; at most
//! [`STREAM_CHUNKS_AHEAD`] chunks wait for a slow reader (then the reading waits, under the
//! deadline); dropping the stream cancels the call.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use dendrite_http::{
    AxonTarget, CallSite, DendriteFailure, SynapseAnswer, SynapseCall, TerminalInfo,
};

use super::exchange::Reading;
use super::result::{AxonResult, SynapseCallView};
use super::synapse::SynapseContext;
use super::Http;
use crate::neutral::observer::CallKind;
use crate::neutral::phases::Phases;

impl Http {
    /// Sends `synapse` to `axon` and streams its answer; see `Client::call_synapse_stream`.
    pub(crate) fn call_synapse_stream(
        self: &Arc<Self>,
        axon: &AxonTarget,
        synapse: &SynapseCall,
    ) -> SynapseStream {
        let call = SynapseContext::new(synapse, self.config.max_call_bytes);
        let (sender, chunks) = tokio::sync::mpsc::channel(STREAM_CHUNKS_AHEAD);
        let (http, axon) = (self.clone(), axon.clone());
        let task = tokio::spawn(async move {
            let result = http
                .synapse_one(&axon, &call, &Reading::Stream(sender))
                .await;
            let view = SynapseCallView {
                axons: std::slice::from_ref(&axon),
                synapse: &call.synapse,
                results: std::slice::from_ref(&result),
            };
            http.core.report(CallKind::Synapse, call.clock.start, &view);
            result
        });
        SynapseStream {
            chunks,
            task: Some(task),
        }
    }
}

/// Chunks a stream reads ahead of its consumer before it waits for it.
pub(super) const STREAM_CHUNKS_AHEAD: usize = 16;

/// One axon's streamed answer: its chunks, then its outcome.
#[derive(Debug)]
pub struct SynapseStream {
    chunks: tokio::sync::mpsc::Receiver<Bytes>,
    task: Option<tokio::task::JoinHandle<AxonResult>>,
}

impl SynapseStream {
    /// The next chunk of a streamed answer; `None` once the stream ended (or never began:
    /// the outcome says why).
    pub async fn next_chunk(&mut self) -> Option<Bytes> {
        self.chunks.recv().await
    }

    /// The synapse's state once the call ended; chunks not read yet are read and dropped (the
    /// deadline bounds the wait).
    pub async fn outcome(mut self) -> AxonResult {
        while self.chunks.recv().await.is_some() {}
        let joined = match self.task.take() {
            Some(task) => task.await.map_err(|e| e.to_string()),
            None => Err("the outcome was taken".to_owned()),
        };
        joined.unwrap_or_else(|why| {
            tracing::error!("a synapse stream's task failed: {why}");
            let failure = DendriteFailure::Client("endpoint task failed".into());
            let site = CallSite {
                ip: "",
                port: 0,
                name: "",
                timeout: 0.0,
            };
            AxonResult {
                answer: SynapseAnswer::failed(
                    TerminalInfo::default(),
                    TerminalInfo::default(),
                    &failure,
                    site,
                ),
                body: Bytes::new(),
                elided: None,
                elapsed: Duration::ZERO,
                bytes_sent: 0,
                bytes_received: 0,
                phases: Phases::default(),
                http_status: 0,
            }
        })
    }
}

impl Drop for SynapseStream {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}
