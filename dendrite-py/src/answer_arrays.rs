//! Named fields of an answer read straight into numpy arrays: a call's opt-in
//! (`Dendrite.forward(..., arrays={"paths": "float64"})`) for answers that carry nested lists of
//! numbers, which `json.loads` would make into one Python float per number.
//!
//! Invariants: a field's value is `null` (left as `None`) or a rectangular nest of JSON numbers,
//! whose shape is the array's; anything else (a ragged nest, a string, a bool, a float where an
//! int dtype was asked, an int the dtype cannot hold) is that axon's failure with a message that
//! names the field and the first offending item, never an exception and never a guess.

use dendrite::http::Doc;
use numpy::{Element, PyArray1, PyArrayMethods};
use pyo3::prelude::*;

/// The dtypes an array field may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    /// `float64`.
    F64,
    /// `float32`.
    F32,
    /// `int64`.
    I64,
    /// `int32`.
    I32,
}

impl Dtype {
    /// The dtype named `name` (numpy's names), or a `ValueError`.
    pub fn named(name: &str) -> PyResult<Dtype> {
        Ok(match name {
            "float64" => Dtype::F64,
            "float32" => Dtype::F32,
            "int64" => Dtype::I64,
            "int32" => Dtype::I32,
            other => {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "arrays: dtype {other:?} is not one of float64, float32, int64, int32"
                )))
            }
        })
    }

    /// numpy's name of the dtype.
    pub fn name(self) -> &'static str {
        match self {
            Dtype::F64 => "float64",
            Dtype::F32 => "float32",
            Dtype::I64 => "int64",
            Dtype::I32 => "int32",
        }
    }
}

/// The fields a call reads as arrays, each with its dtype.
pub type ArrayFields = Vec<(String, Dtype)>;

/// The array of `value` (`None` for `null`), or why it is none: the axon's failure.
pub fn array_of<'py>(
    py: Python<'py>,
    field: &str,
    value: &Doc,
    dtype: Dtype,
) -> PyResult<Result<Bound<'py, PyAny>, String>> {
    if matches!(value, Doc::None) {
        return Ok(Ok(py.None().into_bound(py)));
    }
    let built = match dtype {
        Dtype::F64 => build(py, value, |n| match n {
            Doc::Float(f) => Ok(*f),
            Doc::Int(i) => Ok(*i as f64),
            _ => Err(()),
        }),
        Dtype::F32 => build(py, value, |n| match n {
            Doc::Float(f) => Ok(*f as f32),
            Doc::Int(i) => Ok(*i as f32),
            _ => Err(()),
        }),
        Dtype::I64 => build(py, value, |n| match n {
            Doc::Int(i) => i64::try_from(*i).map_err(|_| ()),
            _ => Err(()),
        }),
        Dtype::I32 => build(py, value, |n| match n {
            Doc::Int(i) => i32::try_from(*i).map_err(|_| ()),
            _ => Err(()),
        }),
    };
    Ok(built.map_err(|why| format!("field '{field}' as a {} array: {why}", dtype.name())))
}

/// The array of a rectangular nest of numbers, each read by `number` (`Err`: not one the dtype
/// holds).
fn build<'py, T: Element>(
    py: Python<'py>,
    value: &Doc,
    number: impl Fn(&Doc) -> Result<T, ()>,
) -> Result<Bound<'py, PyAny>, String> {
    let shape = shape_of(value);
    let mut data = Vec::with_capacity(shape.iter().product());
    let mut at = Vec::with_capacity(shape.len());
    fill(value, &shape, &mut at, &mut data, &number)?;
    PyArray1::from_vec(py, data)
        .reshape(shape)
        .map(Bound::into_any)
        .map_err(|e| e.to_string())
}

/// The shape the first items give: a list's length, then its first item's, and so on.
fn shape_of(mut value: &Doc) -> Vec<usize> {
    let mut shape = Vec::new();
    loop {
        match value {
            Doc::List(items) => {
                shape.push(items.len());
                match items.first() {
                    Some(first) => value = first,
                    None => break,
                }
            }
            Doc::Floats(items) => {
                shape.push(items.len());
                break;
            }
            _ => break,
        }
    }
    shape
}

/// Appends the numbers of `value` (at index path `at`) to `data`, checking it has `shape`.
fn fill<T>(
    value: &Doc,
    shape: &[usize],
    at: &mut Vec<usize>,
    data: &mut Vec<T>,
    number: &impl Fn(&Doc) -> Result<T, ()>,
) -> Result<(), String> {
    let place = |at: &[usize]| {
        let path: String = at.iter().map(|i| format!("[{i}]")).collect();
        if path.is_empty() {
            "the value".to_owned()
        } else {
            format!("item {path}")
        }
    };
    let length = |at: &[usize], len: usize, expected: usize| {
        if len == expected {
            Ok(())
        } else {
            Err(format!(
                "ragged: {} has {len} items where {expected} were expected",
                place(at)
            ))
        }
    };
    match (value, shape.split_first()) {
        (Doc::List(items), Some((&expected, inner))) => {
            length(at, items.len(), expected)?;
            for (i, item) in items.iter().enumerate() {
                at.push(i);
                fill(item, inner, at, data, number)?;
                at.pop();
            }
            Ok(())
        }
        (Doc::Floats(items), Some((&expected, inner))) => {
            length(at, items.len(), expected)?;
            if !inner.is_empty() {
                at.push(0);
                let why = format!(
                    "ragged: {} is {} where a list was expected",
                    place(at),
                    kind(&items.first().map_or(Doc::None, |f| Doc::Float(*f)))
                );
                return Err(why);
            }
            for (i, item) in items.iter().enumerate() {
                let item = Doc::Float(*item);
                match number(&item) {
                    Ok(n) => data.push(n),
                    Err(()) => {
                        at.push(i);
                        return Err(format!(
                            "{} is {}, not a number the dtype holds",
                            place(at),
                            kind(&item)
                        ));
                    }
                }
            }
            Ok(())
        }
        (Doc::List(_) | Doc::Floats(_), None) => Err(format!(
            "ragged: {} is a list where a number was expected",
            place(at)
        )),
        (_, Some(_)) => Err(format!(
            "ragged: {} is {} where a list was expected",
            place(at),
            kind(value)
        )),
        (_, None) => match number(value) {
            Ok(n) => {
                data.push(n);
                Ok(())
            }
            Err(()) => Err(format!(
                "{} is {}, not a number the dtype holds",
                place(at),
                kind(value)
            )),
        },
    }
}

/// What a value is, in a message.
fn kind(value: &Doc) -> String {
    match value {
        Doc::None => "null".into(),
        Doc::Bool(b) => format!("{b}"),
        Doc::Int(i) => format!("the int {i}"),
        Doc::Float(f) => format!("the float {f}"),
        Doc::Str(s) => {
            let mut shown: String = s.chars().take(20).collect();
            if shown.len() < s.len() {
                shown.push('…');
            }
            format!("the string {shown:?}")
        }
        Doc::List(_) | Doc::Floats(_) => "a list".into(),
        Doc::Dict(_) => "an object".into(),
    }
}
