//! A handler wrapper that serializes each distinct answer once and then replays it: benchmark
//! axons cost almost nothing per call, so the client is what is measured.

use std::num::NonZeroUsize;
use std::sync::Mutex;

use bytes::Bytes;
use dendrite_wire::proto;
use dendrite_wire::{Synapse, Tensor};
use lru::LruCache;

use crate::handler::{HandlerError, SynapseHandler, SynapseOutput};

/// Distinct (synapse, input) answers kept.
const MEMO_ENTRIES: usize = 64;

type Key = (i32, i32, Bytes, Vec<usize>, Bytes);

/// Wraps a handler; forward answers are cached by synapse parameters and input.
#[derive(Debug)]
pub struct Memoized<H> {
    inner: H,
    cache: Mutex<LruCache<Key, proto::Tensor>>,
}

impl<H: SynapseHandler> Memoized<H> {
    /// Caches `inner`'s answers.
    pub fn new(inner: H) -> Self {
        let entries = NonZeroUsize::new(MEMO_ENTRIES).unwrap_or(NonZeroUsize::MIN);
        Memoized {
            inner,
            cache: Mutex::new(LruCache::new(entries)),
        }
    }

    /// The wrapped handler.
    pub fn inner(&self) -> &H {
        &self.inner
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, LruCache<Key, proto::Tensor>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<H: SynapseHandler> SynapseHandler for Memoized<H> {
    fn forward(
        &self,
        caller: &str,
        synapse: &Synapse,
        input: &Tensor,
    ) -> Result<SynapseOutput, HandlerError> {
        let key = (
            synapse.synapse_type() as i32,
            synapse.serializers().forward_response as i32,
            synapse.params_bytes(),
            input.shape().to_vec(),
            input.data().clone(),
        );
        if let Some(hit) = self.cache().get(&key) {
            return Ok(SynapseOutput::Serialized(hit.clone()));
        }
        let serialized = self
            .inner
            .forward(caller, synapse, input)?
            .serialize(synapse, input)?;
        self.cache().put(key, serialized.clone());
        Ok(SynapseOutput::Serialized(serialized))
    }

    fn backward(
        &self,
        caller: &str,
        synapse: &Synapse,
        input: &Tensor,
        grad: &Tensor,
    ) -> Result<(), HandlerError> {
        self.inner.backward(caller, synapse, input, grad)
    }
}
