//! The Python module `dendrite_rs` (dendrite-py): installed into the peer's venv with
//! `pip install ./dendrite-py` (maturin as the PEP 517 backend), and its pytest suite run side by
//! side with the real bittensor 3.7.0 dendrite against the same axons.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::Result;

use crate::util;

/// Installs `dendrite_rs` into `python`'s environment (a release build through maturin; cargo
/// rebuilds only what changed) and returns the seconds it took.
pub fn install(python: &Path) -> Result<f64> {
    let started = Instant::now();
    util::run(
        Command::new(python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--force-reinstall",
            ])
            .arg(util::root().join("dendrite-py"))
            .current_dir(util::root()),
    )?;
    Ok(started.elapsed().as_secs_f64())
}

/// The peer's python, with `dendrite_rs` and pytest installed.
pub fn ready_python() -> Result<PathBuf> {
    let python = util::peer_python()?;
    let has_pytest = Command::new(&python)
        .args(["-c", "import pytest"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_pytest {
        util::run(Command::new(&python).args(["-m", "pip", "install", "--quiet", "pytest"]))?;
    }
    let seconds = install(&python)?;
    eprintln!("xtask: dendrite_rs installed in {seconds:.0} s");
    Ok(python)
}

/// Runs `dendrite-py/tests` against the `dendrite` binary in `bin_dir` (our toy axon).
pub fn test(bin_dir: &Path) -> Result<()> {
    let python = ready_python()?;
    util::run(
        Command::new(&python)
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
            .arg(util::root().join("dendrite-py").join("tests"))
            .env("DENDRITE_BIN", bin_dir.join("dendrite"))
            .env("DENDRITE_SHARED", util::shared())
            .current_dir(util::root()),
    )
}
