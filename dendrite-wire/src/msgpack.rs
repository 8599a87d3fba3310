//! The msgpack-numpy tensor buffer, as `msgpack.packb(ndarray, default=msgpack_numpy.encode)`
//! writes it with msgpack-numpy 0.4.7.1 and msgpack 1.x:
//!
//! ```text
//! fixmap(5) { bin"nd": true, bin"type": str"<f4", bin"kind": bin"", bin"shape": [d0, d1, ...],
//!             bin"data": bin8/16/32 <raw little-endian elements> }
//! ```
//!
//! Encoding writes the header once and copies the data once. Decoding parses the header with `rmp`
//! and returns the data as a slice of the input `Bytes` (no copy); keys may come in any order and
//! as `str` or `bin`, as msgpack-numpy itself accepts. Every length is checked against the input
//! before anything is allocated: a header that claims more than the buffer holds is an error.

use crate::tensor::{checked_numel, MAX_DIMS};
use crate::{DType, Tensor, TensorError};
use bytes::Bytes;
use rmp::decode as de;
use rmp::encode as en;
use rmp::Marker;

/// Serializes a tensor into a msgpack-numpy buffer: header, then one copy of the data.
pub fn encode(tensor: &Tensor) -> Result<Bytes, TensorError> {
    let data = tensor.data();
    let data_len = u32::try_from(data.len())
        .map_err(|_| TensorError::Malformed("tensor data over 4 GiB does not fit bin32".into()))?;
    let mut out = Vec::with_capacity(64 + 9 * tensor.ndim() + data.len());
    write_header(&mut out, tensor, data_len).expect("writing to a Vec cannot fail");
    out.extend_from_slice(data);
    Ok(Bytes::from(out))
}

fn write_header(
    out: &mut Vec<u8>,
    tensor: &Tensor,
    data_len: u32,
) -> Result<(), en::ValueWriteError> {
    en::write_map_len(out, 5)?;
    write_key(out, b"nd")?;
    en::write_bool(out, true).map_err(en::ValueWriteError::InvalidDataWrite)?;
    write_key(out, b"type")?;
    en::write_str(out, tensor.dtype().numpy_str())?;
    write_key(out, b"kind")?;
    en::write_bin(out, b"")?;
    write_key(out, b"shape")?;
    en::write_array_len(out, tensor.ndim() as u32)?;
    for &d in tensor.shape() {
        en::write_uint(out, d as u64)?;
    }
    write_key(out, b"data")?;
    en::write_bin_len(out, data_len)?;
    Ok(())
}

fn write_key(out: &mut Vec<u8>, key: &[u8]) -> Result<(), en::ValueWriteError> {
    en::write_bin(out, key)
}

/// Deserializes a msgpack-numpy buffer. The tensor's data is a slice of `buffer` when aligned.
pub fn decode(buffer: &Bytes) -> Result<Tensor, TensorError> {
    let mut rd: &[u8] = buffer;
    let entries = de::read_map_len(&mut rd).map_err(|e| malformed("top level", e))?;
    if entries > 8 {
        return Err(TensorError::Malformed(format!(
            "map of {entries} entries, expected 5"
        )));
    }
    let (mut nd, mut dtype, mut shape, mut data) = (None, None, None, None);
    for _ in 0..entries {
        let key = read_blob(&mut rd, "key")?;
        match key {
            b"nd" => nd = Some(de::read_bool(&mut rd).map_err(|e| malformed("nd", e))?),
            b"type" => {
                let name = read_blob(&mut rd, "type")?;
                let name = std::str::from_utf8(name)
                    .map_err(|_| TensorError::Malformed("type is not UTF-8".into()))?;
                dtype = Some(
                    DType::from_numpy_str(name)
                        .ok_or_else(|| TensorError::UnsupportedDType(name.into()))?,
                );
            }
            b"kind" => {
                let kind = read_blob(&mut rd, "kind")?;
                if !kind.is_empty() {
                    return Err(TensorError::UnsupportedDType(
                        String::from_utf8_lossy(kind).into_owned(),
                    ));
                }
            }
            b"shape" => shape = Some(read_shape(&mut rd)?),
            b"data" => {
                let slice = read_blob(&mut rd, "data")?;
                let start = slice.as_ptr() as usize - buffer.as_ptr() as usize;
                data = Some(buffer.slice(start..start + slice.len()));
            }
            other => {
                return Err(TensorError::Malformed(format!(
                    "unexpected key {:?}",
                    String::from_utf8_lossy(other)
                )))
            }
        }
    }
    if nd != Some(true) {
        return Err(TensorError::Malformed(
            "not an ndarray (nd is missing or false)".into(),
        ));
    }
    let missing = |what: &str| TensorError::Malformed(format!("{what} is missing"));
    let dtype = dtype.ok_or_else(|| missing("type"))?;
    let shape = shape.ok_or_else(|| missing("shape"))?;
    let data = data.ok_or_else(|| missing("data"))?;
    Tensor::from_bytes(dtype, shape, data)
}

/// Reads a `bin` or `str` value and returns its bytes (a slice of the input).
fn read_blob<'a>(rd: &mut &'a [u8], what: &str) -> Result<&'a [u8], TensorError> {
    let mut peek = *rd;
    let len = match de::read_marker(&mut peek) {
        Ok(Marker::Bin8 | Marker::Bin16 | Marker::Bin32) => de::read_bin_len(rd),
        Ok(Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32) => {
            de::read_str_len(rd)
        }
        Ok(marker) => {
            return Err(TensorError::Malformed(format!(
                "{what}: expected bin or str, found {marker:?}"
            )))
        }
        Err(_) => return Err(TensorError::Malformed(format!("{what}: truncated"))),
    }
    .map_err(|e| malformed(what, e))? as usize;
    if len > rd.len() {
        return Err(TensorError::Malformed(format!(
            "{what}: claims {len} bytes, {} left",
            rd.len()
        )));
    }
    let (value, rest) = rd.split_at(len);
    *rd = rest;
    Ok(value)
}

/// Reads the shape array; dimensions are non-negative integers, at most [`MAX_DIMS`] of them.
fn read_shape(rd: &mut &[u8]) -> Result<Vec<usize>, TensorError> {
    let dims = de::read_array_len(rd).map_err(|e| malformed("shape", e))? as usize;
    if dims > MAX_DIMS {
        return Err(TensorError::TooManyDims(dims));
    }
    let mut shape = Vec::with_capacity(dims);
    for _ in 0..dims {
        let d: u64 = de::read_int(rd).map_err(|e| TensorError::Malformed(format!("shape: {e}")))?;
        shape.push(usize::try_from(d).map_err(|_| TensorError::ShapeOverflow(vec![d]))?);
    }
    checked_numel(&shape)?;
    Ok(shape)
}

fn malformed<E: std::fmt::Display>(what: &str, e: E) -> TensorError {
    TensorError::Malformed(format!("{what}: {e}"))
}
