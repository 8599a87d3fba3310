//! A synapse's own fields as `json.dumps` writes them, written in Rust.
//!
//! 10.5.0 sends `json.dumps(synapse.model_dump())`; Python's encoder escapes a str one
//! character at a time (2.9 ms for a 1 MiB tensor's 1.4 MB of base64, once per call). Here the
//! dict is read into a [`PyValue`] and written by the wire's one JSON writer
//! ([`PyValue::write_json`]: `json.dumps`'s separators, `ensure_ascii`, float `repr`).
//!
//! Invariant: the text is byte for byte `json.dumps(fields)`. Only values of exactly the types
//! `json.dumps` writes without asking (dict with str keys, list, tuple, str, int within i128,
//! float, bool, None) are read here; anything else (a subclass, a non-str key, a big int) makes
//! the whole dump Python's own `json.dumps`, so its output and its errors are Python's.

use dendrite::http::value::write_json_str;
use dendrite::http::PyValue;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use crate::utf8::utf8;

/// `", " + json.dumps(fields)[1:-1]` (empty for no fields): the synapse's own fields as they
/// follow the base class's in a request body.
pub fn fields_json(fields: &Bound<'_, PyDict>) -> PyResult<String> {
    if fields.is_empty() {
        return Ok(String::new());
    }
    let Some(PyValue::Dict(items)) = read_dict(fields) else {
        let dumped: String = fields
            .py()
            .import("json")?
            .call_method1("dumps", (fields,))?
            .extract()?;
        // `{` … `}`: the items without their braces.
        let items = dumped
            .get(1..dumped.len().saturating_sub(1))
            .unwrap_or_default();
        return Ok(format!(", {items}"));
    };
    // Sized once: a 1.4 MB string written into a growing buffer is copied again as it grows.
    let mut out = String::with_capacity(items.iter().map(|(k, v)| k.len() + json_room(v)).sum());
    for (key, value) in &items {
        out.push_str(", ");
        write_json_str(key, &mut out);
        out.push_str(": ");
        value.write_json(&mut out);
    }
    Ok(out)
}

/// Room for `value`'s JSON: its strings' bytes plus 24 bytes a value and a key (numbers,
/// separators, quotes); a string with characters to escape may still need more.
fn json_room(value: &PyValue) -> usize {
    24 + match value {
        PyValue::Str(text) => text.len(),
        PyValue::List(items) => items.iter().map(json_room).sum(),
        PyValue::Dict(items) => items.iter().map(|(k, v)| k.len() + json_room(v)).sum(),
        _ => 0,
    }
}

/// `value` as a [`PyValue`], or `None` where it holds a type only Python's encoder should write.
fn read(value: &Bound<'_, PyAny>) -> Option<PyValue> {
    if value.is_none() {
        Some(PyValue::None)
    } else if let Ok(text) = value.cast_exact::<PyString>() {
        utf8(text).ok().map(|text| PyValue::Str(text.into_owned()))
    } else if let Ok(flag) = value.cast_exact::<PyBool>() {
        Some(PyValue::Bool(flag.is_true()))
    } else if value.is_exact_instance_of::<PyInt>() {
        value.extract::<i128>().ok().map(PyValue::Int)
    } else if let Ok(number) = value.cast_exact::<PyFloat>() {
        Some(PyValue::Float(number.value()))
    } else if let Ok(dict) = value.cast_exact::<PyDict>() {
        read_dict(dict)
    } else if let Ok(list) = value.cast_exact::<PyList>() {
        list.iter()
            .map(|item| read(&item))
            .collect::<Option<_>>()
            .map(PyValue::List)
    } else if let Ok(tuple) = value.cast_exact::<PyTuple>() {
        tuple
            .iter()
            .map(|item| read(&item))
            .collect::<Option<_>>()
            .map(PyValue::List)
    } else {
        None
    }
}

fn read_dict(dict: &Bound<'_, PyDict>) -> Option<PyValue> {
    dict.iter()
        .map(|(key, value)| {
            let key = utf8(key.cast_exact::<PyString>().ok()?).ok()?.into_owned();
            Some((key, read(&value)?))
        })
        .collect::<Option<_>>()
        .map(PyValue::Dict)
}
