//! `cargo xtask release [--version X.Y.Z] [--dry-run] [--skip-checks]`: everything a release
//! needs, in one command, with nothing uploaded.
//!
//! 1. The version: the workspace's one version (`[workspace.package]` in Cargo.toml, which every
//!    crate and the wheel inherit), or `--version`, which must be semantic and above it. Either
//!    way CHANGELOG.md must have its entry (`## [X.Y.Z]`). A bump rewrites the workspace's
//!    version and its pinned dependencies on our crates, then Cargo.lock; `--dry-run` writes
//!    nothing in the repository and packages the current version.
//! 2. The checks CI runs (fmt, clippy, codegen, every test), unless `--skip-checks` (CI's dry
//!    run, after it ran them).
//! 3. `cargo package` of every publishable crate, in dependency order, each verified by
//!    building it from its packaged sources alone (the others served from a local registry), in
//!    `target/release-verify/` with nothing of an earlier run's packages reused.
//! 4. The documentation as docs.rs builds it: `DOCS_RS` set, no libtorch (`tch/doc-only`), every
//!    warning an error; the binary-only CLI has none.
//! 5. The release `dendrite` binary (its `--version` must print the version) and the
//!    `dendrite-rs` wheel (manylinux2014, built with zig) and sdist, `twine check`ed, the wheel
//!    installed into a fresh venv with no Rust toolchain on `PATH` and making one 10.x call to
//!    the release binary's axon ([`crate::release_wheel`]).
//! 6. `target/artifacts/`: the binary tarball, the wheel, the sdist, the `.crate` files and
//!    `SHA256SUMS`; then the `cargo publish` and `twine upload` commands in order, printed, not
//!    run.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, ensure, Context, Result};

use crate::util;

/// What `cargo xtask release` was asked to do.
pub struct Options {
    /// The version to release (default: the workspace's).
    pub version: Option<String>,
    /// Write nothing in the repository; package the current version.
    pub dry_run: bool,
    /// Skip fmt, clippy and the tests (CI ran them already).
    pub skip_checks: bool,
}

/// Runs the release steps of the module documentation.
pub fn run(options: Options) -> Result<()> {
    let manifest_path = util::root().join("Cargo.toml");
    let manifest = std::fs::read_to_string(&manifest_path)?;
    let current = workspace_version(&manifest)?;
    let wanted = options.version.clone().unwrap_or_else(|| current.clone());
    let wanted_parts = parse_version(&wanted)?;
    if wanted != current {
        ensure!(
            wanted_parts > parse_version(&current)?,
            "--version {wanted} is not above the workspace's {current}"
        );
    }
    let changelog = std::fs::read_to_string(util::root().join("CHANGELOG.md"))
        .context("reading CHANGELOG.md")?;
    ensure!(
        has_changelog_entry(&changelog, &wanted),
        "CHANGELOG.md has no entry for {wanted} (a heading `## [{wanted}]`)"
    );
    let version = if wanted == current {
        current
    } else if options.dry_run {
        eprintln!("xtask: dry run: would bump {current} -> {wanted}; packaging {current}");
        current
    } else {
        std::fs::write(&manifest_path, bump(&manifest, &current, &wanted)?)?;
        util::cargo(&["update", "--workspace", "--offline"])?;
        eprintln!("xtask: bumped {current} -> {wanted} (Cargo.toml, Cargo.lock)");
        wanted
    };

    if options.skip_checks {
        eprintln!("xtask: --skip-checks: fmt, clippy and tests not run here");
    } else {
        crate::ci()?;
    }

    crate::setup::export()?;
    let publishable = publishable_in_order()?;
    let verify_dir = util::root().join("target").join("release-verify");
    forget_unpacked_packages(&publishable, &version)?;
    forget_built_packages(&verify_dir)?;
    let verify_arg = verify_dir.to_string_lossy().into_owned();
    let mut package = vec!["package", "--locked", "--target-dir", &verify_arg];
    for name in &publishable {
        package.extend(["--package", name]);
    }
    util::cargo(&package)?;
    docs_as_docs_rs_builds_them(&publishable)?;

    let binary = release_binary(&version)?;
    let python = crate::release_wheel::build()?;
    crate::release_wheel::smoke(&python.wheel, &binary)?;
    let dist = write_dist(
        &version,
        &publishable,
        &verify_dir.join("package"),
        &binary,
        &[&python.wheel, &python.sdist],
    )?;

    println!(
        "release {version}: {} ready in {}; nothing was uploaded.",
        if options.dry_run {
            "dry run"
        } else {
            "artifacts"
        },
        dist.display()
    );
    println!("To publish, in this order:");
    for name in &publishable {
        println!("  cargo publish --locked --package {name}");
    }
    println!(
        "  python -m twine upload {} {}",
        dist.join(file_name(&python.wheel)?).display(),
        dist.join(file_name(&python.sdist)?).display()
    );
    println!("  git tag v{version} && git push origin v{version}");
    Ok(())
}

