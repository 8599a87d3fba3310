//! Shared helpers of the dendrite-wire integration tests: reading the golden fixtures.

#![allow(dead_code)]

use bytes::Bytes;
use dendrite_wire::{DType, Tensor};
use serde::Deserialize;
use serde_json::Value;

/// The fixtures written by `cargo xtask fixtures` (real Python bittensor 3.7.0).
pub fn fixtures() -> Value {
    let text = include_str!("../fixtures/wire.json");
    serde_json::from_str(text).expect("wire.json is valid JSON")
}

/// A tensor as the fixture script writes it: dtype name, shape, hex of raw little-endian bytes.
#[derive(Deserialize)]
pub struct TensorJson {
    pub dtype: String,
    pub shape: Vec<usize>,
    pub data: String,
}

pub fn dtype(name: &str) -> DType {
    DType::ALL
        .into_iter()
        .find(|d| d.to_string() == name)
        .unwrap_or_else(|| panic!("unknown dtype {name}"))
}

pub fn tensor(value: &Value) -> Tensor {
    let t: TensorJson = serde_json::from_value(value.clone()).expect("tensor fixture");
    let data = Bytes::from(hex::decode(&t.data).expect("hex"));
    Tensor::from_bytes(dtype(&t.dtype), t.shape, data).expect("fixture tensor is consistent")
}

pub fn bytes(value: &Value) -> Vec<u8> {
    hex::decode(value.as_str().expect("hex string")).expect("hex")
}

pub fn shape(value: &Value) -> Vec<usize> {
    serde_json::from_value(value.clone()).expect("shape")
}

/// Asserts two f32 tensors have the same shape and values within `tol` (relative to 1 + |b|).
pub fn assert_close(actual: &Tensor, expected: &Tensor, tol: f32, what: &str) {
    assert_eq!(actual.shape(), expected.shape(), "{what}: shape");
    let a = actual.to_vec::<f32>();
    let e = expected.to_vec::<f32>();
    for (i, (x, y)) in a.iter().zip(&e).enumerate() {
        assert!(
            (x - y).abs() <= tol * (1.0 + y.abs()),
            "{what}: element {i}: {x} vs {y}"
        );
    }
}
