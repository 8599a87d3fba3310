//! `dendrite_rs._native.Client`: one signing key and one receptor pool, with blocking
//! forward/backward calls that release the GIL. The Python layer (`dendrite_rs.Dendrite`) builds
//! the reference's API and the autograd function on top of it.
//!
//! Invariants: results come back flattened endpoint-major (`index = endpoint * n_synapses +
//! synapse`), as the reference's autograd forward returns them; a peer's failure is a code and
//! zeros, never an exception; a caller's mistake is a `ValueError` before any RPC; state made
//! before a `fork` is never used after it (the pool is rebuilt in the child).

use std::sync::Mutex;
use std::time::Duration;

use dendrite::core::{Compression, PolicySetting, PolicySettings};
use dendrite::metrics::{serve_metrics, MetricsServer};
use dendrite::{Dendrite, DendriteConfig, Endpoint as WireEndpoint, EndpointResult, Keypair};
use dendrite::{Synapse as WireSynapse, Tensor};
use numpy::{PyArray1, PyUntypedArray};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::arrays::{from_numpy, Lender};
use crate::endpoint::Endpoint;
use crate::outside_key::PythonSigner;
use crate::runtime::{is_this_process, runtime, wait};
use crate::synapse::Synapse;
use crate::value_error;

/// A positive number of seconds (timeouts, the backoff's base), by the core's one rule.
fn seconds(name: &str, value: f64) -> PyResult<Duration> {
    dendrite::core::seconds(name, value, dendrite::core::SecondsRange::Positive)
        .map_err(value_error)
}

/// The signing key from exactly one of a dev URI / mnemonic, a key file, or an in-memory
/// secret with its public key (checked against `keyfile` when given).
pub(crate) fn signing_key(
    uri: Option<&str>,
    keyfile: Option<&str>,
    secret_key: Option<Vec<u8>>,
    public_key: Option<Vec<u8>>,
) -> PyResult<Keypair> {
    signing_key_or_signer(uri, keyfile, secret_key, public_key, None)
}

/// [`signing_key`], or with `signer` and `public_key` (and nothing else), the key whose secret
/// `signer` keeps: a Python keypair that signs through its own `sign` ([`PythonSigner`]).
pub(crate) fn signing_key_or_signer(
    uri: Option<&str>,
    keyfile: Option<&str>,
    secret_key: Option<Vec<u8>>,
    public_key: Option<Vec<u8>>,
    signer: Option<Py<PyAny>>,
) -> PyResult<Keypair> {
    let public_of = |public: Vec<u8>| -> PyResult<[u8; 32]> {
        public.try_into().map_err(|p: Vec<u8>| {
            PyValueError::new_err(format!("public_key: {} bytes, expected 32", p.len()))
        })
    };
    if let Some(signer) = signer {
        return match (uri, keyfile, secret_key, public_key) {
            (None, None, None, Some(public)) => Ok(Keypair::signed_outside(
                public_of(public)?,
                std::sync::Arc::new(PythonSigner::new(signer)),
            )),
            _ => Err(PyValueError::new_err(
                "a signer goes with its public_key and nothing else",
            )),
        };
    }
    Ok(match (uri, keyfile, secret_key, public_key) {
        (Some(uri), None, None, None) => Keypair::from_uri(uri).map_err(value_error)?,
        (None, Some(path), None, None) => Keypair::from_keyfile(path).map_err(value_error)?,
        (None, keyfile, Some(secret), Some(public)) => {
            let public = public_of(public)?;
            match keyfile {
                Some(path) => Keypair::from_memory_of_keyfile(&secret, &public, path),
                None => Keypair::from_secret_key_bytes(&secret, &public),
            }
            .map_err(value_error)?
        }
        _ => {
            return Err(PyValueError::new_err(
                "give exactly one of uri, keyfile, or secret_key with public_key",
            ))
        }
    })
}

