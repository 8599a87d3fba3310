//! `dendrite_rs._native.HttpClient`: the 10.x synapse call for `dendrite_rs.http`, bridged to
//! asyncio by hand.
//!
//! The bridge: [`HttpClient::start`] spawns the call on the process's tokio runtime and returns
//! at once; when it ends, the task takes the GIL and hands the results to the caller's event
//! loop with `loop.call_soon_threadsafe(done, results)`, so the loop never blocks and Python
//! code never runs on a runtime thread. Cancelling the awaiting task calls
//! [`CallHandle::cancel`], which aborts the Rust task and with it every request of the call. No
//! bridge crate (pyo3-async-runtimes) is needed for one future per call: this is its
//! `future_into_py` in a dozen lines, without a second runtime registry.
//!
//! Invariants: results are plain Python values (ints, bytes, JSON text); a peer's failure is a
//! status code, never an exception; state made before a `fork` is never used after it (the
//! dendrite and its pool are made again in the child, as the 3.x client's).

use std::sync::Mutex;

use dendrite::core::nonce::NonceClock;
use dendrite::core::{AxonResult, HttpConfig, Phase};
use dendrite::http::{AxonTarget, Doc, PyValue, Signed, SynapseCall, TerminalInfo};
use dendrite::{Dendrite, DendriteConfig, Keypair};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyList, PyString};
use pyo3::IntoPyObjectExt;

use crate::answer_arrays::{array_of, ArrayFields, Dtype};
use crate::client::{
    apply_policies, live_dendrite, serve_live_metrics, signing_key_or_signer, Live,
};
use crate::echo::Echo;
use crate::rest::{reply_of, rest_request, RequestParts, RestReply};
use crate::runtime::runtime;
use crate::value_error;

/// One key, one HTTP/1.1 pool, the call policies and the metrics (the facade's dendrite: its
/// observer sees every call); 10.x synapse calls that answer on an asyncio loop.
#[pyclass(module = "dendrite_rs._native", frozen)]
pub struct HttpClient {
    key: Keypair,
    config: DendriteConfig,
    live: Mutex<Option<Live>>,
    /// The nonces of requests sent by other means (`preprocess_synapse_for_request`).
    nonces: NonceClock,
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
    /// A client signing with exactly one of `uri`, `keyfile`, `secret_key` + `public_key`, or
    /// `signer` + `public_key` (a keypair that keeps its secret and signs with its own `sign`).
    #[new]
    #[pyo3(signature = (*, uri=None, keyfile=None, secret_key=None, public_key=None, signer=None, external_ip="127.0.0.1", btauth=false, max_connections=None, connections_per_endpoint=None, k_min=None, timeout_after_k_min=None, backoff=None, retries=None, prometheus_level="DEBUG"))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        uri: Option<&str>,
        keyfile: Option<&str>,
        secret_key: Option<Vec<u8>>,
        public_key: Option<Vec<u8>>,
        signer: Option<Py<PyAny>>,
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
        let key = signing_key_or_signer(uri, keyfile, secret_key, public_key, signer)?;
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
            nonces: NonceClock::new(),
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

