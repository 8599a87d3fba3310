//! The Prometheus series and the observer that fills them.

use std::collections::{HashMap, HashSet};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use dendrite_core::{
    endpoint_label, CallKind, CallObserver, CallReport, EndpointReport, Phase, Phases,
};
use lru::LruCache;
use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry,
};

use crate::level::Level;
use crate::stats::{self, EndpointStats};

/// Latency buckets, seconds: fine enough for sub-millisecond loopback calls and for multi-second
/// timeouts (the reference's 0..12 s in 1 s steps sees neither).
pub const LATENCY_BUCKETS: [f64; 21] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 12.0, 14.0, 20.0, 30.0, 60.0,
];

/// The `uid` label shared by every uid past the cap.
pub const OTHER_UID: &str = "other";

/// The reference's counter names, in `dendrite_counters{name=...}`, plus backward ones.
const COUNTER_NAMES: [&str; 12] = [
    "total_requests",
    "total_endpoint_requests",
    "total_request_bytes",
    "total_request_params",
    "total_response_bytes",
    "total_response_params",
    "total_success",
    "total_failure",
    "total_backward_requests",
    "total_backward_endpoint_requests",
    "total_backward_success",
    "total_backward_failure",
];

/// Settings of [`DendriteMetrics`].
#[derive(Clone, Debug)]
pub struct MetricsConfig {
    /// What is recorded.
    pub level: Level,
    /// The `wallet` label: the dendrite's hotkey.
    pub wallet: String,
    /// The `identifier` label: one per dendrite instance (the reference uses a uuid1).
    pub identifier: String,
    /// Per-uid series kept at DEBUG; later uids are counted under `uid="other"`.
    pub max_uid_series: usize,
    /// Endpoints whose statistics are kept; the least recently seen is dropped past it.
    pub max_endpoint_stats: usize,
}

impl MetricsConfig {
    /// INFO level, 1,024 per-uid series, statistics for 4,096 endpoints.
    pub fn new(wallet: impl Into<String>, identifier: impl Into<String>) -> Self {
        MetricsConfig {
            level: Level::Info,
            wallet: wallet.into(),
            identifier: identifier.into(),
            max_uid_series: 1024,
            max_endpoint_stats: 4096,
        }
    }
}

/// `dendrite_phase_seconds` at DEBUG: one histogram per kind of call × phase (bounded labels).
struct PhaseSeries {
    /// In `CallKind::ALL` order (3.x forward, 3.x backward, 10.x synapse, signed request), each
    /// in `Phase::ALL` order.
    histograms: [[Histogram; Phase::COUNT]; CallKind::ALL.len()],
}

impl PhaseSeries {
    fn new(registry: &Registry, base: [&str; 2]) -> Result<Self, prometheus::Error> {
        let vec = HistogramVec::new(
            HistogramOpts::new(
                "dendrite_phase_seconds",
                "time per endpoint call in each phase: queue, sign, connect, send, wait, receive, decode",
            )
            .buckets(prometheus::exponential_buckets(1e-5, 4.0, 12)?),
            &["wallet", "identifier", "direction", "phase"],
        )?;
        registry.register(Box::new(vec.clone()))?;
        let direction = |d: &str| {
            Phase::ALL.map(|phase| vec.with_label_values(&[base[0], base[1], d, phase.name()]))
        };
        Ok(PhaseSeries {
            histograms: CallKind::ALL.map(|kind| direction(kind.as_str())),
        })
    }

    /// Observes the phases a call reached: all seven once an RPC was attempted, else only
    /// the queue (and nothing for calls that never queued, such as the dummy endpoint).
    fn observe(&self, kind: CallKind, phases: &Phases) {
        let index = CallKind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
        let histograms = &self.histograms[index];
        if phases.rpc_attempted {
            for (histogram, (_, time)) in histograms.iter().zip(phases.named()) {
                histogram.observe(time.as_secs_f64());
            }
        } else if phases.queue > std::time::Duration::ZERO {
            histograms[0].observe(phases.queue.as_secs_f64());
        }
    }
}

struct PerUid {
    latency: HistogramVec,
    successes: IntCounterVec,
    failures: IntCounterVec,
    seen: Mutex<HashSet<String>>,
}

