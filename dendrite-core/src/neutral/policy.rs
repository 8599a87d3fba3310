//! The per-endpoint policies every wire shares, as one type ([`Core`]): the key that signs, the
//! in-flight slots waited for within the deadline, the backoff (is this endpoint skipped, how
//! did its call go), the budgeted retry loop over a wire's attempts, the quorum of the fan-out
//! and the observer a finished call is reported to. Each wire turns their answers into its own
//! codes through [`WireFailure`].
//!
//! **Invariants:** only an [`Outcome::Success`] resets an endpoint's backoff (the wire hands
//! over its result's class, never a flag of its own making); only a failure whose class
//! [`Outcome::is_retryable`] is sent again, within the retry limit, the budget and the
//! deadline; a failure before anything was sent is never retried and never reaches the
//! backoff.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dendrite_keys::Keypair;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::backoff::{BackoffTable, Skip};
use super::gather::{self, Unfinished};
use super::observer::{CallKind, CallObserver, CallReport, CallView};
use super::outcome::{Outcome, WireOutcome};
use super::phases::Phases;
use super::retry::RetryBudget;
use super::settings::{BackoffConfig, Quorum, RetryConfig};

/// Why no in-flight slot was had.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NoSlot {
    /// The deadline passed while waiting.
    Deadline,
    /// The client is shutting down.
    Closed,
}

/// A wire's failure of one endpoint, as the shared core makes it: the one place each wire says
/// what an endpoint gets when the core, not the peer, ended its call.
pub(crate) trait WireFailure: WireOutcome + Sized {
    /// No in-flight slot was had (`timeout` is the call's whole time).
    fn no_slot(why: NoSlot, timeout: Duration) -> Self;
    /// The fan-out ended the endpoint without a result of its own.
    fn unfinished(why: &Unfinished) -> Self;
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

/// A call's clock: when it started, when it must end, and its whole time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CallClock {
    /// When the call started.
    pub start: Instant,
    /// When every endpoint's call ends, whatever the peers do.
    pub deadline: Instant,
    /// `deadline - start`.
    pub timeout: Duration,
}

impl CallClock {
    /// A clock started now that ends `timeout` later.
    pub fn start(timeout: Duration) -> Self {
        let start = Instant::now();
        CallClock {
            start,
            deadline: start + timeout,
            timeout,
        }
    }
}

/// The message of an endpoint the backoff skips, the same on every wire.
pub(crate) fn backoff_message(skip: &Skip) -> String {
    format!(
        "Backoff: skipped for {:.2}s more after {} failed calls",
        skip.remaining.as_secs_f64(),
        skip.failures
    )
}

/// What the shared policies are set to: the concurrency cap and the three opt-in policies.
#[derive(Clone, Debug)]
pub(crate) struct CoreSettings {
    /// The most endpoint calls in flight at once, across calls and wires (≥ 1).
    pub in_flight: usize,
    /// The fan-out's quorum.
    pub quorum: Option<Quorum>,
    /// The per-endpoint backoff.
    pub backoff: Option<BackoffConfig>,
    /// Retries of failures nothing reached.
    pub retry: Option<RetryConfig>,
}

/// The wire-neutral core of a client: its key and the policies every wire's pipelines run
/// through. Shared (behind an `Arc`) by the client's wires.
pub(crate) struct Core {
    key: Keypair,
    quorum: Option<Quorum>,
    retry: Option<RetryConfig>,
    in_flight: Arc<Semaphore>,
    observer: Option<Arc<dyn CallObserver>>,
    backoff: Option<BackoffTable>,
    retry_budget: Option<RetryBudget>,
    retries: AtomicU64,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("key", &self.key.ss58_address())
            .field("quorum", &self.quorum)
            .field("retry", &self.retry)
            .field("observed", &self.observer.is_some())
            .finish_non_exhaustive()
    }
}

impl Core {
    /// A core that signs with `key`, runs `settings` and reports to `observer`.
    pub fn new(
        key: Keypair,
        settings: CoreSettings,
        observer: Option<Arc<dyn CallObserver>>,
    ) -> Self {
        let in_flight = settings.in_flight.max(1);
        Core {
            key,
            quorum: settings.quorum,
            retry: settings.retry,
            in_flight: Arc::new(Semaphore::new(in_flight)),
            observer,
            backoff: settings.backoff.map(BackoffTable::new),
            retry_budget: settings
                .retry
                .as_ref()
                .map(|retry| RetryBudget::new(retry, in_flight)),
            retries: AtomicU64::new(0),
        }
    }

