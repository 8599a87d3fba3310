//! The retry budget: retries may be at most a fraction of calls, so that a widespread outage
//! does not multiply the load on the peers that are left.

use std::sync::atomic::{AtomicI64, Ordering};

use super::settings::RetryConfig;

/// Thousandths of a retry.
const MILLI: i64 = 1000;

/// A token bucket in thousandths of a retry: each call deposits `budget_ratio`, each retry
/// withdraws one. The balance is capped at the reserve plus one full round of calls'
/// deposits, so quiet periods do not bank an unbounded burst of retries.
#[derive(Debug)]
pub(crate) struct RetryBudget {
    balance: AtomicI64,
    per_call: i64,
    cap: i64,
}

impl RetryBudget {
    /// A budget for calls made at most `round` endpoints at a time.
    pub fn new(config: &RetryConfig, round: usize) -> Self {
        let ratio = if config.budget_ratio.is_finite() {
            config.budget_ratio.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let per_call = (ratio * MILLI as f64).round() as i64;
        let reserve = i64::from(config.budget_reserve) * MILLI;
        let round = i64::try_from(round).unwrap_or(i64::MAX / MILLI / MILLI);
        RetryBudget {
            balance: AtomicI64::new(reserve),
            per_call,
            cap: reserve.saturating_add(per_call.saturating_mul(round)),
        }
    }

    /// A call was made.
    pub fn deposit(&self) {
        let _ = self
            .balance
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                Some(b.saturating_add(self.per_call).min(self.cap))
            });
    }

    /// Takes one retry from the budget; `false` when it is spent.
    pub fn try_withdraw(&self) -> bool {
        self.balance
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                (b >= MILLI).then_some(b - MILLI)
            })
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::Duration;

    fn config(ratio: f64, reserve: u32) -> RetryConfig {
        RetryConfig {
            max_retries: 1,
            budget_ratio: ratio,
            budget_reserve: reserve,
            delay: Duration::ZERO,
        }
    }

    proptest! {
        /// However calls and retries interleave, retries granted never exceed the reserve
        /// plus `ratio` of the calls made.
        #[test]
        fn retries_are_a_fraction_of_calls(
            ratio in 0.0f64..1.0,
            reserve in 0u32..20,
            ops in proptest::collection::vec(any::<bool>(), 0..2000),
        ) {
            let budget = RetryBudget::new(&config(ratio, reserve), 4096);
            let (mut calls, mut granted) = (0u64, 0u64);
            for call in ops {
                if call {
                    budget.deposit();
                    calls += 1;
                } else if budget.try_withdraw() {
                    granted += 1;
                }
            }
            let per_call = (ratio * 1000.0).round() / 1000.0;
            prop_assert!(granted as f64 <= f64::from(reserve) + per_call * calls as f64 + 1e-9);
        }
    }

    #[test]
    fn a_spent_budget_refuses_until_calls_refill_it() {
        let budget = RetryBudget::new(&config(0.5, 1), 16);
        assert!(budget.try_withdraw());
        assert!(!budget.try_withdraw());
        budget.deposit();
        assert!(!budget.try_withdraw(), "half a retry is not a retry");
        budget.deposit();
        assert!(budget.try_withdraw());
        let nan = RetryBudget::new(&config(f64::NAN, 0), 16);
        nan.deposit();
        assert!(!nan.try_withdraw());
    }
}
