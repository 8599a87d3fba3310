//! The wire tensor: a dtype, a shape and little-endian element bytes in a shared [`Bytes`].
//!
//! The data of a `Tensor` is always aligned for its dtype, so typed views are free. Constructors
//! from `Vec<T>` take the vector without copying; decoding borrows from the received message where
//! the payload happens to be aligned and copies it once otherwise.
//!
//! ```
//! use dendrite_wire::{DType, Tensor};
//! let t = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], [2, 2]).unwrap();
//! assert_eq!(t.dtype(), DType::Float32);
//! assert_eq!(t.as_slice::<f32>().unwrap(), &[1.0, 2.0, 3.0, 4.0]);
//! assert_eq!(t.cast(DType::Int64).as_slice::<i64>().unwrap(), &[1, 2, 3, 4]);
//! ```

#[cfg(not(target_endian = "little"))]
compile_error!(
    "dendrite-wire stores tensors little-endian and views them in place: little-endian hosts only"
);

use crate::{DType, Element, TensorError};
use bytes::Bytes;
use half::f16;
use half::slice::HalfFloatSliceExt;

/// The most dimensions a tensor may have (numpy's limit is 32 too).
pub const MAX_DIMS: usize = 32;

/// A dense, row-major tensor of one [`DType`].
#[derive(Clone, PartialEq)]
pub struct Tensor {
    dtype: DType,
    shape: Vec<usize>,
    data: Bytes,
}

/// Owns a `Vec<T>` and shows it as bytes, so `Bytes::from_owner` can take it without a copy.
struct VecBytes<T: Element>(Vec<T>);

impl<T: Element> AsRef<[u8]> for VecBytes<T> {
    fn as_ref(&self) -> &[u8] {
        bytemuck::cast_slice(&self.0)
    }
}

/// Number of elements of a shape, or an error if it overflows `usize`.
pub(crate) fn checked_numel(shape: &[usize]) -> Result<usize, TensorError> {
    shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| TensorError::ShapeOverflow(shape.iter().map(|&d| d as u64).collect()))
}

impl Tensor {
    /// A tensor that takes `values` (no copy) with the given shape.
    pub fn from_vec<T: Element>(
        values: Vec<T>,
        shape: impl Into<Vec<usize>>,
    ) -> Result<Self, TensorError> {
        let shape = shape.into();
        check_len(&shape, T::DTYPE, values.len() * T::DTYPE.size())?;
        Ok(Tensor {
            dtype: T::DTYPE,
            shape,
            data: Bytes::from_owner(VecBytes(values)),
        })
    }

    /// A one-dimensional tensor of `values`.
    pub fn from_slice<T: Element>(values: &[T]) -> Self {
        let n = values.len();
        Tensor {
            dtype: T::DTYPE,
            shape: vec![n],
            data: Bytes::from_owner(VecBytes(values.to_vec())),
        }
    }

    /// A boolean tensor (one byte per element, 0 or 1).
    pub fn from_bools(values: &[bool], shape: impl Into<Vec<usize>>) -> Result<Self, TensorError> {
        let shape = shape.into();
        check_len(&shape, DType::Bool, values.len())?;
        let bytes: Vec<u8> = values.iter().map(|&b| u8::from(b)).collect();
        Ok(Tensor {
            dtype: DType::Bool,
            shape,
            data: Bytes::from(bytes),
        })
    }

    /// A tensor over little-endian `data`. Borrows `data` when it is aligned for `dtype`, copies
    /// it once otherwise.
    pub fn from_bytes(
        dtype: DType,
        shape: impl Into<Vec<usize>>,
        data: Bytes,
    ) -> Result<Self, TensorError> {
        let shape = shape.into();
        check_len(&shape, dtype, data.len())?;
        let data = align_for(dtype, data);
        Ok(Tensor { dtype, shape, data })
    }

    /// A tensor of zeros. Fails only when the shape overflows.
    pub fn zeros(dtype: DType, shape: impl Into<Vec<usize>>) -> Result<Self, TensorError> {
        let shape = shape.into();
        let n = checked_numel(&shape)?;
        let data = match dtype {
            DType::Float16 => zeroed::<f16>(n),
            DType::Float32 => zeroed::<f32>(n),
            DType::Float64 => zeroed::<f64>(n),
            DType::Int32 => zeroed::<i32>(n),
            DType::Int64 => zeroed::<i64>(n),
            DType::UInt8 | DType::Bool => zeroed::<u8>(n),
        };
        Ok(Tensor { dtype, shape, data })
    }

    /// An empty one-dimensional `float32` tensor, as torch's `torch.tensor([])`.
    pub fn empty() -> Self {
        Tensor {
            dtype: DType::Float32,
            shape: vec![0],
            data: Bytes::new(),
        }
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The shape, outermost dimension first.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The number of dimensions.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.data.len() / self.dtype.size()
    }

    /// The little-endian element bytes.
    pub fn data(&self) -> &Bytes {
        &self.data
    }

    /// Consumes the tensor, returning its element bytes.
    pub fn into_data(self) -> Bytes {
        self.data
    }

    /// A typed view of the elements; fails if `T` is not the tensor's dtype.
    pub fn as_slice<T: Element>(&self) -> Result<&[T], TensorError> {
        if T::DTYPE != self.dtype {
            return Err(TensorError::DTypeMismatch {
                expected: T::DTYPE,
                actual: self.dtype,
            });
        }
        // Constructors keep `data` aligned, so this cannot fail; map the error anyway.
        bytemuck::try_cast_slice(&self.data).map_err(|_| TensorError::DTypeMismatch {
            expected: T::DTYPE,
            actual: self.dtype,
        })
    }

