//! 10.x calls through the metrics: each axon is labelled by the uid its caller gave, else by
//! its hotkey, whatever its position in a call (it was labelled by its position once, so "uid
//! 0" was a different axon every call), and reported as kind `synapse`, not as a 3.x forward.

use std::sync::Arc;

use dendrite_axon::http::{serve_http, HttpAxonConfig};
use dendrite_core::{Client, ClientConfig, Keypair};
use dendrite_http::{AxonTarget, PyValue, SynapseCall};
use dendrite_metrics::{DendriteMetrics, Level, MetricsConfig};

use super::scrape::{parse, value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axons_are_labelled_by_uid_or_hotkey_never_by_position() {
    let axon = serve_http(
        &Keypair::from_uri("//Bob").unwrap(),
        HttpAxonConfig::default(),
    )
    .await
    .unwrap();
    let answering = AxonTarget {
        uid: Some(7),
        ..axon.target()
    };
    // A port nothing listens on, named by hotkey only.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let charlie = Keypair::from_uri("//Charlie").unwrap();
    let refused = AxonTarget {
        ip: "127.0.0.1".into(),
        port: closed.local_addr().unwrap().port(),
        hotkey: charlie.ss58_address().to_owned(),
        uid: None,
    };
    drop(closed);
    let metrics = Arc::new(
        DendriteMetrics::new(MetricsConfig {
            level: Level::Debug,
            ..MetricsConfig::new("5Alice", "test-id")
        })
        .unwrap(),
    );
    let client = Client::with_observer(
        Keypair::from_uri("//Alice").unwrap(),
        ClientConfig::default(),
        metrics.clone(),
    );
    let fields = PyValue::parse(br#"{"dummy_input": 1, "dummy_output": null}"#).unwrap();
    let dummy = SynapseCall::new("Dummy", 5.0, &fields, &["dummy_input"], &[], None).unwrap();
    // The same two axons, in both orders.
    for axons in [
        [answering.clone(), refused.clone()],
        [refused.clone(), answering.clone()],
    ] {
        let results = client.call_synapse(&axons, &dummy).await;
        let codes: Vec<i64> = results.iter().map(|r| r.status_code()).collect();
        let expected: Vec<i64> = axons
            .iter()
            .map(|a| if a.uid == Some(7) { 200 } else { 503 })
            .collect();
        assert_eq!(codes, expected);
    }
    let samples = parse(&metrics.render());
    let labels: std::collections::BTreeSet<&str> = samples
        .iter()
        .filter(|(name, _, _)| name.ends_with("_per_uid") || name.contains("_per_uid_"))
        .filter_map(|(_, labels, _)| labels.get("uid").map(String::as_str))
        .collect();
    assert_eq!(
        labels,
        ["7", charlie.ss58_address()].into_iter().collect(),
        "per-uid labels"
    );
    assert_eq!(
        value(&samples, "dendrite_successes_per_uid", &[("uid", "7")]),
        2.0
    );
    assert_eq!(
        value(
            &samples,
            "dendrite_failures_per_uid",
            &[("uid", charlie.ss58_address())]
        ),
        2.0
    );
    let synapse_codes = value(
        &samples,
        "dendrite_return_codes",
        &[("direction", "synapse")],
    );
    let forward_codes = value(
        &samples,
        "dendrite_return_codes",
        &[("direction", "forward")],
    );
    assert_eq!(
        (synapse_codes, forward_codes),
        (4.0, 0.0),
        "10.x calls are kind synapse"
    );
    // One statistics row per axon, by its identity.
    // The same uid and hotkey reached on the 3.x wire (nothing listens there): a row of its
    // own, marked grpc, never merged with the 10.x axon's.
    let endpoint = dendrite_wire::Endpoint::new(
        370,
        7,
        axon.hotkey().to_owned(),
        "127.0.0.1",
        4,
        refused.port,
        axon.hotkey().to_owned(),
    )
    .unwrap();
    let synapses: Vec<dendrite_wire::Synapse> =
        vec![dendrite_wire::synapse::TextLastHiddenState::default().into()];
    let input = dendrite_wire::Tensor::from_vec(vec![1i64, 2], [1, 2]).unwrap();
    client
        .forward(
            &[endpoint],
            &synapses,
            &[input],
            std::time::Duration::from_secs(2),
        )
        .await
        .unwrap();
    let table = metrics.stats_table();
    assert!(table.starts_with("wire"), "{table}");
    let sevens: Vec<&str> = table
        .lines()
        .filter(|line| line.split_whitespace().nth(1) == Some("7"))
        .map(|line| line.split_whitespace().next().unwrap_or(""))
        .collect();
    assert_eq!(sevens.len(), 2, "{table}");
    assert!(
        sevens.contains(&"grpc") && sevens.contains(&"http"),
        "{table}"
    );
    let mut rows: Vec<(&str, Option<u64>, String, u64)> = metrics
        .stats()
        .into_iter()
        .map(|s| (s.wire, s.uid, s.hotkey, s.requests))
        .collect();
    rows.sort();
    assert_eq!(
        rows,
        [
            ("grpc", Some(7), axon.hotkey().to_owned(), 1),
            ("http", None, charlie.ss58_address().to_owned(), 2),
            ("http", Some(7), axon.hotkey().to_owned(), 2),
        ]
    );
    axon.shutdown().await;
}
