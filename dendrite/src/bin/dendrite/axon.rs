//! `dendrite axon`: the toy model served as a Bittensor 3.x axon.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use dendrite::axon::{serve, AxonConfig, ToyModel};
use dendrite::Keypair;

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
}

pub async fn run(args: AxonArgs) -> Result<(), CliError> {
    let key = Keypair::from_uri(&args.uri).map_err(CliError::input)?;
    let config = AxonConfig {
        addr: SocketAddr::new(args.ip, args.port),
        compression: args.compression.map(Into::into),
        ..AxonConfig::default()
    };
    let handle = serve(&key, Arc::new(ToyModel::new()), config)
        .await
        .map_err(CliError::input)?;
    let info = handle.info_json(std::process::id());
    if let Some(path) = &args.info_out {
        std::fs::write(path, &info)
            .map_err(|e| CliError::input(format!("cannot write {}: {e}", path.display())))?;
    }
    println!("AXON READY {info}");
    let limit = match args.run_seconds {
        Some(s) if s.is_finite() && s >= 0.0 => Duration::from_secs_f64(s),
        Some(s) => {
            return Err(CliError::input(format!(
                "--run-seconds {s} is not a duration"
            )))
        }
        None => Duration::from_secs(u64::MAX / 4),
    };
    tokio::select! {
        _ = tokio::time::sleep(limit) => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    handle.shutdown().await;
    Ok(())
}
