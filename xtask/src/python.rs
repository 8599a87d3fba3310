//! The Python module `dendrite_rs` (dendrite-py): its wheel built once with maturin (the PEP 517
//! backend, through `pip wheel ./dendrite-py`), installed into the peer's venv, where its pytest
//! suite runs side by side with the real bittensor 3.7.0 dendrite, and into two venvs without
//! bittensor, where the standalone suite runs: one with the system's torch 1.13 (as 3.x
//! validators ran) and one with torch 2.13 and numpy 2 from PyPI (~1 min, ~5 GB with the CUDA
//! libraries `import torch` needs even on a CPU; removed after the run, skipped when the disk
//! has less than 15 GB free).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::util;

/// The interpreter the peer's venv is made from (Debian's, with its torch 1.13 and numpy).
const SYSTEM_PYTHON: &str = "/usr/bin/python3";

/// Builds the `dendrite_rs` wheel (release, abi3) into `target/wheels/` and returns its path.
pub fn build_wheel(python: &Path) -> Result<PathBuf> {
    let dir = util::root().join("target").join("wheels");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let started = Instant::now();
    util::run(
        Command::new(python)
            .args(["-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir"])
            .arg(&dir)
            .arg(util::root().join("dendrite-py"))
            .current_dir(util::root()),
    )?;
    let wheel = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .context("pip wheel wrote no wheel")?;
    eprintln!(
        "xtask: {} ({:.1} MB) built in {:.0} s",
        wheel.file_name().unwrap_or_default().to_string_lossy(),
        std::fs::metadata(&wheel)?.len() as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok(wheel)
}

/// Installs `wheel` and pytest into `python`'s environment.
pub(crate) fn install(python: &Path, wheel: &Path) -> Result<()> {
    let has_pytest = Command::new(python)
        .args(["-c", "import pytest"])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_pytest {
        util::run(Command::new(python).args(["-m", "pip", "install", "--quiet", "pytest"]))?;
    }
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
            .arg(wheel),
    )
}

/// The peer's python with `dendrite_rs` (freshly built) and pytest installed, and the wheel.
pub fn ready_python() -> Result<(PathBuf, PathBuf)> {
    let python = util::peer_python()?;
    let wheel = build_wheel(&python)?;
    install(&python, &wheel)?;
    Ok((python, wheel))
}

/// A venv of the system python without bittensor (`target/<name>`): with the system's packages
/// (torch 1.13, numpy 1.24), or with `packages` from PyPI instead; the wheel installed.
fn venv(name: &str, packages: &[&str], wheel: &Path) -> Result<PathBuf> {
    let venv = util::root().join("target").join(name);
    let python = venv.join("bin").join("python");
    if !python.exists() {
        let mut create = Command::new(SYSTEM_PYTHON);
        create.args(["-m", "venv"]);
        if packages.is_empty() {
            create.arg("--system-site-packages");
        }
        util::run(create.arg(&venv))?;
    }
    if !packages.is_empty() {
        util::run(
            Command::new(&python)
                .args(["-m", "pip", "install", "--quiet"])
                .args(packages),
        )?;
    }
    install(&python, wheel)?;
    Ok(python)
}

fn pytest(python: &Path, tests: &str, bin_dir: &Path) -> Result<()> {
    util::run(
        Command::new(python)
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
            .arg(util::root().join("dendrite-py").join(tests))
            .env("DENDRITE_BIN", bin_dir.join("dendrite"))
            .env("DENDRITE_SHARED", util::shared())
            .current_dir(util::root()),
    )
}

