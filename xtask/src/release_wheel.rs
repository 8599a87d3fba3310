//! The Python distribution a release ships, as PyPI takes it: a manylinux wheel and an sdist of
//! `dendrite-py`, checked, then installed where a validator would install it.
//!
//! - **The wheel** is built by maturin with zig as the linker (`--zig --compatibility
//!   manylinux2014`): glibc 2.17's symbols only, whatever the build machine's glibc, so it is
//!   tagged `manylinux2014` / `manylinux_2_17` (a plain `maturin build` here gets the build
//!   machine's floor, `manylinux_2_34`; pip's PEP 517 build the unuploadable `linux_x86_64`).
//!   maturin's own audit refuses a wheel that links anything past its tag.
//! - **The sdist** is maturin's (the workspace crates it needs included), for platforms without
//!   a wheel.
//! - **`twine check`** of both: the metadata (description, classifiers, URLs, extras) renders.
//! - **Installed without Rust**: a fresh venv (no system packages), `PATH` without any cargo or
//!   rustc (checked), the wheel installed with its dependencies from PyPI; it imports
//!   `dendrite_rs.http` (no torch, no bittensor) and makes one 10.x call to our axon (the
//!   release binary), which must answer 200 with the toy's result.
//!
//! The tools (maturin, ziglang, twine) live in their own venv, `target/release-tools`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{ensure, Context, Result};

use crate::util;

/// The system interpreter the venvs are made from.
const SYSTEM_PYTHON: &str = "/usr/bin/python3";

/// The wheel's platform tag: glibc 2.17 (manylinux2014), what zig links against.
const COMPATIBILITY: &str = "manylinux2014";

/// The wheel and the sdist, built and checked.
pub struct Distribution {
    /// The manylinux wheel.
    pub wheel: PathBuf,
    /// The source distribution.
    pub sdist: PathBuf,
}

/// Builds the wheel and the sdist into `target/release-wheel/` and checks both with twine.
pub fn build() -> Result<Distribution> {
    let tools = tools()?;
    let out = util::root().join("target/release-wheel");
    if out.exists() {
        std::fs::remove_dir_all(&out)?;
    }
    let with_tools = |program: &str| {
        let mut command = Command::new(tools.join("bin").join(program));
        let path = std::env::var("PATH").unwrap_or_default();
        // maturin finds zig as `python -m ziglang` of the python on PATH: the tools venv's.
        command
            .env("PATH", format!("{}:{path}", tools.join("bin").display()))
            .current_dir(util::root().join("dendrite-py"));
        command
    };
    util::run(
        with_tools("maturin")
            .args(["build", "--release", "--locked", "--zig"])
            .args(["--compatibility", COMPATIBILITY, "--out"])
            .arg(&out),
    )?;
    util::run(with_tools("maturin").args(["sdist", "--out"]).arg(&out))?;
    let find = |suffix: &str| -> Result<PathBuf> {
        std::fs::read_dir(&out)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.to_string_lossy().ends_with(suffix))
            .with_context(|| format!("maturin wrote no {suffix}"))
    };
    let (wheel, sdist) = (find(".whl")?, find(".tar.gz")?);
    let name = wheel.file_name().unwrap_or_default().to_string_lossy();
    ensure!(
        name.contains("manylinux2014_x86_64") && name.contains("manylinux_2_17_x86_64"),
        "the wheel is not tagged for glibc 2.17: {name}"
    );
    util::run(with_tools("twine").arg("check").arg(&wheel).arg(&sdist))?;
    for file in [&wheel, &sdist] {
        eprintln!(
            "xtask: {} ({:.1} MB)",
            file.display(),
            std::fs::metadata(file)?.len() as f64 / 1e6
        );
    }
    Ok(Distribution { wheel, sdist })
}

/// The tools venv: maturin (the project's range), ziglang (maturin's `--zig` linker) and twine,
/// installed once.
fn tools() -> Result<PathBuf> {
    let venv = util::root().join("target/release-tools");
    let ready = venv.join("bin/maturin").exists()
        && venv.join("bin/twine").exists()
        && Command::new(venv.join("bin/python"))
            .args(["-c", "import ziglang"])
            .status()
            .is_ok_and(|s| s.success());
    if !ready {
        util::run(Command::new(SYSTEM_PYTHON).args(["-m", "venv"]).arg(&venv))?;
        util::run(
            Command::new(venv.join("bin/python"))
                .args(["-m", "pip", "install", "--quiet"])
                .args(["maturin>=1.9.4,<2", "ziglang", "twine"]),
        )?;
    }
    Ok(venv)
}

/// A `PATH` of the system's directories only, without any that holds cargo or rustc.
fn path_without_rust() -> Result<String> {
    let kept: Vec<&str> = ["/usr/local/bin", "/usr/bin", "/bin"]
        .into_iter()
        .filter(|dir| {
            !["cargo", "rustc"]
                .iter()
                .any(|tool| Path::new(dir).join(tool).exists())
        })
        .collect();
    ensure!(
        !kept.is_empty(),
        "no system directory without a Rust toolchain"
    );
    Ok(kept.join(":"))
}

/// Installs `wheel` into a fresh venv with no Rust toolchain on `PATH` and makes one 10.x call
/// from it to our axon (`bin`: the release `dendrite`).
pub fn smoke(wheel: &Path, bin: &Path) -> Result<()> {
    let venv = util::root().join("target/release-smoke");
    if venv.exists() {
        std::fs::remove_dir_all(&venv)?;
    }
    let path = format!("{}:{}", venv.join("bin").display(), path_without_rust()?);
    let clean = |program: &Path| {
        let mut command = Command::new(program);
        command
            .env_clear()
            .env("HOME", std::env::var("HOME").unwrap_or_default())
            .env("PATH", &path);
        command
    };
    util::run(
        clean(Path::new(SYSTEM_PYTHON))
            .args(["-m", "venv"])
            .arg(&venv),
    )?;
    let rust = clean(Path::new("/bin/sh"))
        .args(["-c", "command -v cargo || command -v rustc"])
        .output()?;
    ensure!(
        !rust.status.success(),
        "a Rust toolchain is on the smoke test's PATH: {}",
        String::from_utf8_lossy(&rust.stdout)
    );
    let python = venv.join("bin/python");
    util::run(
        clean(&python)
            .args(["-m", "pip", "install", "--quiet", "--only-binary", ":all:"])
            .arg(wheel),
    )?;
    let info = venv.join("axon.json");
    let mut axon = Command::new(bin);
    axon.args([
        "axon",
        "--protocol",
        "http",
        "--port",
        "0",
        "--run-seconds",
        "120",
    ])
    .arg("--info-out")
    .arg(&info);
    let _axon = util::start_server(axon, "AXON READY", Duration::from_secs(30), "our axon")?;
    let call = r#"
import asyncio, json, sys, types
from typing import Optional
import dendrite_rs.http
from dendrite_rs.http import Dendrite, Synapse

class Dummy(Synapse):
    dummy_input: int
    dummy_output: Optional[int] = None

axon = types.SimpleNamespace(**json.load(open(sys.argv[1])))
answer = asyncio.run(Dendrite("//Alice")(axon, Dummy(dummy_input=21), deserialize=False))
assert answer.dendrite.status_code == 200 and answer.dummy_output == 42, answer
print("release smoke: dendrite_rs.http from the wheel, one 10.x call answered 200")
"#;
    util::run(clean(&python).arg("-c").arg(call).arg(&info))
}
