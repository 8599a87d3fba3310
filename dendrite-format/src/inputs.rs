//! `format_text_inputs`: the reference's accepted forms of endpoints and text inputs, turned into
//! one endpoint list and one int64 `[B, S]` tensor per endpoint.
//!
//! ```
//! use dendrite_format::{format_text_inputs, Endpoint, Endpoints, Inputs};
//! let key = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";
//! let a = Endpoint::new(370, 0, key, "127.0.0.1", 4, 8091, key).unwrap();
//! let b = Endpoint::new(370, 1, key, "127.0.0.1", 4, 8092, key).unwrap();
//! let (endpoints, inputs) =
//!     format_text_inputs(Endpoints::List(vec![a, b]), Inputs::Text("hello world".into())).unwrap();
//! assert_eq!(endpoints.len(), 2);
//! assert_eq!(inputs[1].shape(), &[1, 2]); // the same tokens for both endpoints
//! ```

use crate::{BittensorTokenizer, Endpoint, FormatError, ENDPOINT_BUFFER_SIZE};
use dendrite_wire::{DType, EndpointError, Tensor};

/// The endpoint forms the reference accepts.
#[derive(Clone, Debug)]
pub enum Endpoints {
    /// One endpoint: inputs go to it alone.
    One(Endpoint),
    /// A list of endpoints.
    List(Vec<Endpoint>),
    /// One endpoint tensor `[250]`, or several as `[n, 250]`.
    Tensor(Tensor),
    /// A list of endpoint tensors, each `[250]` (or `[n, 250]`).
    Tensors(Vec<Tensor>),
}

/// The text input forms the reference accepts.
#[derive(Clone, Debug)]
pub enum Inputs {
    /// One string, tokenized and sent to every endpoint.
    Text(String),
    /// Strings tokenized as one padded batch and sent to every endpoint.
    Texts(Vec<String>),
    /// Token ids: `[S]` or `[B, S]` for every endpoint, or `[n, B, S]` one `[B, S]` per endpoint.
    Tensor(Tensor),
    /// One tensor of token ids per endpoint.
    Tensors(Vec<Tensor>),
}

impl From<Endpoint> for Endpoints {
    fn from(e: Endpoint) -> Self {
        Endpoints::One(e)
    }
}

impl From<Vec<Endpoint>> for Endpoints {
    fn from(e: Vec<Endpoint>) -> Self {
        Endpoints::List(e)
    }
}

impl From<&str> for Inputs {
    fn from(text: &str) -> Self {
        Inputs::Text(text.to_owned())
    }
}

impl From<Vec<String>> for Inputs {
    fn from(texts: Vec<String>) -> Self {
        Inputs::Texts(texts)
    }
}

impl From<Tensor> for Inputs {
    fn from(t: Tensor) -> Self {
        Inputs::Tensor(t)
    }
}

/// Formats endpoints and inputs as the reference's `Dendrite.format_text_inputs`: returns the
/// endpoints and, for each, an int64 `[B, S]` input. Shared inputs are the same buffer (no copy).
pub fn format_text_inputs(
    endpoints: impl Into<Endpoints>,
    inputs: impl Into<Inputs>,
) -> Result<(Vec<Endpoint>, Vec<Tensor>), FormatError> {
    let endpoints = format_endpoints(endpoints.into())?;
    let n = endpoints.len();
    let inputs = match inputs.into() {
        Inputs::Text(text) => {
            let ids = BittensorTokenizer::shared()?.encode(&text)?;
            let len = ids.len();
            let tensor = Tensor::from_vec(ids, [1, len])
                .map_err(|e| FormatError::Tokenizer(e.to_string()))?;
            vec![check_input(tensor)?; n]
        }
        Inputs::Texts(texts) => {
            if texts.is_empty() {
                return Err(FormatError::NoInputs);
            }
            let batch = BittensorTokenizer::shared()?.encode_batch(&texts)?;
            vec![check_input(batch)?; n]
        }
        Inputs::Tensor(t) if t.ndim() <= 2 => vec![check_input(t)?; n],
        Inputs::Tensor(t) if t.ndim() == 3 => {
            if t.shape()[0] != n {
                return Err(FormatError::CountMismatch {
                    endpoints: n,
                    inputs: t.shape()[0],
                });
            }
            unbind(&t)?
                .into_iter()
                .map(check_input)
                .collect::<Result<_, _>>()?
        }
        Inputs::Tensor(t) => return Err(FormatError::InputRank(t.shape().to_vec())),
        Inputs::Tensors(list) => {
            if list.is_empty() {
                return Err(FormatError::NoInputs);
            }
            list.into_iter()
                .map(check_input)
                .collect::<Result<_, _>>()?
        }
    };
    if inputs.len() != n {
        return Err(FormatError::CountMismatch {
            endpoints: n,
            inputs: inputs.len(),
        });
    }
    Ok((endpoints, inputs))
}

fn format_endpoints(endpoints: Endpoints) -> Result<Vec<Endpoint>, FormatError> {
    let list = match endpoints {
        Endpoints::One(e) => vec![e],
        Endpoints::List(list) => list,
        Endpoints::Tensor(t) => endpoints_of_tensor(&t)?,
        Endpoints::Tensors(list) => {
            let mut out = Vec::with_capacity(list.len());
            for t in &list {
                out.extend(endpoints_of_tensor(t)?);
            }
            out
        }
    };
    if list.is_empty() {
        return Err(FormatError::NoEndpoints);
    }
    Ok(list)
}

/// `[250]` is one endpoint, `[n, 250]` is n.
fn endpoints_of_tensor(t: &Tensor) -> Result<Vec<Endpoint>, FormatError> {
    match t.shape() {
        [ENDPOINT_BUFFER_SIZE] => Ok(vec![Endpoint::from_tensor(t)?]),
        [_, ENDPOINT_BUFFER_SIZE] => Ok(unbind(t)?
            .iter()
            .map(Endpoint::from_tensor)
            .collect::<Result<_, _>>()?),
        shape => Err(EndpointError::TensorShape(shape.to_vec()).into()),
    }
}

/// The sub-tensors along the first dimension (slices of the same buffer).
fn unbind(t: &Tensor) -> Result<Vec<Tensor>, FormatError> {
    let (&n, rest) = t
        .shape()
        .split_first()
        .ok_or_else(|| FormatError::InputRank(t.shape().to_vec()))?;
    let step = t.data().len() / n.max(1);
    (0..n)
        .map(|i| {
            Tensor::from_bytes(t.dtype(), rest, t.data().slice(i * step..(i + 1) * step))
                .map_err(|_| FormatError::InputRank(t.shape().to_vec()))
        })
        .collect()
}

/// Casts to int64, views `[S]` as `[1, S]`, and requires rank 2 with no empty dimension.
fn check_input(t: Tensor) -> Result<Tensor, FormatError> {
    let t = t.cast(DType::Int64);
    let t = match t.shape() {
        [s] => {
            let s = *s;
            t.reshape([1, s])
                .map_err(|_| FormatError::InputRank(vec![s]))?
        }
        _ => t,
    };
    match t.shape() {
        [b, s] if *b > 0 && *s > 0 => Ok(t),
        [_, _] => Err(FormatError::EmptyInput(t.shape().to_vec())),
        shape => Err(FormatError::InputRank(shape.to_vec())),
    }
}
