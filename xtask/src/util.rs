//! Small helpers shared by the xtask commands.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root (the parent of the xtask crate).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// The shared folder with the Python peer and the reference sources.
pub fn shared() -> PathBuf {
    std::env::var_os("DENDRITE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("..").join("shared"))
}

/// The package selection and features of every xtask build: the whole workspace but xtask
/// itself and the Python extension, with the facade's torch face. The extension is built by
/// maturin on its own: in this selection feature unification would link libtorch into it. Builds that select packages differently resolve
/// dependency features and profiles differently and rebuild the graph; keeping one selection
/// builds everything once. xtask stays out because its codegen dependencies pull
/// `proc-macro2`/`syn` in as normal dependencies too, which gives them (and every proc macro
/// above them) another profile than in a selection without it: `--doc`, which never builds
/// the bin-only xtask, then rebuilt the whole graph (3+ min and ~3 GB on CI).
pub const SELECTION: [&str; 7] = [
    "--workspace",
    "--exclude",
    "xtask",
    "--exclude",
    "dendrite-py",
    "--features",
    "dendrite/torch",
];

/// The cargo that runs xtask (`$CARGO`, else `cargo` on the path), in the workspace root.
pub fn cargo_command() -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(root());
    command
}

/// Runs `cargo <args>` in the workspace root and fails if it fails.
pub fn cargo(args: &[&str]) -> Result<()> {
    run(cargo_command().args(args))
}

/// `cargo metadata --format-version 1 --locked <args>` of the workspace, parsed.
pub fn cargo_metadata(args: &[&str]) -> Result<serde_json::Value> {
    let output = cargo_command()
        .args(["metadata", "--format-version", "1", "--locked"])
        .args(args)
        .output()
        .context("running cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(serde_json::from_slice(&output.stdout)?)
}

/// Builds the `dendrite` and `toy-axons` binaries of benchmarks and simulations as users get
/// them (profile `dist`: release with fat LTO, one codegen unit) and returns their folder.
/// Without the torch face: a binary linking libtorch carries ~100 MB of RSS it never uses.
pub fn dist_bins() -> Result<std::path::PathBuf> {
    bins("dist")
}

/// The `dendrite` and `toy-axons` binaries of cargo profile `profile` (`dev`, `dist`), built,
/// and their folder.
pub fn bins(profile: &str) -> Result<std::path::PathBuf> {
    cargo(&[
        "build",
        "--profile",
        profile,
        "--package",
        "dendrite-cli",
        "--package",
        "dendrite-axon",
        "--bin",
        "dendrite",
        "--bin",
        "toy-axons",
    ])?;
    let folder = if profile == "dev" { "debug" } else { profile };
    Ok(root().join("target").join(folder))
}

/// The median of `runs` runs of `measure` by `key` (the run itself, so that its other figures
/// stay together): back-to-back runs of one client against one fleet on the 2-vCPU VM differed
/// by up to 70% (16 × 0.8 MB rounds: 3.1 to 5.6 ms of client CPU), one run per line was noise.
pub fn median_run<T>(
    runs: usize,
    mut measure: impl FnMut() -> Result<T>,
    key: impl Fn(&T) -> f64,
) -> Result<T> {
    let all = (0..runs.max(1))
        .map(|_| measure())
        .collect::<Result<Vec<_>>>()?;
    Ok(median_by(all, key))
}

/// The median of `runs` (at least one) by `key`: the run itself, its other figures with it.
pub fn median_by<T>(mut runs: Vec<T>, key: impl Fn(&T) -> f64) -> T {
    runs.sort_by(|a, b| key(a).total_cmp(&key(b)));
    runs.swap_remove(runs.len() / 2)
}

/// Runs a command, inheriting stdio, and fails with its status if it fails.
pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    eprintln!("xtask: {shown}");
    let status = cmd.status().with_context(|| format!("starting {shown}"))?;
    if !status.success() {
        bail!("{shown} failed: {status}");
    }
    Ok(())
}