/// Sets the call policies from the keyword arguments (checked by `PolicySettings::apply`,
/// named as Python names them).
pub(crate) fn apply_policies(
    client: &mut dendrite::ClientConfig,
    k_min: Option<usize>,
    timeout_after_k_min: Option<f64>,
    backoff: Option<f64>,
    retries: Option<u32>,
) -> PyResult<()> {
    let settings = PolicySettings {
        k_min,
        timeout_after_k_min,
        backoff_base: backoff,
        backoff_cap: None,
        retries,
    };
    settings
        .apply(client, |setting| match setting {
            PolicySetting::KMin => "k_min",
            PolicySetting::TimeoutAfterKMin => "timeout_after_k_min",
            PolicySetting::Backoff => "backoff",
        })
        .map_err(value_error)
}

/// This process's dendrite of `live`: made on first use, and again in a child after `fork`
/// (the parent's sockets and tasks belong to the parent's runtime: they are leaked there).
pub(crate) fn live_dendrite(
    live: &Mutex<Option<Live>>,
    key: &Keypair,
    config: &DendriteConfig,
) -> PyResult<Dendrite> {
    let mut live = live.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(current) = live.as_ref() {
        if is_this_process(current.pid) {
            return Ok(current.dendrite.clone());
        }
    }
    if let Some(inherited) = live.take() {
        std::mem::forget(inherited);
    }
    let runtime = runtime()?;
    let _entered = runtime.enter();
    let dendrite = Dendrite::with_config(key.clone(), config.clone());
    *live = Some(Live {
        pid: std::process::id(),
        dendrite: dendrite.clone(),
        exporter: None,
    });
    Ok(dendrite)
}

/// Serves `dendrite`'s Prometheus metrics on `ip:port` once per process (the port of the
/// exporter already serving otherwise).
pub(crate) fn serve_live_metrics(
    py: Python<'_>,
    live: &Mutex<Option<Live>>,
    dendrite: &Dendrite,
    port: u16,
    ip: &str,
) -> PyResult<u16> {
    let metrics = dendrite
        .metrics()
        .cloned()
        .ok_or_else(|| PyValueError::new_err("metrics are off (prometheus level OFF)"))?;
    {
        let live = live.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(server) = live.as_ref().and_then(|l| l.exporter.as_ref()) {
            return Ok(server.local_addr().port());
        }
    }
    let addr = std::net::SocketAddr::new(ip.parse().map_err(value_error)?, port);
    let runtime = runtime()?;
    let server = wait(
        py,
        &runtime,
        async move { serve_metrics(addr, metrics).await },
    )?
    .map_err(|e| PyRuntimeError::new_err(format!("cannot serve metrics on {addr}: {e}")))?;
    let port = server.local_addr().port();
    let mut live = live.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(live) = live.as_mut() {
        live.exporter = Some(server);
    }
    Ok(port)
}

/// The dendrite of this process: rebuilt after a fork.
pub(crate) struct Live {
    pid: u32,
    dendrite: Dendrite,
    exporter: Option<MetricsServer>,
}

/// The RPC client behind `dendrite_rs.Dendrite`.
#[pyclass(frozen, module = "dendrite_rs._native")]
pub struct Client {
    key: Keypair,
    config: DendriteConfig,
    live: Mutex<Option<Live>>,
}

/// The results of a call, flattened endpoint-major (endpoint × synapse), as arrays.
#[pyclass(frozen, get_all, module = "dendrite_rs._native")]
pub struct CallResults {
    /// One output per endpoint × synapse (zeros where it did not answer).
    outputs: Vec<Py<PyUntypedArray>>,
    /// `int64` return codes, one per endpoint × synapse.
    codes: Py<PyArray1<i64>>,
    /// `float32` seconds, one per endpoint × synapse.
    times: Py<PyArray1<f32>>,
    /// One message per endpoint × synapse.
    messages: Vec<String>,
    /// `float64` seconds per endpoint and phase (`PHASES` order).
    phases: Py<PyArray1<f64>>,
    /// Per endpoint: 1 its call went out on an open connection, 0 on a new one, -1 no RPC.
    reused_connection: Py<PyArray1<i8>>,
}

