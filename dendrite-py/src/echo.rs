//! The sent synapse's long strings, kept for one call, so that an answer that carries one back
//! unchanged reuses the sent `str` instead of building a copy of it.
//!
//! A 10.x answer is the whole synapse: every input field comes back beside the outputs (a
//! `TensorEcho` answer holds the 1.4 MB of base64 it was sent, a prompt comes back with its
//! completion). Decoding such a string into a new `str` per axon was a fifth of a large call's
//! CPU and a copy per axon in memory.
//!
//! Invariant: a sent `str` is reused only for the same place in the answer (the same keys from
//! the top, through dicts only) and only when the answer's bytes are equal to its UTF-8 bytes
//! (compared, or the very bytes of the request it was found equal to once per call); otherwise
//! the answer's own string is built. Only strings of at least [`MIN_ECHO_BYTES`] are kept: for
//! shorter ones a comparison saves nothing.

use std::borrow::Cow;

use dendrite::http::echoed::SentStrings;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::utf8::utf8;

/// The shortest string worth keeping, bytes.
pub const MIN_ECHO_BYTES: usize = 4096;

/// The long strings of a sent synapse's own fields, by their place.
#[derive(Default)]
pub struct Echo {
    strings: Vec<Sent>,
}

/// One long string that was sent: its place, the `str`, a copy of its UTF-8 bytes unless it
/// is ASCII (those are read where the `str` keeps them, [`utf8`]), and where the request's
/// fields hold those bytes as they go out, when they were found equal ([`Echo::link`]).
struct Sent {
    path: Vec<String>,
    text: Py<PyString>,
    copy: Option<String>,
    /// The address and length of its bytes in the request's fields.
    wire: Option<(usize, usize)>,
}

impl Echo {
    /// The long strings of `fields` (a synapse's own fields, as `model_dump` gives them),
    /// through nested dicts.
    pub fn of(fields: &Bound<'_, PyDict>) -> Echo {
        let mut echo = Echo::default();
        echo.collect(fields, &mut Vec::new());
        echo
    }

    fn collect(&mut self, dict: &Bound<'_, PyDict>, path: &mut Vec<String>) {
        for (key, value) in dict.iter() {
            let Some(key) = key.cast_exact::<PyString>().ok() else {
                continue;
            };
            let Ok(key) = utf8(key) else {
                continue;
            };
            path.push(key.into_owned());
            if let Ok(text) = value.cast_exact::<PyString>() {
                // Characters: no more than its UTF-8 bytes, so no long string is missed.
                let long = text.len().is_ok_and(|chars| chars >= MIN_ECHO_BYTES);
                if let (true, Ok(bytes)) = (long, utf8(text)) {
                    let copy = match bytes {
                        Cow::Borrowed(_) => None,
                        Cow::Owned(copy) => Some(copy),
                    };
                    self.strings.push(Sent {
                        path: path.clone(),
                        text: text.clone().unbind(),
                        copy,
                        wire: None,
                    });
                }
            } else if let Ok(inner) = value.cast_exact::<PyDict>() {
                self.collect(inner, path);
            }
            path.pop();
        }
    }

    /// Notes, once per call, where each sent string lies in the request's fields as they go
    /// out (`wire`), when its bytes there are its own: an answer's string that is
    /// those very bytes (a string elided as it came back, `dendrite_http::echoed`) is then
    /// known equal without comparing it again for every axon.
    pub fn link(&mut self, py: Python<'_>, wire: &SentStrings) {
        for sent in &mut self.strings {
            let path: Vec<&str> = sent.path.iter().map(String::as_str).collect();
            let Some(there) = wire.get(&path) else {
                continue;
            };
            if sent.bytes_equal(py, there) {
                sent.wire = Some((there.as_ptr() as usize, there.len()));
            }
        }
    }

    /// The sent `str` at `path` if its bytes are `text`'s.
    pub fn find<'py>(
        &self,
        py: Python<'py>,
        path: &[&str],
        text: &str,
    ) -> Option<Bound<'py, PyString>> {
        if text.len() < MIN_ECHO_BYTES {
            return None;
        }
        self.strings
            .iter()
            .find(|sent| {
                let here = sent
                    .path
                    .iter()
                    .map(String::as_str)
                    .eq(path.iter().copied());
                let same_bytes = sent.wire == Some((text.as_ptr() as usize, text.len()));
                here && (same_bytes || sent.bytes_equal(py, text))
            })
            .map(|sent| sent.text.bind(py).clone())
    }
}

impl Sent {
    /// Whether `text` is this string's UTF-8.
    fn bytes_equal(&self, py: Python<'_>, text: &str) -> bool {
        match &self.copy {
            Some(copy) => copy == text,
            None => utf8(self.text.bind(py)).is_ok_and(|sent| sent == text),
        }
    }
}
