//! numpy arrays <-> wire tensors.
//!
//! Outputs cross to Python without a copy: the numpy array points into the decoded tensor's bytes
//! and keeps them alive through its base object (a [`TensorBuffer`]). A [`Lender`] lends each
//! allocation once per call; a tensor whose bytes it already lent (the one zero tensor that
//! stands in for every non-response of a call) is copied, so that writing into one returned
//! array never changes another. Inputs and gradients cross in one copy: a C-contiguous array is
//! copied into the wire tensor (the caller's memory could change under a send that runs without
//! the GIL); any other layout (a broadcast gradient, that of a sum) is laid out by numpy, and that
//! array, which only the extension holds, becomes the wire tensor's memory.
//!
//! Invariants: every array handed to Python is C-contiguous, writeable, and owns (or keeps alive)
//! its memory; once a call has returned, its outputs' bytes are held by its results alone (the
//! core keeps none), so lending them is exclusive; nothing here panics on user arrays of the
//! wrong dtype or layout.

use std::collections::HashSet;

use bytes::Bytes;
use dendrite::{DType, Tensor};
use numpy::ndarray::{ArrayViewD, IxDyn};
use numpy::{
    Element, PyArray, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyUntypedArray,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::value_error;

/// Keeps a tensor's bytes alive for the numpy array that points into them.
#[pyclass(frozen, module = "dendrite_rs._native")]
pub struct TensorBuffer {
    _bytes: Bytes,
}

/// Lends the outputs of one call to numpy: each allocation once, copies after that.
#[derive(Default)]
pub struct Lender {
    lent: HashSet<usize>,
}

impl Lender {
    /// A wire tensor as a numpy array of its dtype and shape.
    pub fn lend<'py>(
        &mut self,
        py: Python<'py>,
        tensor: Tensor,
    ) -> PyResult<Bound<'py, PyUntypedArray>> {
        let lend = self.lent.insert(tensor.data().as_ptr() as usize);
        let array = match tensor.dtype() {
            DType::Float32 => view::<f32>(py, tensor, lend)?,
            DType::Int64 => view::<i64>(py, tensor, lend)?,
            // float16 crosses as its bit pattern and is viewed as `float16` in numpy.
            DType::Float16 => view::<u16>(py, tensor, lend)?.call_method1("view", ("float16",))?,
            DType::Float64 => view::<f64>(py, tensor, lend)?,
            DType::Int32 => view::<i32>(py, tensor, lend)?,
            DType::UInt8 => view::<u8>(py, tensor, lend)?,
            DType::Bool => view::<bool>(py, tensor, lend)?,
        };
        Ok(array.cast_into::<PyUntypedArray>()?)
    }
}

/// A tensor that nothing else holds as a numpy array (lent, no copy).
pub fn to_numpy(py: Python<'_>, tensor: Tensor) -> PyResult<Bound<'_, PyUntypedArray>> {
    Lender::default().lend(py, tensor)
}

fn view<T: Element + Copy>(
    py: Python<'_>,
    tensor: Tensor,
    lend: bool,
) -> PyResult<Bound<'_, PyAny>> {
    let shape = IxDyn(tensor.shape());
    let numel = tensor.numel();
    let dtype = tensor.dtype();
    let bytes = tensor.into_data();
    if numel == 0 {
        // An empty tensor's pointer may dangle: numpy makes its own empty array.
        return Ok(PyArray::<T, _>::zeros(py, shape, false).into_any());
    }
    // The wire tensor's invariant: its bytes hold `numel` elements, aligned for the dtype.
    if bytes.len() < numel * std::mem::size_of::<T>()
        || (bytes.as_ptr() as usize) % std::mem::align_of::<T>() != 0
    {
        return Err(PyValueError::new_err(format!(
            "internal: a {dtype:?} tensor of {numel} elements holds {} bytes",
            bytes.len()
        )));
    }
    let ptr = bytes.as_ptr().cast::<T>();
    if !lend {
        // Already lent in this call (the zeros of every non-response): one copy into numpy's
        // own memory, so that writing into one array changes no other.
        // SAFETY: `ptr` is aligned for `T` and valid for `numel` elements (checked above), and
        // `bytes` keeps them alive for this scope.
        let values = unsafe { std::slice::from_raw_parts(ptr, numel) };
        return Ok(PyArray::from_slice(py, values).reshape(shape)?.into_any());
    }
    // SAFETY: as above; the numpy array's base object owns `bytes`, so the memory outlives the
    // array, and nothing else reads it (lent once, and the core keeps no output of a finished
    // call), so numpy may write through it.
    let view = unsafe { ArrayViewD::from_shape_ptr(shape, ptr) };
    let owner = Bound::new(py, TensorBuffer { _bytes: bytes })?;
    // SAFETY: the view's memory is kept alive by `owner`, which becomes the array's base.
    Ok(unsafe { PyArray::borrow_from_array(&view, owner.into_any()) }.into_any())
}

