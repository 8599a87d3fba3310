//! Synapses: the reference's four constructors (same names, keywords and defaults as
//! `bittensor.synapse.*`), and the wire form of bittensor's own synapse objects.
//!
//! Invariant: a `Synapse` always holds parameters that decode from, and encode to, the 3.x wire
//! exactly (bittensor objects cross as their serialized `Synapse` proto, never by attribute).

use dendrite::wire::proto::{self, Serializer};
use dendrite::wire::synapse::SerializerTypes;
use dendrite::{
    Synapse as WireSynapse, TextCausalLM, TextCausalLMNext, TextLastHiddenState, TextSeq2Seq,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::value_error;
use pyo3::types::{PyBytes, PyDict};

/// One synapse (kind and parameters) to ask endpoints for.
#[pyclass(frozen, module = "dendrite_rs._native")]
#[derive(Clone)]
pub struct Synapse {
    pub(crate) inner: WireSynapse,
}

#[pymethods]
impl Synapse {
    /// The synapse of a serialized 3.x `Synapse` proto's type and `synapse_data` (what
    /// `bittensor_synapse.serialize_to_wire_proto()` carries).
    #[staticmethod]
    fn from_wire(synapse_type: i32, synapse_data: Vec<u8>) -> PyResult<Self> {
        let wire = proto::Synapse {
            synapse_type,
            synapse_data: synapse_data.into(),
            ..Default::default()
        };
        let inner = WireSynapse::from_wire(&wire).map_err(value_error)?;
        Ok(Synapse { inner })
    }

    /// `bittensor.proto.Synapse.SynapseType` value (1 hidden state, 2 causal LM, 3 seq2seq,
    /// 4 causal LM next).
    #[getter]
    fn synapse_type(&self) -> i32 {
        self.inner.synapse_type() as i32
    }

    /// Whether the output takes a gradient in a Backward (seq2seq's token ids do not).
    #[getter]
    fn is_differentiable(&self) -> bool {
        self.inner.is_differentiable()
    }

    /// The reference's class name (`TextCausalLM`, ...).
    #[getter]
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    /// The serialized parameters, as `synapse_data` on the wire.
    #[getter]
    fn synapse_data<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.params_bytes())
    }

    /// The parameters by the reference's keyword names.
    #[getter]
    fn params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        let serializers = match &self.inner {
            WireSynapse::TextLastHiddenState(s) => {
                d.set_item("mask", s.mask.clone())?;
                s.serializers
            }
            WireSynapse::TextCausalLM(s) => {
                d.set_item("topk", s.topk)?;
                s.serializers
            }
            WireSynapse::TextCausalLMNext(s) => {
                d.set_item("topk", s.topk)?;
                s.serializers
            }
            WireSynapse::TextSeq2Seq(s) => {
                d.set_item("topk", s.topk)?;
                d.set_item("num_to_generate", s.num_to_generate)?;
                d.set_item("num_beams", s.num_beams)?;
                d.set_item("no_repeat_ngram_size", s.no_repeat_ngram_size)?;
                d.set_item("early_stopping", s.early_stopping)?;
                d.set_item("num_return_sequences", s.num_return_sequences)?;
                d.set_item("do_sample", s.do_sample)?;
                d.set_item("top_p", s.top_p)?;
                d.set_item("temperature", s.temperature)?;
                d.set_item("repetition_penalty", s.repetition_penalty)?;
                d.set_item("length_penalty", s.length_penalty)?;
                d.set_item("max_time", s.max_time)?;
                d.set_item("num_beam_groups", s.num_beam_groups)?;
                s.serializers
            }
        };
        d.set_item(
            "forward_request_serializer_type",
            serializers.forward_request as i32,
        )?;
        d.set_item(
            "forward_response_serializer_type",
            serializers.forward_response as i32,
        )?;
        d.set_item(
            "backward_request_serializer_type",
            serializers.backward_request as i32,
        )?;
        d.set_item(
            "backward_response_serializer_type",
            serializers.backward_response as i32,
        )?;
        Ok(d)
    }

    fn __getattr__(&self, py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
        match self.params(py)?.get_item(name)? {
            Some(value) => Ok(value.unbind()),
            None => Err(pyo3::exceptions::PyAttributeError::new_err(format!(
                "{} has no attribute {name:?}",
                self.inner.name()
            ))),
        }
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let params = self.params(py)?;
        Ok(format!("{}({})", self.inner.name(), params.repr()?))
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<Synapse>()
            .map(|o| o.get().inner == self.inner)
            .unwrap_or(false)
    }
}

fn serializer(value: i32) -> PyResult<Serializer> {
    Serializer::try_from(value).map_err(|_| {
        PyValueError::new_err(format!(
            "unknown serializer type {value} (0 MSGPACK, 1 CMPPACK)"
        ))
    })
}

