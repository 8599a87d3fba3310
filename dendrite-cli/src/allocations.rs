//! The CLI's global allocator: mimalloc, counting allocations for `dendrite bench` (how many
//! allocations a call makes).
//!
//! It forwards everything to mimalloc and adds one relaxed atomic increment per allocation; the
//! count is read before and after the measured rounds. Why mimalloc (CPU and peak RSS against
//! glibc's malloc, measured) and why the Python module does not use it (no `fork` handlers):
//! ARCHITECTURE.md, "Where a round's time goes".

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicU64, Ordering};

/// Where allocations go.
const INNER: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc, counting allocations (reallocations count once each).
pub struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call to mimalloc unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { INNER.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { INNER.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { INNER.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { INNER.dealloc(ptr, layout) }
    }
}

/// Allocations made by this process so far.
pub fn count() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}
