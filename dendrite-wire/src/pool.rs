//! Aligned copies of unaligned payloads, with a small, bounded pool of the large ones.
//!
//! Decoding an unaligned payload copies it once into an 8-byte-aligned buffer. For large tensors (a
//! `[10,20,50258]` f32 is 40 MB) a fresh allocation is a fresh `mmap`, and first-touch page faults
//! make that copy 4-5x slower than a copy into warm memory. Buffers of at least [`MIN_POOLED`]
//! bytes are therefore returned here when their tensor is dropped and reused by later decodes.
//! The pool keeps at most [`MAX_BUFFERS`] buffers and [`MAX_BYTES`] bytes; anything beyond is freed.

use std::sync::Mutex;

/// Buffers smaller than this come from the allocator directly (it reuses them well).
pub const MIN_POOLED: usize = 4 << 20;
/// At most this many idle buffers are kept.
pub const MAX_BUFFERS: usize = 8;
/// At most this many idle bytes are kept.
pub const MAX_BYTES: usize = 256 << 20;

static IDLE: Mutex<Vec<Vec<u64>>> = Mutex::new(Vec::new());

/// An 8-byte-aligned buffer holding `len` bytes; a large one goes back to the pool when dropped.
pub(crate) struct PooledBuffer {
    words: Vec<u64>,
    len: usize,
}

impl PooledBuffer {
    /// A buffer holding a copy of `data`; a large one comes from the pool when one fits.
    pub(crate) fn copy_of(data: &[u8]) -> Self {
        let words_needed = data.len().div_ceil(8);
        let pooled = if data.len() >= MIN_POOLED {
            take(words_needed)
        } else {
            None
        };
        let words = match pooled {
            Some(mut words) => {
                bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..data.len()].copy_from_slice(data);
                words
            }
            None => words_of(data),
        };
        PooledBuffer {
            words,
            len: data.len(),
        }
    }
}

/// `data` as native-endian words in one pass (no zeroing first: a fresh buffer's pages are
/// touched once), the last word zero-padded.
fn words_of(data: &[u8]) -> Vec<u64> {
    let mut words = Vec::with_capacity(data.len().div_ceil(8));
    let chunks = data.chunks_exact(8);
    let tail = chunks.remainder();
    words.extend(chunks.map(|c| u64::from_ne_bytes(c.try_into().unwrap_or_default())));
    if !tail.is_empty() {
        let mut last = [0u8; 8];
        last[..tail.len()].copy_from_slice(tail);
        words.push(u64::from_ne_bytes(last));
    }
    words
}

impl AsRef<[u8]> for PooledBuffer {
    fn as_ref(&self) -> &[u8] {
        &bytemuck::cast_slice::<u64, u8>(&self.words)[..self.len]
    }
}

impl Drop for PooledBuffer {
    fn drop(&mut self) {
        if self.words.len() * 8 >= MIN_POOLED {
            give_back(std::mem::take(&mut self.words));
        }
    }
}

/// The smallest idle buffer of at least `words` words and at most twice that.
fn take(words: usize) -> Option<Vec<u64>> {
    let mut idle = IDLE.lock().ok()?;
    let best = idle
        .iter()
        .enumerate()
        .filter(|(_, b)| b.len() >= words && b.len() <= words.saturating_mul(2))
        .min_by_key(|(_, b)| b.len())
        .map(|(i, _)| i)?;
    Some(idle.swap_remove(best))
}

fn give_back(buffer: Vec<u64>) {
    let Ok(mut idle) = IDLE.lock() else { return };
    let held: usize = idle.iter().map(|b| b.len() * 8).sum();
    if idle.len() < MAX_BUFFERS && held + buffer.len() * 8 <= MAX_BYTES {
        idle.push(buffer);
    }
}

/// Frees every idle pooled buffer (for long-lived processes that want the memory back now).
pub fn release_idle_buffers() {
    if let Ok(mut idle) = IDLE.lock() {
        idle.clear();
    }
}
