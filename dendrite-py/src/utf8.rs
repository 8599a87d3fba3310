//! A Python `str`'s UTF-8 bytes, read where an ASCII `str` keeps them (no copy).
//!
//! The module is built for the stable ABI from Python 3.9 (`abi3-py39`), where pyo3 reads a
//! `str` by encoding it into a new `bytes` and copying that into a `String`: two copies of a
//! 1.4 MB tensor's base64 each time the synapse is dumped or its echo kept (perf: a tenth of a
//! large call's page faults, on the Python thread). An ASCII `str`'s characters are its UTF-8
//! bytes, and `PyUnicode_AsUTF8AndSize` hands them out as they are: part of the stable ABI from
//! 3.10 and exported with the same meaning by every CPython this module supports (3.9
//! included), so it is declared here rather than taken from pyo3's 3.9 declarations, which
//! leave it out.
//!
//! Invariants: a borrowed slice lives no longer than its `str` (immutable). Only an ASCII
//! `str` is read in place: for any other, CPython would make and keep a UTF-8 copy inside the
//! `str`, which `sys.getsizeof` counts (10.5.0's `total_size` of the synapse would change
//! after a call, and the `str` would hold its text twice); those are encoded into a copy as
//! pyo3 does.

use std::borrow::Cow;
use std::os::raw::c_char;

use pyo3::exceptions::PyUnicodeEncodeError;
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyString;

unsafe extern "C" {
    fn PyUnicode_AsUTF8AndSize(
        unicode: *mut ffi::PyObject,
        size: *mut ffi::Py_ssize_t,
    ) -> *const c_char;
}

/// The UTF-8 bytes of `text`: borrowed from an ASCII `str`, a copy of any other's; a `str`
/// holding a lone surrogate has none (Python's `UnicodeEncodeError`).
pub fn utf8<'a>(text: &'a Bound<'_, PyString>) -> PyResult<Cow<'a, str>> {
    if !text
        .call_method0(intern!(text.py(), "isascii"))?
        .is_truthy()?
    {
        return Ok(Cow::Owned(text.to_cow()?.into_owned()));
    }
    let mut size: ffi::Py_ssize_t = 0;
    // SAFETY: `text` is a live `str` and the GIL is held (`Bound`); for an ASCII `str` CPython
    // returns a pointer to its own `size` characters (valid UTF-8), which live as long as the
    // `str`, and `'a` (a borrow of `text`) does not outlive it.
    let data = unsafe { PyUnicode_AsUTF8AndSize(text.as_ptr(), &mut size) };
    if data.is_null() {
        return Err(PyErr::take(text.py())
            .unwrap_or_else(|| PyUnicodeEncodeError::new_err("str has no UTF-8 form")));
    }
    let len = usize::try_from(size).unwrap_or(0);
    // SAFETY: as above: `len` bytes at `data`, ASCII, owned by `text`.
    let bytes = unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) };
    // SAFETY: ASCII is UTF-8.
    let text = unsafe { std::str::from_utf8_unchecked(bytes) };
    Ok(Cow::Borrowed(text))
}
