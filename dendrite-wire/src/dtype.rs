//! Element types of wire tensors and their names in numpy and in the bittensor proto.

use crate::proto::DataType;
use half::f16;

/// The element type of a [`Tensor`](crate::Tensor).
///
/// Every dtype is stored little-endian. Names follow torch (`Float32`, `Int64`, ...); the numpy
/// array-protocol string (`<f4`, `<i8`, ...) is what msgpack-numpy writes on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    /// IEEE 754 half precision (`<f2`).
    Float16,
    /// IEEE 754 single precision (`<f4`).
    Float32,
    /// IEEE 754 double precision (`<f8`).
    Float64,
    /// 32-bit signed integer (`<i4`).
    Int32,
    /// 64-bit signed integer (`<i8`), the dtype of token ids.
    Int64,
    /// 8-bit unsigned integer (`|u1`).
    UInt8,
    /// Boolean stored as one byte, 0 or 1 (`|b1`).
    Bool,
}

impl DType {
    /// Every dtype, for tests and iteration.
    pub const ALL: [DType; 7] = [
        DType::Float16,
        DType::Float32,
        DType::Float64,
        DType::Int32,
        DType::Int64,
        DType::UInt8,
        DType::Bool,
    ];

    /// Bytes per element.
    pub const fn size(self) -> usize {
        match self {
            DType::Float16 => 2,
            DType::Float32 | DType::Int32 => 4,
            DType::Float64 | DType::Int64 => 8,
            DType::UInt8 | DType::Bool => 1,
        }
    }

    /// Whether this is a floating-point dtype.
    pub const fn is_float(self) -> bool {
        matches!(self, DType::Float16 | DType::Float32 | DType::Float64)
    }

    /// The numpy array-protocol type string msgpack-numpy writes (`dtype.str`).
    pub const fn numpy_str(self) -> &'static str {
        match self {
            DType::Float16 => "<f2",
            DType::Float32 => "<f4",
            DType::Float64 => "<f8",
            DType::Int32 => "<i4",
            DType::Int64 => "<i8",
            DType::UInt8 => "|u1",
            DType::Bool => "|b1",
        }
    }

    /// Parses a numpy type string. Little-endian (`<`), native (`=`) and byte-order-free (`|`)
    /// forms are accepted; big-endian types are not.
    pub fn from_numpy_str(s: &str) -> Option<DType> {
        let (order, kind) = s.split_at_checked(1)?;
        if !matches!(order, "<" | "=" | "|") {
            return None;
        }
        Some(match kind {
            "f2" => DType::Float16,
            "f4" => DType::Float32,
            "f8" => DType::Float64,
            "i4" => DType::Int32,
            "i8" => DType::Int64,
            "u1" => DType::UInt8,
            "b1" => DType::Bool,
            _ => return None,
        })
    }

    /// The proto `DataType` the reference writes for this dtype (`UNKNOWN` where it has none).
    pub const fn to_proto(self) -> DataType {
        match self {
            DType::Float16 => DataType::Float16,
            DType::Float32 => DataType::Float32,
            DType::Float64 => DataType::Float64,
            DType::Int32 => DataType::Int32,
            DType::Int64 => DataType::Int64,
            DType::UInt8 | DType::Bool => DataType::Unknown,
        }
    }

    /// The dtype for a proto `DataType`, `None` for `UNKNOWN` and `UTF8`.
    pub const fn from_proto(dtype: DataType) -> Option<DType> {
        match dtype {
            DataType::Float16 => Some(DType::Float16),
            DataType::Float32 => Some(DType::Float32),
            DataType::Float64 => Some(DType::Float64),
            DataType::Int32 => Some(DType::Int32),
            DataType::Int64 => Some(DType::Int64),
            DataType::Unknown | DataType::Utf8 => None,
        }
    }
}

impl std::fmt::Display for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            DType::Float16 => "float16",
            DType::Float32 => "float32",
            DType::Float64 => "float64",
            DType::Int32 => "int32",
            DType::Int64 => "int64",
            DType::UInt8 => "uint8",
            DType::Bool => "bool",
        };
        f.write_str(name)
    }
}

/// A Rust type that is the element of a tensor of one [`DType`].
///
/// Implemented for `f16`, `f32`, `f64`, `i32`, `i64` and `u8`. Booleans have no element type (not
/// every byte is a valid `bool`); see [`Tensor::from_bools`](crate::Tensor::from_bools).
pub trait Element: bytemuck::Pod + PartialEq + std::fmt::Debug + Send + Sync + 'static {
    /// The dtype of tensors of this element.
    const DTYPE: DType;
    /// Converts to `f64` (exact for every type but `i64` beyond 2^53).
    fn to_f64(self) -> f64;
    /// Converts from `f64` as torch's `.to(dtype)` does (floats round, integers truncate).
    fn from_f64(value: f64) -> Self;
    /// Converts to `i64`, truncating floats toward zero.
    fn to_i64(self) -> i64;
    /// Converts from `i64`, wrapping for narrow integers as torch does.
    fn from_i64(value: i64) -> Self;
}

macro_rules! primitive_element {
    ($t:ty, $d:expr, $from_f64:expr) => {
        impl Element for $t {
            const DTYPE: DType = $d;
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn from_f64(value: f64) -> Self {
                $from_f64(value)
            }
            fn to_i64(self) -> i64 {
                self as i64
            }
            fn from_i64(value: i64) -> Self {
                value as $t
            }
        }
    };
}

/// Float to signed integer as torch does on x86-64 (`cvttsd2si`): truncation toward zero, and the
/// "integer indefinite" value `MIN` for NaN and anything out of range.
macro_rules! x86_truncate {
    ($t:ty) => {
        |value: f64| {
            let limit = -(<$t>::MIN as f64);
            if value.is_nan() || value < <$t>::MIN as f64 || value >= limit {
                <$t>::MIN
            } else {
                value as $t
            }
        }
    };
}

primitive_element!(i32, DType::Int32, x86_truncate!(i32));
primitive_element!(i64, DType::Int64, x86_truncate!(i64));
primitive_element!(u8, DType::UInt8, |value: f64| (value as i64) as u8);
primitive_element!(f32, DType::Float32, |value: f64| value as f32);
primitive_element!(f64, DType::Float64, |value: f64| value);

impl Element for f16 {
    const DTYPE: DType = DType::Float16;
    fn to_f64(self) -> f64 {
        f16::to_f64(self)
    }
    fn from_f64(value: f64) -> Self {
        f16::from_f64(value)
    }
    fn to_i64(self) -> i64 {
        f16::to_f32(self) as i64
    }
    fn from_i64(value: i64) -> Self {
        f16::from_f64(value as f64)
    }
}
