//! A call's byte budget: the most answer bytes all the axons of one call may bring together
//! (`HttpConfig::max_call_bytes`), beside each answer's own bound. Every data chunk of every
//! answer is taken from it as it arrives, before it is kept, so a call holds at most its budget
//! of answer bodies whatever the number of axons; an answer whose chunk finds the budget spent
//! fails as the client's error (its bytes are dropped), the others go on.
//!
//! **Invariant:** the bytes taken never exceed the budget (taking is one compare-and-swap).

use std::sync::atomic::{AtomicUsize, Ordering};

/// The bytes one call's answers may still bring.
#[derive(Debug)]
pub(crate) struct ByteBudget {
    left: AtomicUsize,
    total: usize,
}

impl ByteBudget {
    /// A budget of `total` bytes.
    pub fn new(total: usize) -> Self {
        ByteBudget {
            left: AtomicUsize::new(total),
            total,
        }
    }

    /// Takes `bytes` from the budget; `false` (nothing taken) when fewer are left.
    pub fn take(&self, bytes: usize) -> bool {
        self.left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(bytes)
            })
            .is_ok()
    }

    /// The whole budget, bytes.
    pub fn total(&self) -> usize {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_never_exceed_the_budget() {
        let budget = std::sync::Arc::new(ByteBudget::new(1000));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let budget = budget.clone();
                std::thread::spawn(move || (0..100).filter(|_| budget.take(7)).count())
            })
            .collect();
        let taken: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(
            taken,
            1000 / 7,
            "as many 7-byte takes as fit, across threads"
        );
        assert!(!budget.take(7) && budget.take(1000 % 7));
        assert_eq!(budget.total(), 1000);
    }
}
