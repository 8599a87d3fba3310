//! `--metrics-port`: Prometheus `/metrics` (and `/stats`) while a command runs.

use std::net::{IpAddr, SocketAddr};

use clap::Args;
use dendrite::metrics::{serve_metrics, Level, MetricsServer};
use dendrite::Dendrite;

use crate::CliError;

/// Options to expose metrics.
#[derive(Args)]
pub struct MetricsArgs {
    /// Serve Prometheus metrics on this port while the command runs (0 picks a free one).
    #[arg(long)]
    metrics_port: Option<u16>,
    /// Address of the metrics endpoint.
    #[arg(long, default_value = "127.0.0.1", requires = "metrics_port")]
    metrics_ip: IpAddr,
}

impl MetricsArgs {
    /// The level to count at: `configured` while an exporter serves the series, else OFF
    /// (counting what nothing can read costs a query ~2% of its CPU).
    pub fn level(&self, configured: Level) -> Level {
        if self.metrics_port.is_some() {
            configured
        } else {
            Level::Off
        }
    }
}

/// Starts the exporter when asked; keep the returned server alive while the command runs.
pub async fn start(
    args: &MetricsArgs,
    dendrite: &Dendrite,
) -> Result<Option<MetricsServer>, CliError> {
    let Some(port) = args.metrics_port else {
        return Ok(None);
    };
    let metrics = dendrite.metrics().cloned().ok_or_else(|| {
        CliError::input("--metrics-port needs metrics, but BT_DENDRITE_PROMETHEUS_LEVEL is OFF")
    })?;
    let addr = SocketAddr::new(args.metrics_ip, port);
    let server = serve_metrics(addr, metrics)
        .await
        .map_err(|e| CliError::input(format!("cannot serve metrics on {addr}: {e}")))?;
    eprintln!("metrics: http://{}/metrics", server.local_addr());
    Ok(Some(server))
}
