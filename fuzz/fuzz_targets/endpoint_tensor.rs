//! An endpoint as the metagraph carries it: an int64 tensor of bytes.
#![no_main]

use dendrite_wire::Endpoint;
use dendrite_wire::Tensor;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let values: Vec<i64> = data
        .chunks(2)
        .map(|c| i64::from(c[0]) - if c.len() > 1 && c[1] & 1 == 1 { 256 } else { 0 })
        .collect();
    let n = values.len();
    if let Ok(tensor) = Tensor::from_vec(values, [n]) {
        if let Ok(endpoint) = Endpoint::from_tensor(&tensor) {
            let _ = endpoint.to_tensor();
            let _ = endpoint.socket_addr();
        }
    }
});
