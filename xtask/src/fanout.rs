//! `cargo xtask bench fanout`: our dendrite's fan-out against toy axons in another process.
//!
//! Builds the release `toy-axons` server and the `dendrite` CLI (`dendrite bench`), serves 4,096
//! memoized toy axons (answers are replayed, so the client is what is measured), and runs:
//! last hidden state `[10, 20, 1024]` f32 to N = 1, 16, 256 endpoints, then `[1, 1]` and
//! `[10, 20]` to all 4,096 (peak RSS and open fds at that size). One JSON line per run.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::Result;

use crate::util::{self, ChildGuard};

/// Starts `count` toy axons writing their endpoints to `out`; returns once they serve.
fn start_axons(release: &Path, count: usize, out: &Path) -> Result<ChildGuard> {
    let mut command = Command::new(release.join("toy-axons"));
    command
        .args(["--count", &count.to_string(), "--memo", "--out"])
        .arg(out);
    util::start_server(
        command,
        "AXONS READY",
        Duration::from_secs(120),
        "toy-axons",
    )
}

pub fn run() -> Result<()> {
    let release = util::dist_bins()?;
    let dir = util::root().join("target").join("bench-fanout");
    std::fs::create_dir_all(&dir)?;
    let endpoints = dir.join("endpoints.json");
    let _axons = start_axons(&release, 4096, &endpoints)?;
    let fanout = |limit: usize, shape: (usize, usize), rounds: usize| {
        util::run(
            Command::new(release.join("dendrite"))
                .args(["bench", "--endpoints"])
                .arg(&endpoints)
                .args(["--limit", &limit.to_string()])
                .args([
                    "--batch",
                    &shape.0.to_string(),
                    "--seq",
                    &shape.1.to_string(),
                ])
                .args(["--rounds", &rounds.to_string()]),
        )
    };
    for n in [1, 16, 256] {
        fanout(n, (10, 20), 30)?;
    }
    fanout(4096, (1, 1), 10)?;
    fanout(4096, (10, 20), 5)
}
