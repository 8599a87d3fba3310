//! btauth/1 verification of headers and a body from an unauthenticated peer: `name: value`
//! lines, a blank line, the body.
#![no_main]

use dendrite_http::btauth::Verifier;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let headers: Vec<(&str, &str)> = head.lines().filter_map(|l| l.split_once(':')).collect();
    let verifier = Verifier::new("5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty");
    let now = 1_800_000_000_000_000_000;
    let _ = verifier.verify(headers.iter().copied(), body.as_bytes(), "POST", "/Dummy", now);
});
