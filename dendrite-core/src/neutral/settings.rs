//! The settings of the policies every wire shares: quorum, backoff, retries, and the default
//! deadline. Plain data: the policies themselves are [`super::policy`]'s, [`super::backoff`]'s
//! and [`super::retry`]'s.

use std::time::Duration;

/// The reference's default call timeout: `bittensor.__blocktime__ + 2` = 14 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(14);

/// Return once `k_min` endpoints succeeded and `timeout_after_k_min` more has passed; the
/// endpoints still running then are cut (`Timeout`, with a message saying so). This is
/// hivemind's `RemoteMixtureOfExperts` quorum. Forward calls only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quorum {
    /// Endpoints whose every synapse succeeded, needed before the grace period starts.
    pub k_min: usize,
    /// How long to wait for further endpoints once `k_min` have succeeded.
    pub timeout_after_k_min: Duration,
}

/// Exponential per-endpoint backoff: after `n` consecutive failed forward calls an endpoint is
/// skipped (`Backoff`, no traffic) for `min(base * 2^(n-1), cap)`; a success resets it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackoffConfig {
    /// The first period.
    pub base: Duration,
    /// The longest period.
    pub cap: Duration,
    /// Endpoints whose failures are remembered (least recently failed forgotten first).
    pub max_tracked: usize,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(60),
            max_tracked: 16_384,
        }
    }
}

/// Retries of forward calls answered `Unavailable` (connection refused or dropped before an
/// answer), within the call's own deadline. Every forward call adds `budget_ratio` of a retry
/// to a shared budget and every retry takes one, so retries stay a fraction of calls even when
/// many peers are down. Backward is never retried (a gradient must not be applied twice).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryConfig {
    /// Retries per endpoint call.
    pub max_retries: u32,
    /// Retries earned per forward call.
    pub budget_ratio: f64,
    /// Retries available before any were earned (also the budget's floor for its cap).
    pub budget_reserve: u32,
    /// Pause before the first retry, doubled for each further one (never past the deadline).
    pub delay: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_retries: 2,
            budget_ratio: 0.1,
            budget_reserve: 10,
            delay: Duration::from_millis(10),
        }
    }
}
