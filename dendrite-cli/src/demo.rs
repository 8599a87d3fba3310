//! `dendrite demo`: the project's main job, with no setup. Starts toy axons in this process,
//! fans every synapse out to them and to one dead endpoint, sends a backward, prints a table
//! and a latency summary.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use dendrite::{
    Dendrite, DendriteConfig, Endpoint, EndpointResult, Inputs, Keypair, ReturnCode, Synapse,
    Tensor, TextCausalLM, TextCausalLMNext, TextLastHiddenState, TextSeq2Seq,
};
use dendrite_axon::{serve, AxonConfig, AxonHandle, ToyModel};

use crate::record::RoundInfo;
use crate::{table, timeline, CliError};

/// Options of `dendrite demo`.
#[derive(Args)]
pub struct DemoArgs {
    /// How many local toy axons to start.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=1024))]
    axons: u32,
    /// How many forward rounds to run (the table shows the last).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=1000))]
    rounds: u32,
    /// Draw the last forward round as a waterfall (SVG).
    #[arg(long, value_name = "FILE.svg")]
    timeline: Option<std::path::PathBuf>,
    #[command(flatten)]
    metrics: crate::metrics::MetricsArgs,
}

/// Today's wire on the same client: `axons` toy 10.x HTTP axons and one dead port get a
/// `Hashed` synapse (bittensor 10.x's JSON synapses, the body hash signed), then one axon
/// streams a `Stream` synapse's tokens.
async fn http_wire(dendrite: &Dendrite, axons: u32) -> Result<(), CliError> {
    use dendrite::http::{AxonTarget, PyValue, SynapseCall};
    let mut handles = Vec::new();
    for i in 0..axons {
        let key = Keypair::from_uri(&format!("//DemoHttpAxon{i}")).map_err(failure)?;
        let config = dendrite_axon::http::HttpAxonConfig::default();
        handles.push(
            dendrite_axon::http::serve_http(&key, config)
                .await
                .map_err(failure)?,
        );
    }
    let mut targets: Vec<AxonTarget> = handles.iter().map(|h| h.target()).collect();
    let dead = dead_endpoint(0).await?;
    targets.push(AxonTarget {
        ip: dead.ip.clone(),
        port: dead.port,
        hotkey: dead.hotkey.clone(),
        uid: None,
    });
    let fields =
        PyValue::parse(br#"{"text": "hello from the 10.x wire", "out": null}"#).map_err(failure)?;
    let hashed =
        SynapseCall::new("Hashed", 5.0, &fields, &["text"], &["text"], None).map_err(failure)?;
    println!(
        "\nthe 10.x HTTP wire, same client: Hashed → {} toy HTTP axons + 1 dead port\n",
        axons
    );
    let outcomes = dendrite.client().call_synapse(&targets, &hashed).await;
    let rows: Vec<Vec<String>> = targets
        .iter()
        .zip(&outcomes)
        .map(|(axon, outcome)| {
            let out = outcome
                .answer
                .fields
                .as_ref()
                .and_then(|f| f.get("out"))
                .map_or(String::new(), |out| out.to_value().dumps());
            vec![
                format!("{} {}:{}", table::short(&axon.hotkey), axon.ip, axon.port),
                outcome.status_code().to_string(),
                format!("{:.2}", outcome.elapsed.as_secs_f64() * 1e3),
                outcome
                    .answer
                    .dendrite
                    .status_message
                    .clone()
                    .unwrap_or_default(),
                out,
            ]
        })
        .collect();
    table::print(&["axon", "status", "time ms", "message", "out"], &rows);
    let fields = PyValue::parse(br#"{"n": 6, "toks": []}"#).map_err(failure)?;
    let stream = SynapseCall::new("Stream", 5.0, &fields, &["n"], &[], None).map_err(failure)?;
    let mut streamed = dendrite.client().call_synapse_stream(&targets[0], &stream);
    print!("\nstreamed from {}: ", table::short(&targets[0].hotkey));
    while let Some(chunk) = streamed.next_chunk().await {
        print!("{}", String::from_utf8_lossy(&chunk));
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
    }
    println!("→ {}", streamed.outcome().await.status_code());
    for handle in handles {
        handle.shutdown().await;
    }
    Ok(())
}

fn failure(e: impl std::fmt::Display) -> CliError {
    CliError::Failure(e.to_string())
}

/// An endpoint on 127.0.0.1 where nothing listens.
async fn dead_endpoint(uid: u64) -> Result<Endpoint, CliError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(failure)?;
    let port = listener.local_addr().map_err(failure)?.port();
    drop(listener);
    let hotkey = Keypair::from_uri("//Ferdie")
        .map_err(failure)?
        .ss58_address()
        .to_owned();
    let version = dendrite::wire::VERSION_AS_INT.unsigned_abs();
    Endpoint::new(version, uid, hotkey.clone(), "127.0.0.1", 4, port, hotkey).map_err(failure)
}

pub async fn run(args: DemoArgs) -> Result<(), CliError> {
    println!("starting {} toy axons on 127.0.0.1 ...", args.axons);
    let axons = start_toy_axons(args.axons).await?;
    let mut endpoints: Vec<Endpoint> = axons
        .iter()
        .enumerate()
        .map(|(i, (h, _))| h.endpoint(i as u64))
        .collect();
    endpoints.push(dead_endpoint(args.axons as u64).await?);

    let config = DendriteConfig {
        timeout: Duration::from_secs(5),
        ..DendriteConfig::default()
    };
    let dendrite = Dendrite::with_config(Keypair::from_uri("//Alice").map_err(failure)?, config);
    let _metrics = crate::metrics::start(&args.metrics, &dendrite).await?;
    let synapses = demo_synapses();
    let texts = vec![
        "hello world, this is the dendrite demo".to_string(),
        "the quick brown fox".to_string(),
    ];
    let (endpoints, inputs) = dendrite
        .format_text_inputs(endpoints, Inputs::Texts(texts))
        .map_err(failure)?;
    println!(
        "dendrite {} → {} endpoints ({} toy axons + 1 dead), inputs {:?}, {} rounds\n",
        dendrite.client().key().ss58_address(),
        endpoints.len(),
        args.axons,
        inputs[0].shape(),
        args.rounds
    );

    let call = Call {
        dendrite: &dendrite,
        endpoints: &endpoints,
        synapses: &synapses,
        inputs: &inputs,
    };
    let (last, mut round_times, mut call_times) = call.forward_rounds(args.rounds).await?;
    print_results(&endpoints, &synapses, &last);
    if let Some(path) = &args.timeline {
        let info = RoundInfo {
            round: args.rounds - 1,
            direction: dendrite::core::Direction::Forward,
            timeout_s: dendrite.config().timeout.as_secs_f64(),
        };
        let title = format!(
            "dendrite demo: round {} of {}, {} toy axons + 1 dead endpoint, 4 synapses",
            args.rounds, args.rounds, args.axons
        );
        timeline::render_results(path, &title, &info, &endpoints, &synapses, &last)?;
        println!("\ntimeline: {}", path.display());
    }
    call.backward_of_sum(&last, &axons).await?;
    println!("round time: {}", table::latency_summary(&mut round_times));
    println!(
        "successful call time: {}",
        table::latency_summary(&mut call_times)
    );
    http_wire(&dendrite, args.axons).await?;
    if let Some(metrics) = dendrite.metrics() {
        println!(
            "\nper-endpoint statistics (forward and backward calls):\n{}",
            metrics.stats_table()
        );
    }
    for (handle, _) in axons {
        handle.shutdown().await;
    }
    Ok(())
}

/// `n` toy axons on loopback, each with its model (to count the gradients it received).
async fn start_toy_axons(n: u32) -> Result<Vec<(AxonHandle, Arc<ToyModel>)>, CliError> {
    let mut axons = Vec::with_capacity(n as usize);
    for i in 0..n {
        let key = Keypair::from_uri(&format!("//DemoAxon{i}")).map_err(failure)?;
        let model = Arc::new(ToyModel::new());
        let handle = serve(&key, model.clone(), AxonConfig::default())
            .await
            .map_err(failure)?;
        axons.push((handle, model));
    }
    Ok(axons)
}

/// The four synapses, small enough to print.
fn demo_synapses() -> Vec<Synapse> {
    vec![
        TextLastHiddenState::default().into(),
        TextCausalLM::with_topk(8).into(),
        TextCausalLMNext::with_topk(4).into(),
        TextSeq2Seq {
            num_to_generate: 8,
            ..TextSeq2Seq::default()
        }
        .into(),
    ]
}

/// What every round of the demo sends.
struct Call<'a> {
    dendrite: &'a Dendrite,
    endpoints: &'a [Endpoint],
    synapses: &'a [Synapse],
    inputs: &'a [Tensor],
}

