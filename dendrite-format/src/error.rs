//! Errors in what a user passes to the dendrite: returned before any RPC, saying what was expected
//! and what was given.

/// A user input the dendrite cannot format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// An endpoint field is invalid.
    #[error("invalid endpoint {field}: {reason}")]
    InvalidEndpoint {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// An endpoint tensor has the wrong shape.
    #[error("endpoint tensor must have shape [250] or [n, 250], got {0:?}")]
    EndpointTensorShape(Vec<usize>),
    /// An endpoint's JSON does not fit the 250-element tensor.
    #[error("endpoint JSON is {0} bytes, more than the 250 an endpoint tensor holds")]
    EndpointTooLarge(usize),
    /// An endpoint tensor holds something other than UTF-8 JSON bytes padded with -1.
    #[error("endpoint tensor does not hold an endpoint: {0}")]
    EndpointTensorContent(String),
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
