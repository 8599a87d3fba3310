//! The torch face of the dendrite (feature `torch`): the reference's calls with `tch::Tensor`
//! inputs and outputs, recorded in the autograd graph so that `loss.backward()` sends each
//! answering endpoint its gradients.

use std::time::Duration;

use dendrite_autograd::{from_torch, to_torch, AutogradConfig, AutogradDendrite, Delivery};
use dendrite_format::{format_text_inputs, Endpoints, Inputs};
use dendrite_wire::synapse::{TextCausalLM, TextCausalLMNext, TextLastHiddenState};
use dendrite_wire::{ReturnCode, Synapse};
use tch::Tensor;

use crate::{Dendrite, DendriteError, Endpoint};

/// Why a torch call failed: the caller's input or the autograd machinery.
#[derive(Debug, thiserror::Error)]
pub enum TorchError {
    /// Endpoints, inputs or synapses the dendrite rejects.
    #[error(transparent)]
    Dendrite(#[from] DendriteError),
    /// Tensor conversion, the runtime or the graph.
    #[error(transparent)]
    Autograd(#[from] dendrite_autograd::AutogradError),
}

/// A tensor that cannot be converted is an autograd error: one variant to match on.
impl From<dendrite_autograd::ConvertError> for TorchError {
    fn from(e: dendrite_autograd::ConvertError) -> Self {
        TorchError::Autograd(e.into())
    }
}

/// Token ids as a `tch::Tensor` (`[S]`, `[B, S]` or `[n, B, S]`), as the reference accepts them.
pub fn torch_inputs(tokens: &Tensor) -> Result<Inputs, TorchError> {
    Ok(Inputs::Tensor(from_torch(
        &tokens.to_kind(tch::Kind::Int64),
    )?))
}

/// Per endpoint × synapse outputs (tch tensors that require grad when recorded), codes, times.
#[derive(Debug)]
pub struct TorchResponse {
    /// The endpoints, in order.
    pub endpoints: Vec<Endpoint>,
    /// Outputs per endpoint × synapse.
    pub outputs: Vec<Vec<Tensor>>,
    /// Codes per endpoint × synapse.
    pub codes: Vec<Vec<ReturnCode>>,
    /// Times per endpoint × synapse.
    pub times: Vec<Vec<Duration>>,
}

/// The dendrite with tch tensors, sharing a [`Dendrite`]'s client (pool, limits, metrics).
#[derive(Debug)]
pub struct TorchDendrite {
    inner: AutogradDendrite,
}

impl Dendrite {
    /// The torch face of this dendrite (its own small runtime for the blocking calls;
    /// `requires_grad` from the config; gradients sent fire-and-forget as the reference does).
    pub fn torch(&self) -> Result<TorchDendrite, TorchError> {
        let config = AutogradConfig {
            requires_grad: self.config().requires_grad,
            delivery: Delivery::Detached,
            timeout: self.config().timeout,
        };
        Ok(TorchDendrite {
            inner: AutogradDendrite::new(self.client().clone(), config)?,
        })
    }
}

impl TorchDendrite {
    /// The autograd dendrite underneath (`forward` with flattened codes/times/outputs).
    pub fn autograd(&self) -> &AutogradDendrite {
        &self.inner
    }

    /// The reference's `text`, blocking: every endpoint, every synapse.
    pub fn text(
        &self,
        endpoints: impl Into<Endpoints>,
        synapses: &[Synapse],
        inputs: impl Into<Inputs>,
        timeout: Option<Duration>,
    ) -> Result<TorchResponse, TorchError> {
        let (endpoints, inputs) =
            format_text_inputs(endpoints, inputs).map_err(DendriteError::from)?;
        let inputs = inputs.iter().map(to_torch).collect::<Result<Vec<_>, _>>()?;
        let out = self.inner.forward(&endpoints, synapses, &inputs, timeout)?;
        let n = synapses.len().max(1);
        let codes: Vec<i64> =
            Vec::<i64>::try_from(&out.codes).map_err(dendrite_autograd::ConvertError::from)?;
        let times: Vec<f32> =
            Vec::<f32>::try_from(&out.times).map_err(dendrite_autograd::ConvertError::from)?;
        let mut outputs = out.outputs.into_iter();
        Ok(TorchResponse {
            outputs: (0..endpoints.len())
                .map(|_| outputs.by_ref().take(n).collect())
                .collect(),
            codes: codes
                .chunks(n)
                .map(|c| {
                    c.iter()
                        .map(|&c| crate::core::return_code(c as i32))
                        .collect()
                })
                .collect(),
            times: times
                .chunks(n)
                .map(|t| {
                    t.iter()
                        .map(|&s| Duration::from_secs_f32(s.max(0.0)))
                        .collect()
                })
                .collect(),
            endpoints,
        })
    }

    /// Last hidden states `[B, S, 1024]` of every endpoint.
    pub fn text_last_hidden_state(
        &self,
        endpoints: impl Into<Endpoints>,
        inputs: impl Into<Inputs>,
        synapse: TextLastHiddenState,
        timeout: Option<Duration>,
    ) -> Result<TorchResponse, TorchError> {
        self.text(endpoints, &[synapse.into()], inputs, timeout)
    }

    /// Causal LM log-probabilities `[B, S, 50258]` of every endpoint.
    pub fn text_causal_lm(
        &self,
        endpoints: impl Into<Endpoints>,
        inputs: impl Into<Inputs>,
        synapse: TextCausalLM,
        timeout: Option<Duration>,
    ) -> Result<TorchResponse, TorchError> {
        self.text(endpoints, &[synapse.into()], inputs, timeout)
    }

    /// Next-token phrases of every endpoint.
    pub fn text_causal_lm_next(
        &self,
        endpoints: impl Into<Endpoints>,
        inputs: impl Into<Inputs>,
        synapse: TextCausalLMNext,
        timeout: Option<Duration>,
    ) -> Result<TorchResponse, TorchError> {
        self.text(endpoints, &[synapse.into()], inputs, timeout)
    }
}
