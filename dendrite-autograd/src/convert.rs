//! Wire tensors ↔ `tch::Tensor`: dtype-exact, one copy each way.

use dendrite_wire::{DType, Tensor};
use tch::Kind;

/// Why a tensor could not be converted.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// A torch dtype the wire has no encoding for.
    #[error("torch kind {0:?} has no wire dtype")]
    Kind(Kind),
    /// A wire tensor that does not fit torch (or the reverse).
    #[error(transparent)]
    Tensor(#[from] dendrite_wire::TensorError),
    /// libtorch refused.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

/// The torch kind of a wire dtype.
pub fn kind_of(dtype: DType) -> Kind {
    match dtype {
        DType::Float16 => Kind::Half,
        DType::Float32 => Kind::Float,
        DType::Float64 => Kind::Double,
        DType::Int32 => Kind::Int,
        DType::Int64 => Kind::Int64,
        DType::UInt8 => Kind::Uint8,
        DType::Bool => Kind::Bool,
    }
}

/// The wire dtype of a torch kind.
pub fn dtype_of(kind: Kind) -> Result<DType, ConvertError> {
    Ok(match kind {
        Kind::Half => DType::Float16,
        Kind::Float => DType::Float32,
        Kind::Double => DType::Float64,
        Kind::Int => DType::Int32,
        Kind::Int64 => DType::Int64,
        Kind::Uint8 => DType::UInt8,
        Kind::Bool => DType::Bool,
        other => return Err(ConvertError::Kind(other)),
    })
}

/// A torch tensor with the wire tensor's dtype, shape and values (one copy into torch memory).
pub fn to_torch(tensor: &Tensor) -> Result<tch::Tensor, ConvertError> {
    let shape: Vec<i64> = tensor.shape().iter().map(|&d| d as i64).collect();
    Ok(tch::Tensor::f_from_data_size(
        tensor.data(),
        &shape,
        kind_of(tensor.dtype()),
    )?)
}

/// A wire tensor with the torch tensor's dtype, shape and values (one copy out of torch
/// memory; non-contiguous or non-CPU tensors are made contiguous on the CPU first).
pub fn from_torch(tensor: &tch::Tensor) -> Result<Tensor, ConvertError> {
    let dtype = dtype_of(tensor.kind())?;
    let tensor = tensor.f_to_device(tch::Device::Cpu)?.f_contiguous()?;
    let shape: Vec<usize> = tensor.size().iter().map(|&d| d as usize).collect();
    let numel = tensor.numel();
    fn copy<T: tch::kind::Element + dendrite_wire::Element + Default + Clone>(
        tensor: &tch::Tensor,
        numel: usize,
        shape: Vec<usize>,
    ) -> Result<Tensor, ConvertError> {
        let mut values = vec![T::default(); numel];
        tensor.f_copy_data(&mut values, numel)?;
        Ok(Tensor::from_vec(values, shape)?)
    }
    match dtype {
        DType::Float16 => copy::<half::f16>(&tensor, numel, shape),
        DType::Float32 => copy::<f32>(&tensor, numel, shape),
        DType::Float64 => copy::<f64>(&tensor, numel, shape),
        DType::Int32 => copy::<i32>(&tensor, numel, shape),
        DType::Int64 => copy::<i64>(&tensor, numel, shape),
        DType::UInt8 => copy::<u8>(&tensor, numel, shape),
        DType::Bool => {
            let mut bytes = vec![0u8; numel];
            tensor.f_copy_data_u8(&mut bytes, numel)?;
            let bools: Vec<bool> = bytes.iter().map(|&b| b != 0).collect();
            Ok(Tensor::from_bools(&bools, shape)?)
        }
    }
}
