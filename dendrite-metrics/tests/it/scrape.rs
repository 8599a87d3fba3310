//! A real fan-out with mixed outcomes, then `/metrics` scraped over HTTP and parsed.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use dendrite_axon::{serve, AxonConfig, Behaviour, ToyModel};
use dendrite_core::{
    CallKind, CallObserver, CallReport, Client, ClientConfig, EndpointResult, GrpcCallView,
    Keypair, SynapseResult,
};
use dendrite_metrics::{serve_metrics, DendriteMetrics, Level, MetricsConfig, OTHER_UID};
use dendrite_wire::synapse::TextLastHiddenState;
use dendrite_wire::Endpoint;
use dendrite_wire::{ReturnCode, Synapse, Tensor};

/// One sample of the text exposition: name, labels, value.
pub(crate) type Sample = (String, BTreeMap<String, String>, f64);

/// Parses the Prometheus text format (comments skipped; label values without escapes).
pub(crate) fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("value");
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => {
                    let body = rest.strip_suffix('}').expect("closing brace");
                    let labels = body
                        .split("\",")
                        .filter(|p| !p.is_empty())
                        .map(|pair| {
                            let (k, v) = pair.split_once("=\"").expect("label");
                            (k.to_string(), v.trim_end_matches('"').to_string())
                        })
                        .collect();
                    (name.to_string(), labels)
                }
                None => (series.to_string(), BTreeMap::new()),
            };
            (name, labels, value.parse().expect("number"))
        })
        .collect()
}

/// The sum of the samples named `name` whose labels include `want`.
pub(crate) fn value(samples: &[Sample], name: &str, want: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|(n, labels, _)| {
            n == name
                && want
                    .iter()
                    .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, _, v)| v)
        .sum()
}

fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_string()
}

