//! `cargo xtask fuzz [--seconds N] [TARGET...]`: every cargo-fuzz target of `fuzz/` for N
//! seconds, starting from the committed seed corpus (`fuzz/corpus/<target>`, made from the
//! Python-generated fixtures by `fuzz/seeds.py`). New inputs go to `target/fuzz-corpus/`, so the
//! committed corpus only changes by hand. Needs the nightly toolchain; installs cargo-fuzz.

use std::process::Command;

use anyhow::{Context, Result};

use crate::util;

/// The targets, one per decoder of network bytes.
pub const TARGETS: [&str; 9] = [
    "tensor_buffer",
    "tensor_message_response",
    "endpoint_tensor",
    "signature_header",
    "synapse_data",
    "http_answer",
    "btauth_headers",
    "sse_stream",
    "http1_answers",
];

fn has_cargo_fuzz() -> bool {
    Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `quick` (CI's smoke) builds unoptimised and without AddressSanitizer: 2 min 40 s instead of
/// 6 min 40 s on 2 cores; our crates are safe Rust, so ASAN is for the long local runs.
pub fn run(seconds: u64, quick: bool, only: &[String]) -> Result<()> {
    let profile: &[&str] = if quick { &["--dev", "-s", "none"] } else { &[] };
    if !has_cargo_fuzz() {
        util::run(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]))?;
    }
    let root = util::root();
    let fuzz = root.join("fuzz");
    let targets: Vec<&str> = if only.is_empty() {
        TARGETS.to_vec()
    } else {
        only.iter().map(String::as_str).collect()
    };
    // One build of every target (`cargo fuzz run` would rebuild each one's graph otherwise).
    util::run(
        Command::new("cargo")
            .args(["+nightly", "fuzz", "build"])
            .args(profile)
            .current_dir(&fuzz),
    )?;
    for target in targets {
        let work = root.join("target").join("fuzz-corpus").join(target);
        std::fs::create_dir_all(&work).with_context(|| format!("{}", work.display()))?;
        util::run(
            Command::new("cargo")
                .args(["+nightly", "fuzz", "run"])
                .args(profile)
                .arg(target)
                .arg(&work)
                .arg(fuzz.join("corpus").join(target))
                .arg("--")
                .arg(format!("-max_total_time={seconds}"))
                .arg("-rss_limit_mb=2048")
                .arg("-malloc_limit_mb=1024")
                .current_dir(&fuzz),
        )?;
    }
    Ok(())
}
