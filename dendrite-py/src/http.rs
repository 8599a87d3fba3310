//! `dendrite_rs._native.HttpClient`: the 10.x synapse call for `dendrite_rs.http`, bridged to
//! asyncio by hand.
//!
//! The bridge: [`HttpClient::start`] spawns the call on the process's tokio runtime and returns
//! a [`PendingCall`] at once. As each axon's result is final, the runtime task queues it and
//! wakes a socket the caller's loop watches (`loop.add_reader`); the loop takes what is ready
//! ([`PendingCall::drain`], the Python values built on its own thread) and validates those
//! answers while the rest are still on the wire. The runtime threads never take the GIL for a
//! call, so a busy Python thread never stalls the network. Streams ([`HttpClient::start_stream`])
//! hand each chunk over with `loop.call_soon_threadsafe`. Cancelling the awaiting task aborts the
//! Rust task ([`PendingCall::cancel`], [`CallHandle::cancel`]) and with it every request of the
//! call. No bridge crate (pyo3-async-runtimes) is needed: a future per call is a queue and a
//! descriptor here, without a second runtime registry.
//!
//! Invariants: results are plain Python values (ints, bytes, JSON text); a peer's failure is a
//! status code, never an exception; state made before a `fork` is never used after it (the
//! dendrite and its pool are made again in the child, as the 3.x client's).

use std::sync::{Arc, Mutex};

use dendrite::core::{HttpConfig, Phase, SynapseOutcome};
use dendrite::http::{AxonTarget, PyValue, SynapseCall, TerminalInfo};
use dendrite::{Dendrite, DendriteConfig, Keypair};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyList, PyString};

use crate::client::{apply_policies, live_dendrite, serve_live_metrics, signing_key, Live};
use crate::runtime::runtime;
use crate::value_error;

/// One key, one HTTP/1.1 pool, the call policies and the metrics (the facade's dendrite: its
/// observer sees every call); 10.x synapse calls that answer on an asyncio loop.
#[pyclass(module = "dendrite_rs._native", frozen)]
pub struct HttpClient {
    key: Keypair,
    config: DendriteConfig,
    live: Mutex<Option<Live>>,
}

/// A started call: [`CallHandle::cancel`] aborts it.
#[pyclass(module = "dendrite_rs._native", frozen)]
pub struct CallHandle {
    abort: tokio::task::AbortHandle,
}

#[pymethods]
impl CallHandle {
    /// Aborts the call (its requests are dropped); the loop's callback is then never called.
    fn cancel(&self) {
        self.abort.abort();
    }
}

