//! `_native.backward_plan`: the core's rule for which endpoints a Backward goes to and what each
//! synapse is sent (`dendrite::core::plan_backward`), for the Python autograd function.

use dendrite::core::{plan_backward, SynapseGradient};
use pyo3::prelude::*;

use crate::synapse::Synapse;

/// What a synapse is sent, as the Python side reads it.
const GIVEN: u8 = 0;
const ZEROS: u8 = 1;
const EMPTY: u8 = 2;

/// `[(endpoint index, [0 gradient | 1 zeros | 2 empty per synapse]), ...]` for a forward of
/// `synapses` whose endpoint `e`'s synapse `s` answered Success when `answered[e][s]`.
#[pyfunction]
pub fn backward_plan(
    synapses: Vec<PyRef<'_, Synapse>>,
    answered: Vec<Vec<bool>>,
) -> Vec<(usize, Vec<u8>)> {
    let synapses: Vec<_> = synapses.iter().map(|s| s.inner.clone()).collect();
    plan_backward(&synapses, &answered)
        .into_iter()
        .map(|endpoint| {
            let choices = endpoint
                .synapses
                .iter()
                .map(|choice| match choice {
                    SynapseGradient::Given => GIVEN,
                    SynapseGradient::Zeros => ZEROS,
                    SynapseGradient::Empty => EMPTY,
                })
                .collect();
            (endpoint.index, choices)
        })
        .collect()
}
