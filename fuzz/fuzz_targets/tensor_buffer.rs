//! A msgpack-numpy tensor buffer and its proto wrapper, as a response carries them: decode,
//! view with the proto's shape, cast to its dtype. Errors are fine; panics, aborts and huge
//! allocations are not.
#![no_main]

use bytes::Bytes;
use dendrite_wire::{msgpack, serializer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let buffer = Bytes::copy_from_slice(data);
    if let Ok(tensor) = msgpack::decode(&buffer) {
        // What a decoded tensor must allow without panicking.
        let _ = tensor.cast(dendrite_wire::DType::Float32);
        let numel = tensor.numel();
        let _ = tensor.reshape(vec![numel]);
    }
    if let Ok(wire) = <dendrite_wire::proto::Tensor as prost::Message>::decode(data) {
        let _ = serializer::deserialize(&wire);
    }
});
