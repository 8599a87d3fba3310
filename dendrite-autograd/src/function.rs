//! The FFI to the C++ autograd shim: per-call state, the backward trampoline, ownership rules.
//!
//! Ownership: tensors cross as heap `at::Tensor*` (tch's `C_tensor`). Rust → C++: borrowed
//! (C++ copies the handle). C++ → Rust: owned (Rust wraps them with `Tensor::from_ptr`, which
//! frees them on drop). The per-call state lives in a Rust map keyed by id; the C++ holder's
//! destructor calls `release`, also when backward never runs.

use std::collections::HashMap;
use std::ffi::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tch::Tensor;
use torch_sys::C_tensor;

/// What a call's backward does with the output gradients (all outputs, codes and times included;
/// gradients of outputs that took no part in the loss are undefined tensors).
pub trait BackwardHandler: Send + Sync + 'static {
    /// Runs once per recorded call; an error fails `backward()`.
    fn backward(&self, grads: Vec<Tensor>) -> Result<(), String>;
}

type BackwardFn = unsafe extern "C" fn(u64, *mut *mut C_tensor, usize, *mut c_char, usize) -> i32;
type ReleaseFn = extern "C" fn(u64);

extern "C" {
    fn dendrite_autograd_apply(
        graph_inputs: *const *mut C_tensor,
        n_inputs: usize,
        outputs: *const *mut C_tensor,
        n_outputs: usize,
        non_differentiable: *const i64,
        n_frozen: usize,
        state: u64,
        backward: BackwardFn,
        release: ReleaseFn,
        results: *mut *mut C_tensor,
        err: *mut c_char,
        err_len: usize,
    ) -> i32;
    fn dendrite_autograd_grad_enabled() -> i32;
}

fn states() -> &'static Mutex<HashMap<u64, Arc<dyn BackwardHandler>>> {
    static STATES: OnceLock<Mutex<HashMap<u64, Arc<dyn BackwardHandler>>>> = OnceLock::new();
    STATES.get_or_init(Default::default)
}

fn lock() -> std::sync::MutexGuard<'static, HashMap<u64, Arc<dyn BackwardHandler>>> {
    states().lock().unwrap_or_else(|e| e.into_inner())
}

/// Calls in flight whose graph is still alive (for leak checks).
pub fn live_states() -> usize {
    lock().len()
}

/// Whether autograd records on this thread (false inside `tch::no_grad`).
pub fn grad_enabled() -> bool {
    // SAFETY: a plain query of libtorch's thread-local grad mode.
    unsafe { dendrite_autograd_grad_enabled() != 0 }
}

/// Copies `message`, truncated and NUL-terminated, into the C buffer `err`.
///
/// # Safety
/// `err` is null, or valid for writes of `err_len` bytes.
unsafe fn write_message(message: &str, err: *mut c_char, err_len: usize) {
    if err.is_null() || err_len == 0 {
        return;
    }
    let bytes = message.as_bytes();
    let n = bytes.len().min(err_len - 1);
    // SAFETY: the caller guarantees `err_len` writable bytes; we write n < err_len bytes and a NUL.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr().cast::<c_char>(), err, n);
        *err.add(n) = 0;
    }
}

/// Called by the shim's backward. Takes ownership of the gradient tensors.
unsafe extern "C" fn backward_trampoline(
    state: u64,
    grads: *mut *mut C_tensor,
    n: usize,
    err: *mut c_char,
    err_len: usize,
) -> i32 {
    // SAFETY: the shim passes `n` heap tensors it gave up ownership of.
    let grads: Vec<Tensor> = (0..n)
        .map(|i| unsafe { Tensor::from_ptr(*grads.add(i)) })
        .collect();
    let handler = lock().get(&state).cloned();
    let outcome = match handler {
        None => Err("the dendrite call's state is gone".to_string()),
        Some(handler) => catch_unwind(AssertUnwindSafe(|| handler.backward(grads)))
            .unwrap_or_else(|_| Err("the dendrite's backward panicked".to_string())),
    };
    match outcome {
        Ok(()) => 0,
        Err(message) => {
            // SAFETY: the shim passes a buffer of `err_len` bytes at `err` (function.cpp).
            unsafe { write_message(&message, err, err_len) };
            1
        }
    }
}

extern "C" fn release_trampoline(state: u64) {
    let _ = catch_unwind(|| lock().remove(&state));
}

/// Records `outputs` as results of `graph_inputs` (the DUMMY leaf and the token inputs) with
/// `handler` as the backward; outputs at `non_differentiable` never require grad. Returns the
/// outputs as they are in the graph.
pub fn apply(
    graph_inputs: &[&Tensor],
    outputs: &[Tensor],
    non_differentiable: &[i64],
    handler: Arc<dyn BackwardHandler>,
) -> Result<Vec<Tensor>, String> {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    lock().insert(id, handler);
    let inputs: Vec<*mut C_tensor> = graph_inputs
        .iter()
        .map(|t| t.as_ptr() as *mut C_tensor)
        .collect();
    let outs: Vec<*mut C_tensor> = outputs
        .iter()
        .map(|t| t.as_ptr() as *mut C_tensor)
        .collect();
    let mut results: Vec<*mut C_tensor> = vec![std::ptr::null_mut(); outputs.len()];
    let mut err = vec![0 as c_char; 2048];
    // SAFETY: every pointer is a live tensor borrowed for the call; `results` has room for one
    // tensor per output; the shim releases the state on failure.
    let rc = unsafe {
        dendrite_autograd_apply(
            inputs.as_ptr(),
            inputs.len(),
            outs.as_ptr(),
            outs.len(),
            non_differentiable.as_ptr(),
            non_differentiable.len(),
            id,
            backward_trampoline,
            release_trampoline,
            results.as_mut_ptr(),
            err.as_mut_ptr(),
            err.len(),
        )
    };
    if rc != 0 {
        lock().remove(&id);
        let bytes: Vec<u8> = err
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        return Err(String::from_utf8_lossy(&bytes).into_owned());
    }
    // SAFETY: on success the shim wrote one new heap tensor per output; we own them.
    Ok(results
        .into_iter()
        .map(|p| unsafe { Tensor::from_ptr(p) })
        .collect())
}