/// `[workspace.package] version`.
fn workspace_version(manifest: &str) -> Result<String> {
    let section = manifest
        .split("\n[")
        .find(|s| s.starts_with("workspace.package]"))
        .context("Cargo.toml has no [workspace.package]")?;
    section
        .lines()
        .find_map(|line| {
            let value = line
                .strip_prefix("version")?
                .trim_start()
                .strip_prefix('=')?;
            Some(value.trim().trim_matches('"').to_owned())
        })
        .context("[workspace.package] has no version")
}

/// `X.Y.Z` as numbers (pre-release and build suffixes are not used here).
fn parse_version(version: &str) -> Result<(u64, u64, u64)> {
    let parts: Vec<u64> = version
        .split('.')
        .map(|p| {
            p.parse()
                .ok()
                .filter(|_| !p.is_empty() && !p.starts_with('+'))
        })
        .collect::<Option<_>>()
        .with_context(|| format!("{version:?} is not X.Y.Z"))?;
    let [major, minor, patch] = parts[..] else {
        bail!("{version:?} is not X.Y.Z");
    };
    Ok((major, minor, patch))
}

fn has_changelog_entry(changelog: &str, version: &str) -> bool {
    changelog
        .lines()
        .any(|line| line.starts_with(&format!("## [{version}]")))
}

/// The manifest with the workspace version and our crates' pinned versions set to `to`.
fn bump(manifest: &str, from: &str, to: &str) -> Result<String> {
    let (old, new) = (
        format!("version = \"{from}\""),
        format!("version = \"{to}\""),
    );
    let mut section = String::new();
    let mut changed = 0;
    let lines: Vec<String> = manifest
        .lines()
        .map(|line| {
            if line.starts_with('[') {
                section = line.to_owned();
            }
            let ours = (section == "[workspace.package]" && line.starts_with("version"))
                || (section == "[workspace.dependencies]" && line.starts_with("dendrite"));
            if ours && line.contains(&old) {
                changed += 1;
                line.replace(&old, &new)
            } else {
                line.to_owned()
            }
        })
        .collect();
    ensure!(changed > 1, "found no {old} to bump in Cargo.toml");
    Ok(lines.join("\n") + "\n")
}

/// Deletes what an earlier `cargo package` unpacked of our crates from its local registry.
///
/// `cargo package` verifies a crate against the others through a temporary local registry in
/// `target/package/`, and cargo unpacks such a registry's crates into
/// `$CARGO_HOME/registry/src/-<hash of its path>/`, reusing a directory that already exists without
/// comparing checksums. A second run from the same path (a developer's, or CI's on the same
/// machine) would then verify against the sources of the first: it did here, and a crate failed to
/// build against a dependency's older API. Directories of real registries (`index.*`) are left.
fn forget_unpacked_packages(crates: &[String], version: &str) -> Result<()> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .context("neither CARGO_HOME nor HOME is set")?;
    let Ok(registries) = std::fs::read_dir(cargo_home.join("registry").join("src")) else {
        return Ok(());
    };
    for registry in registries.filter_map(|e| e.ok()) {
        if registry.file_name().to_string_lossy().starts_with("index.") {
            continue;
        }
        for name in crates {
            let unpacked = registry.path().join(format!("{name}-{version}"));
            if unpacked.exists() {
                std::fs::remove_dir_all(&unpacked)
                    .with_context(|| format!("removing {}", unpacked.display()))?;
            }
        }
    }
    Ok(())
}

