//! The binary's allocator: the system's, counting allocations (for `dendrite bench`: how many
//! a call makes) and, on glibc, told to keep freed buffers for reuse.
//!
//! Counting adds one relaxed atomic increment per allocation; the count is read before and
//! after the measured rounds. glibc's defaults hand response-sized buffers (0.8 MB) back to the
//! kernel when they are freed (`munmap`, or trimming the heap's top at a few MB) and fault fresh,
//! zeroed pages in for the next ones: at 256 x 0.8 MB answers page faults were ~30% of client CPU.
//! With buffers below 32 MiB kept on the heap and the heap trimmed only past 64 MiB of free top,
//! measured on this VM (3 runs each): faults 230-295k -> 77-118k per run, 0.46-0.51 -> 0.30-0.34
//! ns of client CPU per received byte, peak RSS 267-289 -> 282-313 MB (the bound is 315).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

/// The system allocator, counting allocations (reallocations count once each).
pub struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Keeps freed buffers below 32 MiB for reuse instead of returning them to the kernel, and
/// trims the heap only past 64 MiB of free memory at its top (see the module doc). Call once at
/// start, before other threads exist.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets two of glibc's thresholds; no other thread exists yet.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
    }
}

/// Allocations made by this process so far.
pub fn count() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}
