//! The bytes of the Bittensor 3.x wire, with no torch dependency.
//!
//! - [`proto`]: the generated `TensorMessage`, `Tensor`, `Synapse` messages, the enums
//!   ([`ReturnCode`], `Serializer`, `DataType`, ...) and the tonic client and server of the
//!   `Bittensor` service (`/Bittensor/Forward`, `/Bittensor/Backward`). Payload `bytes` fields are
//!   [`bytes::Bytes`], so decoded messages share the receive buffer.
//! - [`Tensor`]: dtype, shape and little-endian data in `Bytes`, with typed views.
//! - [`msgpack`] and [`serializer`]: the msgpack-numpy buffer and the MSGPACK / CMPPACK serializers,
//!   byte-identical to the Python reference.
//! - [`synapse`]: the four synapses with their parameter protos, checks, encodings, zero
//!   ("nill") responses and the largest legal response to each request.
//! - [`Endpoint`]: where a neuron serves, with its `[250]` int64 tensor form, and [`ss58`]
//!   addresses; [`Compression`]: the gRPC message compressions.
//!
//! ```
//! use dendrite_wire::{proto::Serializer, serializer, Tensor};
//! let ids = Tensor::from_vec(vec![15496i64, 995], [1, 2]).unwrap();
//! let wire = serializer::serialize(&ids, Serializer::Msgpack).unwrap();
//! assert_eq!(serializer::deserialize(&wire).unwrap(), ids);
//! ```
//!
//! **Architecture invariant:** nothing in this crate panics on bytes from the network; every
//! decode path returns a [`TensorError`] or [`SynapseError`], and no allocation exceeds what the
//! input's length justifies (or [`synapse::MAX_DECODED_ELEMENTS`] for the expanding decoders).

mod compression;
mod dtype;
mod endpoint;
mod error;
pub mod msgpack;
pub mod pool;
pub mod serializer;
/// SS58 addresses (`dendrite-ss58`), re-exported where 3.x endpoints are checked.
pub use dendrite_ss58 as ss58;
pub mod synapse;
mod tensor;

/// Generated protobuf messages and tonic stubs (`cargo xtask codegen`).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod proto {
    include!("gen/bittensor.rs");
}

pub use compression::Compression;
pub use dtype::{DType, Element};
pub use endpoint::{
    load_endpoints, Endpoint, DUMMY_KEY, ENDPOINT_BUFFER_SIZE, MAX_IP_LENGTH, MAX_UID, MAX_VERSION,
    SS58_LENGTH,
};
pub use error::{EndpointError, SynapseError, TensorError};
pub use proto::ReturnCode;
pub use serializer::VERSION_AS_INT;
pub use synapse::Synapse;
pub use tensor::{Tensor, MAX_DIMS};
