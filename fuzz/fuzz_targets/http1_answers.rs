//! An HTTP/1.1 connection's answers as the 10.x client reads them (heads, declared lengths,
//! chunks, trailers), split into two reads anywhere: the first byte picks the split. Any bytes
//! end in the answers or a typed error without panicking, and the split never changes which.
#![no_main]

use dendrite_core::fuzzing::read_http1_answers;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, stream)) = data.split_first() else {
        return;
    };
    let at = usize::from(cut) % (stream.len() + 1);
    assert_eq!(
        read_http1_answers(stream, at),
        read_http1_answers(stream, stream.len())
    );
});