impl Call<'_> {
    /// `rounds` Forward rounds: the last round's results, each round's time and every
    /// successful call's time.
    async fn forward_rounds(
        &self,
        rounds: u32,
    ) -> Result<(Vec<EndpointResult>, Vec<Duration>, Vec<Duration>), CliError> {
        let (mut round_times, mut call_times) = (Vec::new(), Vec::new());
        let mut last = Vec::new();
        let show_progress = std::io::stderr().is_terminal() && rounds > 1;
        for round in 0..rounds {
            if show_progress {
                eprint!("\rround {}/{} ...", round + 1, rounds);
            }
            let start = Instant::now();
            last = self
                .dendrite
                .forward(self.endpoints, self.synapses, self.inputs, None)
                .await
                .map_err(failure)?;
            round_times.push(start.elapsed());
            call_times.extend(
                last.iter()
                    .flat_map(|r| r.synapses.iter())
                    .filter(|s| s.code == ReturnCode::Success)
                    .map(|s| s.elapsed),
            );
        }
        if show_progress {
            eprintln!();
        }
        Ok((last, round_times, call_times))
    }

    /// Backward: the gradient of the sum of each answering endpoint's hidden states and
    /// log-probabilities goes back over the wire; prints what arrived.
    async fn backward_of_sum(
        &self,
        last: &[EndpointResult],
        axons: &[(AxonHandle, Arc<ToyModel>)],
    ) -> Result<(), CliError> {
        let backward_synapses = &self.synapses[..2];
        let sum = crate::gradients::of_sum(self.endpoints, backward_synapses, self.inputs, last)?;
        let start = Instant::now();
        let backward = sum
            .send(self.dendrite, backward_synapses, None)
            .await
            .map_err(failure)?;
        let backward_time = start.elapsed();
        let delivered = backward.iter().filter(|r| r.all_success()).count();
        let received: u64 = axons
            .iter()
            .map(|(_, model)| model.gradients_received())
            .sum();
        println!(
            "\nbackward: {delivered}/{} endpoints answered Success in {:.2} ms; the axons received {received} gradients",
            sum.endpoints.len(),
            backward_time.as_secs_f64() * 1e3
        );
        Ok(())
    }
}

/// One table row per endpoint × synapse of the last round.
fn print_results(endpoints: &[Endpoint], synapses: &[Synapse], last: &[EndpointResult]) {
    let mut rows = Vec::new();
    for (endpoint, result) in endpoints.iter().zip(last) {
        for (synapse, s) in synapses.iter().zip(&result.synapses) {
            rows.push(vec![
                format!(
                    "{} {} {}:{}",
                    endpoint.uid,
                    table::short(&endpoint.hotkey),
                    endpoint.ip,
                    endpoint.port
                ),
                synapse.name().to_string(),
                s.code.as_str_name().to_string(),
                format!("{:.2}", s.elapsed.as_secs_f64() * 1e3),
                table::shape(s.output.shape()),
            ]);
        }
    }
    table::print(
        &["endpoint", "synapse", "code", "time ms", "output shape"],
        &rows,
    );
}
