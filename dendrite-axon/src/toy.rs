//! A deterministic toy model for every synapse: no torch, no weights, outputs that tests can
//! recompute exactly from the input tokens.

use std::collections::VecDeque;
use std::sync::Mutex;

use dendrite_wire::synapse::{IGNORE_INDEX, NETWORK_DIM, VOCAB_SIZE};
use dendrite_wire::{Synapse, Tensor};

use crate::handler::{HandlerError, SynapseHandler, SynapseOutput};
use dendrite_wire::proto::ReturnCode;

/// Gradients kept by [`ToyModel`] for inspection; older ones are dropped.
pub const MAX_RECORDED_GRADIENTS: usize = 1024;

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

/// The toy model. Hidden state `d` of token `t` is [`ToyModel::hidden`]`(t, d)`; causal LM top-k
/// ids after token `t` are `t+1, t+2, ...` with probabilities `1/2, 1/4, ...`; next-phrase and
/// seq2seq outputs continue the last token the same way.
#[derive(Debug, Default)]
pub struct ToyModel {
    gradients: Mutex<VecDeque<ReceivedGradient>>,
}

impl ToyModel {
    /// A toy model with an empty gradient log.
    pub fn new() -> Self {
        Self::default()
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

    /// The gradients received so far (the most recent [`MAX_RECORDED_GRADIENTS`]).
    pub fn gradients(&self) -> Vec<ReceivedGradient> {
        self.log().iter().cloned().collect()
    }

    /// The gradients received so far, removed from the log at once (none is lost or returned
    /// twice between two calls).
    pub fn take_gradients(&self) -> Vec<ReceivedGradient> {
        self.log().drain(..).collect()
    }

    /// Forgets the recorded gradients.
    pub fn clear_gradients(&self) {
        self.log().clear();
    }

    fn log(&self) -> std::sync::MutexGuard<'_, VecDeque<ReceivedGradient>> {
        self.gradients.lock().unwrap_or_else(|e| e.into_inner())
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
        let mut log = self.log();
        if log.len() >= MAX_RECORDED_GRADIENTS {
            log.pop_front();
        }
        log.push_back(ReceivedGradient {
            caller: caller.into(),
            synapse: synapse.clone(),
            input: input.clone(),
            grad: grad.clone(),
        });
        Ok(())
    }
}
