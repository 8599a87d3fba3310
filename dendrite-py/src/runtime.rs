//! The process's tokio runtime for the extension, and how Python threads wait on it.
//!
//! One multi-threaded runtime per process, built on first use and built again in a child after
//! `fork` (a forked child has none of its parent's threads: the parent's runtime is leaked there,
//! never dropped, since dropping would wait for threads that do not exist).
//!
//! Invariants: Python code never runs on a runtime thread; a waiting Python thread does not hold
//! the GIL; when a signal handler raises (Ctrl-C) the call's task is aborted and finished before
//! the exception reaches Python, so nothing it started is left in flight.

use std::future::Future;
use std::sync::mpsc::{sync_channel, RecvTimeoutError};
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
        .thread_name("dendrite-rs")
        .enable_all()
        .build()
        .map(Arc::new)
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the dendrite runtime: {e}")))?;
    *slot = Some((pid, runtime.clone()));
    Ok(runtime)
}

/// Whether `pid` is this process (state made before a `fork` is not).
pub fn is_this_process(pid: u32) -> bool {
    pid == std::process::id()
}

/// Runs `future` on the runtime and waits for it without the GIL, running Python's signal
/// handlers every [`SIGNAL_CHECK_INTERVAL`]. If a handler raises, the task is aborted (dropping
/// every RPC it started) and the exception is returned.
pub fn wait<T, F>(py: Python<'_>, runtime: &Runtime, future: F) -> PyResult<T>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    let (tx, rx) = sync_channel(1);
    let task = runtime.spawn(async move {
        let _ = tx.send(future.await);
    });
    let mut rx = rx;
    loop {
        // The receiver travels into the GIL-free closure and back (it is not `Sync`).
        let (back, received) = py.detach(move || {
            let received = rx.recv_timeout(SIGNAL_CHECK_INTERVAL);
            (rx, received)
        });
        rx = back;
        match received {
            Ok(value) => return Ok(value),
            Err(RecvTimeoutError::Timeout) => {
                if let Err(interrupted) = py.check_signals() {
                    task.abort();
                    // The abort is done once the task's future has been dropped.
                    let _ = py.detach(|| runtime.block_on(task));
                    return Err(interrupted);
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(PyRuntimeError::new_err(
                    "the dendrite call ended without an answer (a bug: please report it)",
                ))
            }
        }
    }
}
