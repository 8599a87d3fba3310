//! Per-endpoint exponential backoff: endpoints that keep failing are skipped for a while, so a
//! dead peer stops costing a full timeout every round.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lru::LruCache;

use super::settings::BackoffConfig;

/// Consecutive failures of one endpoint and when it may be called again.
#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    until: Instant,
}

/// An endpoint being skipped: why and for how much longer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Skip {
    /// Consecutive failures so far.
    pub failures: u32,
    /// Time left before the endpoint is called again.
    pub remaining: Duration,
}

/// Failures by endpoint (hotkey and address: a peer that moves starts afresh), bounded.
#[derive(Debug)]
pub(crate) struct BackoffTable {
    config: BackoffConfig,
    failing: Mutex<LruCache<(String, SocketAddr), Failures>>,
}

impl BackoffTable {
    pub fn new(config: BackoffConfig) -> Self {
        // Grown as needed and bounded by hand: `LruCache::new(cap)` reserves the whole table.
        BackoffTable {
            config,
            failing: Mutex::new(LruCache::unbounded()),
        }
    }

    /// `Some` while the endpoint is to be skipped.
    pub fn check(&self, hotkey: &str, addr: SocketAddr, now: Instant) -> Option<Skip> {
        let failing = self.lock();
        let state = failing.peek(&(hotkey.to_owned(), addr))?;
        (state.until > now).then(|| Skip {
            failures: state.count,
            remaining: state.until - now,
        })
    }

    /// Records the outcome of a call that reached the network.
    pub fn record(&self, hotkey: &str, addr: SocketAddr, succeeded: bool, now: Instant) {
        let key = (hotkey.to_owned(), addr);
        let mut failing = self.lock();
        if succeeded {
            failing.pop(&key);
            return;
        }
        let count = failing.peek(&key).map_or(1, |f| f.count.saturating_add(1));
        let until = now + self.period(count);
        failing.put(key, Failures { count, until });
        while failing.len() > self.config.max_tracked.max(1) {
            failing.pop_lru();
        }
    }

    /// Endpoints being skipped now.
    pub fn skipping(&self, now: Instant) -> usize {
        self.lock().iter().filter(|(_, f)| f.until > now).count()
    }

    /// `min(base * 2^(failures-1), cap)`.
    fn period(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        self.config
            .base
            .saturating_mul(1u32 << doublings)
            .min(self.config.cap)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<(String, SocketAddr), Failures>> {
        self.failing.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn table(base_ms: u64, cap_ms: u64, max_tracked: usize) -> BackoffTable {
        BackoffTable::new(BackoffConfig {
            base: Duration::from_millis(base_ms),
            cap: Duration::from_millis(cap_ms),
            max_tracked,
        })
    }

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn periods_double_up_to_the_cap_and_success_resets() {
        let t = table(100, 350, 8);
        let now = Instant::now();
        let mut periods = Vec::new();
        for _ in 0..4 {
            t.record("a", addr(1), false, now);
            periods.push(t.check("a", addr(1), now).map(|s| s.remaining));
        }
        let ms = |m| Some(Duration::from_millis(m));
        assert_eq!(periods, vec![ms(100), ms(200), ms(350), ms(350)]);
        assert_eq!(
            t.check("a", addr(1), now + Duration::from_millis(351)),
            None
        );
        assert_eq!(
            t.check("a", addr(2), now),
            None,
            "another address is another endpoint"
        );
        t.record("a", addr(1), true, now);
        assert_eq!(t.check("a", addr(1), now), None);
        t.record("a", addr(1), false, now);
        assert_eq!(t.check("a", addr(1), now).map(|s| s.failures), Some(1));
    }

    proptest! {
        /// The period never exceeds the cap, the table never exceeds its bound, and the
        /// arithmetic never overflows whatever the failure count.
        #[test]
        fn bounded(base in 0u64..10_000, cap in 0u64..100_000, fails in 0usize..80, n in 1usize..20) {
            let t = table(base, cap, n);
            let now = Instant::now();
            for i in 0..fails {
                t.record(&format!("k{}", i % (n + 3)), addr(1), false, now);
            }
            prop_assert!(t.lock().len() <= n);
            for i in 0..(n + 3) {
                if let Some(skip) = t.check(&format!("k{i}"), addr(1), now) {
                    prop_assert!(skip.remaining <= Duration::from_millis(cap));
                }
            }
            prop_assert!(t.period(u32::MAX) <= Duration::from_millis(cap));
        }
    }
}