fn serializers(
    fwd_req: i32,
    fwd_resp: i32,
    bwd_req: i32,
    bwd_resp: i32,
) -> PyResult<SerializerTypes> {
    Ok(SerializerTypes {
        forward_request: serializer(fwd_req)?,
        forward_response: serializer(fwd_resp)?,
        backward_request: serializer(bwd_req)?,
        backward_response: serializer(bwd_resp)?,
    })
}

fn checked(inner: WireSynapse) -> PyResult<Synapse> {
    inner
        .validate()
        .map_err(|e| PyValueError::new_err(format!("{}: {e}", inner.name())))?;
    Ok(Synapse { inner })
}

/// `bittensor.synapse.TextLastHiddenState`: the last hidden layer `[B, S, 1024]`.
#[pyfunction(name = "TextLastHiddenState")]
#[pyo3(signature = (mask=None, forward_request_serializer_type=0, forward_response_serializer_type=0, backward_request_serializer_type=0, backward_response_serializer_type=0))]
pub fn text_last_hidden_state(
    mask: Option<Vec<i32>>,
    forward_request_serializer_type: i32,
    forward_response_serializer_type: i32,
    backward_request_serializer_type: i32,
    backward_response_serializer_type: i32,
) -> PyResult<Synapse> {
    checked(WireSynapse::TextLastHiddenState(TextLastHiddenState {
        mask: mask.unwrap_or_default(),
        serializers: serializers(
            forward_request_serializer_type,
            forward_response_serializer_type,
            backward_request_serializer_type,
            backward_response_serializer_type,
        )?,
    }))
}

/// `bittensor.synapse.TextCausalLM`: next-token log-probabilities `[B, S, 50258]`.
#[pyfunction(name = "TextCausalLM")]
#[pyo3(signature = (topk=512, forward_request_serializer_type=0, forward_response_serializer_type=0, backward_request_serializer_type=0, backward_response_serializer_type=0))]
pub fn text_causal_lm(
    topk: i32,
    forward_request_serializer_type: i32,
    forward_response_serializer_type: i32,
    backward_request_serializer_type: i32,
    backward_response_serializer_type: i32,
) -> PyResult<Synapse> {
    checked(WireSynapse::TextCausalLM(TextCausalLM {
        topk,
        serializers: serializers(
            forward_request_serializer_type,
            forward_response_serializer_type,
            backward_request_serializer_type,
            backward_response_serializer_type,
        )?,
    }))
}

/// `bittensor.synapse.TextCausalLMNext`: top-k next-token phrases `[B, topk + 1, max_len]`.
#[pyfunction(name = "TextCausalLMNext")]
#[pyo3(signature = (topk=4096, forward_request_serializer_type=0, forward_response_serializer_type=0, backward_request_serializer_type=0, backward_response_serializer_type=0))]
pub fn text_causal_lm_next(
    topk: i32,
    forward_request_serializer_type: i32,
    forward_response_serializer_type: i32,
    backward_request_serializer_type: i32,
    backward_response_serializer_type: i32,
) -> PyResult<Synapse> {
    checked(WireSynapse::TextCausalLMNext(TextCausalLMNext {
        topk,
        serializers: serializers(
            forward_request_serializer_type,
            forward_response_serializer_type,
            backward_request_serializer_type,
            backward_response_serializer_type,
        )?,
    }))
}

/// `bittensor.synapse.TextSeq2Seq`: generated token ids `[B, <= num_to_generate]`.
#[pyfunction(name = "TextSeq2Seq")]
#[pyo3(signature = (topk=50, num_to_generate=256, num_beams=5, no_repeat_ngram_size=2, early_stopping=false, num_return_sequences=1, do_sample=false, top_p=0.95, temperature=1.0, repetition_penalty=1.0, length_penalty=1.0, max_time=150.0, num_beam_groups=1, forward_request_serializer_type=0, forward_response_serializer_type=0, backward_request_serializer_type=0, backward_response_serializer_type=0))]
#[allow(clippy::too_many_arguments)]
pub fn text_seq2seq(
    topk: i32,
    num_to_generate: i32,
    num_beams: i32,
    no_repeat_ngram_size: i32,
    early_stopping: bool,
    num_return_sequences: i32,
    do_sample: bool,
    top_p: f32,
    temperature: f32,
    repetition_penalty: f32,
    length_penalty: f32,
    max_time: f32,
    num_beam_groups: i32,
    forward_request_serializer_type: i32,
    forward_response_serializer_type: i32,
    backward_request_serializer_type: i32,
    backward_response_serializer_type: i32,
) -> PyResult<Synapse> {
    checked(WireSynapse::TextSeq2Seq(TextSeq2Seq {
        topk,
        num_to_generate,
        num_beams,
        no_repeat_ngram_size,
        early_stopping,
        num_return_sequences,
        do_sample,
        top_p,
        temperature,
        repetition_penalty,
        length_penalty,
        max_time,
        num_beam_groups,
        serializers: serializers(
            forward_request_serializer_type,
            forward_response_serializer_type,
            backward_request_serializer_type,
            backward_response_serializer_type,
        )?,
    }))
}
