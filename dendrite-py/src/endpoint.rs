//! `dendrite_rs.Endpoint`: the reference's endpoint (every field, its `[250]` tensor form, its
//! checks), and how any endpoint-like Python object becomes one.
//!
//! Invariant: an `Endpoint` that serves (ip other than 0.0.0.0) passed the reference's format
//! checks; one that does not serve is answered `BadEndpoint` without traffic.

use dendrite::format::ENDPOINT_BUFFER_SIZE;
use dendrite::{DType, Endpoint as WireEndpoint, Tensor};
use numpy::PyUntypedArray;
use pyo3::prelude::*;
use pyo3::types::PyAny;

use crate::arrays::{from_numpy, to_numpy};
use crate::value_error;

/// A neuron's serving endpoint, with the fields of `bittensor.endpoint`.
#[pyclass(frozen, eq, hash, module = "dendrite_rs._native")]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    pub(crate) inner: WireEndpoint,
}

#[pymethods]
impl Endpoint {
    /// An endpoint; raises `ValueError` where `bittensor.endpoint` would fail its format check.
    #[new]
    #[pyo3(signature = (version, uid, hotkey, ip, ip_type, port, protocol=0, coldkey=None, modality=0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        version: u32,
        uid: u64,
        hotkey: String,
        ip: String,
        ip_type: u8,
        port: u16,
        protocol: u32,
        coldkey: Option<String>,
        modality: u32,
    ) -> PyResult<Self> {
        let inner = WireEndpoint {
            version,
            uid,
            coldkey: coldkey.unwrap_or_else(|| hotkey.clone()),
            hotkey,
            ip,
            ip_type,
            port,
            protocol,
            modality,
        };
        if inner.is_serving() {
            inner.validate().map_err(value_error)?;
        }
        Ok(Endpoint { inner })
    }

    /// The endpoint encoded in a `[250]` (or `[1, 250]`) int64 array (all -1: the dummy).
    #[staticmethod]
    fn from_tensor(array: &Bound<'_, PyAny>) -> PyResult<Self> {
        let tensor = from_numpy(array)?;
        let inner = WireEndpoint::from_tensor(&tensor).map_err(value_error)?;
        Ok(Endpoint { inner })
    }

    /// The reference's dummy endpoint (answered `BadEndpoint`, no traffic).
    #[staticmethod]
    fn dummy() -> Self {
        Endpoint {
            inner: WireEndpoint::dummy(),
        }
    }

    /// The `[250]` int64 array form (JSON bytes, then -1).
    fn to_numpy<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyUntypedArray>> {
        let tensor = self.inner.to_tensor().map_err(value_error)?;
        to_numpy(py, tensor)
    }

    /// The JSON the reference's `dumps()` writes.
    fn dumps(&self) -> String {
        self.inner.dumps()
    }

    /// Protocol version (e.g. 370).
    #[getter]
    fn version(&self) -> u32 {
        self.inner.version
    }
    /// Network uid.
    #[getter]
    fn uid(&self) -> u64 {
        self.inner.uid
    }
    /// SS58 hotkey.
    #[getter]
    fn hotkey(&self) -> &str {
        &self.inner.hotkey
    }
    /// IP address.
    #[getter]
    fn ip(&self) -> &str {
        &self.inner.ip
    }
    /// 4 or 6.
    #[getter]
    fn ip_type(&self) -> u8 {
        self.inner.ip_type
    }
    /// TCP port.
    #[getter]
    fn port(&self) -> u16 {
        self.inner.port
    }
    /// Protocol (0).
    #[getter]
    fn protocol(&self) -> u32 {
        self.inner.protocol
    }
    /// SS58 coldkey.
    #[getter]
    fn coldkey(&self) -> &str {
        &self.inner.coldkey
    }
    /// Modality (0 = text).
    #[getter]
    fn modality(&self) -> u32 {
        self.inner.modality
    }
    /// Whether the endpoint serves (ip is not 0.0.0.0).
    #[getter]
    fn is_serving(&self) -> bool {
        self.inner.is_serving()
    }

    /// `ip:port` (`[ip]:port` for IPv6).
    fn ip_str(&self) -> String {
        match self.inner.ip_type {
            6 => format!("[{}]:{}", self.inner.ip, self.inner.port),
            _ => format!("{}:{}", self.inner.ip, self.inner.port),
        }
    }

    fn __repr__(&self) -> String {
        let e = &self.inner;
        format!(
            "Endpoint({}, {}, {}, {}, {})",
            e.hotkey,
            self.ip_str(),
            e.coldkey,
            e.modality,
            e.uid
        )
    }
}

/// The endpoints of an `[n, 250]` or `[250]` int64 array, one per row.
#[pyfunction]
pub fn endpoints_from_tensor(array: &Bound<'_, PyAny>) -> PyResult<Vec<Endpoint>> {
    let tensor = from_numpy(array)?;
    let rows = match tensor.shape() {
        [ENDPOINT_BUFFER_SIZE] => vec![WireEndpoint::from_tensor(&tensor).map_err(value_error)?],
        [_, ENDPOINT_BUFFER_SIZE] => {
            let values = tensor.cast(DType::Int64).to_vec::<i64>();
            values
                .chunks(ENDPOINT_BUFFER_SIZE)
                .map(|row| {
                    let row = Tensor::from_vec(row.to_vec(), [ENDPOINT_BUFFER_SIZE])
                        .map_err(value_error)?;
                    WireEndpoint::from_tensor(&row).map_err(value_error)
                })
                .collect::<PyResult<Vec<_>>>()?
        }
        shape => {
            return Err(value_error(format!(
                "Endpoints tensor should have semantic shape [n, 250], got {shape:?}"
            )))
        }
    };
    Ok(rows.into_iter().map(|inner| Endpoint { inner }).collect())
}
