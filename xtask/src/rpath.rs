//! The libtorch rpath check: every binary, test and example of the test selection that needs
//! libtorch must find it without `LD_LIBRARY_PATH`, as a new user runs it from a clean shell.
//!
//! An rpath set by a build script (`cargo:rustc-link-arg`) applies to that package's targets
//! only, never to its dependents': a crate that links libtorch through feature unification
//! (the CLI with `--features dendrite/torch`) needs its own (`dendrite-cli/build.rs`). This
//! check reads what was built rather than the manifests, so it also catches a crate added
//! later: it lists the executables cargo built (`--message-format=json`) and reads each one's
//! dynamic section with `readelf -d` (binutils, which the C++ toolchain the shim needs brings).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::util;

/// The library whose users are checked.
const LIBTORCH: &str = "libtorch_cpu.so";

/// What an ELF file's dynamic section says about its libraries.
#[derive(Debug, Default, PartialEq)]
struct Dynamic {
    needed: Vec<String>,
    search_path: Vec<String>,
}

/// Parses `readelf -d` output: `(NEEDED) ... [lib]`, `(RUNPATH)`/`(RPATH) ... [a:b]`.
fn parse_readelf(text: &str) -> Dynamic {
    let mut dynamic = Dynamic::default();
    for line in text.lines() {
        let value = || {
            let start = line.find('[')? + 1;
            let end = line.rfind(']')?;
            line.get(start..end)
        };
        if line.contains("(NEEDED)") {
            dynamic.needed.extend(value().map(str::to_owned));
        } else if line.contains("(RUNPATH)") || line.contains("(RPATH)") {
            if let Some(paths) = value() {
                dynamic
                    .search_path
                    .extend(paths.split(':').map(str::to_owned));
            }
        }
    }
    dynamic
}

/// Why `file`, which needs libtorch, would not find it from a clean shell; `None` if it would
/// or if it does not need libtorch.
fn missing_rpath(file: &Path, dynamic: &Dynamic) -> Option<String> {
    if !dynamic.needed.iter().any(|n| n.starts_with("libtorch")) {
        return None;
    }
    let found = dynamic
        .search_path
        .iter()
        .any(|dir| Path::new(dir).join(LIBTORCH).is_file());
    (!found).then(|| {
        format!(
            "{} needs libtorch but its rpath ({}) has no {LIBTORCH}",
            file.display(),
            if dynamic.search_path.is_empty() {
                "none".to_owned()
            } else {
                dynamic.search_path.join(":")
            }
        )
    })
}

/// The executables `cargo test <selection> --all-targets --no-run` builds (tests, examples,
/// binaries), built as a side effect.
fn executables() -> Result<Vec<PathBuf>> {
    let output = util::cargo_command()
        .args(["test", "--no-run", "--all-targets", "--message-format=json"])
        .args(util::SELECTION)
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running cargo test --no-run")?;
    if !output.status.success() {
        bail!("cargo test --no-run failed: {}", output.status);
    }
    let mut files = Vec::new();
    for line in output.stdout.split(|&b| b == b'\n') {
        let Ok(message) = serde_json::from_slice::<serde_json::Value>(line) else {
            continue;
        };
        if let Some(path) = message.get("executable").and_then(|e| e.as_str()) {
            files.push(PathBuf::from(path));
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

/// Fails naming every built executable that needs libtorch and would not find it.
pub fn check() -> Result<()> {
    let files = executables()?;
    let mut problems = Vec::new();
    let mut users = 0;
    for file in &files {
        let output = std::process::Command::new("readelf")
            .arg("-d")
            .arg(file)
            .output()
            .context("running readelf (binutils)")?;
        let dynamic = parse_readelf(&String::from_utf8_lossy(&output.stdout));
        if dynamic.needed.iter().any(|n| n.starts_with("libtorch")) {
            users += 1;
        }
        problems.extend(missing_rpath(file, &dynamic));
    }
    if !problems.is_empty() {
        bail!(
            "{} of {} executables would not find libtorch without LD_LIBRARY_PATH (give their \
             crate a build script that sets the rpath, as dendrite-cli/build.rs does):\n{}",
            problems.len(),
            files.len(),
            problems.join("\n")
        );
    }
    eprintln!(
        "xtask: rpath: {users} of {} executables link libtorch, each with an rpath to it",
        files.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "
Dynamic section at offset 0x5e8 contains 34 entries:
  Tag        Type                         Name/Value
 0x0000000000000001 (NEEDED)             Shared library: [libtorch_cpu.so]
 0x0000000000000001 (NEEDED)             Shared library: [libc.so.6]
 0x000000000000001d (RUNPATH)            Library runpath: [/nowhere:/opt/torch/lib]
 0x000000000000000c (INIT)               0x1000
";

    #[test]
    fn readelf_output_gives_needed_libraries_and_search_path() {
        assert_eq!(
            parse_readelf(SAMPLE),
            Dynamic {
                needed: vec!["libtorch_cpu.so".into(), "libc.so.6".into()],
                search_path: vec!["/nowhere".into(), "/opt/torch/lib".into()],
            }
        );
    }

    #[test]
    fn a_libtorch_user_needs_a_search_path_entry_holding_libtorch() {
        let dir = std::env::temp_dir().join(format!("xtask-rpath-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(LIBTORCH), b"").unwrap();
        let file = Path::new("target/debug/dendrite");
        let mut dynamic = parse_readelf(SAMPLE);
        assert!(missing_rpath(file, &dynamic).is_some(), "no entry holds it");
        dynamic.search_path.push(dir.display().to_string());
        assert_eq!(missing_rpath(file, &dynamic), None);
        dynamic.search_path.clear();
        let why = missing_rpath(file, &dynamic).unwrap();
        assert!(
            why.contains("target/debug/dendrite") && why.contains("none"),
            "{why}"
        );
        dynamic.needed.retain(|n| !n.starts_with("libtorch"));
        assert_eq!(missing_rpath(file, &dynamic), None, "not a libtorch user");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