/// Deletes what an earlier verification built of our crates in `verify_dir` (every name starts
/// with `dendrite`). Cargo takes a registry crate to be immutable and reuses its build by name,
/// version and source; ours change under the same three between runs. Everything else stays
/// cached.
fn forget_built_packages(verify_dir: &Path) -> Result<()> {
    for kind in ["deps", ".fingerprint", "build", "incremental"] {
        let Ok(entries) = std::fs::read_dir(verify_dir.join("debug").join(kind)) else {
            continue;
        };
        for entry in entries.filter_map(|e| e.ok()) {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !(name.starts_with("dendrite") || name.starts_with("libdendrite")) {
                continue;
            }
            let path = entry.path();
            let removed = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            removed.with_context(|| format!("removing {}", path.display()))?;
        }
    }
    Ok(())
}

/// Our crates that go to crates.io (`publish` not false), dependencies first.
fn publishable_in_order() -> Result<Vec<String>> {
    let metadata = util::cargo_metadata(&["--no-deps"])?;
    let packages = metadata["packages"].as_array().cloned().unwrap_or_default();
    let publishable: Vec<(String, Vec<String>)> = packages
        .iter()
        .filter(|p| p["publish"].as_array().is_none_or(|r| !r.is_empty()))
        .map(|p| {
            let name = p["name"].as_str().unwrap_or_default().to_owned();
            let deps = p["dependencies"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|d| d["kind"].as_str() != Some("dev"))
                .filter_map(|d| d["name"].as_str().map(str::to_owned))
                .collect();
            (name, deps)
        })
        .collect();
    let names: Vec<&str> = publishable.iter().map(|(n, _)| n.as_str()).collect();
    let mut ordered: Vec<String> = Vec::new();
    while ordered.len() < publishable.len() {
        let next = publishable.iter().find(|(name, deps)| {
            !ordered.contains(name)
                && deps
                    .iter()
                    .all(|d| !names.contains(&d.as_str()) || ordered.contains(d))
        });
        let Some((name, _)) = next else {
            bail!("our crates' dependencies have a cycle: {names:?}");
        };
        ordered.push(name.clone());
    }
    Ok(ordered)
}

/// `cargo doc` of the library crates with docs.rs's environment: `DOCS_RS=1` (dendrite-autograd's
/// build script then compiles no shim), libtorch absent (`tch/doc-only`), warnings denied.
fn docs_as_docs_rs_builds_them(crates: &[String]) -> Result<()> {
    let mut command = util::cargo_command();
    command.args(["doc", "--no-deps", "--locked"]);
    for name in crates.iter().filter(|n| *n != "dendrite-cli") {
        command.args(["--package", name]);
    }
    command
        .args(["--features", "dendrite/torch,tch/doc-only"])
        .env("DOCS_RS", "1")
        .env("RUSTDOCFLAGS", "-D warnings")
        .env_remove("LIBTORCH")
        .env_remove("LD_LIBRARY_PATH");
    util::run(&mut command)
}

/// Builds the `dendrite` binary users get (profile `dist`) and checks that it reports
/// `version`.
fn release_binary(version: &str) -> Result<PathBuf> {
    util::cargo(&[
        "build",
        "--profile",
        "dist",
        "--locked",
        "--package",
        "dendrite-cli",
        "--bin",
        "dendrite",
    ])?;
    let binary = util::root().join("target/dist/dendrite");
    let output = Command::new(&binary).arg("--version").output()?;
    let printed = String::from_utf8_lossy(&output.stdout);
    ensure!(
        output.status.success() && printed.trim() == format!("dendrite {version}"),
        "`dendrite --version` printed {printed:?}, not \"dendrite {version}\""
    );
    Ok(binary)
}

fn file_name(path: &Path) -> Result<String> {
    Ok(path
        .file_name()
        .context("a path without a file name")?
        .to_string_lossy()
        .into_owned())
}

