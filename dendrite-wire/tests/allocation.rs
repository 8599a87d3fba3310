//! Decoding never allocates more than the input justifies: a counting allocator records the
//! largest single allocation made on the decoding thread.

use bytes::Bytes;
use dendrite_wire::{msgpack, Tensor};
use proptest::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Largest;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; only records sizes in a const thread-local.
unsafe impl GlobalAlloc for Largest {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = LARGEST.try_with(|l| l.set(l.get().max(layout.size())));
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Largest = Largest;

fn largest_allocation_during(f: impl FnOnce()) -> usize {
    LARGEST.with(|l| l.set(0));
    f();
    LARGEST.with(|l| l.get())
}

proptest! {
    #[test]
    fn corrupt_headers_never_allocate_beyond_the_input(
        dims in proptest::collection::vec(any::<u32>(), 0..5),
        data_len in 0usize..64,
    ) {
        // A valid header shape for `dims`, then only `data_len` bytes of data.
        let t = Tensor::from_vec(vec![0u8; data_len], [data_len]).unwrap();
        let mut buffer = msgpack::encode(&t).unwrap().to_vec();
        let at = buffer.windows(5).position(|w| w == b"shape").unwrap() + 5;
        let end = buffer[at..].windows(4).position(|w| w == b"data").unwrap() + at - 2;
        let mut shape = vec![0x90 | dims.len() as u8];
        for d in &dims {
            shape.push(0xce);
            shape.extend_from_slice(&d.to_be_bytes());
        }
        buffer.splice(at..end, shape);
        let buffer = Bytes::from(buffer);
        let largest = largest_allocation_during(|| {
            let _ = msgpack::decode(&buffer);
        });
        prop_assert!(largest <= buffer.len() + 256, "allocated {} for {} input bytes", largest, buffer.len());
    }
}