/// A statistics row's identity: the wire, the uid its caller gave (if any), the hotkey.
type StatsKey = (&'static str, Option<u64>, String);

/// The dendrite's Prometheus registry and statistics; a [`CallObserver`].
pub struct DendriteMetrics {
    config: MetricsConfig,
    registry: Registry,
    counters: HashMap<&'static str, IntCounter>,
    synapse_counters: IntCounterVec,
    latency: Histogram,
    codes: IntCounterVec,
    wire_bytes: [IntCounter; 2],
    per_uid: Option<PerUid>,
    phases: Option<PhaseSeries>,
    /// Per-endpoint statistics; its lock is also the one a call is counted under and a
    /// [`render`](Self::render) gathers under, so scrapes see calls whole.
    stats: Mutex<LruCache<StatsKey, EndpointStats>>,
}

impl std::fmt::Debug for DendriteMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DendriteMetrics")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl DendriteMetrics {
    /// Registers the series in a fresh registry.
    pub fn new(config: MetricsConfig) -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let base = [config.wallet.as_str(), config.identifier.as_str()];
        let counter_vec = IntCounterVec::new(
            Opts::new("dendrite_counters", "dendrite_counters"),
            &["wallet", "identifier", "name"],
        )?;
        registry.register(Box::new(counter_vec.clone()))?;
        let counters = COUNTER_NAMES
            .iter()
            .map(|&name| {
                (
                    name,
                    counter_vec.with_label_values(&[base[0], base[1], name]),
                )
            })
            .collect();
        let latency = HistogramVec::new(
            HistogramOpts::new("dendrite_latency", "dendrite_latency")
                .buckets(LATENCY_BUCKETS.to_vec()),
            &["wallet", "identifier"],
        )?;
        registry.register(Box::new(latency.clone()))?;
        let codes = IntCounterVec::new(
            Opts::new(
                "dendrite_return_codes",
                "synapse results by return code name",
            ),
            &["wallet", "identifier", "direction", "code"],
        )?;
        registry.register(Box::new(codes.clone()))?;
        let wire = IntCounterVec::new(
            Opts::new("dendrite_wire_bytes", "encoded bytes sent and received"),
            &["wallet", "identifier", "direction"],
        )?;
        registry.register(Box::new(wire.clone()))?;
        let per_uid = if config.level == Level::Debug {
            let labels = ["wallet", "identifier", "uid"];
            let latency = HistogramVec::new(
                HistogramOpts::new("dendrite_latency_per_uid", "dendrite_latency_per_uid")
                    .buckets(LATENCY_BUCKETS.to_vec()),
                &labels,
            )?;
            let successes = IntCounterVec::new(
                Opts::new("dendrite_successes_per_uid", "dendrite_successes_per_uid"),
                &labels,
            )?;
            let failures = IntCounterVec::new(
                Opts::new("dendrite_failures_per_uid", "dendrite_failures_per_uid"),
                &labels,
            )?;
            registry.register(Box::new(latency.clone()))?;
            registry.register(Box::new(successes.clone()))?;
            registry.register(Box::new(failures.clone()))?;
            Some(PerUid {
                latency,
                successes,
                failures,
                seen: Mutex::new(HashSet::new()),
            })
        } else {
            None
        };
        let phases = if config.level == Level::Debug {
            Some(PhaseSeries::new(&registry, base)?)
        } else {
            None
        };
        let stats_cap = NonZeroUsize::new(config.max_endpoint_stats).unwrap_or(NonZeroUsize::MIN);
        Ok(DendriteMetrics {
            latency: latency.with_label_values(&base),
            wire_bytes: [
                wire.with_label_values(&[base[0], base[1], "sent"]),
                wire.with_label_values(&[base[0], base[1], "received"]),
            ],
            synapse_counters: counter_vec,
            counters,
            codes,
            per_uid,
            phases,
            stats: Mutex::new(LruCache::new(stats_cap)),
            registry,
            config,
        })
    }

    /// The settings.
    pub fn config(&self) -> &MetricsConfig {
        &self.config
    }

    /// The registry holding every series (to serve or to merge into your own).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The Prometheus text exposition of every series. Each call's series appear whole: the
    /// gather holds the lock [`CallObserver::call_finished`] counts a call under, so a scrape
    /// never sees a call's request counted and its endpoints not yet (a gather through
    /// [`registry`](Self::registry) has no such guarantee).
    pub fn render(&self) -> String {
        let mut out = String::new();
        let encoder = prometheus::TextEncoder::new();
        let families = {
            let _whole_calls = self.lock_stats();
            self.registry.gather()
        };
        if let Err(e) = encoder.encode_utf8(&families, &mut out) {
            tracing::warn!("encoding metrics failed: {e}");
        }
        out
    }

    /// The observer to give the client, or `None` at OFF (so OFF costs nothing at all).
    pub fn observer(self: &Arc<Self>) -> Option<Arc<dyn CallObserver>> {
        (self.config.level != Level::Off).then(|| self.clone() as Arc<dyn CallObserver>)
    }

    /// Per-endpoint statistics, most recently seen first.
    pub fn stats(&self) -> Vec<EndpointStats> {
        self.lock_stats().iter().map(|(_, s)| s.clone()).collect()
    }

    /// The statistics as a plain-text table.
    pub fn stats_table(&self) -> String {
        stats::table(&self.stats())
    }

    /// The statistics as a JSON array.
    pub fn stats_json(&self) -> String {
        serde_json::to_string(&self.stats()).unwrap_or_else(|_| "[]".into())
    }

    fn lock_stats(&self) -> std::sync::MutexGuard<'_, LruCache<StatsKey, EndpointStats>> {
        self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn count(&self, name: &str, by: u64) {
        if let Some(counter) = self.counters.get(name) {
            counter.inc_by(by);
        }
    }

    /// The call-level counters: requests, endpoints asked, what was sent, per operation.
    fn count_request(&self, report: &CallReport<'_>) {
        let (wallet, identifier) = (self.config.wallet.as_str(), self.config.identifier.as_str());
        let n = report.endpoint_count() as u64;
        if !report.kind.answers() {
            self.count("total_backward_requests", 1);
            self.count("total_backward_endpoint_requests", n);
            return;
        }
        self.count("total_requests", 1);
        self.count("total_endpoint_requests", n);
        self.count("total_request_params", report.request_values() as u64);
        self.count("total_request_bytes", report.request_bytes() as u64);
        for operation in report.operations() {
            self.synapse_counters
                .with_label_values(&[wallet, identifier, operation])
                .inc();
        }
    }

    /// One endpoint's series: what came back, success or failure, codes, wire bytes,
    /// phases, and (forward, DEBUG) its per-uid series.
    fn count_endpoint(&self, kind: CallKind, endpoint: &dyn EndpointReport) {
        let (wallet, identifier) = (self.config.wallet.as_str(), self.config.identifier.as_str());
        let (success, time) = (endpoint.success(), endpoint.time());
        let forward = kind.answers();
        if forward {
            self.count("total_response_params", endpoint.output_values() as u64);
            self.count("total_response_bytes", endpoint.output_bytes() as u64);
            if success {
                self.count("total_success", 1);
                self.latency.observe(time.as_secs_f64());
            } else {
                self.count("total_failure", 1);
            }
        } else if success {
            self.count("total_backward_success", 1);
        } else {
            self.count("total_backward_failure", 1);
        }
        for code in endpoint.codes() {
            self.codes
                .with_label_values(&[wallet, identifier, kind.as_str(), code])
                .inc();
        }
        self.wire_bytes[0].inc_by(endpoint.bytes_sent() as u64);
        self.wire_bytes[1].inc_by(endpoint.bytes_received() as u64);
        if let Some(phases) = &self.phases {
            phases.observe(kind, endpoint.phases());
        }
        if let (Some(per_uid), true) = (&self.per_uid, forward) {
            let uid = Self::uid_label(
                per_uid,
                self.config.max_uid_series,
                endpoint_label(endpoint),
            );
            let labels = [wallet, identifier, uid.as_str()];
            if success {
                per_uid
                    .latency
                    .with_label_values(&labels)
                    .observe(time.as_secs_f64());
                per_uid.successes.with_label_values(&labels).inc();
            } else {
                per_uid.failures.with_label_values(&labels).inc();
            }
        }
    }

    /// The per-uid label for an endpoint known by `label` (its uid, else its hotkey): itself
    /// while under the cap, else [`OTHER_UID`].
    fn uid_label(per_uid: &PerUid, cap: usize, label: String) -> String {
        let mut seen = per_uid.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.contains(&label) || (seen.len() < cap && seen.insert(label.clone())) {
            label
        } else {
            OTHER_UID.to_string()
        }
    }
}

impl CallObserver for DendriteMetrics {
    fn call_finished(&self, report: &CallReport<'_>) {
        if self.config.level == Level::Off {
            return;
        }
        let mut stats = self.lock_stats();
        self.count_request(report);
        report.for_each_endpoint(|endpoint| {
            self.count_endpoint(report.kind, endpoint);
            let wire = report.kind.wire();
            let key = (wire, endpoint.uid(), endpoint.hotkey().to_owned());
            let entry = stats.get_or_insert_mut(key, || EndpointStats {
                wire,
                uid: endpoint.uid(),
                hotkey: endpoint.hotkey().to_owned(),
                ..EndpointStats::default()
            });
            entry.record(
                endpoint.success(),
                endpoint.codes(),
                endpoint.time(),
                endpoint.bytes_sent(),
                endpoint.bytes_received(),
            );
        });
    }
}