#[pymethods]
impl HttpClient {
    /// A client signing with exactly one of `uri`, `keyfile`, or `secret_key` + `public_key`.
    #[new]
    #[pyo3(signature = (*, uri=None, keyfile=None, secret_key=None, public_key=None, external_ip="127.0.0.1", btauth=false, max_connections=None, connections_per_endpoint=None, k_min=None, timeout_after_k_min=None, backoff=None, retries=None, prometheus_level="DEBUG"))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        uri: Option<&str>,
        keyfile: Option<&str>,
        secret_key: Option<Vec<u8>>,
        public_key: Option<Vec<u8>>,
        external_ip: &str,
        btauth: bool,
        max_connections: Option<usize>,
        connections_per_endpoint: Option<usize>,
        k_min: Option<usize>,
        timeout_after_k_min: Option<f64>,
        backoff: Option<f64>,
        retries: Option<u32>,
        prometheus_level: &str,
    ) -> PyResult<Self> {
        let key = signing_key(uri, keyfile, secret_key, public_key)?;
        let defaults = HttpConfig::default();
        let mut config = DendriteConfig {
            prometheus_level: prometheus_level.parse().map_err(value_error)?,
            ..DendriteConfig::default()
        };
        config.client = dendrite::ClientConfig {
            http: HttpConfig {
                external_ip: external_ip.to_owned(),
                btauth,
                max_connections: max_connections.unwrap_or(defaults.max_connections).max(1),
                connections_per_endpoint: connections_per_endpoint
                    .unwrap_or(defaults.connections_per_endpoint)
                    .max(1),
                ..defaults
            },
            ..dendrite::ClientConfig::default()
        };
        apply_policies(
            &mut config.client,
            k_min,
            timeout_after_k_min,
            backoff,
            retries,
        )?;
        Ok(HttpClient {
            key,
            config,
            live: Mutex::new(None),
        })
    }

    /// Serves Prometheus `/metrics` on `ip:port` (0 picks a free port); returns the port.
    #[pyo3(signature = (port=0, ip="127.0.0.1"))]
    fn serve_metrics(&self, py: Python<'_>, port: u16, ip: &str) -> PyResult<u16> {
        let dendrite = self.dendrite()?;
        serve_live_metrics(py, &self.live, &dendrite, port, ip)
    }

    /// The Prometheus text of the metrics (empty when off).
    fn metrics_text(&self) -> PyResult<String> {
        Ok(self
            .dendrite()?
            .metrics()
            .map(|m| m.render())
            .unwrap_or_default())
    }

    /// The SS58 address requests are signed with.
    #[getter]
    fn hotkey(&self) -> &str {
        self.key.ss58_address()
    }

    /// The dendrite's uuid (each connection signs with one of its own; see `dendrite_rs.http`).
    #[getter]
    fn uuid(&self) -> PyResult<String> {
        Ok(self.dendrite()?.client().http_uuid().to_owned())
    }

    /// Closes idle connections.
    fn close_idle(&self) -> PyResult<()> {
        self.dendrite()?.client().close_idle_http();
        Ok(())
    }

    /// Starts sending one streaming synapse to one axon: `chunk(bytes)` runs on `event_loop`
    /// for every chunk of a 200 `text/event-stream` answer as it arrives, then `done(result)`
    /// with the axon's result as [`HttpClient::start`] gives it (any other answer is read
    /// whole and only `done` runs).
    fn start_stream(
        &self,
        event_loop: Py<PyAny>,
        chunk: Py<PyAny>,
        done: Py<PyAny>,
        axon: (String, u16, String),
        parts: SynapseParts,
    ) -> PyResult<CallHandle> {
        let call = synapse_call(parts)?;
        let (ip, port, hotkey) = axon;
        let target = AxonTarget { ip, port, hotkey };
        let client = self.dendrite()?.client().clone();
        let task = runtime()?.spawn(async move {
            let mut stream = client.call_synapse_stream(&target, &call);
            while let Some(data) = stream.next_chunk().await {
                Python::attach(|py| {
                    let data = PyBytes::new(py, &data);
                    if let Err(e) =
                        event_loop.call_method1(py, "call_soon_threadsafe", (&chunk, data))
                    {
                        e.write_unraisable(py, None);
                    }
                });
            }
            let outcome = stream.outcome().await;
            Python::attach(|py| {
                let delivered = result_of(py, &outcome).and_then(|result| {
                    event_loop.call_method1(py, "call_soon_threadsafe", (&done, result))
                });
                if let Err(e) = delivered {
                    e.write_unraisable(py, None);
                }
            });
        });
        Ok(CallHandle {
            abort: task.abort_handle(),
        })
    }

    /// Starts sending one synapse (its [`SynapseParts`], as Python dumped them once) to every
    /// axon (`(ip, port, hotkey)`) and returns at once; each axon's result waits in the
    /// returned [`PendingCall`] from the moment it is final (see there).
    fn start(
        &self,
        axons: Vec<(String, u16, String)>,
        parts: SynapseParts,
    ) -> PyResult<PendingCall> {
        let call = synapse_call(parts)?;
        let targets: Vec<AxonTarget> = axons
            .into_iter()
            .map(|(ip, port, hotkey)| AxonTarget { ip, port, hotkey })
            .collect();
        let client = self.dendrite()?.client().clone();
        let (results, reader) = Results::new(targets.len())?;
        let (each, end) = (results.clone(), results.clone());
        let task = runtime()?.spawn(async move {
            let outcomes = client
                .call_synapse_each(&targets, &call, move |index, outcome| {
                    // The answer's fields move on (they can be megabytes); the rest is small.
                    let fields = outcome.answer.fields.take();
                    let mut ready = outcome.clone();
                    ready.answer.fields = fields;
                    each.push(index, ready);
                })
                .await;
            end.finish(outcomes);
        });
        Ok(PendingCall {
            abort: task.abort_handle(),
            reader,
            results,
        })
    }
}

/// A started synapse call whose results arrive as each axon's is final: the runtime thread
/// queues them and writes a byte to a socket pair when the queue was empty, never taking the
/// GIL; Python watches [`PendingCall::fileno`] with `loop.add_reader` and takes what is ready
/// with [`PendingCall::drain`], which builds the Python values on its own thread. So the loop
/// validates the first answers while the last are still on the wire.
#[pyclass(module = "dendrite_rs._native", frozen)]
pub struct PendingCall {
    abort: tokio::task::AbortHandle,
    reader: std::os::unix::net::UnixStream,
    results: Results,
}