/// Installs the tool `module` into `python`'s environment unless `python -m module --version`
/// runs already.
fn ensure_module(python: &Path, module: &str) -> Result<()> {
    let present = Command::new(python)
        .args(["-m", module, "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if present {
        return Ok(());
    }
    util::run(Command::new(python).args(["-m", "pip", "install", "--quiet", module]))
}

/// `ruff check` and `ruff format --check` of the Python sources (ruff installed when missing).
fn lint(python: &Path) -> Result<()> {
    ensure_module(python, "ruff")?;
    let dir = util::root().join("dendrite-py");
    util::run(
        Command::new(python)
            .args(["-m", "ruff", "check"])
            .current_dir(&dir),
    )?;
    util::run(
        Command::new(python)
            .args(["-m", "ruff", "format", "--check"])
            .current_dir(&dir),
    )
}

/// `mypy --strict` of the package (`dendrite-py/pyproject.toml` holds its settings), in the
/// 10.x peer's venv, which has pydantic 2 and numpy (mypy installed when missing).
fn typecheck(python: &Path) -> Result<()> {
    ensure_module(python, "mypy")?;
    util::run(
        Command::new(python)
            .args(["-m", "mypy", "--strict", "python/dendrite_rs"])
            .current_dir(util::root().join("dendrite-py")),
    )
}

/// Runs `dendrite-py/tests` (next to bittensor 3.7.0, in the peer's venv), `tests_http` (next
/// to bittensor 10.5.0, in the 10.x peer's venv, without torch), `tests_http11` (bittensor
/// 11.3.0's venv: no Synapse in bittensor, no numpy) and
/// `dendrite-py/tests_standalone` (no bittensor; torch 1.13, then torch 2.13) against the
/// `dendrite` binary in `bin_dir`, after linting the Python sources (ruff; `mypy --strict` with
/// the 10.x peer's venv).
pub fn test(bin_dir: &Path) -> Result<()> {
    let (python, wheel) = ready_python()?;
    lint(&python)?;
    pytest(&python, "tests", bin_dir)?;
    // `dendrite_rs.http` next to bittensor 10.5.0 (no torch), in the 10.x peer's venv.
    let peer10 = util::peer10_python()?;
    install(&peer10, &wheel)?;
    typecheck(&peer10)?;
    pytest(&peer10, "tests_http", bin_dir)?;
    // ... and on bittensor 11.3.0, which removed Synapse and Dendrite (our classes; no numpy).
    let peer11 = util::peer11_python()?;
    install(&peer11, &wheel)?;
    pytest(&peer11, "tests_http11", bin_dir)?;
    let torch1 = venv("py-standalone", &[], &wheel)?;
    pytest(&torch1, "tests_standalone", bin_dir)?;
    torch2(&wheel, bin_dir)
}

/// Free disk the torch 2.x venv needs: ~5 GB of its own, and what later steps build.
const TORCH2_FREE_BYTES: u64 = 15 << 30;

/// The standalone suite with torch 2.13 and numpy 2, in a venv made for the run and removed
/// after it (its CUDA libraries are ~5 GB); skipped, saying so, where the disk is short.
fn torch2(wheel: &Path, bin_dir: &Path) -> Result<()> {
    let target = util::root().join("target");
    let free = free_bytes(&target);
    if free.is_some_and(|free| free < TORCH2_FREE_BYTES) {
        eprintln!(
            "xtask: torch 2.x suite SKIPPED: {:.1} GB free, it needs {} GB",
            free.unwrap_or(0) as f64 / 1e9,
            TORCH2_FREE_BYTES >> 30
        );
        return Ok(());
    }
    let python = venv(
        "py-torch2",
        &[
            "--no-cache-dir",
            crate::setup::TORCH_WHEEL,
            "numpy",
            "pytest",
        ],
        wheel,
    )?;
    let outcome = pytest(&python, "tests_standalone", bin_dir);
    std::fs::remove_dir_all(target.join("py-torch2"))?;
    outcome
}

/// Bytes free on the file system of `path` (`df`), if it can tell.
fn free_bytes(path: &Path) -> Option<u64> {
    let out = Command::new("df")
        .args(["-B1", "--output=avail"])
        .arg(path)
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()?
        .trim()
        .parse()
        .ok()
}
