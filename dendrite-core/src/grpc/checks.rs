//! The caller's mistakes, found before any RPC: counts that do not pair up, no synapse, invalid
//! synapse parameters, gradient lists of the wrong length.

use dendrite_wire::Endpoint;
use dendrite_wire::{Synapse, SynapseError, Tensor};

/// A caller's mistake, found before any RPC is made.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// Endpoints and inputs (or gradients) must pair up one to one.
    #[error("{endpoints} endpoints but {items} {what}")]
    CountMismatch {
        /// Number of endpoints.
        endpoints: usize,
        /// Number of inputs or gradient lists.
        items: usize,
        /// "inputs" or "gradient lists".
        what: &'static str,
    },
    /// A call needs at least one synapse.
    #[error("no synapses given")]
    NoSynapses,
    /// A synapse's parameters are invalid.
    #[error("synapse {index} ({name}): {source}")]
    InvalidSynapse {
        /// Its position.
        index: usize,
        /// Its name.
        name: &'static str,
        /// What is wrong.
        #[source]
        source: SynapseError,
    },
    /// An endpoint's gradient list must have one gradient per synapse.
    #[error("endpoint {endpoint}: {grads} gradients for {synapses} synapses")]
    GradientCount {
        /// The endpoint's position.
        endpoint: usize,
        /// Gradients given.
        grads: usize,
        /// Synapses in the call.
        synapses: usize,
    },
}

/// Endpoints and inputs pair up, and there is at least one valid synapse.
pub(super) fn check_call(
    endpoints: &[Endpoint],
    synapses: &[Synapse],
    inputs: &[Tensor],
) -> Result<(), CallError> {
    if endpoints.len() != inputs.len() {
        return Err(CallError::CountMismatch {
            endpoints: endpoints.len(),
            items: inputs.len(),
            what: "inputs",
        });
    }
    if synapses.is_empty() {
        return Err(CallError::NoSynapses);
    }
    for (index, synapse) in synapses.iter().enumerate() {
        synapse
            .validate()
            .map_err(|source| CallError::InvalidSynapse {
                index,
                name: synapse.name(),
                source,
            })?;
    }
    Ok(())
}

/// One gradient list per endpoint, one gradient per synapse.
pub(super) fn check_grads(
    endpoints: &[Endpoint],
    synapses: &[Synapse],
    grads: &[Vec<Tensor>],
) -> Result<(), CallError> {
    if grads.len() != endpoints.len() {
        return Err(CallError::CountMismatch {
            endpoints: endpoints.len(),
            items: grads.len(),
            what: "gradient lists",
        });
    }
    if let Some((endpoint, g)) = grads
        .iter()
        .enumerate()
        .find(|(_, g)| g.len() != synapses.len())
    {
        return Err(CallError::GradientCount {
            endpoint,
            grads: g.len(),
            synapses: synapses.len(),
        });
    }
    Ok(())
}