#[pymethods]
impl PendingCall {
    /// The descriptor that becomes readable when results are ready (for `loop.add_reader`).
    fn fileno(&self) -> i32 {
        use std::os::fd::AsRawFd;
        self.reader.as_raw_fd()
    }

    /// The results ready since the last drain, as `(index, result)` pairs in the order they
    /// became final (each result as [`result_of`] gives it), and whether the call is over
    /// (then every axon's result has been drained).
    #[allow(clippy::type_complexity)]
    fn drain<'py>(&self, py: Python<'py>) -> PyResult<(Vec<(usize, Bound<'py, PyAny>)>, bool)> {
        use std::io::Read;
        // The wake-up bytes first, then the queue: a result queued after this read writes
        // another byte, so none waits unseen.
        let mut bytes = [0u8; 64];
        while matches!((&self.reader).read(&mut bytes), Ok(n) if n > 0) {}
        let (ready, finished) = self.results.take();
        let mut out = Vec::with_capacity(ready.len());
        for (index, outcome) in ready {
            out.push((index, result_of(py, &outcome)?.into_pyobject(py)?.into_any()));
        }
        Ok((out, finished))
    }

    /// Aborts the call (its requests are dropped); results not yet drained are dropped too.
    fn cancel(&self) {
        self.abort.abort();
    }
}

/// The results of one call between the runtime task that queues them and the Python thread
/// that drains them.
#[derive(Clone)]
struct Results(Arc<ResultsInner>);

struct ResultsInner {
    queue: Mutex<Queue>,
    /// Written (one byte, never blocking) when the queue gets its first result or the call ends.
    writer: std::os::unix::net::UnixStream,
}

#[derive(Default)]
struct Queue {
    ready: Vec<(usize, SynapseOutcome)>,
    /// Which axons' results were queued (those cut by a quorum come only with the end).
    queued: Vec<bool>,
    finished: bool,
}

impl Results {
    /// An empty queue for `axons` results, and the socket to watch (non-blocking both ends).
    fn new(axons: usize) -> PyResult<(Self, std::os::unix::net::UnixStream)> {
        let (writer, reader) = std::os::unix::net::UnixStream::pair()?;
        writer.set_nonblocking(true)?;
        reader.set_nonblocking(true)?;
        let queue = Queue {
            queued: vec![false; axons],
            ..Queue::default()
        };
        let inner = ResultsInner {
            queue: Mutex::new(queue),
            writer,
        };
        Ok((Results(Arc::new(inner)), reader))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.0.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One byte for the reader; a full socket already holds an unread one, so nothing is lost.
    fn wake(&self) {
        use std::io::Write;
        let _ = (&self.0.writer).write(&[1]);
    }

    /// Queues axon `index`'s final result.
    fn push(&self, index: usize, outcome: SynapseOutcome) {
        let first = {
            let mut queue = self.lock();
            if let Some(queued) = queue.queued.get_mut(index) {
                *queued = true;
            }
            queue.ready.push((index, outcome));
            queue.ready.len() == 1
        };
        if first {
            self.wake();
        }
    }

    /// Ends the call: queues the results `each` never saw (cut by a quorum, a task that died).
    fn finish(&self, outcomes: Vec<SynapseOutcome>) {
        {
            let mut queue = self.lock();
            for (index, outcome) in outcomes.into_iter().enumerate() {
                if !queue.queued.get(index).copied().unwrap_or(true) {
                    queue.ready.push((index, outcome));
                }
            }
            queue.finished = true;
        }
        self.wake();
    }

    /// What is ready, and whether the call is over.
    fn take(&self) -> (Vec<(usize, SynapseOutcome)>, bool) {
        let mut queue = self.lock();
        (std::mem::take(&mut queue.ready), queue.finished)
    }
}

impl HttpClient {
    /// This process's dendrite (made again in a child after `fork`).
    fn dendrite(&self) -> PyResult<Dendrite> {
        live_dendrite(&self.live, &self.key, &self.config)
    }
}

/// A synapse as Python dumps it once per call: its name, the timeout, its own fields' JSON
/// (`, "field": value` …), the `bt_header_input_obj_*` headers, the body hash, the total size.
type SynapseParts = (String, f64, String, Vec<(String, String)>, String, i128);

/// The call of `parts` (a caller's mistake, such as a timeout that is not positive, is a
/// `ValueError`).
fn synapse_call(parts: SynapseParts) -> PyResult<SynapseCall> {
    let (name, timeout, fields_json, input_headers, body_hash, total_size) = parts;
    SynapseCall::from_parts(
        &name,
        timeout,
        fields_json,
        input_headers,
        body_hash,
        total_size,
    )
    .map_err(value_error)
}

/// One axon's result as Python reads it: `(status_code, http_status, body, dendrite, axon,
/// phases, fields)`: the terminal infos as dicts, the phases in seconds in `PHASES` order, and
/// on 200 the answer's synapse as a dict, parsed here off the GIL (Python's `json.loads` of a
/// 1.4 MB answer took 3.2 ms of its 8.4 ms per call); the raw body only where there is no
/// such dict (an error's, kept for streams), so that an answer is not held twice.
#[allow(clippy::type_complexity)]
fn result_of<'py>(
    py: Python<'py>,
    outcome: &SynapseOutcome,
) -> PyResult<(
    i64,
    u16,
    Bound<'py, PyBytes>,
    Bound<'py, PyDict>,
    Bound<'py, PyDict>,
    Vec<f64>,
    Option<Bound<'py, PyAny>>,
)> {
    let dendrite = info_dict(py, &outcome.answer.dendrite)?;
    let axon = info_dict(py, &outcome.answer.axon)?;
    let fields = outcome
        .answer
        .fields
        .as_ref()
        .map(|fields| fields_with_infos(py, fields, &dendrite, &axon))
        .transpose()?;
    Ok((
        outcome.status_code(),
        outcome.http_status,
        PyBytes::new(
            py,
            if outcome.answer.fields.is_some() {
                &[]
            } else {
                &outcome.body
            },
        ),
        dendrite,
        axon,
        Phase::ALL
            .iter()
            .map(|phase| outcome.phases.get(*phase).as_secs_f64())
            .collect(),
        fields,
    ))
}

