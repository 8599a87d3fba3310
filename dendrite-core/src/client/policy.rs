//! The per-endpoint policies both wires share, in wire-neutral terms: the backoff (is this
//! endpoint skipped, how did its call go), the in-flight slot waited for within the deadline,
//! and the budgeted retry pause of a failure whose [`crate::Outcome`] is retryable. Each wire
//! turns their answers into its own codes.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::sync::OwnedSemaphorePermit;

use super::Inner;
use crate::backoff::Skip;
use crate::outcome::WireOutcome;
use crate::phases::Phases;

/// Why no in-flight slot was had.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NoSlot {
    /// The deadline passed while waiting.
    Deadline,
    /// The client is shutting down.
    Closed,
}

/// How one endpoint's attempts ended.
pub(crate) enum Attempted<T, E> {
    /// The last attempt's result.
    Done(Result<T, E>),
    /// Nothing was sent: no slot before the deadline, or the wire's step before sending
    /// failed.
    NotSent(E),
}

/// One attempt: `Err` when it failed before anything was sent (it is not retried), else its
/// result and its transport phases.
pub(crate) type Attempt<T, E> = Result<(Result<T, E>, Phases), E>;

/// The message of an endpoint the backoff skips, the same on both wires.
pub(crate) fn backoff_message(skip: &Skip) -> String {
    format!(
        "Backoff: skipped for {:.2}s more after {} failed calls",
        skip.remaining.as_secs_f64(),
        skip.failures
    )
}

impl Inner {
    /// The backoff's skip of the endpoint `hotkey` at `addr`, if it is being skipped now.
    pub(super) fn backoff_skip(&self, hotkey: &str, addr: SocketAddr) -> Option<Skip> {
        self.backoff.as_ref()?.check(hotkey, addr, Instant::now())
    }

    /// Feeds the outcome of a call that reached the network to the backoff.
    pub(super) fn backoff_record(&self, hotkey: &str, addr: SocketAddr, succeeded: bool) {
        if let Some(backoff) = &self.backoff {
            backoff.record(hotkey, addr, succeeded, Instant::now());
        }
    }

    /// An in-flight slot, waited for until `deadline`.
    pub(super) async fn slot(&self, deadline: Instant) -> Result<OwnedSemaphorePermit, NoSlot> {
        tokio::time::timeout_at(deadline.into(), self.in_flight.clone().acquire_owned())
            .await
            .map_err(|_| NoSlot::Deadline)?
            .map_err(|_| NoSlot::Closed)
    }

    /// The per-endpoint loop both wires share: an in-flight slot (waited for until
    /// `deadline`; the wait and the pauses count as `queue`, from `start`), one `attempt`,
    /// the slot back, and a budgeted retry while the failure's class is retryable
    /// ([`crate::Outcome::is_retryable`]). `retries` counts the retries made.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn attempts<T, E, Fut>(
        &self,
        start: Instant,
        deadline: Instant,
        phases: &mut Phases,
        retries: &mut u32,
        no_slot: impl Fn(NoSlot) -> E,
        mut attempt: impl FnMut() -> Fut,
    ) -> Attempted<T, E>
    where
        E: WireOutcome,
        Fut: Future<Output = Attempt<T, E>>,
    {
        self.earn_retry();
        // The first wait counts from the call's start: a task the runtime has not run yet is
        // queued too.
        let mut queued = start;
        loop {
            let slot = self.slot(deadline).await;
            phases.queue += queued.elapsed();
            let slot = match slot {
                Ok(slot) => slot,
                Err(why) => return Attempted::NotSent(no_slot(why)),
            };
            let tried = attempt().await;
            drop(slot);
            let (result, attempt_phases) = match tried {
                Ok(tried) => tried,
                Err(unsent) => return Attempted::NotSent(unsent),
            };
            phases.add_attempt(&attempt_phases);
            queued = Instant::now();
            match result {
                Err(failure) => {
                    match self.retry_pause(failure.outcome().is_retryable(), *retries, deadline) {
                        Some(pause) => {
                            tokio::time::sleep(pause).await;
                            *retries += 1;
                        }
                        None => return Attempted::Done(Err(failure)),
                    }
                }
                done => return Attempted::Done(done),
            }
        }
    }

    /// A call that may be retried earns its share of the retry budget.
    pub(super) fn earn_retry(&self) {
        if let Some(budget) = &self.retry_budget {
            budget.deposit();
        }
    }

    /// The pause before retrying a failure whose class is retryable (the endpoint was not
    /// reached), if it is retried: within the retry limit and the budget (a retry
    /// withdraws from it and is counted), and only if the pause ends before the deadline. The
    /// caller sleeps.
    pub(super) fn retry_pause(
        &self,
        retryable: bool,
        retries: u32,
        deadline: Instant,
    ) -> Option<Duration> {
        let (config, budget) = (self.config.retry.as_ref()?, self.retry_budget.as_ref()?);
        if !retryable || retries >= config.max_retries {
            return None;
        }
        let pause = config.delay.saturating_mul(1u32 << retries.min(16));
        if Instant::now() + pause >= deadline || !budget.try_withdraw() {
            return None;
        }
        self.retries.fetch_add(1, Ordering::Relaxed);
        Some(pause)
    }
}
