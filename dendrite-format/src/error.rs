//! Errors in what a user passes to the dendrite: returned before any RPC, saying what was expected
//! and what was given.

use dendrite_wire::EndpointError;

/// A user input the dendrite cannot format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// An endpoint, its tensor form or its file is invalid.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// No endpoints were given.
    #[error("no endpoints were given")]
    NoEndpoints,
    /// No inputs were given.
    #[error("no inputs were given")]
    NoInputs,
    /// An input tensor has the wrong rank.
    #[error(
        "text inputs should be rank 2 with semantic shape [batch_size, sequence_len], got {0:?}"
    )]
    InputRank(Vec<usize>),
    /// An input has no tokens or no batch.
    #[error("text input of shape {0:?} is empty")]
    EmptyInput(Vec<usize>),
    /// The number of per-endpoint inputs does not match the number of endpoints.
    #[error(
        "inputs per endpoint should match the endpoints: {endpoints} endpoints, {inputs} inputs"
    )]
    CountMismatch {
        /// Endpoints given.
        endpoints: usize,
        /// Inputs given.
        inputs: usize,
    },
    /// The tokenizer failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
}
