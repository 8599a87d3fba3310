//! A call's fan-out: one task per endpoint ([`fan_out`]), gathered into results in endpoint
//! order ([`collect`]), with the optional quorum (`k_min` successes, then a grace period, then
//! the stragglers are cut). Forward and Backward both go through it.

use std::future::Future;

use dendrite_wire::proto::ReturnCode;
use tokio::task::JoinSet;

use crate::config::Quorum;
use crate::outcome::{CallFailure, EndpointResult};

/// Runs `one(index)` for every endpoint index `0..count` as a task of its own (in a `JoinSet`,
/// so dropping the call cancels them) and gathers the results by [`collect`].
pub(super) async fn fan_out<Fut>(
    count: usize,
    quorum: Option<Quorum>,
    one: impl Fn(usize) -> Fut,
    fallback: impl Fn(usize, &CallFailure) -> EndpointResult,
) -> Vec<EndpointResult>
where
    Fut: Future<Output = EndpointResult> + Send + 'static,
{
    let mut tasks = JoinSet::new();
    for index in 0..count {
        let task = one(index);
        tasks.spawn(async move { (index, task.await) });
    }
    collect(tasks, count, quorum, fallback).await
}

/// Gathers task results in endpoint order. With a quorum, stops once `k_min` endpoints
/// succeeded and the grace period passed, and cuts the rest (`Timeout`, saying so); dropping
/// the `JoinSet` cancels their tasks. A task that died (it cannot, short of a bug) gives
/// `UnknownException` for its endpoint rather than losing the whole call.
async fn collect(
    mut tasks: JoinSet<(usize, EndpointResult)>,
    count: usize,
    quorum: Option<Quorum>,
    fallback: impl Fn(usize, &CallFailure) -> EndpointResult,
) -> Vec<EndpointResult> {
    let mut results: Vec<Option<EndpointResult>> = vec![None; count];
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
                succeeded += usize::from(result.all_success());
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
    let cut = CallFailure::new(
        ReturnCode::Timeout,
        format!(
            "Cut by quorum: {succeeded} endpoints had succeeded and the {:.3}s grace period passed",
            quorum.map_or(0.0, |q| q.timeout_after_k_min.as_secs_f64())
        ),
    );
    let died = CallFailure::new(ReturnCode::UnknownException, "endpoint task failed");
    results
        .into_iter()
        .enumerate()
        .map(|(index, r)| r.unwrap_or_else(|| fallback(index, if finished { &died } else { &cut })))
        .collect()
}
