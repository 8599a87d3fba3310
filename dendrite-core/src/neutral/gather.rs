//! A call's fan-out, for either wire: one task per endpoint ([`fan_out`]), gathered into
//! results in endpoint order ([`collect`]), with the optional quorum (`k_min` successes, then a
//! grace period, then the stragglers are cut). 3.x Forward and Backward and 10.x synapse calls
//! all go through it; the quorum counts results whose [`crate::Outcome`] is a success, and each
//! wire says what an unfinished endpoint gets.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinSet;

use super::outcome::WireOutcome;
use super::settings::Quorum;

/// Why an endpoint has no result of its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Unfinished {
    /// The quorum was met and its grace period passed while this endpoint still ran; the
    /// message says so.
    CutByQuorum(String),
    /// Its task died (it cannot, short of a bug).
    TaskDied,
}

/// Runs `one(index)` for every endpoint index `0..count`, called in index order, as a task of
/// its own (in a `JoinSet`, so dropping the call cancels them) and gathers the results by
/// [`collect`].
pub(crate) async fn fan_out<R, Fut>(
    count: usize,
    quorum: Option<Quorum>,
    mut one: impl FnMut(usize) -> Fut,
    fallback: impl Fn(usize, &Unfinished) -> R,
) -> Vec<R>
where
    R: WireOutcome + Send + 'static,
    Fut: Future<Output = R> + Send + 'static,
{
    let mut tasks = JoinSet::new();
    for index in 0..count {
        // Boxed: an endpoint's pipeline is a ~6 KB state machine, and tokio moves a task's
        // whole stage when it spawns and when it finishes; a box moves as a pointer.
        let task = Box::pin(one(index));
        tasks.spawn(async move { (index, task.await) });
    }
    collect(tasks, count, quorum, fallback).await
}

/// Gathers task results in endpoint order. With a quorum, stops once `k_min` endpoints
/// succeeded and the grace period passed, and cuts the rest; dropping the `JoinSet` cancels
/// their tasks. A task that died gives its endpoint the fallback rather than losing the whole
/// call.
async fn collect<R: WireOutcome + Send + 'static>(
    mut tasks: JoinSet<(usize, R)>,
    count: usize,
    quorum: Option<Quorum>,
    fallback: impl Fn(usize, &Unfinished) -> R,
) -> Vec<R> {
    let mut results: Vec<Option<R>> = (0..count).map(|_| None).collect();
    let mut succeeded = 0usize;
    let mut grace_ends: Option<tokio::time::Instant> = None;
    loop {
        let joined = match grace_ends {
            Some(end) => match tokio::time::timeout_at(end, tasks.join_next()).await {
                Ok(joined) => joined,
                Err(_grace_over) => break,
            },
            None => tasks.join_next().await,
        };
        let Some(joined) = joined else { break };
        match joined {
            Ok((index, result)) => {
                succeeded += usize::from(result.outcome().is_success());
                results[index] = Some(result);
            }
            Err(e) => tracing::error!("endpoint task failed: {e}"),
        }
        if let Some(q) = quorum.filter(|q| grace_ends.is_none() && succeeded >= q.k_min) {
            grace_ends = Some(tokio::time::Instant::now() + q.timeout_after_k_min);
        }
    }
    let finished = tasks.is_empty();
    drop(tasks);
    let grace = quorum.map_or(Duration::ZERO, |q| q.timeout_after_k_min);
    let why = if finished {
        Unfinished::TaskDied
    } else {
        Unfinished::CutByQuorum(format!(
            "Cut by quorum: {succeeded} endpoints had succeeded and the {:.3}s grace period passed",
            grace.as_secs_f64()
        ))
    };
    results
        .into_iter()
        .enumerate()
        .map(|(index, r)| r.unwrap_or_else(|| fallback(index, &why)))
        .collect()
}
