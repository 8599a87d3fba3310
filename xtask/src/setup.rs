//! `cargo xtask setup`: libtorch 2.13.0 for tch 0.26, from the PyPI wheel (the only source this
//! project's machines reach), into `~/.cache/libtorch-2.13.0` (override: `TORCH_DIR`), outside the
//! repository. Idempotent. `libtorch_cpu.so` needs `libcudart.so.13` and `libcupti.so.13` at load
//! time even on CPU, hence the two small NVIDIA wheels (found through libtorch's RPATH).

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result};

use crate::util;

/// The torch wheel libtorch comes from (also the torch 2.x the Python module is tested with).
pub const TORCH_WHEEL: &str = "torch==2.13.0";

const WHEELS: [&str; 3] = [
    TORCH_WHEEL,
    "nvidia-cuda-runtime==13.0.96",
    "nvidia-cuda-cupti==13.0.85",
];

/// Where libtorch lives: `$TORCH_DIR/torch`.
pub fn torch_dir() -> PathBuf {
    std::env::var_os("TORCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_default();
            home.join(".cache").join("libtorch-2.13.0")
        })
}

/// The `LIBTORCH` directory, installing it first if needed.
pub fn libtorch() -> Result<PathBuf> {
    let dir = torch_dir();
    let libtorch = dir.join("torch");
    let marker = libtorch.join("lib").join("libtorch_cpu.so");
    let cudart = dir.join("nvidia");
    if !marker.exists() || !cudart.exists() {
        eprintln!(
            "xtask: installing libtorch 2.13.0 into {} (~540 MB) ...",
            dir.display()
        );
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        util::run(
            Command::new(python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "-q",
                    "--no-deps",
                    "--disable-pip-version-check",
                ])
                .arg("--target")
                .arg(&dir)
                .args(WHEELS),
        )
        .context("installing the torch wheel with pip")?;
    }
    Ok(libtorch)
}

/// Installs libtorch and prints the environment to use it.
pub fn run() -> Result<()> {
    let libtorch = libtorch()?;
    let lib = libtorch.join("lib");
    println!("export LIBTORCH={}", libtorch.display());
    println!(
        "export LD_LIBRARY_PATH={}${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}",
        lib.display()
    );
    Ok(())
}

/// Points the libtorch crates at libtorch for the cargo runs that follow (installing it first
/// if needed). Call before any thread starts: it sets this process's environment.
pub fn export() -> Result<()> {
    let libtorch = libtorch()?;
    if std::env::var_os("LIBTORCH").is_none() {
        std::env::set_var("LIBTORCH", libtorch);
    }
    Ok(())
}
