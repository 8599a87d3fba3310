//! Running a benchmark client and reading what it printed, for every bench section: its JSON
//! line ([`json_of`]), a fan-out bench line checked field by field and refused below a success
//! rate ([`bench_line_of`]), a process's resource usage ([`usage_of`]) and the success rate
//! `dendrite query --min-success` printed ([`success_of`]).
//!
//! **Invariant:** no line is reported whose calls succeeded less than [`MIN_SUCCESS`] (or the
//! floor its caller names): a fleet that fails calls would read as a fast client.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{ensure, Context, Result};
use serde_json::Value;

use crate::bench_line::BenchLine;

/// Runs a client and returns its JSON line.
pub(crate) fn json_of(command: &mut Command, what: &str) -> Result<Value> {
    let out = command
        .output()
        .with_context(|| format!("running {what}"))?;
    ensure!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .rev()
        .find_map(|l| {
            serde_json::from_str::<Value>(l)
                .ok()
                .filter(Value::is_object)
        })
        .with_context(|| format!("{what} printed no JSON line:\n{text}"))
}

/// The least success rate a bench line may report: a fleet that fails calls would otherwise
/// read as a fast client (a failed call costs less than an answered one).
pub(crate) const MIN_SUCCESS: f64 = 0.99;

/// Runs a fan-out benchmark client and returns its line, checked against [`BenchLine`] (a
/// line without one of its fields, a client renamed or dropped one, is an error naming it),
/// refused below [`MIN_SUCCESS`].
pub(crate) fn bench_line_of(command: &mut Command, what: &str) -> Result<Value> {
    bench_line_at(command, what, MIN_SUCCESS)
}

/// A client's bench line, refused when it measured nothing or its success rate is below
/// `min_success` (the policy lines on failing fleets expect failures).
pub(crate) fn bench_line_at(command: &mut Command, what: &str, min_success: f64) -> Result<Value> {
    let line = json_of(command, what)?;
    let checked: BenchLine = serde_json::from_value(line.clone())
        .with_context(|| format!("{what} printed a line that is no bench line: {line}"))?;
    ensure!(
        checked.rounds > 0 && checked.endpoints > 0,
        "{what} measured nothing: {line}"
    );
    ensure!(
        checked.success_rate >= min_success,
        "{what}: success rate {} below {min_success}, not reported: {line}",
        checked.success_rate
    );
    Ok(line)
}

/// CPU seconds and context switches of a finished child process.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Usage {
    pub cpu_s: f64,
    pub context_switches: f64,
    /// Peak resident set, MB.
    pub peak_rss_mb: f64,
}

/// Runs `command` to its end, its output discarded (stderr kept in `stderr` for the error),
/// and returns its resource usage.
pub(crate) fn usage_of(command: &mut Command, stderr: &Path) -> Result<Usage> {
    let child = command
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(stderr)?)
        .spawn()
        .with_context(|| format!("starting {command:?}"))?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero `rusage` is a valid value of the plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own unreaped child; `status` and `usage` are valid for writes. The
    // `Child` is forgotten below, so std never waits for the reaped pid.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    std::mem::forget(child);
    ensure!(reaped == pid, "wait4 failed for {command:?}");
    ensure!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{command:?} failed: {}",
        std::fs::read_to_string(stderr).unwrap_or_default()
    );
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok(Usage {
        cpu_s: seconds(usage.ru_utime) + seconds(usage.ru_stime),
        context_switches: (usage.ru_nvcsw + usage.ru_nivcsw) as f64,
        peak_rss_mb: usage.ru_maxrss as f64 / 1024.0,
    })
}

/// The success rate `dendrite query --min-success` printed (`success: a/b calls (...)`); the
/// query itself failed below the minimum.
pub(crate) fn success_of(stderr: &str) -> Result<f64> {
    let counts = stderr
        .lines()
        .find_map(|l| l.strip_prefix("success: "))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|pair| pair.split_once('/'))
        .and_then(|(a, b)| Some((a.parse::<f64>().ok()?, b.parse::<f64>().ok()?)));
    match counts {
        Some((succeeded, calls)) if calls > 0.0 => Ok(succeeded / calls),
        _ => anyhow::bail!("the query printed no success rate: {stderr}"),
    }
}

/// A command's cost per round measured from outside, as a user runs it: the median (by CPU) of
/// `runs` runs of 1 round (the start: key, runtime, first connections) and of 1 + `rounds`
/// rounds; the difference over `rounds` is a round's. `read` takes what it needs of a run's
/// stderr (the longer run's is kept).
pub(crate) struct PerRound<T> {
    /// The 1-round run.
    pub start: Usage,
    /// The 1 + `rounds` run.
    pub all: Usage,
    /// What `read` took of the longer run's stderr.
    pub read: T,
    /// Client CPU per round, seconds.
    pub cpu_s: f64,
}

/// [`PerRound`] of `command(repeat)` (a run of `repeat` rounds), its stderr in `stderr`.
pub(crate) fn per_round<T>(
    runs: usize,
    rounds: usize,
    stderr: &Path,
    command: impl Fn(usize) -> Command,
    read: impl Fn(&str) -> Result<T>,
) -> Result<PerRound<T>> {
    let run = |repeat: usize| -> Result<(Usage, T)> {
        let usage = usage_of(&mut command(repeat), stderr)?;
        Ok((usage, read(&std::fs::read_to_string(stderr)?)?))
    };
    let (start, _) = crate::util::median_run(runs, || run(1), |(u, _)| u.cpu_s)?;
    let (all, read) = crate::util::median_run(runs, || run(1 + rounds), |(u, _)| u.cpu_s)?;
    Ok(PerRound {
        cpu_s: (all.cpu_s - start.cpu_s) / rounds as f64,
        start,
        all,
        read,
    })
}