/// The answer's synapse as the keywords of its class: its fields, with `dendrite` and `axon`
/// the merged terminal infos (not the body's own, which the merge replaces), so that one
/// validation builds the result (assigning them afterwards validated each twice more; cProfile:
/// half of an answer's Python time at 1,024 axons).
fn fields_with_infos<'py>(
    py: Python<'py>,
    fields: &PyValue,
    dendrite: &Bound<'py, PyDict>,
    axon: &Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyAny>> {
    let PyValue::Dict(items) = fields else {
        return to_python(py, fields);
    };
    let dict = PyDict::new(py);
    for (key, item) in items {
        match key.as_str() {
            "dendrite" => dict.set_item(key, dendrite)?,
            "axon" => dict.set_item(key, axon)?,
            _ => dict.set_item(key, to_python(py, item)?)?,
        }
    }
    dict.set_item("dendrite", dendrite)?;
    dict.set_item("axon", axon)?;
    Ok(dict.into_any())
}

/// A terminal info as the dict `TerminalInfo(**dict)` takes.
fn info_dict<'py>(py: Python<'py>, info: &TerminalInfo) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("status_code", info.status_code)?;
    dict.set_item("status_message", info.status_message.as_deref())?;
    dict.set_item("process_time", info.process_time)?;
    dict.set_item("ip", info.ip.as_deref())?;
    dict.set_item("port", info.port)?;
    dict.set_item("version", info.version)?;
    dict.set_item("nonce", info.nonce)?;
    dict.set_item("uuid", info.uuid.as_deref())?;
    dict.set_item("hotkey", info.hotkey.as_deref())?;
    dict.set_item("signature", info.signature.as_deref())?;
    Ok(dict)
}

/// A JSON value as `json.loads` gives it (dicts keep their order; ints stay ints).
fn to_python<'py>(py: Python<'py>, value: &PyValue) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        PyValue::None => py.None().into_bound(py),
        PyValue::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        PyValue::Int(i) => i.into_pyobject(py)?.into_any(),
        PyValue::Float(f) => f.into_pyobject(py)?.into_any(),
        PyValue::Str(s) => PyString::new(py, s).into_any(),
        PyValue::List(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_python(py, item)?)?;
            }
            list.into_any()
        }
        PyValue::Dict(items) => {
            let dict = PyDict::new(py);
            for (key, item) in items {
                dict.set_item(key, to_python(py, item)?)?;
            }
            dict.into_any()
        }
    })
}
