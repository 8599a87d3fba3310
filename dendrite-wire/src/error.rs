//! Errors of the wire layer. A failure to decode remote bytes is always one of these, never a panic.

use crate::DType;

/// A tensor could not be built, viewed, serialized or deserialized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TensorError {
    /// The data does not hold exactly the elements the shape asks for.
    #[error("shape {shape:?} of {dtype} needs {expected} bytes, got {actual}")]
    DataLength {
        /// The claimed shape.
        shape: Vec<usize>,
        /// The claimed dtype.
        dtype: DType,
        /// Bytes the shape and dtype need.
        expected: usize,
        /// Bytes present.
        actual: usize,
    },
    /// The number of elements of a shape does not fit in memory.
    #[error("shape {0:?} is too large")]
    ShapeOverflow(Vec<u64>),
    /// A shape has more dimensions than any tensor on the wire may have.
    #[error("{0} dimensions is more than the {max} allowed", max = crate::tensor::MAX_DIMS)]
    TooManyDims(usize),
    /// A typed view asked for another dtype than the tensor holds.
    #[error("tensor holds {actual}, not {expected}")]
    DTypeMismatch {
        /// The dtype asked for.
        expected: DType,
        /// The dtype held.
        actual: DType,
    },
    /// A reshape to a shape with another number of elements.
    #[error("cannot view {from:?} as {to:?}")]
    Reshape {
        /// The tensor's shape.
        from: Vec<usize>,
        /// The shape asked for.
        to: Vec<usize>,
    },
    /// The msgpack-numpy buffer is malformed.
    #[error("malformed msgpack-numpy buffer: {0}")]
    Malformed(String),
    /// The buffer names a numpy dtype this implementation does not read.
    #[error("unsupported numpy dtype {0:?}")]
    UnsupportedDType(String),
    /// The proto names a data type this implementation does not read.
    #[error("unsupported proto data type {0}")]
    UnsupportedProtoDType(i32),
}

/// A synapse's parameters, request or response tensors break its rules.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SynapseError {
    /// `synapse_type` is NULL or unknown.
    #[error("unknown synapse type {0}")]
    UnknownType(i32),
    /// `synapse_data` is not a valid parameter proto.
    #[error("invalid synapse_data: {0}")]
    InvalidParams(String),
    /// A tensor has the wrong shape or dtype for the synapse.
    #[error("{0}")]
    Shape(String),
    /// A tensor's values break the synapse's encoding.
    #[error("{0}")]
    Values(String),
    /// A float response holds NaN or infinite values and the caller rejects those.
    #[error("{count} of {total} values are NaN or infinite")]
    NonFinite {
        /// Non-finite values found.
        count: usize,
        /// Values in the tensor.
        total: usize,
    },
    /// A tensor could not be (de)serialized.
    #[error(transparent)]
    Tensor(#[from] TensorError),
}

/// An endpoint, its `[250]` tensor form or an endpoint file that is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// An endpoint field is invalid.
    #[error("invalid endpoint {field}: {reason}")]
    Invalid {
        /// The field (`"file"` for an endpoint file that is not a list of endpoints).
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// An endpoint tensor has the wrong shape.
    #[error("endpoint tensor must have shape [250] or [n, 250], got {0:?}")]
    TensorShape(Vec<usize>),
    /// An endpoint's JSON does not fit the 250-element tensor.
    #[error("endpoint JSON is {0} bytes, more than the 250 an endpoint tensor holds")]
    TooLarge(usize),
    /// An endpoint tensor holds something other than UTF-8 JSON bytes padded with -1.
    #[error("endpoint tensor does not hold an endpoint: {0}")]
    TensorContent(String),
}