    /// The 32 bytes of the public key requests are signed with.
    #[getter]
    fn public_key<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.key.public_key())
    }

    /// The dendrite's uuid: what requests to an axon name while no other is in flight to it
    /// (concurrent connections hold a few more; see `dendrite_rs.http`).
    #[getter]
    fn uuid(&self) -> PyResult<String> {
        Ok(self.dendrite()?.client().http_uuid().to_owned())
    }

    /// `message` signed with the client's key: 64 bytes of sr25519 under substrate's signing
    /// context, what `bittensor_wallet.Keypair.sign` makes (`Dendrite.keypair.sign`).
    fn sign<'py>(&self, py: Python<'py>, message: &[u8]) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.key.sign(message))
    }

    /// The next nonce of a request sent by other means: `time.time_ns()`, strictly rising
    /// across this client's calls (the core's one nonce rule).
    fn next_nonce(&self) -> u64 {
        self.nonces.next()
    }

    /// The `bt_header_dendrite_signature` of a 10.x request to `axon_hotkey` naming `nonce`,
    /// `uuid` and `body_hash`, signed as this client's own requests are (for requests sent by
    /// other means: `Dendrite.preprocess_synapse_for_request`).
    fn sign_synapse(&self, nonce: i64, axon_hotkey: &str, uuid: &str, body_hash: &str) -> String {
        Signed::sign(&self.key, uuid, nonce.into(), axon_hotkey, body_hash).signature
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
        parts: SynapseParts<'_>,
    ) -> PyResult<CallHandle> {
        let call = synapse_call(parts)?;
        let (ip, port, hotkey) = axon;
        let target = AxonTarget {
            ip,
            port,
            hotkey,
            uid: None,
        };
        let client = self.dendrite()?.client().clone();
        spawn_call(async move {
            let mut stream = client.call_synapse_stream(&target, &call);
            while let Some(data) = stream.next_chunk().await {
                crate::runtime::attach(|py| {
                    call_soon(py, &event_loop, &chunk, PyBytes::new(py, &data))
                });
            }
            let outcome = stream.outcome().await;
            crate::runtime::attach(|py| call_soon(py, &event_loop, &done, answer_of(py, &outcome)));
        })
    }

    /// Starts sending one synapse (its [`SynapseParts`], as Python dumped them once) to every
    /// axon (`(ip, port, hotkey)`); when all answered or the timeout passed, `done(answers)`
    /// runs on `event_loop`: an [`AxonAnswer`] per axon, in order. `arrays` names fields read
    /// as numpy arrays (`(field, dtype)`; `crate::answer_arrays`).
    #[pyo3(signature = (event_loop, done, axons, parts, arrays=Vec::new()))]
    fn start(
        &self,
        event_loop: Py<PyAny>,
        done: Py<PyAny>,
        axons: Vec<(String, u16, String)>,
        parts: SynapseParts<'_>,
        arrays: Vec<(String, String)>,
    ) -> PyResult<CallHandle> {
        let py = parts.2.py();
        let mut echo = Echo::of(&parts.2);
        let call = synapse_call(parts)?;
        echo.link(py, call.sent_strings());
        let arrays: ArrayFields = arrays
            .into_iter()
            .map(|(field, dtype)| Ok((field, Dtype::named(&dtype)?)))
            .collect::<PyResult<_>>()?;
        let targets = targets_of(axons);
        let client = self.dendrite()?.client().clone();
        spawn_call(async move {
            let outcomes = client.call_synapse(&targets, &call).await;
            crate::runtime::attach(|py| {
                // Each answer's body and parse are freed once its Python answer is built.
                let answers: Vec<AxonAnswer> = outcomes
                    .into_iter()
                    .map(|o| answer_with_arrays(py, &o, &arrays, &echo))
                    .collect();
                call_soon(py, &event_loop, &done, answers);
            });
        })
    }

    /// [`HttpClient::start_request`] reading `text/event-stream` answers live: `on_event((index,
    /// (event, data, id)))` runs on `event_loop` for each event as it arrives, across all axons,
    /// then `done(replies)`.
    fn start_request_stream(
        &self,
        event_loop: Py<PyAny>,
        on_event: Py<PyAny>,
        done: Py<PyAny>,
        axons: Vec<(String, u16, String)>,
        parts: RequestParts,
    ) -> PyResult<CallHandle> {
        let request = rest_request(parts)?;
        let targets = targets_of(axons);
        let client = self.dendrite()?.client().clone();
        spawn_call(async move {
            let mut stream = client.request_stream(&targets, &request);
            while let Some((index, event)) = stream.next_event().await {
                let item = (index, (event.event, event.data, event.id));
                crate::runtime::attach(|py| call_soon(py, &event_loop, &on_event, item));
            }
            let answers = stream.answers().await;
            crate::runtime::attach(|py| deliver_replies(py, &event_loop, &done, &answers));
        })
    }

    /// Starts one signed REST request (its [`RequestParts`]) to every axon; when all answered
    /// or the timeout passed, `done(replies)` runs on `event_loop`: a `RestReply` per axon, in
    /// order.
    fn start_request(
        &self,
        event_loop: Py<PyAny>,
        done: Py<PyAny>,
        axons: Vec<(String, u16, String)>,
        parts: RequestParts,
    ) -> PyResult<CallHandle> {
        let request = rest_request(parts)?;
        let targets = targets_of(axons);
        let client = self.dendrite()?.client().clone();
        spawn_call(async move {
            let answers = client.request(&targets, &request).await;
            crate::runtime::attach(|py| deliver_replies(py, &event_loop, &done, &answers));
        })
    }
}

