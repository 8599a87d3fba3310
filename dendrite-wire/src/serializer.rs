//! `proto::Tensor` <-> [`Tensor`] with the reference's two serializers.
//!
//! - `MSGPACK`: the tensor's own dtype in a msgpack-numpy buffer.
//! - `CMPPACK`: the tensor cast to float16 in the buffer (the reference halves every dtype, integers
//!   included), while the proto's `dtype` still names the original dtype.
//!
//! Deserialization ignores the serializer field, as the reference does: it unpacks the buffer,
//! views it with the proto's `shape` and casts it to the proto's `dtype`.

use crate::proto::{self, DataType, Modality, Serializer, TensorType};
use crate::{msgpack, DType, Tensor, TensorError};

/// The protocol version this crate speaks: bittensor 3.7.0 as `100*3 + 10*7 + 0`.
pub const VERSION_AS_INT: i32 = 370;

/// Serializes `tensor` as the reference's `serializer.serialize(tensor, from_type=TORCH)` does,
/// with `requires_grad` false and modality TEXT.
pub fn serialize(tensor: &Tensor, serializer: Serializer) -> Result<proto::Tensor, TensorError> {
    let buffer = match serializer {
        Serializer::Msgpack => msgpack::encode(tensor)?,
        Serializer::Cmppack => msgpack::encode(&tensor.cast(DType::Float16))?,
    };
    Ok(proto::Tensor {
        version: VERSION_AS_INT,
        buffer,
        shape: tensor.shape().iter().map(|&d| d as i64).collect(),
        serializer: serializer as i32,
        tensor_type: TensorType::Torch as i32,
        dtype: tensor.dtype().to_proto() as i32,
        modality: Modality::Text as i32,
        requires_grad: false,
    })
}

/// Deserializes a wire tensor as the reference's `deserialize_to_torch` does: unpack the buffer,
/// view it as the proto's `shape`, cast it to the proto's `dtype`. Where the proto's dtype is
/// `UNKNOWN` (bool and uint8 have no proto dtype) the buffer's own dtype is kept.
pub fn deserialize(tensor: &proto::Tensor) -> Result<Tensor, TensorError> {
    let decoded = msgpack::decode(&tensor.buffer)?;
    let shape = tensor
        .shape
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| TensorError::ShapeOverflow(vec![d as u64])))
        .collect::<Result<Vec<_>, _>>()?;
    let viewed = decoded.reshape(shape)?;
    match DataType::try_from(tensor.dtype) {
        Ok(DataType::Unknown) => Ok(viewed),
        Ok(dtype) => match DType::from_proto(dtype) {
            Some(dtype) => Ok(viewed.cast(dtype)),
            None => Err(TensorError::UnsupportedProtoDType(tensor.dtype)),
        },
        Err(_) => Err(TensorError::UnsupportedProtoDType(tensor.dtype)),
    }
}