fn metrics(level: Level, max_uid_series: usize, max_endpoint_stats: usize) -> Arc<DendriteMetrics> {
    let config = MetricsConfig {
        level,
        max_uid_series,
        max_endpoint_stats,
        ..MetricsConfig::new("5Alice", "test-id")
    };
    Arc::new(DendriteMetrics::new(config).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_and_histograms_match_what_happened() {
    let mut endpoints: Vec<Endpoint> = Vec::new();
    let mut axons = Vec::new();
    for (i, behaviour) in [
        Behaviour::Normal,
        Behaviour::Normal,
        Behaviour::Normal,
        Behaviour::FixedCode(ReturnCode::NotServingNucleus),
    ]
    .into_iter()
    .enumerate()
    {
        let key = Keypair::from_uri(&format!("//MetricsAxon{i}")).unwrap();
        let axon = serve(
            &key,
            Arc::new(ToyModel::new()),
            AxonConfig {
                behaviour,
                ..AxonConfig::default()
            },
        )
        .await
        .unwrap();
        endpoints.push(axon.endpoint(i as u64));
        axons.push(axon);
    }
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut dead = endpoints[0].clone();
    (dead.uid, dead.port, dead.hotkey) = (
        4,
        closed,
        Keypair::from_uri("//Dead").unwrap().ss58_address().into(),
    );
    endpoints.push(dead);

    let metrics = metrics(Level::Debug, 1024, 4096);
    let client = Client::with_observer(
        Keypair::from_uri("//Alice").unwrap(),
        ClientConfig::default(),
        metrics.observer().unwrap(),
    );
    let synapses: Vec<Synapse> = vec![TextLastHiddenState::default().into()];
    let input = Tensor::from_vec(vec![1i64, 2, 3, 4, 5, 6], [2, 3]).unwrap();
    let inputs = vec![input.clone(); 5];
    let results = client
        .forward(&endpoints, &synapses, &inputs, Duration::from_secs(5))
        .await
        .unwrap();
    let grads: Vec<Vec<Tensor>> = results[..3]
        .iter()
        .map(|_| vec![Tensor::from_vec(vec![1f32; 6 * 1024], [2, 3, 1024]).unwrap()])
        .collect();
    client
        .backward(
            &endpoints[..3],
            &synapses,
            &inputs[..3],
            &grads,
            Duration::from_secs(5),
        )
        .await
        .unwrap();

    // The Python module's default delivery: detached, one call however many endpoints, reported
    // once its last endpoint finished (it counted once per endpoint).
    let dispatch = client
        .backward_detached(
            &endpoints[..3],
            &synapses,
            &inputs[..3],
            &grads,
            Duration::from_secs(5),
        )
        .unwrap();
    assert_eq!((dispatch.started, dispatch.dropped), (3, 0));

    let server = serve_metrics("127.0.0.1:0".parse().unwrap(), metrics.clone())
        .await
        .unwrap();
    let addr = server.local_addr();
    let scrape = move || async move {
        let body = tokio::task::spawn_blocking(move || http_get(addr, "/metrics"))
            .await
            .unwrap();
        parse(&body)
    };
    let backward_endpoints = |samples: &[Sample]| {
        value(
            samples,
            "dendrite_counters",
            &[
                ("name", "total_backward_endpoint_requests"),
                ("wallet", "5Alice"),
                ("identifier", "test-id"),
            ],
        )
    };
    // The detached call reports after its last endpoint; a scrape sees each call whole
    // (`render`), so once its endpoints are counted, everything of it is.
    let mut samples = scrape().await;
    let until = std::time::Instant::now() + Duration::from_secs(10);
    while backward_endpoints(&samples) < 6.0 && std::time::Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(20)).await;
        samples = scrape().await;
    }
    let counter = |name: &str| {
        value(
            &samples,
            "dendrite_counters",
            &[
                ("name", name),
                ("wallet", "5Alice"),
                ("identifier", "test-id"),
            ],
        )
    };
    assert_eq!(counter("total_requests"), 1.0);
    assert_eq!(counter("total_endpoint_requests"), 5.0);
    assert_eq!(counter("total_request_params"), 30.0);
    assert_eq!(counter("total_request_bytes"), 240.0);
    assert_eq!(counter("total_success"), 3.0);
    assert_eq!(counter("total_failure"), 2.0);
    assert_eq!(counter("TextLastHiddenState"), 1.0);
    assert_eq!(counter("total_response_params"), 5.0 * 6.0 * 1024.0);
    assert_eq!(counter("total_backward_endpoint_requests"), 6.0);
    assert_eq!(
        counter("total_backward_requests"),
        2.0,
        "one awaited, one detached"
    );
    assert_eq!(counter("total_backward_success"), 6.0);
    assert_eq!(value(&samples, "dendrite_latency_count", &[]), 3.0);
    let le_inf = value(&samples, "dendrite_latency_bucket", &[("le", "+Inf")]);
    assert_eq!(le_inf, 3.0);
    let code = |direction: &str, code: &str| {
        value(
            &samples,
            "dendrite_return_codes",
            &[("direction", direction), ("code", code)],
        )
    };
    assert_eq!(code("forward", "Success"), 3.0);
    assert_eq!(code("forward", "NotServingNucleus"), 1.0);
    assert_eq!(code("forward", "Unavailable"), 1.0);
    assert_eq!(code("backward", "Success"), 6.0);
    let sent = value(&samples, "dendrite_wire_bytes", &[("direction", "sent")]);
    let received = value(
        &samples,
        "dendrite_wire_bytes",
        &[("direction", "received")],
    );
    let expected_received: usize = results.iter().map(|r| r.bytes_received).sum();
    assert!(sent > 0.0);
    assert!(received >= expected_received as f64 && received > 3.0 * 6.0 * 1024.0 * 4.0);
    for uid in ["0", "1", "2"] {
        assert_eq!(
            value(&samples, "dendrite_successes_per_uid", &[("uid", uid)]),
            1.0
        );
        assert_eq!(
            value(&samples, "dendrite_latency_per_uid_count", &[("uid", uid)]),
            1.0
        );
    }
    for uid in ["3", "4"] {
        assert_eq!(
            value(&samples, "dendrite_failures_per_uid", &[("uid", uid)]),
            1.0
        );
    }

    // Phases at DEBUG: every forward that reached the network (all 5: the closed port reached
    // `connect`), and the 3 + 3 backwards.
    let phase = |direction: &str, phase: &str| {
        value(
            &samples,
            "dendrite_phase_seconds_count",
            &[("direction", direction), ("phase", phase)],
        )
    };
    for name in dendrite_core::Phase::ALL.map(dendrite_core::Phase::name) {
        assert_eq!(phase("forward", name), 5.0, "{name}");
        assert_eq!(phase("backward", name), 6.0, "{name}");
    }
    let forward_wait = value(
        &samples,
        "dendrite_phase_seconds_sum",
        &[("direction", "forward"), ("phase", "wait")],
    );
    assert!(forward_wait > 0.0);

    let stats = metrics.stats();
    assert_eq!(stats.len(), 5);
    let refused = stats.iter().find(|s| s.uid == Some(3)).unwrap();
    assert_eq!((refused.requests, refused.failures), (1, 1));
    assert_eq!(refused.codes.get("NotServingNucleus"), Some(&1));
    let good = stats.iter().find(|s| s.uid == Some(0)).unwrap();
    assert_eq!(
        (good.requests, good.successes),
        (3, 3),
        "forward and both backwards"
    );
    assert!(good.latency_ewma_s > 0.0 && good.bytes_in > 0);
    let stats_json = tokio::task::spawn_blocking(move || http_get(addr, "/stats"))
        .await
        .unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&stats_json)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        5
    );
    assert!(metrics.stats_table().lines().count() == 6);
}