    /// The signing key.
    pub fn key(&self) -> &Keypair {
        &self.key
    }

    /// Retries made so far.
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// Endpoints being skipped by the backoff now (0 without backoff).
    pub fn backing_off(&self) -> usize {
        self.backoff
            .as_ref()
            .map_or(0, |b| b.skipping(Instant::now()))
    }

    /// Runs `one(index)` for every endpoint of a call as a task of its own, under the quorum,
    /// and gathers the results in endpoint order; an endpoint the fan-out ended gets
    /// `fallback(index, failure)`, its failure made by the wire ([`WireFailure::unfinished`]).
    pub async fn fan_out<R, E, Fut>(
        &self,
        count: usize,
        one: impl FnMut(usize) -> Fut,
        fallback: impl Fn(usize, E) -> R,
    ) -> Vec<R>
    where
        R: WireOutcome + Send + 'static,
        E: WireFailure,
        Fut: Future<Output = R> + Send + 'static,
    {
        let fallback = |index: usize, why: &Unfinished| fallback(index, E::unfinished(why));
        gather::fan_out(count, self.quorum, one, fallback).await
    }

    /// Reports a finished call to the observer, if one watches.
    pub fn report(&self, kind: CallKind, start: Instant, call: &dyn CallView) {
        if let Some(observer) = &self.observer {
            observer.call_finished(&CallReport::new(kind, start.elapsed(), call));
        }
    }

    /// The backoff's skip of the endpoint `hotkey` at `addr`, if it is being skipped now.
    pub fn backoff_skip(&self, hotkey: &str, addr: SocketAddr) -> Option<Skip> {
        self.backoff.as_ref()?.check(hotkey, addr, Instant::now())
    }

    /// Feeds the class of a call that reached the network to the backoff: only a success
    /// resets it.
    pub fn backoff_record(&self, hotkey: &str, addr: SocketAddr, outcome: Outcome) {
        if let Some(backoff) = &self.backoff {
            backoff.record(hotkey, addr, outcome.is_success(), Instant::now());
        }
    }

    /// An in-flight slot, waited for until `deadline`.
    pub async fn slot(&self, deadline: Instant) -> Result<OwnedSemaphorePermit, NoSlot> {
        tokio::time::timeout_at(deadline.into(), self.in_flight.clone().acquire_owned())
            .await
            .map_err(|_| NoSlot::Deadline)?
            .map_err(|_| NoSlot::Closed)
    }

    /// The per-endpoint loop every wire shares: an in-flight slot (waited for until the
    /// clock's deadline; the wait and the pauses count as `queue`, from its start), one
    /// `attempt`, the slot back, and a budgeted retry while the failure's class is retryable
    /// ([`Outcome::is_retryable`]). `retries` counts the retries made.
    pub async fn attempts<T, E, Fut>(
        &self,
        clock: &CallClock,
        phases: &mut Phases,
        retries: &mut u32,
        mut attempt: impl FnMut() -> Fut,
    ) -> Attempted<T, E>
    where
        E: WireFailure,
        Fut: Future<Output = Attempt<T, E>>,
    {
        self.earn_retry();
        // The first wait counts from the call's start: a task the runtime has not run yet is
        // queued too.
        let mut queued = clock.start;
        loop {
            let slot = self.slot(clock.deadline).await;
            phases.queue += queued.elapsed();
            let slot = match slot {
                Ok(slot) => slot,
                Err(why) => return Attempted::NotSent(E::no_slot(why, clock.timeout)),
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
                    match self.retry_pause(failure.outcome(), *retries, clock.deadline) {
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
    pub fn earn_retry(&self) {
        if let Some(budget) = &self.retry_budget {
            budget.deposit();
        }
    }

    /// The pause before retrying a failure of class `outcome`, if it is retried: only a
    /// retryable class (the endpoint was not reached), within the retry limit and the budget (a
    /// retry withdraws from it and is counted), and only if the pause ends before the deadline.
    /// The caller sleeps.
    pub fn retry_pause(
        &self,
        outcome: Outcome,
        retries: u32,
        deadline: Instant,
    ) -> Option<Duration> {
        let (config, budget) = (self.retry.as_ref()?, self.retry_budget.as_ref()?);
        if !outcome.is_retryable() || retries >= config.max_retries {
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