/// Fills `target/artifacts/` (emptied first) from the binary, the Python distributions and the
/// `.crate` files in `packaged`, and writes its `SHA256SUMS`.
fn write_dist(
    version: &str,
    crates: &[String],
    packaged: &Path,
    binary: &Path,
    python: &[&Path],
) -> Result<PathBuf> {
    let dist = util::root().join("target/artifacts");
    if dist.exists() {
        std::fs::remove_dir_all(&dist)?;
    }
    let stage_name = format!("dendrite-{version}-x86_64-unknown-linux-gnu");
    let stage = dist.join(&stage_name);
    std::fs::create_dir_all(&stage)?;
    std::fs::copy(binary, stage.join("dendrite"))?;
    for doc in ["README.md", "LICENSE", "CHANGELOG.md"] {
        std::fs::copy(util::root().join(doc), stage.join(doc))?;
    }
    util::run(
        Command::new("tar")
            .arg("-czf")
            .arg(format!("{stage_name}.tar.gz"))
            .arg(&stage_name)
            .current_dir(&dist),
    )?;
    std::fs::remove_dir_all(&stage)?;
    for file in python {
        std::fs::copy(file, dist.join(file_name(file)?))?;
    }
    for name in crates {
        let file = format!("{name}-{version}.crate");
        let packaged = packaged.join(&file);
        std::fs::copy(&packaged, dist.join(&file))
            .with_context(|| format!("copying {}", packaged.display()))?;
    }
    let mut files: Vec<String> = std::fs::read_dir(&dist)?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    files.sort();
    let sums = Command::new("sha256sum")
        .args(&files)
        .current_dir(&dist)
        .output()
        .context("running sha256sum")?;
    ensure!(sums.status.success(), "sha256sum failed");
    std::fs::write(dist.join("SHA256SUMS"), &sums.stdout)?;
    for file in &files {
        let size = std::fs::metadata(dist.join(file))?.len();
        eprintln!("xtask: artifacts/{file} ({:.1} MB)", size as f64 / 1e6);
    }
    Ok(dist)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = "[workspace]\nmembers = []\n\n[workspace.package]\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace.dependencies]\ndendrite-wire = { path = \"dendrite-wire\", version = \"0.1.0\" }\nother = { version = \"0.1.0\" }\n";

    #[test]
    fn versions_are_read_compared_and_bumped() {
        assert_eq!(workspace_version(MANIFEST).unwrap(), "0.1.0");
        assert!(parse_version("0.2.0").unwrap() > parse_version("0.1.9").unwrap());
        for bad in ["1.2", "1.2.x", "1.2.3.4", "", "v1.2.3"] {
            assert!(parse_version(bad).is_err(), "{bad}");
        }
        let bumped = bump(MANIFEST, "0.1.0", "0.2.0").unwrap();
        assert_eq!(workspace_version(&bumped).unwrap(), "0.2.0");
        assert!(
            bumped.contains("dendrite-wire = { path = \"dendrite-wire\", version = \"0.2.0\" }")
        );
        assert!(
            bumped.contains("other = { version = \"0.1.0\" }"),
            "not ours: untouched"
        );
    }

    #[test]
    fn the_changelog_needs_the_exact_entry() {
        let changelog = "# Changelog\n\n## [0.1.0] - unreleased\n";
        assert!(has_changelog_entry(changelog, "0.1.0"));
        assert!(!has_changelog_entry(changelog, "0.1.1"));
        assert!(!has_changelog_entry(changelog, "0.1"));
    }

    #[test]
    fn the_workspace_publishes_dependencies_first() {
        let order = publishable_in_order().unwrap();
        let at = |name: &str| order.iter().position(|n| n == name).unwrap();
        assert!(!order.iter().any(|n| n == "xtask" || n == "dendrite-py"));
        assert!(at("dendrite-wire") < at("dendrite-keys"));
        assert!(at("dendrite-keys") < at("dendrite-core"));
        assert!(at("dendrite-core") < at("dendrite"));
        assert!(at("dendrite") < at("dendrite-cli"));
    }
}