/// Hands a request call's answers to the loop's thread as `RestReply`s.
fn deliver_replies(
    py: Python<'_>,
    event_loop: &Py<PyAny>,
    done: &Py<PyAny>,
    answers: &[dendrite::core::RestAnswer],
) {
    let replies: Vec<RestReply> = answers.iter().map(|a| reply_of(py, a)).collect();
    call_soon(py, event_loop, done, replies);
}

/// Runs `callback(argument)` on `event_loop`'s thread (`call_soon_threadsafe`); an argument
/// that cannot be made or a loop that is gone gets Python's "unraisable" report: nothing is
/// raised on a runtime thread.
fn call_soon<'py>(
    py: Python<'py>,
    event_loop: &Py<PyAny>,
    callback: &Py<PyAny>,
    argument: impl IntoPyObject<'py>,
) {
    let handed = argument.into_bound_py_any(py).and_then(|argument| {
        event_loop.call_method1(py, "call_soon_threadsafe", (callback, argument))
    });
    if let Err(e) = handed {
        e.write_unraisable(py, None);
    }
}

/// Spawns a call's task on the process's runtime; its handle cancels it.
fn spawn_call(
    task: impl std::future::Future<Output = ()> + Send + 'static,
) -> PyResult<CallHandle> {
    let task = runtime()?.spawn(task);
    Ok(CallHandle {
        abort: task.abort_handle(),
    })
}

/// The axons Python names as `(ip, port, hotkey)`.
fn targets_of(axons: Vec<(String, u16, String)>) -> Vec<AxonTarget> {
    axons
        .into_iter()
        .map(|(ip, port, hotkey)| AxonTarget {
            ip,
            port,
            hotkey,
            uid: None,
        })
        .collect()
}

impl HttpClient {
    /// This process's dendrite (made again in a child after `fork`).
    fn dendrite(&self) -> PyResult<Dendrite> {
        live_dendrite(&self.live, &self.key, &self.config)
    }
}

/// A synapse as Python dumps it once per call: its name, the timeout, its own fields (a dict,
/// written here as `json.dumps` writes it), the `bt_header_input_obj_*` headers, the body hash,
/// the total size.
type SynapseParts<'py> = (
    String,
    f64,
    Bound<'py, PyDict>,
    Vec<(String, String)>,
    String,
    i128,
);

