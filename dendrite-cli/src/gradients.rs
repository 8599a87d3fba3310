//! The Backward the commands send after a forward: the gradient of the sum of each answering
//! endpoint's outputs (ones), by the core's plan (`dendrite::core::plan_backward_of`: silent
//! endpoints get nothing, synapses that did not answer get zeros, seq2seq nothing).

use std::time::Duration;

use dendrite::core::{plan_backward_of, plan_gradients};
use dendrite::{Dendrite, DendriteError, Endpoint, EndpointResult, Synapse, Tensor};

use crate::CliError;

/// The endpoints, inputs and gradients of the Backward after `results`.
pub struct SumBackward {
    /// The endpoints that answered, in forward order.
    pub endpoints: Vec<Endpoint>,
    /// Their forward inputs.
    pub inputs: Vec<Tensor>,
    /// Per endpoint, one gradient per synapse.
    pub grads: Vec<Vec<Tensor>>,
}

impl SumBackward {
    /// Sends it: `synapses` are the forward's, `timeout` the call's (`None`: the default).
    pub async fn send(
        &self,
        dendrite: &Dendrite,
        synapses: &[Synapse],
        timeout: Option<Duration>,
    ) -> Result<Vec<EndpointResult>, DendriteError> {
        dendrite
            .backward(
                &self.endpoints,
                synapses,
                &self.inputs,
                &self.grads,
                timeout,
            )
            .await
    }
}

/// The Backward of `sum(outputs)` after a forward of `synapses` to `endpoints` with `inputs`.
pub fn of_sum(
    endpoints: &[Endpoint],
    synapses: &[Synapse],
    inputs: &[Tensor],
    results: &[EndpointResult],
) -> Result<SumBackward, CliError> {
    let plan = plan_backward_of(synapses, results);
    let output = |e: usize, s: usize| &results[e].synapses[s].output;
    let grads = plan_gradients(
        &plan,
        |e, s| Tensor::from_vec(vec![1f32; output(e, s).numel()], output(e, s).shape()).map(Some),
        |e, s| output(e, s).shape().to_vec(),
    )
    .map_err(|e| CliError::Failure(e.to_string()))?;
    Ok(SumBackward {
        endpoints: plan.iter().map(|p| endpoints[p.index].clone()).collect(),
        inputs: plan.iter().map(|p| inputs[p.index].clone()).collect(),
        grads,
    })
}