/// Installs (idempotently) the Python bittensor 3.7.0 peer and returns its python.
pub fn peer_python() -> Result<PathBuf> {
    setup_python("DENDRITE_PEER_PYTHON", "peer", &[])
}

/// The bittensor 10.5.0 peer's Python (`shared/peer10/setup.sh`; `DENDRITE_PEER10_PYTHON`
/// overrides it).
pub fn peer10_python() -> Result<PathBuf> {
    setup_python("DENDRITE_PEER10_PYTHON", "peer10", &[])
}

/// The bittensor 11.3.0 peer's Python (`shared/peer10/setup.sh --v11`;
/// `DENDRITE_PEER11_PYTHON` overrides it).
pub fn peer11_python() -> Result<PathBuf> {
    setup_python("DENDRITE_PEER11_PYTHON", "peer10", &["--v11"])
}

/// The Python a peer's `setup.sh` installs (its last line), or the variable's. Its pip
/// installs follow `xtask/py/peer-constraints.txt` (what today's PyPI serves that the peers'
/// pins cannot run with).
fn setup_python(variable: &str, peer: &str, args: &[&str]) -> Result<PathBuf> {
    if let Some(py) = std::env::var_os(variable) {
        return Ok(PathBuf::from(py));
    }
    let setup = shared().join(peer).join("setup.sh");
    let out = Command::new("bash")
        .arg(&setup)
        .args(args)
        .env(
            "PIP_CONSTRAINT",
            root().join("xtask/py/peer-constraints.txt"),
        )
        .output()
        .with_context(|| format!("running {}", setup.display()))?;
    if !out.status.success() {
        bail!(
            "{} failed:\n{}",
            setup.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let stdout = String::from_utf8(out.stdout).context("setup.sh printed non-UTF-8")?;
    let last = stdout.lines().last().context("setup.sh printed nothing")?;
    Ok(PathBuf::from(last.trim()))
}

/// Starts `count` axon processes, the `index`-th being `command(index, info_file)`, each waited
/// for until it prints `AXON READY` (within `limit`) and writes its info file; returns their
/// guards and `dir/{name}.json`, the list of their infos (an endpoint or `AxonInfo` file).
pub fn start_axon_processes(
    dir: &Path,
    name: &str,
    count: usize,
    limit: std::time::Duration,
    what: &str,
    command: impl Fn(usize, &Path) -> Command,
) -> Result<(Vec<ChildGuard>, PathBuf)> {
    let mut guards = Vec::with_capacity(count);
    let mut infos = Vec::with_capacity(count);
    for index in 0..count {
        let info = dir.join(format!("{name}-{index}.json"));
        guards.push(start_server(
            command(index, &info),
            "AXON READY",
            limit,
            what,
        )?);
        infos.push(serde_json::from_str::<serde_json::Value>(
            &std::fs::read_to_string(&info)?,
        )?);
    }
    let file = dir.join(format!("{name}.json"));
    std::fs::write(&file, serde_json::Value::Array(infos).to_string())?;
    Ok((guards, file))
}

/// A child process (and its process group, when it has its own) killed when dropped, also on
/// error paths.
pub struct ChildGuard(pub std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(std::process::Stdio::null())
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Spawns `command` (stdout piped, in its own process group) and waits until it prints a line
/// starting with `ready`, for at most `limit`.
pub fn start_server(
    mut command: Command,
    ready: &'static str,
    limit: std::time::Duration,
    what: &str,
) -> Result<ChildGuard> {
    use std::io::BufRead;
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {what}"))?;
    let stdout = child.stdout.take().context("stdout")?;
    let guard = ChildGuard(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if line.starts_with(ready) {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(limit)
        .with_context(|| format!("{what} did not print {ready} within {limit:?}"))?;
    Ok(guard)
}
