//! A deterministic toy model for every synapse: no torch, no weights, outputs that tests can
//! recompute exactly from the input tokens.
//!
//! Gradients sent by Backward are counted, and kept only by a model made with
//! [`ToyModel::recording`]: the log holds the most recent ones within a byte budget (each
//! gradient and its input copied out of the request, so the budget is what stays alive). A
//! fleet that keeps nothing stays flat under any Backward traffic.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use dendrite_wire::synapse::{IGNORE_INDEX, NETWORK_DIM, VOCAB_SIZE};
use dendrite_wire::{Synapse, Tensor};

use crate::handler::{HandlerError, SynapseHandler, SynapseOutput};
use dendrite_wire::proto::ReturnCode;

/// Byte budget of a recording model's gradient log when a caller has no reason to pick one
/// (tests, `dendrite axon --grad-log`).
pub const DEFAULT_GRADIENT_LOG_BYTES: usize = 64 << 20;

/// A gradient the toy model received.
#[derive(Clone, Debug)]
pub struct ReceivedGradient {
    /// The sender's hotkey.
    pub caller: String,
    /// The synapse it belongs to.
    pub synapse: Synapse,
    /// The forward input it is the gradient for.
    pub input: Tensor,
    /// The decoded gradient (the shape of the dendrite's forward output).
    pub grad: Tensor,
}

impl ReceivedGradient {
    /// The bytes the entry keeps alive (its tensors' data and the caller).
    pub fn bytes(&self) -> usize {
        self.grad.data().len() + self.input.data().len() + self.caller.len()
    }
}

/// The most recent gradients within `max_bytes`; older ones are dropped first.
#[derive(Debug)]
struct GradientLog {
    max_bytes: usize,
    bytes: usize,
    entries: VecDeque<ReceivedGradient>,
}

impl GradientLog {
    fn push(&mut self, gradient: ReceivedGradient) {
        let size = gradient.bytes();
        if size > self.max_bytes {
            return;
        }
        while self.bytes + size > self.max_bytes {
            match self.entries.pop_front() {
                Some(old) => self.bytes -= old.bytes(),
                None => break,
            }
        }
        self.bytes += size;
        self.entries.push_back(gradient);
    }

    fn drain(&mut self) -> Vec<ReceivedGradient> {
        self.bytes = 0;
        self.entries.drain(..).collect()
    }
}

/// A copy of `tensor` that owns its bytes (a decoded tensor may be a view of the whole
/// request, which would then stay alive with it).
fn owned(tensor: &Tensor) -> Tensor {
    let data = bytes::Bytes::copy_from_slice(tensor.data());
    Tensor::from_bytes(tensor.dtype(), tensor.shape().to_vec(), data)
        .unwrap_or_else(|_| Tensor::empty())
}

/// The toy model. Hidden state `d` of token `t` is [`ToyModel::hidden`]`(t, d)`; causal LM top-k
/// ids after token `t` are `t+1, t+2, ...` with probabilities `1/2, 1/4, ...`; next-phrase and
/// seq2seq outputs continue the last token the same way.
#[derive(Debug, Default)]
pub struct ToyModel {
    received: AtomicU64,
    log: Option<Mutex<GradientLog>>,
}

impl ToyModel {
    /// A toy model that counts the gradients it receives and keeps none.
    pub fn new() -> Self {
        Self::default()
    }

    /// A toy model that also keeps the gradients it receives, the most recent within
    /// `max_bytes` ([`ReceivedGradient::bytes`]; one larger than that is counted, not kept).
    pub fn recording(max_bytes: usize) -> Self {
        ToyModel {
            received: AtomicU64::new(0),
            log: Some(Mutex::new(GradientLog {
                max_bytes,
                bytes: 0,
                entries: VecDeque::new(),
            })),
        }
    }

    /// How many gradients Backward delivered, kept or not.
    pub fn gradients_received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// The bytes the gradient log holds (0 when the model does not record).
    pub fn recorded_bytes(&self) -> usize {
        self.with_log(|log| log.bytes).unwrap_or(0)
    }