/// The call of `parts` (a caller's mistake, such as a timeout that is not positive, is a
/// `ValueError`; fields `json.dumps` cannot write, its `TypeError`).
fn synapse_call(parts: SynapseParts<'_>) -> PyResult<SynapseCall> {
    let (name, timeout, fields, input_headers, body_hash, total_size) = parts;
    let fields_json = crate::dump::fields_json(&fields)?;
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
/// One axon's answer to a 10.x call, as `dendrite_rs.http` reads it: named fields, plain Python
/// values.
#[pyclass(module = "dendrite_rs._native", frozen, get_all)]
pub struct AxonAnswer {
    /// The call's status: 10.5.0's `synapse.dendrite.status_code`.
    status: i64,
    /// The answer's HTTP status (0 when none arrived).
    http_status: u16,
    /// The answer's body where it was not read as the synapse (`b""` when it was).
    body: Py<PyBytes>,
    /// The dendrite's terminal info, every field (`None` where unset).
    dendrite: Py<PyDict>,
    /// The axon's terminal info, every field.
    axon: Py<PyDict>,
    /// Seconds per phase, in `PHASES` order.
    phases: Vec<f64>,
    /// On 200, the synapse the axon returned (its fields, terminal infos merged); else `None`.
    fields: Option<Py<PyAny>>,
}

#[pymethods]
impl AxonAnswer {
    fn __repr__(&self) -> String {
        format!(
            "AxonAnswer(status={}, http_status={})",
            self.status, self.http_status
        )
    }
}

/// One axon's answer; a failure to build it (it cannot, short of memory) is that axon's own
/// failure (500), so a call always resolves.
fn answer_of(py: Python<'_>, outcome: &AxonResult) -> AxonAnswer {
    answer_with_arrays(py, outcome, &[], &Echo::default())
}

/// [`answer_of`] with `arrays` read as numpy arrays (a field that does not read as its array
/// makes the answer the dendrite's 422, as a body the synapse's class rejects does) and the
/// sent long strings the answer carries back unchanged reused (`echo`).
fn answer_with_arrays(
    py: Python<'_>,
    outcome: &AxonResult,
    arrays: &[(String, Dtype)],
    echo: &Echo,
) -> AxonAnswer {
    built_answer(py, outcome, arrays, echo).unwrap_or_else(|e| failed_answer(py, outcome, &e))
}

fn built_answer(
    py: Python<'_>,
    outcome: &AxonResult,
    arrays: &[(String, Dtype)],
    echo: &Echo,
) -> PyResult<AxonAnswer> {
    let dendrite = info_dict(py, &outcome.answer.dendrite)?;
    let axon = info_dict(py, &outcome.answer.axon)?;
    let mut status = outcome.status_code();
    let fields = match outcome.answer.fields.as_ref() {
        None => None,
        Some(fields) => match fields_with_infos(py, fields, &dendrite, &axon, arrays, echo)? {
            Ok(fields) => Some(fields),
            Err(why) => {
                // 10.5.0's words for an answer the synapse's class rejects.
                status = 422;
                dendrite.set_item("status_code", 422)?;
                dendrite.set_item("status_message", format!("Failed to parse response: {why}"))?;
                dendrite.set_item("process_time", py.None())?;
                None
            }
        },
    };
    let body = if outcome.answer.fields.is_some() {
        std::borrow::Cow::Borrowed(&[][..])
    } else {
        outcome.raw_body()
    };
    Ok(AxonAnswer {
        status,
        http_status: outcome.http_status,
        body: PyBytes::new(py, &body).unbind(),
        dendrite: dendrite.unbind(),
        axon: axon.unbind(),
        phases: phases_of(outcome),
        fields: fields.map(Bound::unbind),
    })
}

/// The answer of an axon whose result could not be handed to Python: the client's 500.
fn failed_answer(py: Python<'_>, outcome: &AxonResult, error: &PyErr) -> AxonAnswer {
    let message = format!("Client error: the answer could not be read into Python: {error}");
    let dendrite = PyDict::new(py);
    let axon = PyDict::new(py);
    // Setting str and int items on a fresh dict does not fail short of memory.
    let _ = dendrite.set_item("status_code", 500);
    let _ = dendrite.set_item("status_message", &message);
    let _ = axon.set_item("hotkey", outcome.answer.axon.hotkey.as_deref());
    AxonAnswer {
        status: 500,
        http_status: 0,
        body: PyBytes::new(py, &[]).unbind(),
        dendrite: dendrite.unbind(),
        axon: axon.unbind(),
        phases: phases_of(outcome),
        fields: None,
    }
}

/// Seconds per phase, in `Phase::ALL` order.
fn phases_of(outcome: &AxonResult) -> Vec<f64> {
    Phase::ALL
        .iter()
        .map(|phase| outcome.phases.get(*phase).as_secs_f64())
        .collect()
}

/// The answer's synapse as a dict, its terminal infos the merged ones and `arrays` read as
/// numpy arrays; `Ok(Err(why))` where one of those does not read.
fn fields_with_infos<'py>(
    py: Python<'py>,
    fields: &Doc,
    dendrite: &Bound<'py, PyDict>,
    axon: &Bound<'py, PyDict>,
    arrays: &[(String, Dtype)],
    echo: &Echo,
) -> PyResult<Result<Bound<'py, PyAny>, String>> {
    let Doc::Dict(items) = fields else {
        return to_python(py, fields).map(Ok);
    };
    let dict = PyDict::new(py);
    for (key, item) in items {
        let dtype = arrays.iter().find(|(field, _)| field == key.as_str());
        match (key.as_str(), dtype) {
            ("dendrite", _) => dict.set_item(key.as_str(), dendrite)?,
            ("axon", _) => dict.set_item(key.as_str(), axon)?,
            (_, Some((field, dtype))) => match array_of(py, field, item, *dtype)? {
                Ok(array) => dict.set_item(key.as_str(), array)?,
                Err(why) => return Ok(Err(why)),
            },
            _ => {
                let mut path = vec![key.as_str()];
                dict.set_item(key.as_str(), echoed_to_python(py, item, echo, &mut path)?)?
            }
        }
    }
    dict.set_item("dendrite", dendrite)?;
    dict.set_item("axon", axon)?;
    Ok(Ok(dict.into_any()))
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

