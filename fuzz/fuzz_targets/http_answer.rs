//! A 10.x axon's answer as the dendrite reads it: status, `bt_header_*` headers and a JSON
//! body, all from the peer. The first two bytes pick the status, then `name: value` lines up
//! to a blank line, then the body.
#![no_main]

use dendrite_http::{read_answer, TerminalInfo};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((status, rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let status = 100 + u16::from_le_bytes(*status) % 500;
    let (head, body) = match rest.windows(2).position(|w| w == b"\n\n") {
        Some(at) => (&rest[..at], &rest[at + 2..]),
        None => (&rest[..0], rest),
    };
    let headers: Vec<(&str, &[u8])> = head
        .split(|b| *b == b'\n')
        .filter_map(|line| {
            let at = line.iter().position(|b| *b == b':')?;
            Some((std::str::from_utf8(&line[..at]).ok()?, &line[at + 1..]))
        })
        .collect();
    let sent = TerminalInfo::default();
    let body = bytes::Bytes::copy_from_slice(body);
    let _ = read_answer(status, headers, &body, &sent, &sent);
});
