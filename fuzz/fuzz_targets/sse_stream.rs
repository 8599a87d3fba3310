//! A `text/event-stream` answer as the dendrite reads it, split into two reads anywhere: the
//! first byte picks the split. Any bytes parse without panicking, and the split never changes
//! the events.
#![no_main]

use dendrite_http::sse::{parse_all, SseParser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, stream)) = data.split_first() else {
        return;
    };
    let at = usize::from(cut) % (stream.len() + 1);
    let mut parser = SseParser::new();
    let mut split = Vec::new();
    parser.push(&stream[..at], &mut split);
    parser.push(&stream[at..], &mut split);
    assert_eq!(split, parse_all(stream));
});