/// [`to_python`] of the value at `path` (keys from the top, through dicts) in the answer, its
/// strings the sent ones where they came back unchanged.
fn echoed_to_python<'py, 'a>(
    py: Python<'py>,
    value: &'a Doc,
    echo: &Echo,
    path: &mut Vec<&'a str>,
) -> PyResult<Bound<'py, PyAny>> {
    match value {
        Doc::Str(text) => Ok(match echo.find(py, path, text) {
            Some(sent) => sent.into_any(),
            None => PyString::new(py, text).into_any(),
        }),
        Doc::Dict(items) => {
            let dict = PyDict::new(py);
            for (key, item) in items {
                path.push(key.as_str());
                dict.set_item(key.as_str(), echoed_to_python(py, item, echo, path)?)?;
                path.pop();
            }
            Ok(dict.into_any())
        }
        other => to_python(py, other),
    }
}

/// A JSON value as `json.loads` gives it (dicts keep their order; ints stay ints); each string
/// copied once, from the answer's body into its `str`.
fn to_python<'py>(py: Python<'py>, value: &Doc) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Doc::None => py.None().into_bound(py),
        Doc::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Doc::Int(i) => i.into_pyobject(py)?.into_any(),
        Doc::Float(f) => f.into_pyobject(py)?.into_any(),
        Doc::Str(s) => PyString::new(py, s).into_any(),
        Doc::List(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_python(py, item)?)?;
            }
            list.into_any()
        }
        Doc::Floats(items) => PyList::new(py, items)?.into_any(),
        Doc::Dict(items) => {
            let dict = PyDict::new(py);
            for (key, item) in items {
                dict.set_item(key.as_str(), to_python(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

/// `computed_body_hash` of the `str()` texts of a synapse's `required_hash_fields`, in order
/// (the wire's one rule: `dendrite_http::body_hash_of_texts`).
#[pyfunction]
pub fn body_hash(texts: Vec<String>) -> String {
    dendrite::http::body_hash_of_texts(texts.iter().map(String::as_str))
}

/// 10.5.0's `bt_header_input_obj_{field}` header of a required field, given the JSON of its
/// type's empty value (`json.dumps(type(value)())`); the wire's one rule
/// (`dendrite_http::input_header`). A text that is no JSON is a `ValueError`.
#[pyfunction]
pub fn input_header(field: &str, empty_json: &str) -> PyResult<(String, String)> {
    let value = PyValue::parse(empty_json.as_bytes()).map_err(value_error)?;
    Ok(dendrite::http::input_header(field, &value))
}

/// The dendrite's and the axon's terminal infos (dicts of their set fields) that an answer's
/// `bt_header_dendrite_*` / `bt_header_axon_*` headers carry, read as the wire reads them
/// (`dendrite_http::infos_from_headers`); a value that does not read is a `ValueError`.
#[pyfunction]
pub fn terminal_headers<'py>(
    py: Python<'py>,
    headers: Vec<(String, String)>,
) -> PyResult<(Bound<'py, PyDict>, Bound<'py, PyDict>)> {
    let pairs = headers.iter().map(|(k, v)| (k.as_str(), v.as_bytes()));
    let (dendrite, axon) = dendrite::http::infos_from_headers(pairs).map_err(|e| {
        value_error(e.message(dendrite::http::CallSite {
            ip: "",
            port: 0,
            name: "",
            timeout: 0.0,
        }))
    })?;
    Ok((set_fields(py, &dendrite)?, set_fields(py, &axon)?))
}

/// The fields of `info` that are set, as a dict.
fn set_fields<'py>(py: Python<'py>, info: &TerminalInfo) -> PyResult<Bound<'py, PyDict>> {
    let all = info_dict(py, info)?;
    let set = PyDict::new(py);
    for (key, value) in all.iter() {
        if !value.is_none() {
            set.set_item(key, value)?;
        }
    }
    Ok(set)
}