    /// Hidden state `d` of token `token`: a value in [-0.5, 0.5).
    pub fn hidden(token: i64, d: usize) -> f32 {
        let v = (token.rem_euclid(1_000_003) * 131 + d as i64 * 7).rem_euclid(1009);
        v as f32 / 1009.0 - 0.5
    }

    /// The `j`-th most likely token after `token`.
    pub fn next_token(token: i64, j: usize) -> i64 {
        (token + j as i64 + 1).rem_euclid(VOCAB_SIZE as i64)
    }

    /// The probability of the `j`-th most likely token.
    pub fn probability(j: usize) -> f32 {
        0.5f32.powi(j as i32 + 1)
    }

    /// The gradients kept so far (none unless [`ToyModel::recording`]).
    pub fn gradients(&self) -> Vec<ReceivedGradient> {
        self.with_log(|log| log.entries.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The gradients kept so far, removed from the log at once (none is lost or returned
    /// twice between two calls).
    pub fn take_gradients(&self) -> Vec<ReceivedGradient> {
        self.with_log(GradientLog::drain).unwrap_or_default()
    }

    /// Forgets the kept gradients.
    pub fn clear_gradients(&self) {
        self.with_log(GradientLog::drain);
    }

    fn with_log<T>(&self, f: impl FnOnce(&mut GradientLog) -> T) -> Option<T> {
        let log = self.log.as_ref()?;
        Some(f(&mut log.lock().unwrap_or_else(|e| e.into_inner())))
    }

    fn last_hidden_state(tokens: &[i64], b: usize, s: usize) -> Tensor {
        let mut out = Vec::with_capacity(b * s * NETWORK_DIM);
        for &t in tokens {
            out.extend((0..NETWORK_DIM).map(|d| Self::hidden(t, d)));
        }
        Tensor::from_vec(out, [b, s, NETWORK_DIM]).unwrap_or_else(|_| Tensor::empty())
    }

    fn causal_lm_topk(tokens: &[i64], b: usize, s: usize, k: usize) -> Tensor {
        let mut out = Vec::with_capacity(b * s * 2 * k);
        for &t in tokens {
            out.extend((0..k).map(Self::probability));
            out.extend((0..k).map(|j| Self::next_token(t, j) as f32));
        }
        Tensor::from_vec(out, [b, s, 2 * k]).unwrap_or_else(|_| Tensor::empty())
    }

    /// `[B, k+1, 3]`: phrases `[p_j, t+j+1, t+j+2]`, then the floor probability.
    fn next_phrases(tokens: &[i64], b: usize, s: usize, k: usize) -> Tensor {
        const WIDTH: usize = 3;
        let mut out = Vec::with_capacity(b * (k + 1) * WIDTH);
        for item in 0..b {
            let last = tokens[item * s + s - 1];
            let mut mass = 0.0f32;
            for j in 0..k {
                let p = Self::probability(j);
                mass += p;
                let first = Self::next_token(last, j);
                out.extend([p, first as f32, Self::next_token(first, 0) as f32]);
            }
            out.extend([
                (1.0 - mass).max(0.0),
                IGNORE_INDEX as f32,
                IGNORE_INDEX as f32,
            ]);
        }
        Tensor::from_vec(out, [b, k + 1, WIDTH]).unwrap_or_else(|_| Tensor::empty())
    }

    fn generated(tokens: &[i64], b: usize, s: usize, n: usize) -> Tensor {
        let mut out = Vec::with_capacity(b * n);
        for item in 0..b {
            let last = tokens[item * s + s - 1];
            out.extend((0..n).map(|i| Self::next_token(last, i)));
        }
        Tensor::from_vec(out, [b, n]).unwrap_or_else(|_| Tensor::empty())
    }
}

impl SynapseHandler for ToyModel {
    fn forward(
        &self,
        _caller: &str,
        synapse: &Synapse,
        input: &Tensor,
    ) -> Result<SynapseOutput, HandlerError> {
        let &[b, s] = input.shape() else {
            return Err(HandlerError::new(
                ReturnCode::RequestShapeException,
                "toy model needs [B, S] inputs",
            ));
        };
        let tokens = input.to_vec::<i64>();
        Ok(match synapse {
            Synapse::TextLastHiddenState(_) => {
                SynapseOutput::Model(Self::last_hidden_state(&tokens, b, s))
            }
            Synapse::TextCausalLM(p) => {
                SynapseOutput::Wire(Self::causal_lm_topk(&tokens, b, s, p.topk.max(0) as usize))
            }
            Synapse::TextCausalLMNext(p) => {
                SynapseOutput::Model(Self::next_phrases(&tokens, b, s, p.topk.max(0) as usize))
            }
            Synapse::TextSeq2Seq(p) => SynapseOutput::Model(Self::generated(
                &tokens,
                b,
                s,
                p.num_to_generate.max(0) as usize,
            )),
        })
    }

    fn backward(
        &self,
        caller: &str,
        synapse: &Synapse,
        input: &Tensor,
        grad: &Tensor,
    ) -> Result<(), HandlerError> {
        self.received.fetch_add(1, Ordering::Relaxed);
        if self.log.is_some() {
            let gradient = ReceivedGradient {
                caller: caller.into(),
                synapse: synapse.clone(),
                input: owned(input),
                grad: owned(grad),
            };
            self.with_log(|log| log.push(gradient));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dendrite_wire::synapse::TextLastHiddenState;

    fn send(model: &ToyModel, values: usize) {
        let synapse: Synapse = TextLastHiddenState::default().into();
        let input = Tensor::from_vec(vec![1i64, 2], [1, 2]).unwrap();
        let grad = Tensor::from_vec(vec![1f32; values], [values]).unwrap();
        model.backward("5F", &synapse, &input, &grad).unwrap();
    }

    #[test]
    fn a_plain_model_counts_gradients_and_keeps_none() {
        let model = ToyModel::new();
        for _ in 0..100 {
            send(&model, 1024);
        }
        assert_eq!(model.gradients_received(), 100);
        assert!(model.gradients().is_empty());
        assert_eq!(model.recorded_bytes(), 0);
    }

    #[test]
    fn a_recording_model_keeps_the_newest_gradients_within_its_byte_budget() {
        // Each entry: 4,096 gradient bytes + 16 input bytes + 2 caller bytes.
        let entry = 4096 + 16 + 2;
        let model = ToyModel::recording(10 * entry + entry / 2);
        for _ in 0..25 {
            send(&model, 1024);
        }
        assert_eq!(model.gradients_received(), 25);
        assert_eq!(model.gradients().len(), 10);
        assert_eq!(model.recorded_bytes(), 10 * entry);
        // Larger than the whole budget: counted, not kept, and nothing else is evicted for it.
        send(&model, 100_000);
        assert_eq!(model.gradients_received(), 26);
        assert_eq!(model.gradients().len(), 10);
        assert_eq!(model.take_gradients().len(), 10);
        assert_eq!(model.recorded_bytes(), 0);
        assert!(model.gradients().is_empty());
    }

    #[test]
    fn kept_gradients_do_not_hold_the_request_they_came_in() {
        let body = bytes::Bytes::from(vec![0u8; 1 << 20]);
        let grad =
            Tensor::from_bytes(dendrite_wire::DType::Float32, [4], body.slice(0..16)).unwrap();
        let input = Tensor::from_vec(vec![1i64, 2], [1, 2]).unwrap();
        let model = ToyModel::recording(DEFAULT_GRADIENT_LOG_BYTES);
        let synapse: Synapse = TextLastHiddenState::default().into();
        model.backward("5F", &synapse, &input, &grad).unwrap();
        drop(grad);
        assert!(
            body.is_unique(),
            "the log copied the gradient out of the request"
        );
    }
}
