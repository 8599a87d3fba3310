//! Buffers that answers' bodies are gathered into, kept for the next answers once their last
//! reader is done with them ([`BodyBuffers`]).
//!
//! An answer body that comes in several chunks is copied into one buffer (a JSON parser reads
//! one slice). A fresh buffer of a few MB is fresh pages: glibc hands large blocks back to the
//! kernel when they are freed, and the next one faults every page in again, zeroed (perf: 59%
//! of a 1 MiB `TensorEcho` call's page faults, ~185 a call). Kept buffers are already mapped.
//!
//! **Invariants:** the idle buffers together hold at most the pool's byte bound (the rest are
//! freed as before); a buffer is handed out empty and whole to one gatherer; it comes back
//! only when the last `Bytes` that shares it is dropped (`Bytes::from_owner`), so no reader
//! ever sees it reused.

use std::sync::{Arc, Mutex};

use bytes::Bytes;

/// Bodies smaller than this are gathered into ordinary allocations: malloc serves them from
/// memory it keeps, without faults.
pub(crate) const MIN_KEPT_BYTES: usize = 128 * 1024;

/// The idle buffers a client keeps by default, bytes.
pub(crate) const DEFAULT_IDLE_BYTES: usize = 64 * 1024 * 1024;

/// The buffers a client's answers are gathered into; shared by its connections.
#[derive(Debug)]
pub(crate) struct BodyBuffers {
    idle: Mutex<Idle>,
    max_idle_bytes: usize,
}

/// The buffers no answer holds.
#[derive(Debug, Default)]
struct Idle {
    buffers: Vec<Vec<u8>>,
    bytes: usize,
}

impl BodyBuffers {
    /// A pool keeping at most `max_idle_bytes` of idle buffers (0: none).
    pub fn new(max_idle_bytes: usize) -> Arc<Self> {
        Arc::new(BodyBuffers {
            idle: Mutex::new(Idle::default()),
            max_idle_bytes,
        })
    }

    /// An empty buffer with room for `len` bytes: the smallest idle one that fits, else a new
    /// one of exactly `len`.
    pub fn take(self: &Arc<Self>, len: usize) -> Gathering {
        let kept = (len >= MIN_KEPT_BYTES)
            .then(|| self.take_idle(len))
            .flatten();
        Gathering {
            buffer: kept.unwrap_or_else(|| Vec::with_capacity(len)),
            home: self.clone(),
        }
    }

    fn take_idle(&self, len: usize) -> Option<Vec<u8>> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let best = idle
            .buffers
            .iter()
            .enumerate()
            .filter(|(_, b)| b.capacity() >= len)
            .min_by_key(|(_, b)| b.capacity())
            .map(|(at, _)| at)?;
        let buffer = idle.buffers.swap_remove(best);
        idle.bytes -= buffer.capacity();
        Some(buffer)
    }

    /// Keeps `buffer` for the next answers if it is worth keeping and there is room.
    fn give_back(&self, mut buffer: Vec<u8>) {
        let size = buffer.capacity();
        if size < MIN_KEPT_BYTES {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.bytes + size <= self.max_idle_bytes {
            buffer.clear();
            idle.bytes += size;
            idle.buffers.push(buffer);
        }
    }

    /// Bytes the idle buffers hold.
    #[cfg(test)]
    fn idle_bytes(&self) -> usize {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).bytes
    }
}

/// A buffer being filled with one body.
#[derive(Debug)]
pub(crate) struct Gathering {
    buffer: Vec<u8>,
    home: Arc<BodyBuffers>,
}

impl Gathering {
    /// Appends `data` (growing the buffer if the body brought more than it was taken for).
    pub fn extend(&mut self, data: &[u8]) {
        self.buffer.extend_from_slice(data);
    }

    /// The bytes gathered so far.
    pub fn len(&self) -> usize {
        self.buffer.len()
    }

    /// The bytes gathered so far, to edit in place before they are shared.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.buffer
    }

    /// Reads once from `io` into the buffer's room, at most `max` bytes (the kernel copies
    /// straight into the buffer); the bytes read, 0 at the end of the stream.
    pub async fn fill_from<R: tokio::io::AsyncRead + Unpin>(
        &mut self,
        io: &mut R,
        max: usize,
    ) -> std::io::Result<usize> {
        use bytes::BufMut as _;
        use tokio::io::AsyncReadExt as _;
        io.read_buf(&mut (&mut self.buffer).limit(max)).await
    }

    /// The body; its buffer goes back to the pool once the last `Bytes` sharing it is dropped.
    pub fn freeze(self) -> Bytes {
        Bytes::from_owner(Kept {
            buffer: self.buffer,
            home: self.home,
        })
    }
}

/// A gathered body's buffer while `Bytes` share it.
struct Kept {
    buffer: Vec<u8>,
    home: Arc<BodyBuffers>,
}

impl AsRef<[u8]> for Kept {
    fn as_ref(&self) -> &[u8] {
        &self.buffer
    }
}

impl Drop for Kept {
    fn drop(&mut self) {
        self.home.give_back(std::mem::take(&mut self.buffer));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_comes_back_once_its_last_reader_is_done_and_is_reused() {
        let pool = BodyBuffers::new(DEFAULT_IDLE_BYTES);
        let mut gathering = pool.take(MIN_KEPT_BYTES);
        gathering.extend(&vec![7u8; MIN_KEPT_BYTES]);
        let body = gathering.freeze();
        let address = body.as_ptr();
        let slice = body.slice(10..20);
        drop(body);
        assert_eq!(pool.idle_bytes(), 0, "a slice still reads it");
        assert_eq!(&slice[..], &[7u8; 10]);
        drop(slice);
        assert_eq!(pool.idle_bytes(), MIN_KEPT_BYTES);
        let mut again = pool.take(MIN_KEPT_BYTES);
        again.extend(b"fresh");
        let body = again.freeze();
        assert_eq!(body.as_ptr(), address, "the kept buffer is reused");
        assert_eq!(&body[..], b"fresh", "and handed out empty");
    }

    #[test]
    fn idle_buffers_stay_within_the_bound_and_small_ones_are_not_kept() {
        let pool = BodyBuffers::new(3 * MIN_KEPT_BYTES);
        let bodies: Vec<Bytes> = (0..5).map(|_| pool.take(MIN_KEPT_BYTES).freeze()).collect();
        drop(bodies);
        assert_eq!(pool.idle_bytes(), 3 * MIN_KEPT_BYTES);
        drop(pool.take(MIN_KEPT_BYTES - 1).freeze());
        assert_eq!(pool.idle_bytes(), 3 * MIN_KEPT_BYTES);
        let none = BodyBuffers::new(0);
        drop(none.take(MIN_KEPT_BYTES).freeze());
        assert_eq!(none.idle_bytes(), 0);
    }

    #[test]
    fn the_smallest_buffer_that_fits_is_taken() {
        let pool = BodyBuffers::new(DEFAULT_IDLE_BYTES);
        let small = pool.take(MIN_KEPT_BYTES).freeze();
        let large = pool.take(4 * MIN_KEPT_BYTES).freeze();
        let (small_at, large_at) = (small.as_ptr(), large.as_ptr());
        drop((small, large));
        assert_eq!(pool.take(2 * MIN_KEPT_BYTES).freeze().as_ptr(), large_at);
        assert_eq!(pool.take(MIN_KEPT_BYTES).freeze().as_ptr(), small_at);
    }
}
