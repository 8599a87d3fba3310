//! Request nonces as bittensor makes them: wall-clock nanoseconds (`time.time_ns()`), kept
//! strictly rising per signer. An axon refuses a nonce not above the last one it accepted from
//! the same signer (3.x and 10.x alike), and two requests made in one tick of the clock would
//! otherwise carry the same one.
//!
//! **Invariant:** every nonce a clock gives is above the one before it, whatever the wall clock
//! does (it may stand still or step back); the one rule is [`rising_after`], used by the
//! single-owner lanes of the 3.x wire, the shared [`NonceClock`] of the 10.x wire and the
//! Python module's requests sent by other means.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Wall-clock nanoseconds since the Unix epoch (0 for a clock set before it).
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// The nonce after `last` at wall-clock time `now`: `now`, or `last + 1` where the clock has
/// not passed `last`.
pub fn rising_after(last: u64, now: u64) -> u64 {
    now.max(last.saturating_add(1))
}

/// A nonce clock several tasks draw from at once ([`NonceClock::next`]).
#[derive(Debug, Default)]
pub struct NonceClock {
    last: AtomicU64,
}

impl NonceClock {
    /// A clock that has given no nonce yet.
    pub const fn new() -> Self {
        NonceClock {
            last: AtomicU64::new(0),
        }
    }

    /// The next nonce: [`rising_after`] the last one this clock gave, at [`now_ns`].
    pub fn next(&self) -> u64 {
        let now = now_ns();
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let next = rising_after(last, now);
            match self
                .last
                .compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return next,
                Err(seen) => last = seen,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_rise_strictly_across_threads_and_follow_the_clock() {
        let clock = std::sync::Arc::new(NonceClock::new());
        let before = now_ns();
        let drawn: Vec<Vec<u64>> = (0..4)
            .map(|_| {
                let clock = clock.clone();
                std::thread::spawn(move || (0..2000).map(|_| clock.next()).collect())
            })
            .map(|t| t.join().unwrap())
            .collect();
        for thread in &drawn {
            assert!(thread.windows(2).all(|w| w[0] < w[1]), "rising per thread");
        }
        let mut all: Vec<u64> = drawn.concat();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 8000, "no nonce given twice");
        assert!(all[0] >= before, "nanoseconds of the wall clock");
    }

    #[test]
    fn a_clock_that_stands_still_or_steps_back_still_rises() {
        assert_eq!(rising_after(10, 5), 11);
        assert_eq!(rising_after(10, 10), 11);
        assert_eq!(rising_after(10, 50), 50);
        assert_eq!(rising_after(u64::MAX, 0), u64::MAX);
    }
}