    /// The elements of a `Bool` tensor (any non-zero byte is `true`).
    pub fn to_bools(&self) -> Result<Vec<bool>, TensorError> {
        if self.dtype != DType::Bool {
            return Err(TensorError::DTypeMismatch {
                expected: DType::Bool,
                actual: self.dtype,
            });
        }
        Ok(self.data.iter().map(|&b| b != 0).collect())
    }

    /// The same elements with another shape of the same size (no copy).
    pub fn reshape(self, shape: impl Into<Vec<usize>>) -> Result<Self, TensorError> {
        let shape = shape.into();
        if checked_numel(&shape)? != self.numel() {
            return Err(TensorError::Reshape {
                from: self.shape,
                to: shape,
            });
        }
        Ok(Tensor { shape, ..self })
    }

    /// The elements converted to `dtype` as torch's `.to(dtype)` does: floats round to the nearest
    /// representable value, floats to integers truncate toward zero (NaN and out-of-range values give
    /// the type's MIN, as torch on x86-64), integers wrap, anything to bool is `!= 0`. Returns a
    /// cheap clone when the dtype is already `dtype`.
    pub fn cast(&self, dtype: DType) -> Tensor {
        if dtype == self.dtype {
            return self.clone();
        }
        let data = match self.dtype {
            DType::Float16 => cast_from::<f16>(self.as_slice().unwrap_or_default(), dtype),
            DType::Float32 => cast_from::<f32>(self.as_slice().unwrap_or_default(), dtype),
            DType::Float64 => cast_from::<f64>(self.as_slice().unwrap_or_default(), dtype),
            DType::Int32 => cast_from::<i32>(self.as_slice().unwrap_or_default(), dtype),
            DType::Int64 => cast_from::<i64>(self.as_slice().unwrap_or_default(), dtype),
            DType::UInt8 | DType::Bool => cast_from::<u8>(&self.data, dtype),
        };
        Tensor {
            dtype,
            shape: self.shape.clone(),
            data,
        }
    }

    /// The elements as `T`, converted (as [`cast`](Tensor::cast)) when the tensor holds another
    /// dtype. Bool tensors have no element type; use [`to_bools`](Tensor::to_bools).
    pub fn to_vec<T: Element>(&self) -> Vec<T> {
        self.cast(T::DTYPE)
            .as_slice::<T>()
            .map(<[T]>::to_vec)
            .unwrap_or_default()
    }
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tensor")
            .field("dtype", &self.dtype)
            .field("shape", &self.shape)
            .field("bytes", &self.data.len())
            .finish()
    }
}

fn check_len(shape: &[usize], dtype: DType, actual: usize) -> Result<(), TensorError> {
    if shape.len() > MAX_DIMS {
        return Err(TensorError::TooManyDims(shape.len()));
    }
    let expected = checked_numel(shape)?
        .checked_mul(dtype.size())
        .ok_or_else(|| TensorError::ShapeOverflow(shape.iter().map(|&d| d as u64).collect()))?;
    if expected != actual {
        return Err(TensorError::DataLength {
            shape: shape.to_vec(),
            dtype,
            expected,
            actual,
        });
    }
    Ok(())
}

/// `n` zeros of `T` as bytes. `alloc_zeroed` maps fresh pages for large sizes: no memset.
fn zeroed<T: Element>(n: usize) -> Bytes {
    Bytes::from_owner(VecBytes(bytemuck::zeroed_vec::<T>(n)))
}

/// `data` itself when aligned for `dtype`, else one copy of it into a buffer that is.
fn align_for(dtype: DType, data: Bytes) -> Bytes {
    if (data.as_ptr() as usize) % dtype.size() == 0 {
        return data;
    }
    Bytes::from_owner(crate::pool::PooledBuffer::copy_of(&data))
}

fn cast_from<S: Element>(src: &[S], to: DType) -> Bytes {
    fn convert<S: Element, D: Element>(src: &[S]) -> Bytes {
        let values: Vec<D> = if D::DTYPE.is_float() || S::DTYPE.is_float() {
            src.iter().map(|&v| D::from_f64(v.to_f64())).collect()
        } else {
            src.iter().map(|&v| D::from_i64(v.to_i64())).collect()
        };
        Bytes::from_owner(VecBytes(values))
    }
    match to {
        DType::Float16 => match bytemuck::try_cast_slice::<S, f32>(src) {
            // f32 -> f16 is the CMPPACK hot path: use half's vectorised conversion.
            Ok(f32s) if S::DTYPE == DType::Float32 => {
                let mut out = vec![f16::ZERO; f32s.len()];
                out.convert_from_f32_slice(f32s);
                Bytes::from_owner(VecBytes(out))
            }
            _ => convert::<S, f16>(src),
        },
        DType::Float32 => match bytemuck::try_cast_slice::<S, f16>(src) {
            Ok(f16s) if S::DTYPE == DType::Float16 => {
                let mut out = vec![0f32; f16s.len()];
                f16s.convert_to_f32_slice(&mut out);
                Bytes::from_owner(VecBytes(out))
            }
            _ => convert::<S, f32>(src),
        },
        DType::Float64 => convert::<S, f64>(src),
        DType::Int32 => convert::<S, i32>(src),
        DType::Int64 => convert::<S, i64>(src),
        DType::UInt8 => convert::<S, u8>(src),
        DType::Bool => {
            let values: Vec<u8> = src.iter().map(|&v| u8::from(v.to_f64() != 0.0)).collect();
            Bytes::from(values)
        }
    }
}
