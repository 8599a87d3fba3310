//! Prometheus metrics and per-endpoint call statistics for the dendrite.
//!
//! [`DendriteMetrics`] is a [`CallObserver`](dendrite_core::CallObserver): give it to
//! `Client::with_observer` and it counts every call. It exports the reference's series
//! (`dendrite_counters`, `dendrite_latency`, and at DEBUG the per-uid ones) plus return codes by
//! name and bytes on the wire, and keeps [`EndpointStats`] per endpoint. [`serve_metrics`]
//! serves `/metrics` over HTTP.
//!
//! **Bounded:** per-uid series exist only at DEBUG and for at most `max_uid_series` uids (later
//! uids share the series `uid="other"`); statistics are kept for at most `max_endpoint_stats`
//! endpoints (least recently seen dropped); no per-call history is kept.

mod exporter;
mod level;
mod metrics;
mod stats;

pub use exporter::{serve_metrics, MetricsServer};
pub use level::{Level, ParseLevelError};
pub use metrics::{DendriteMetrics, MetricsConfig, LATENCY_BUCKETS, OTHER_UID};
pub use stats::table as stats_table;
pub use stats::EndpointStats;
