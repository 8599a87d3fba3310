//! The GPT-2 tokenizer as bittensor prepares it (`bittensor.tokenizer()`), for string inputs and
//! for decoding generations.

use dendrite::format::BittensorTokenizer;
use numpy::PyUntypedArray;
use pyo3::prelude::*;

use crate::value_error;

use crate::arrays::to_numpy;

fn tokenizer() -> PyResult<&'static BittensorTokenizer> {
    BittensorTokenizer::shared().map_err(value_error)
}

/// Token ids of one string (`tokenizer(text)['input_ids']`).
#[pyfunction]
pub fn tokenize(text: &str) -> PyResult<Vec<i64>> {
    tokenizer()?.encode(text).map_err(value_error)
}

/// A `[B, S]` int64 array of several strings, padded and truncated as
/// `tokenizer(texts, padding=True, truncation=True)` does.
#[pyfunction]
pub fn tokenize_batch<'py>(
    py: Python<'py>,
    texts: Vec<String>,
) -> PyResult<Bound<'py, PyUntypedArray>> {
    let tensor = tokenizer()?.encode_batch(&texts).map_err(value_error)?;
    to_numpy(py, tensor)
}

/// The text of token ids (`tokenizer.decode(ids)`).
#[pyfunction]
pub fn detokenize(ids: Vec<i64>) -> PyResult<String> {
    tokenizer()?.decode(&ids).map_err(value_error)
}
