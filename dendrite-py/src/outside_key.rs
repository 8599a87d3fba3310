//! A Python keypair that does not give its secret away (bittensor 10's
//! `bittensor_wallet.Keypair`), signing the native client's requests through its own `sign`.
//!
//! **Invariants:** the keypair's `sign` runs with the GIL on the runtime thread that signs, once
//! per message and one GIL hold per batch: per request for 10.x synapse calls (each request's
//! uuid is its pooled connection's, known only once the connection is checked out), in one pass
//! before the fan-out for signed requests (every axon's message together). This is the one
//! place Python runs on a runtime thread; while it signs, that thread does nothing else.
//! An exception, or an answer that is not 64 bytes, is reported as unraisable (stderr, or
//! `sys.unraisablehook`) and signs that message with zeros, which every receiver refuses: a
//! per-axon 401, never a panic.

use dendrite::core::OutsideSigner;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// A Python object with `sign(bytes) -> bytes` (64 bytes of sr25519).
pub(crate) struct PythonSigner {
    keypair: Py<PyAny>,
}

impl PythonSigner {
    /// The signer of `keypair` (its `sign` is looked up at each call, as Python would).
    pub(crate) fn new(keypair: Py<PyAny>) -> Self {
        PythonSigner { keypair }
    }
}

impl OutsideSigner for PythonSigner {
    fn sign_all(&self, messages: &[&[u8]]) -> Vec<[u8; 64]> {
        crate::runtime::attach(|py| {
            let keypair = self.keypair.bind(py);
            messages
                .iter()
                .map(|message| {
                    sign_one(keypair, message).unwrap_or_else(|e| {
                        e.write_unraisable(py, Some(keypair));
                        [0; 64]
                    })
                })
                .collect()
        })
    }
}

/// `keypair.sign(message)`, checked to be 64 bytes.
fn sign_one(keypair: &Bound<'_, PyAny>, message: &[u8]) -> PyResult<[u8; 64]> {
    let answer = keypair.call_method1("sign", (PyBytes::new(keypair.py(), message),))?;
    let bytes = answer.cast::<PyBytes>()?.as_bytes();
    bytes.try_into().map_err(|_| {
        pyo3::exceptions::PyValueError::new_err(format!(
            "{}.sign answered {} bytes, not a 64-byte sr25519 signature",
            keypair
                .get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default(),
            bytes.len()
        ))
    })
}
