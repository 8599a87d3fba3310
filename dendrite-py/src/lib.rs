//! `dendrite_rs._native`: the Rust half of the Python module `dendrite_rs`.
//!
//! It owns what must be fast or must not hold the GIL: endpoints and synapses in their wire form,
//! the tokenizer, and [`client::Client`], whose calls run the dendrite's RPC core on a tokio
//! runtime while Python threads go on. Everything Python users touch directly (the reference's
//! API, the torch autograd function, configs, statistics) is the Python half in
//! `python/dendrite_rs/`. No libtorch here: tensors cross as numpy arrays.
//!
//! Invariant: nothing in this crate panics on user input or remote bytes; every failure is a
//! Python exception with a one-line message, or a return code.

mod answer_arrays;
mod arrays;
mod backward_plan;
mod client;
mod dump;
mod echo;
mod endpoint;
mod http;
mod outside_key;
mod rest;
mod runtime;
mod synapse;
mod tokenizer;
mod utf8;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// A caller's mistake as a Python `ValueError` with the error's one-line message.
pub(crate) fn value_error(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<client::Client>()?;
    m.add_class::<client::CallResults>()?;
    m.add_class::<http::HttpClient>()?;
    m.add_class::<http::CallHandle>()?;
    m.add_class::<http::AxonAnswer>()?;
    m.add_class::<rest::RestReply>()?;
    m.add_class::<endpoint::Endpoint>()?;
    m.add_class::<synapse::Synapse>()?;
    m.add_class::<arrays::TensorBuffer>()?;
    m.add_function(wrap_pyfunction!(synapse::text_last_hidden_state, m)?)?;
    m.add_function(wrap_pyfunction!(synapse::text_causal_lm, m)?)?;
    m.add_function(wrap_pyfunction!(synapse::text_causal_lm_next, m)?)?;
    m.add_function(wrap_pyfunction!(synapse::text_seq2seq, m)?)?;
    m.add_function(wrap_pyfunction!(endpoint::endpoints_from_tensor, m)?)?;
    m.add_function(wrap_pyfunction!(backward_plan::backward_plan, m)?)?;
    m.add_function(wrap_pyfunction!(tokenizer::tokenize, m)?)?;
    m.add_function(wrap_pyfunction!(tokenizer::tokenize_batch, m)?)?;
    m.add_function(wrap_pyfunction!(tokenizer::detokenize, m)?)?;
    m.add_function(wrap_pyfunction!(http::body_hash, m)?)?;
    m.add_function(wrap_pyfunction!(http::input_header, m)?)?;
    m.add_function(wrap_pyfunction!(http::terminal_headers, m)?)?;
    // 10.5.0's exception → (status code, message words) table, the wire's one statement of it.
    m.add("ERROR_MAPPING", dendrite::http::ERROR_MAPPING.to_vec())?;
    m.add("UNMAPPED_ERROR", dendrite::http::UNMAPPED_ERROR)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // The phases of `Dendrite.last_phases`, in call order: the core's one list.
    let phases = dendrite::core::Phase::ALL.map(dendrite::core::Phase::name);
    m.add("PHASES", pyo3::types::PyTuple::new(m.py(), phases)?)?;
    // The fields of bittensor's `Synapse` itself, as the 10.x wire writes them (one list).
    m.add(
        "BASE_FIELDS",
        pyo3::types::PyTuple::new(m.py(), dendrite::http::BASE_FIELDS)?,
    )?;
    // The version 10.x requests report (`bt_header_dendrite_version`): 10.5.0's `version_as_int`.
    m.add("VERSION_AS_INT", dendrite::http::VERSION_AS_INT)?;
    // The reference's defaults, from the facade, for the Python config helpers.
    let defaults = dendrite::DendriteConfig::default();
    m.add("DEFAULT_TIMEOUT", defaults.timeout.as_secs_f64())?;
    m.add(
        "DEFAULT_MAX_ACTIVE_RECEPTORS",
        defaults.client.max_active_receptors,
    )?;
    Ok(())
}
