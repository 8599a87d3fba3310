//! Which endpoints a Backward goes to and what each is sent, from the forward's outcomes: the
//! one rule of the CLI, the tch autograd function and the Python module.
//!
//! An endpoint where no synapse answered Success gets nothing (its outputs were zeros). One that
//! answered gets, per synapse: the gradient of its output where that synapse answered and takes
//! one ([`SynapseGradient::Given`]), zeros of the output's shape where it did not answer
//! ([`SynapseGradient::Zeros`]), the empty tensor where the synapse takes no gradient
//! (seq2seq's token ids: [`SynapseGradient::Empty`]).

use dendrite_wire::proto::ReturnCode;
use dendrite_wire::{DType, Synapse, Tensor, TensorError};

use super::results::EndpointResult;

/// What one synapse of a chosen endpoint is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SynapseGradient {
    /// The gradient of its output.
    Given,
    /// Zeros of its output's shape (the synapse did not answer).
    Zeros,
    /// The empty tensor (the synapse takes no gradient).
    Empty,
}

/// One endpoint a Backward goes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedEndpoint {
    /// Its index in the forward call's endpoints.
    pub index: usize,
    /// What each synapse is sent, in the call's synapse order.
    pub synapses: Vec<SynapseGradient>,
}

/// The plan for a forward whose endpoint `e`'s synapse `s` answered Success when
/// `answered[e][s]`.
pub fn plan_backward(synapses: &[Synapse], answered: &[Vec<bool>]) -> Vec<PlannedEndpoint> {
    answered
        .iter()
        .enumerate()
        .filter(|(_, per_synapse)| per_synapse.iter().any(|&ok| ok))
        .map(|(index, per_synapse)| PlannedEndpoint {
            index,
            synapses: synapses
                .iter()
                .zip(per_synapse)
                .map(|(synapse, &ok)| match (synapse.is_differentiable(), ok) {
                    (false, _) => SynapseGradient::Empty,
                    (true, true) => SynapseGradient::Given,
                    (true, false) => SynapseGradient::Zeros,
                })
                .collect(),
        })
        .collect()
}

/// Per endpoint and synapse of a forward's results, whether it answered Success (what
/// [`plan_backward`] reads).
pub fn answered(results: &[EndpointResult]) -> Vec<Vec<bool>> {
    results
        .iter()
        .map(|r| {
            r.synapses
                .iter()
                .map(|s| s.code == ReturnCode::Success)
                .collect()
        })
        .collect()
}

/// [`plan_backward`] for the results of a forward call.
pub fn plan_backward_of(synapses: &[Synapse], results: &[EndpointResult]) -> Vec<PlannedEndpoint> {
    plan_backward(synapses, &answered(results))
}

/// The gradients of a plan, per planned endpoint and synapse: `given(e, s)` for
/// [`SynapseGradient::Given`] (`None`: no gradient reached that output, sent as zeros), f32 zeros
/// of `shape(e, s)` for [`SynapseGradient::Zeros`], the empty tensor for the rest.
pub fn plan_gradients<E: From<TensorError>>(
    plan: &[PlannedEndpoint],
    mut given: impl FnMut(usize, usize) -> Result<Option<Tensor>, E>,
    shape: impl Fn(usize, usize) -> Vec<usize>,
) -> Result<Vec<Vec<Tensor>>, E> {
    plan.iter()
        .map(|endpoint| {
            let e = endpoint.index;
            endpoint
                .synapses
                .iter()
                .enumerate()
                .map(|(s, choice)| match choice {
                    SynapseGradient::Empty => Ok(Tensor::empty()),
                    SynapseGradient::Given => match given(e, s)? {
                        Some(grad) => Ok(grad),
                        None => Ok(Tensor::zeros(DType::Float32, shape(e, s))?),
                    },
                    SynapseGradient::Zeros => Ok(Tensor::zeros(DType::Float32, shape(e, s))?),
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use dendrite_wire::synapse::{TextLastHiddenState, TextSeq2Seq};
    use SynapseGradient::*;

    #[test]
    fn silent_endpoints_get_nothing_failed_synapses_zeros_and_seq2seq_nothing_to_differentiate() {
        let synapses: Vec<Synapse> = vec![
            TextLastHiddenState::default().into(),
            TextSeq2Seq::default().into(),
            TextLastHiddenState::default().into(),
        ];
        let answered = vec![
            vec![true, true, false],
            vec![false, false, false],
            vec![false, true, false],
        ];
        let plan = plan_backward(&synapses, &answered);
        assert_eq!(
            plan,
            vec![
                PlannedEndpoint {
                    index: 0,
                    synapses: vec![Given, Empty, Zeros]
                },
                PlannedEndpoint {
                    index: 2,
                    synapses: vec![Zeros, Empty, Zeros]
                },
            ]
        );
        let grads = plan_gradients::<TensorError>(
            &plan,
            |e, s| Ok((e, s) == (0, 0)).map(|first| first.then(|| Tensor::from_slice(&[7f32]))),
            |e, _| vec![e + 1],
        )
        .unwrap();
        assert_eq!(grads[0][0].to_vec::<f32>(), [7.0]);
        assert_eq!(grads[0][1].numel(), 0);
        assert_eq!(grads[0][2].shape(), [1]);
        assert_eq!(grads[1][0].shape(), [3]);
        assert_eq!(grads[1][0].to_vec::<f32>(), [0.0; 3]);
    }
}