fn synthetic(n: u64) -> (Vec<Endpoint>, Vec<EndpointResult>) {
    let endpoints = (0..n)
        .map(|uid| Endpoint {
            uid,
            ..Endpoint::dummy()
        })
        .collect();
    let result = EndpointResult {
        synapses: vec![SynapseResult {
            output: Tensor::empty(),
            code: ReturnCode::Success,
            message: String::new(),
            elapsed: Duration::from_millis(3),
        }],
        bytes_sent: 10,
        bytes_received: 20,
        ..EndpointResult::default()
    };
    (endpoints, vec![result; n as usize])
}

#[test]
fn per_uid_series_and_statistics_stay_capped_with_ten_thousand_endpoints() {
    let metrics = metrics(Level::Debug, 100, 500);
    let (endpoints, results) = synthetic(10_000);
    let synapses: Vec<Synapse> = vec![TextLastHiddenState::default().into()];
    let inputs = vec![Tensor::empty(); 10_000];
    for _ in 0..2 {
        let view = GrpcCallView {
            endpoints: &endpoints,
            synapses: &synapses,
            inputs: &inputs,
            results: &results,
        };
        metrics.call_finished(&CallReport::new(
            CallKind::Forward,
            Duration::from_millis(5),
            &view,
        ));
    }
    let samples = parse(&metrics.render());
    let uids: std::collections::BTreeSet<&String> = samples
        .iter()
        .filter(|(n, _, _)| n == "dendrite_successes_per_uid")
        .filter_map(|(_, l, _)| l.get("uid"))
        .collect();
    assert_eq!(uids.len(), 101, "100 uids and `other`");
    assert_eq!(
        value(
            &samples,
            "dendrite_successes_per_uid",
            &[("uid", OTHER_UID)]
        ),
        2.0 * 9_900.0
    );
    assert_eq!(value(&samples, "dendrite_successes_per_uid", &[]), 20_000.0);
    assert_eq!(metrics.stats().len(), 500);
}

#[test]
fn info_has_no_per_uid_series_and_off_has_no_observer() {
    let info = metrics(Level::Info, 100, 100);
    let (endpoints, results) = synthetic(3);
    let view = GrpcCallView {
        endpoints: &endpoints,
        synapses: &[],
        inputs: &[],
        results: &results,
    };
    info.call_finished(&CallReport::new(CallKind::Forward, Duration::ZERO, &view));
    let text = info.render();
    assert!(text.contains("dendrite_counters") && !text.contains("per_uid"));
    assert!(
        !text.contains("dendrite_phase_seconds"),
        "phases are DEBUG only"
    );
    assert!(metrics(Level::Off, 1, 1).observer().is_none());
    assert_eq!("debug".parse::<Level>().unwrap(), Level::Debug);
    assert!("loud".parse::<Level>().is_err());
}
