//! `dendrite axon`: the toy model served as a Bittensor 3.x axon, or (`--protocol http`) the
//! toy synapses of `shared/peer10/synapses.py` served as a bittensor 10.x HTTP axon.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use dendrite::Keypair;
use dendrite_axon::{serve, AxonConfig, ToyModel, DEFAULT_GRADIENT_LOG_BYTES};

use crate::CliError;

/// Options of `dendrite axon`.
#[derive(Args)]
pub struct AxonArgs {
    /// Port to listen on (0 picks a free one).
    #[arg(long)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    ip: IpAddr,
    /// The axon's hotkey as a dev URI, mnemonic or 0x seed.
    #[arg(long, default_value = "//Bob")]
    uri: String,
    /// Also write the endpoint JSON (hotkey, ip, port, version, pid) to this file.
    #[arg(long)]
    info_out: Option<PathBuf>,
    /// Stop after this many seconds (default: run until interrupted).
    #[arg(long)]
    run_seconds: Option<f64>,
    /// Compress responses for callers that accept it (default: plain, as the Python axon).
    #[arg(long, value_enum)]
    compression: Option<crate::policy::CompressionChoice>,
    /// Append one JSON line per received gradient to this file (caller, synapse, shape, sum,
    /// the first values), so that other processes can see what Backward delivered. Without it
    /// gradients are counted, not kept.
    #[arg(long)]
    grad_log: Option<PathBuf>,
    /// Which wire: the 3.x gRPC service, or the 10.x HTTP synapses (Dummy, TensorEcho, Hashed,
    /// Slow, Stream, with 10.5.0's checks).
    #[arg(long, value_enum, default_value = "grpc")]
    protocol: Protocol,
    /// (http) Refuse this dendrite hotkey with 403; repeatable.
    #[arg(long)]
    blacklist: Vec<String>,
    /// (http) Also require btauth/1 (bittensor 11's `http_auth`) on every request.
    #[arg(long)]
    btauth: bool,
    /// (http) Seconds a connection may wait for a request's whole head (trickled heads and idle
    /// keep-alive connections are closed past it).
    #[arg(long, default_value_t = dendrite_axon::http::DEFAULT_HEADER_TIMEOUT.as_secs_f64())]
    header_timeout: f64,
    /// (http) Seconds a request's body may take once its head came (408 past it).
    #[arg(long, default_value_t = dendrite_axon::http::DEFAULT_BODY_TIMEOUT.as_secs_f64())]
    body_timeout: f64,
    /// (http) Connections open at once; more are closed as accepted.
    #[arg(long, default_value_t = dendrite_axon::http::DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
    /// (http) Connections open at once from one IP address; more are closed as accepted.
    #[arg(long, default_value_t = dendrite_axon::http::DEFAULT_MAX_CONNECTIONS_PER_IP)]
    max_connections_per_ip: usize,
    /// (http) Also serve `Paths`, a price-path subnet's synapse (`n_paths` walks of `n_steps`
    /// prices), for tests and benchmarks of numeric answers.
    #[arg(long)]
    serve_paths: bool,
}

/// The wires an axon can serve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    /// Bittensor 3.x: gRPC `/Bittensor/Forward` and `/Bittensor/Backward`.
    Grpc,
    /// Bittensor 10.x: `POST /{Synapse}` over HTTP/1.1.
    Http,
}

/// How often received gradients are appended to `--grad-log`.
const GRAD_LOG_INTERVAL: Duration = Duration::from_millis(20);

pub async fn run(args: AxonArgs) -> Result<(), CliError> {
    let key = Keypair::from_uri(&args.uri).map_err(CliError::input)?;
    let limit = match args.run_seconds {
        Some(s) => dendrite::core::seconds(
            "--run-seconds",
            s,
            dendrite::core::SecondsRange::NonNegative,
        )
        .map_err(CliError::input)?,
        None => Duration::from_secs(u64::MAX / 4),
    };
    if args.protocol == Protocol::Http {
        return run_http(&key, &args, limit).await;
    }
    let config = AxonConfig {
        addr: SocketAddr::new(args.ip, args.port),
        compression: args.compression.map(Into::into),
        ..AxonConfig::default()
    };
    // Gradients are kept only to be written out, in a log bounded in bytes between writes.
    let model = Arc::new(match args.grad_log {
        Some(_) => ToyModel::recording(DEFAULT_GRADIENT_LOG_BYTES),
        None => ToyModel::new(),
    });
    let handle = serve(&key, model.clone(), config)
        .await
        .map_err(CliError::input)?;
    if let Some(path) = args.grad_log.clone() {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| CliError::input(format!("cannot open {}: {e}", path.display())))?;
        tokio::spawn(async move {
            use std::io::Write;
            loop {
                tokio::time::sleep(GRAD_LOG_INTERVAL).await;
                for gradient in model.take_gradients() {
                    if let Err(e) = writeln!(file, "{}", gradient_line(&gradient)) {
                        tracing::warn!("grad log {}: {e}", path.display());
                    }
                }
            }
        });
    }
    let info = handle.info_json(std::process::id());
    announce(&info, args.info_out.as_deref())?;
    until_stopped(limit).await;
    handle.shutdown().await;
    Ok(())
}

/// `--protocol http`: the 10.x axon.
async fn run_http(key: &Keypair, args: &AxonArgs, limit: Duration) -> Result<(), CliError> {
    let positive = |flag, value| {
        dendrite::core::seconds(flag, value, dendrite::core::SecondsRange::Positive)
            .map_err(CliError::input)
    };
    let config = dendrite_axon::http::HttpAxonConfig {
        addr: SocketAddr::new(args.ip, args.port),
        blacklist: args.blacklist.clone(),
        btauth: args.btauth,
        header_timeout: positive("--header-timeout", args.header_timeout)?,
        body_timeout: positive("--body-timeout", args.body_timeout)?,
        max_connections: args.max_connections.max(1),
        max_connections_per_ip: args.max_connections_per_ip.max(1),
        serve_paths: args.serve_paths,
        ..Default::default()
    };
    let handle = dendrite_axon::http::serve_http(key, config)
        .await
        .map_err(CliError::input)?;
    announce(
        &handle.info_json(std::process::id()),
        args.info_out.as_deref(),
    )?;
    until_stopped(limit).await;
    handle.shutdown().await;
    Ok(())
}

/// Writes the axon's info to `--info-out` and prints `AXON READY {info}`.
fn announce(info: &str, info_out: Option<&std::path::Path>) -> Result<(), CliError> {
    if let Some(path) = info_out {
        std::fs::write(path, info)
            .map_err(|e| CliError::input(format!("cannot write {}: {e}", path.display())))?;
    }
    println!("AXON READY {info}");
    Ok(())
}

/// Until `limit` passes or Ctrl-C.
async fn until_stopped(limit: Duration) {
    tokio::select! {
        _ = tokio::time::sleep(limit) => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// One `--grad-log` line: who sent which synapse's gradient, its shape, sum and first values.
fn gradient_line(gradient: &dendrite_axon::ReceivedGradient) -> String {
    let values = gradient.grad.cast(dendrite::DType::Float32).to_vec::<f32>();
    let sum: f64 = values.iter().map(|&v| f64::from(v)).sum();
    serde_json::json!({
        "caller": gradient.caller,
        "synapse": gradient.synapse.name(),
        "shape": gradient.grad.shape(),
        "input_shape": gradient.input.shape(),
        "sum": sum,
        "first": values.iter().take(8).collect::<Vec<_>>(),
    })
    .to_string()
}