impl Client {
    /// This process's dendrite (built on first use, again after a fork).
    fn dendrite(&self) -> PyResult<Dendrite> {
        live_dendrite(&self.live, &self.key, &self.config)
    }

    /// Results flattened endpoint-major; outputs are moved out, so that their bytes can be lent
    /// to numpy. Per endpoint also its phases (seconds, `Phase::ALL` order, `Phase::COUNT` per endpoint)
    /// and whether its connection was reused (1, 0, or -1 where no RPC was attempted).
    fn flat(py: Python<'_>, results: Vec<EndpointResult>) -> PyResult<CallResults> {
        let total = results.iter().map(|r| r.synapses.len()).sum();
        let mut outputs = Vec::with_capacity(total);
        let mut codes = Vec::with_capacity(total);
        let mut times = Vec::with_capacity(total);
        let mut messages = Vec::with_capacity(total);
        let mut phases = Vec::with_capacity(results.len() * dendrite::core::Phase::COUNT);
        let mut reused = Vec::with_capacity(results.len());
        let mut lender = Lender::default();
        for result in results {
            phases.extend(result.phases.named().map(|(_, d)| d.as_secs_f64()));
            reused.push(result.phases.connection_reuse().map_or(-1, i8::from));
            for synapse in result.synapses {
                codes.push(synapse.code as i64);
                times.push(synapse.elapsed.as_secs_f32());
                messages.push(synapse.message);
                outputs.push(lender.lend(py, synapse.output)?.unbind());
            }
        }
        Ok(CallResults {
            outputs,
            codes: PyArray1::from_vec(py, codes).unbind(),
            times: PyArray1::from_vec(py, times).unbind(),
            messages,
            phases: PyArray1::from_vec(py, phases).unbind(),
            reused_connection: PyArray1::from_vec(py, reused).unbind(),
        })
    }

    fn call_timeout(&self, timeout: Option<f64>) -> PyResult<Duration> {
        timeout.map_or(Ok(self.config.timeout), |t| seconds("timeout", t))
    }
}

/// The wire form of each input array; an array passed for consecutive endpoints (the same
/// object, as a broadcast input is) is converted once, and the core then serializes it once.
fn wire_inputs(inputs: &[Bound<'_, PyAny>]) -> PyResult<Vec<Tensor>> {
    let mut tensors: Vec<Tensor> = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        let tensor = match tensors.last() {
            Some(previous) if inputs[i - 1].is(input) => previous.clone(),
            _ => from_numpy(input)?,
        };
        tensors.push(tensor);
    }
    Ok(tensors)
}

