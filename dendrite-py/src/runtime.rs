//! The process's tokio runtime for the extension, and how Python threads wait on it.
//!
//! One multi-threaded runtime per process, built on first use and built again in a child after
//! `fork` (a forked child has none of its parent's threads: the parent's runtime is leaked there,
//! never dropped, since dropping would wait for threads that do not exist).
//!
//! Invariants: Python code never runs on a runtime thread; a waiting Python thread does not hold
//! the GIL; when a signal handler raises (Ctrl-C) the call's future is dropped before the
//! exception reaches Python, so nothing it started is left in flight.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use tokio::runtime::Runtime;

/// How often a waiting thread takes the GIL back to run signal handlers: well inside the 0.2 s
/// in which Ctrl-C must end a call.
const SIGNAL_CHECK_INTERVAL: Duration = Duration::from_millis(20);

static RUNTIME: Mutex<Option<(u32, Arc<Runtime>)>> = Mutex::new(None);

/// The runtime of this process (a new one after `fork`).
pub fn runtime() -> PyResult<Arc<Runtime>> {
    let pid = std::process::id();
    let mut slot = RUNTIME.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((owner, runtime)) = slot.as_ref() {
        if *owner == pid {
            return Ok(runtime.clone());
        }
    }
    if let Some(inherited) = slot.take() {
        // The parent's runtime: its worker threads did not survive the fork.
        std::mem::forget(inherited);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(worker_threads()?)
        .thread_name("dendrite-rs")
        .on_thread_start(|| RUNTIME_THREAD.set(true))
        .enable_all()
        .build()
        .map(Arc::new)
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the dendrite runtime: {e}")))?;
    *slot = Some((pid, runtime.clone()));
    Ok(runtime)
}

thread_local! {
    /// Whether this thread is one of the runtime's (set as it starts).
    static RUNTIME_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Whether this runtime thread holds a Python thread state of its own (see [`attach`]).
    static KEPT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// `Python::attach` for code that may run on a runtime thread. A runtime thread keeps its Python
/// thread state from its first attach on: each later attach (a call's answers handed to the
/// loop) then only takes the GIL, where it would otherwise make and destroy a thread state (and
/// map and unmap its frame stack's 16 KiB) every time: 7% of that thread's CPU in a small
/// fan-out (4 real axons, `Dummy`: 165-171 -> 151-160 µs per call on the runtime thread, 3 runs
/// each, alternating). Any other thread (a Python thread signing with an outside key, which may
/// hold the GIL already) attaches as `Python::attach` does and keeps nothing.
pub fn attach<R>(f: impl for<'py> FnOnce(Python<'py>) -> R) -> R {
    if RUNTIME_THREAD.get() && !KEPT.get() {
        KEPT.set(true);
        // SAFETY: the interpreter is initialized (checked); this is a runtime thread's first
        // attach, so it does not hold the GIL (runtime threads take it only here, and this is
        // the first time). `PyGILState_Ensure` gives the thread a state and the GIL,
        // `PyEval_SaveThread` releases the GIL and keeps the state: that first `Ensure` is
        // never released, so the state lives as long as the thread.
        unsafe {
            if pyo3::ffi::Py_IsInitialized() != 0 {
                pyo3::ffi::PyGILState_Ensure();
                pyo3::ffi::PyEval_SaveThread();
            }
        }
    }
    Python::attach(f)
}

/// The runtime's worker threads: `DENDRITE_RS_THREADS`, else one. One worker spends less CPU
/// per call than several (no wakeups between workers) and keeps a core for the Python thread:
/// measured from Python, 16 axons, Dummy 132-149 -> 125-135 us and a 1 MiB TensorEcho
/// 4.3-4.5 -> 3.4-3.9 ms of client CPU per call, rounds/s the same or better. Set here, not
/// left to tokio's `TOKIO_WORKER_THREADS`, on which it panics when that is not a number.
fn worker_threads() -> PyResult<usize> {
    let Some(text) = std::env::var_os("DENDRITE_RS_THREADS") else {
        return Ok(1);
    };
    text.to_str()
        .and_then(|text| text.trim().parse::<usize>().ok())
        .filter(|n| (1..=1024).contains(n))
        .ok_or_else(|| {
            PyRuntimeError::new_err(format!(
                "DENDRITE_RS_THREADS must be a number of threads from 1 to 1024, not {text:?}"
            ))
        })
}

/// Whether `pid` is this process (state made before a `fork` is not).
pub fn is_this_process(pid: u32) -> bool {
    pid == std::process::id()
}

/// Runs `future` to completion on this thread, driven by the runtime (its I/O and timers on the
/// runtime's workers), without the GIL. Every [`SIGNAL_CHECK_INTERVAL`] the GIL is taken back to
/// run Python's signal handlers; if one raises, the future is dropped (and with it every RPC it
/// started) and the exception is returned. Driving the future here rather than spawning it saves
/// a hand-off between threads per call.
pub fn wait<T, F>(py: Python<'_>, runtime: &Runtime, future: F) -> PyResult<T>
where
    T: Send,
    F: Future<Output = T> + Send,
{
    let mut future = Box::pin(future);
    loop {
        let polled = py.detach(|| {
            // The timer is made inside `block_on`, where the runtime's context is set.
            runtime
                .block_on(async { tokio::time::timeout(SIGNAL_CHECK_INTERVAL, &mut future).await })
        });
        match polled {
            Ok(value) => return Ok(value),
            Err(_elapsed) => py.check_signals()?,
        }
    }
}
