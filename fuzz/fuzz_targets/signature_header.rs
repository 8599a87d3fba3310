//! The `bittensor-signature` header an axon parses before anything else.
#![no_main]

use dendrite_core::signature::{parse_python_int, SignatureHeader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_python_int(text);
    if let Some(signature) = SignatureHeader::parse(text) {
        let _ = signature.verify("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY");
    }
});
