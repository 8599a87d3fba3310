//! `cargo xtask fixtures`: regenerate the golden fixtures with the real Python bittensor 3.7.0.
//!
//! The peer (bittensor 3.7.0, CPU torch) is installed by `shared/peer/setup.sh`; each script in
//! `xtask/py/` writes one fixture file that the Rust tests read.

use crate::util::{self, peer_python, root, shared};
use anyhow::Result;
use std::process::Command;

/// (script in xtask/py, fixture it writes)
const FIXTURES: &[(&str, &str)] = &[("wire_fixtures.py", "dendrite-wire/tests/fixtures/wire.json")];

/// Regenerates every fixture.
pub fn run() -> Result<()> {
    let python = peer_python()?;
    let root = root();
    for (script, out) in FIXTURES {
        util::run(
            Command::new(&python)
                .arg(root.join("xtask/py").join(script))
                .arg(root.join(out))
                .env("DENDRITE_SHARED", shared()),
        )?;
    }
    Ok(())
}