/// A numpy array (any dtype the wire knows, any layout) as a wire tensor: one copy.
pub fn from_numpy(array: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    let array = array.cast::<PyUntypedArray>().map_err(|_| {
        PyTypeError::new_err(format!(
            "expected a numpy array, got {}",
            array
                .get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
    let kind = array.dtype().char();
    let tensor = match kind {
        b'f' => copy::<f32>(array)?,
        b'd' => copy::<f64>(array)?,
        b'l' | b'q' => copy::<i64>(array)?,
        b'i' => copy::<i32>(array)?,
        b'B' => copy::<u8>(array)?,
        b'?' => copy::<bool>(array)?,
        b'e' => {
            // float16 crosses as its bit pattern (numpy's view, no copy).
            let bits = array.call_method1("view", ("uint16",))?;
            copy::<u16>(bits.cast::<PyUntypedArray>()?)?
        }
        _ => {
            return Err(PyTypeError::new_err(format!(
                "arrays of dtype {} cannot go on the wire (float16/32/64, int32/64, uint8, bool)",
                array.dtype()
            )))
        }
    };
    Ok(tensor)
}

fn copy<T: Element + Copy + WireElement>(array: &Bound<'_, PyUntypedArray>) -> PyResult<Tensor> {
    let typed = array.cast::<PyArrayDyn<T>>()?;
    let readonly = typed.try_readonly()?;
    let shape = readonly.shape().to_vec();
    if let Ok(slice) = readonly.as_slice() {
        return T::tensor(slice.to_vec(), shape);
    }
    // Strided or broadcast (the gradient of a sum): numpy lays it out in C order at memcpy
    // speed, and that copy, which only this function holds, becomes the tensor's memory.
    let contiguous = typed.call_method1("copy", ("C",))?;
    let (ptr, len) = {
        let view = contiguous.cast::<PyArrayDyn<T>>()?.try_readonly()?;
        let slice = view.as_slice().map_err(value_error)?;
        (slice.as_ptr().cast::<u8>(), std::mem::size_of_val(slice))
    };
    let owner = NumpyBytes {
        _array: contiguous.unbind(),
        ptr,
        len,
    };
    Tensor::from_bytes(T::DTYPE, shape, Bytes::from_owner(owner)).map_err(value_error)
}

/// A C-contiguous numpy array made (and referenced) by the extension alone, shown as bytes.
struct NumpyBytes {
    /// Keeps the buffer alive; dropped without the GIL, its reference is released by PyO3's
    /// pool the next time the GIL is taken.
    _array: Py<PyAny>,
    ptr: *const u8,
    len: usize,
}

// SAFETY: the array is never handed to Python code, so nothing writes its buffer or resizes it
// while this owner lives; `Py<PyAny>` itself is `Send`.
unsafe impl Send for NumpyBytes {}

impl AsRef<[u8]> for NumpyBytes {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: `ptr` is the data of the C-contiguous array `_array`, `len` bytes long, alive
        // and unchanged as long as `self` (see the `Send` impl).
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// Element types with a wire dtype.
trait WireElement: Sized {
    /// The wire dtype of this element type.
    const DTYPE: DType;
    fn tensor(values: Vec<Self>, shape: Vec<usize>) -> PyResult<Tensor>;
}

macro_rules! wire_element {
    ($($t:ty => $dtype:ident),*) => {$(
        impl WireElement for $t {
            const DTYPE: DType = DType::$dtype;
            fn tensor(values: Vec<Self>, shape: Vec<usize>) -> PyResult<Tensor> {
                Tensor::from_vec(values, shape).map_err(value_error)
            }
        }
    )*};
}
wire_element!(f32 => Float32, f64 => Float64, i64 => Int64, i32 => Int32, u8 => UInt8);

/// numpy's bool is one byte, 0 or 1, as the wire's.
impl WireElement for bool {
    const DTYPE: DType = DType::Bool;
    fn tensor(values: Vec<Self>, shape: Vec<usize>) -> PyResult<Tensor> {
        Tensor::from_bools(&values, shape).map_err(value_error)
    }
}

/// float16 bit patterns.
impl WireElement for u16 {
    const DTYPE: DType = DType::Float16;
    fn tensor(values: Vec<Self>, shape: Vec<usize>) -> PyResult<Tensor> {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        Tensor::from_bytes(DType::Float16, shape, Bytes::from(bytes)).map_err(value_error)
    }
}