fn wire_endpoints(endpoints: &[PyRef<'_, Endpoint>]) -> Vec<WireEndpoint> {
    endpoints.iter().map(|e| e.inner.clone()).collect()
}

fn wire_synapses(synapses: &[PyRef<'_, Synapse>]) -> Vec<WireSynapse> {
    synapses.iter().map(|s| s.inner.clone()).collect()
}

#[pymethods]
impl Client {
    /// A client signing with the key of `uri` (`//Alice`, a mnemonic, `0x` seed), of the
    /// unencrypted bittensor key file `keyfile`, or with the 64-byte `secret_key` of the
    /// keypair a wallet holds in memory (with its `public_key`, checked against `keyfile`'s
    /// when that names one). Settings left out are the facade's defaults
    /// ([`DendriteConfig::default`], the reference's).
    #[new]
    #[pyo3(signature = (*, uri=None, keyfile=None, secret_key=None, public_key=None, timeout=None, max_active_receptors=None, max_in_flight=None, max_detached_backward=None, compression=None, prometheus_level="DEBUG", k_min=None, timeout_after_k_min=None, backoff=None, retries=None, reject_non_finite=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        uri: Option<&str>,
        keyfile: Option<&str>,
        secret_key: Option<Vec<u8>>,
        public_key: Option<Vec<u8>>,
        timeout: Option<f64>,
        max_active_receptors: Option<usize>,
        max_in_flight: Option<usize>,
        max_detached_backward: Option<usize>,
        compression: Option<&str>,
        prometheus_level: &str,
        k_min: Option<usize>,
        timeout_after_k_min: Option<f64>,
        backoff: Option<f64>,
        retries: Option<u32>,
        reject_non_finite: bool,
    ) -> PyResult<Self> {
        let key = signing_key(uri, keyfile, secret_key, public_key)?;
        // Every default is the facade's (the reference's), stated once there.
        let mut config = DendriteConfig::default();
        if let Some(timeout) = timeout {
            config.timeout = seconds("timeout", timeout)?;
        }
        config.prometheus_level = prometheus_level.parse().map_err(value_error)?;
        let client = &mut config.client;
        if let Some(max) = max_active_receptors {
            if max == 0 {
                return Err(PyValueError::new_err("max_active_receptors must be > 0"));
            }
            client.max_active_receptors = max;
        }
        client.max_in_flight = max_in_flight.unwrap_or(client.max_active_receptors).max(1);
        if let Some(max) = max_detached_backward {
            client.max_detached_backward = max;
        }
        client.receptor.compression = match compression {
            None => None,
            Some(name) => Some(Compression::from_name(name).ok_or_else(|| {
                PyValueError::new_err(format!(
                    "compression must be None, 'gzip' or 'zstd', got {name:?}"
                ))
            })?),
        };
        apply_policies(client, k_min, timeout_after_k_min, backoff, retries)?;
        client.reject_non_finite = reject_non_finite;
        Ok(Client {
            key,
            config,
            live: Mutex::new(None),
        })
    }

    /// The SS58 address requests are signed with.
    #[getter]
    fn hotkey(&self) -> &str {
        self.key.ss58_address()
    }

    /// The default timeout, seconds.
    #[getter]
    fn timeout(&self) -> f64 {
        self.config.timeout.as_secs_f64()
    }

    /// Sends `inputs[i]` to `endpoints[i]` for every synapse and waits (without the GIL) for all
    /// answers or the deadline. Returns `(outputs, codes, times, messages)` flattened
    /// endpoint-major; outputs are zeros of the expected shape where a call failed.
    #[pyo3(signature = (endpoints, synapses, inputs, timeout=None))]
    fn forward<'py>(
        &self,
        py: Python<'py>,
        endpoints: Vec<PyRef<'py, Endpoint>>,
        synapses: Vec<PyRef<'py, Synapse>>,
        inputs: Vec<Bound<'py, PyAny>>,
        timeout: Option<f64>,
    ) -> PyResult<CallResults> {
        let timeout = self.call_timeout(timeout)?;
        let (endpoints, synapses) = (wire_endpoints(&endpoints), wire_synapses(&synapses));
        let inputs = wire_inputs(&inputs)?;
        let dendrite = self.dendrite()?;
        let runtime = runtime()?;
        let results = wait(py, &runtime, async move {
            dendrite
                .forward(&endpoints, &synapses, &inputs, Some(timeout))
                .await
        })?
        .map_err(value_error)?;
        Self::flat(py, results)
    }

    /// Sends each endpoint the gradients of its outputs (`grads[i]`, one float32 array per
    /// synapse; seq2seq takes an empty one). With `wait`, blocks (without the GIL) and returns
    /// `(codes, messages)` flattened endpoint-major; otherwise starts the RPCs, bounded by
    /// `max_detached_backward`, and returns `(started, dropped)`.
    #[pyo3(signature = (endpoints, synapses, inputs, grads, timeout=None, wait_for_answers=false))]
    #[allow(clippy::too_many_arguments)]
    fn backward<'py>(
        &self,
        py: Python<'py>,
        endpoints: Vec<PyRef<'py, Endpoint>>,
        synapses: Vec<PyRef<'py, Synapse>>,
        inputs: Vec<Bound<'py, PyAny>>,
        grads: Vec<Vec<Bound<'py, PyAny>>>,
        timeout: Option<f64>,
        wait_for_answers: bool,
    ) -> PyResult<Py<PyAny>> {
        let timeout = self.call_timeout(timeout)?;
        let (endpoints, synapses) = (wire_endpoints(&endpoints), wire_synapses(&synapses));
        let inputs = wire_inputs(&inputs)?;
        let grads = grads
            .iter()
            .map(|per_synapse| per_synapse.iter().map(from_numpy).collect())
            .collect::<PyResult<Vec<Vec<Tensor>>>>()?;
        let dendrite = self.dendrite()?;
        let runtime = runtime()?;
        if !wait_for_answers {
            let _entered = runtime.enter();
            let dispatch = dendrite
                .client()
                .backward_detached(&endpoints, &synapses, &inputs, &grads, timeout)
                .map_err(value_error)?;
            return Ok((dispatch.started, dispatch.dropped)
                .into_pyobject(py)?
                .into_any()
                .unbind());
        }
        let results = wait(py, &runtime, async move {
            dendrite
                .client()
                .backward(&endpoints, &synapses, &inputs, &grads, timeout)
                .await
        })?
        .map_err(value_error)?;
        let flat = Self::flat(py, results)?;
        Ok((flat.codes, flat.messages)
            .into_pyobject(py)?
            .into_any()
            .unbind())
    }

    /// Serves `/metrics` (Prometheus text) and `/stats` (per-endpoint JSON) on `ip:port` (port
    /// 0 picks one) and returns the port. One exporter per client; a second call returns its port.
    #[pyo3(signature = (port=0, ip="127.0.0.1"))]
    fn serve_metrics(&self, py: Python<'_>, port: u16, ip: &str) -> PyResult<u16> {
        let dendrite = self.dendrite()?;
        serve_live_metrics(py, &self.live, &dendrite, port, ip)
    }

    /// The Prometheus text exposition of this client's series ("" when metrics are off).
    fn metrics_text(&self) -> PyResult<String> {
        Ok(self
            .dendrite()?
            .metrics()
            .map(|m| m.render())
            .unwrap_or_default())
    }

    /// Per-endpoint statistics (requests, successes, failures, codes, latency, bytes), one dict
    /// per endpoint seen; empty when metrics are off.
    fn endpoint_stats<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let Some(metrics) = self.dendrite()?.metrics().cloned() else {
            return Ok(Vec::new());
        };
        metrics
            .stats()
            .into_iter()
            .map(|s| {
                let d = PyDict::new(py);
                d.set_item("wire", s.wire)?;
                d.set_item("uid", s.uid)?;
                d.set_item("hotkey", s.hotkey)?;
                d.set_item("requests", s.requests)?;
                d.set_item("successes", s.successes)?;
                d.set_item("failures", s.failures)?;
                d.set_item("codes", s.codes)?;
                d.set_item("latency_ewma_s", s.latency_ewma_s)?;
                d.set_item("bytes_out", s.bytes_out)?;
                d.set_item("bytes_in", s.bytes_in)?;
                Ok(d)
            })
            .collect()
    }

    /// Counters of the RPC core: receptors in the pool, open connections, fire-and-forget
    /// backwards dropped, forward retries made, endpoints being backed off.
    fn counters<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dendrite = self.dendrite()?;
        let client = dendrite.client();
        let d = PyDict::new(py);
        d.set_item("receptors", client.pool().len())?;
        d.set_item("open_connections", client.pool().open_connections())?;
        d.set_item("dropped_backward", client.dropped_backward())?;
        d.set_item("retries", client.retries())?;
        d.set_item("backing_off", client.backing_off())?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        format!("Client({})", self.key.ss58_address())
    }
}
