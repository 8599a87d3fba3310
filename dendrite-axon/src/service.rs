//! The `Bittensor` gRPC service: authentication, the reference axon's request checks in its
//! order with its codes and messages, handler dispatch and response encoding.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use dendrite_wire::proto::bittensor_server::Bittensor;
use dendrite_wire::proto::{self, ReturnCode, TensorMessage};
use dendrite_wire::{DType, Synapse, SynapseError, Tensor, VERSION_AS_INT};
use tonic::{Request, Response, Status};

use crate::auth::Authenticator;
use crate::behaviour::Behaviour;
use crate::handler::{response_failure, HandlerError, SynapseHandler};

/// Counters of what an axon served.
#[derive(Debug, Default)]
pub struct AxonCounters {
    /// Forward requests that passed authentication.
    pub forward: AtomicU64,
    /// Backward requests that passed authentication.
    pub backward: AtomicU64,
    /// Requests rejected as `UNAUTHENTICATED`.
    pub rejected: AtomicU64,
}

/// State shared by the service and the axon's handle.
pub(crate) struct Shared {
    pub hotkey: String,
    pub auth: Authenticator,
    pub handler: Arc<dyn SynapseHandler>,
    pub behaviour: RwLock<Behaviour>,
    pub counters: AxonCounters,
}

impl Shared {
    pub fn behaviour(&self) -> Behaviour {
        self.behaviour
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether a new connection is to be closed at once (counting down `DropConnections`).
    pub fn drops_connection(&self) -> bool {
        let mut behaviour = self.behaviour.write().unwrap_or_else(|e| e.into_inner());
        match *behaviour {
            Behaviour::DropConnection => true,
            Behaviour::DropConnections(n) if n > 0 => {
                *behaviour = match n {
                    1 => Behaviour::Normal,
                    n => Behaviour::DropConnections(n - 1),
                };
                true
            }
            _ => false,
        }
    }
}

/// The tonic service.
#[derive(Clone)]
pub(crate) struct AxonService {
    pub shared: Arc<Shared>,
}

/// One synapse of a request: parsed, or the code it is answered with.
type Parsed = Result<Synapse, (ReturnCode, String)>;

/// Per-synapse state while a request is processed.
struct Slot {
    wire: proto::Synapse,
    code: ReturnCode,
    message: String,
}

impl Slot {
    fn fail(&mut self, code: ReturnCode, message: impl Into<String>) {
        if self.code == ReturnCode::Success {
            self.code = code;
            self.message = message.into();
        }
    }

    fn ok(&self) -> bool {
        self.code == ReturnCode::Success
    }

    fn finish(mut self) -> proto::Synapse {
        self.wire.return_code = self.code as i32;
        self.wire.message = self.message;
        self.wire
    }
}

fn parse_synapses(wires: &[proto::Synapse]) -> (Vec<Parsed>, Vec<Slot>) {
    let parsed: Vec<Parsed> = wires
        .iter()
        .map(|w| {
            Synapse::from_wire(w).map_err(|e| match e {
                SynapseError::UnknownType(_) => {
                    (ReturnCode::NotImplemented, "Not Implemented".into())
                }
                e => (
                    ReturnCode::RequestDeserializationException,
                    format!("Synapse deserialization exception with error:{e}"),
                ),
            })
        })
        .collect();
    let slots = wires
        .iter()
        .zip(&parsed)
        .map(|(wire, p)| {
            let (code, message) = match p {
                Ok(_) => (ReturnCode::Success, "Success".to_string()),
                Err((code, message)) => (*code, message.clone()),
            };
            Slot {
                wire: wire.clone(),
                code,
                message,
            }
        })
        .collect();
    (parsed, slots)
}

/// The request-tensor decoding failure as the reference classifies it.
fn input_failure(e: &SynapseError) -> (ReturnCode, String) {
    match e {
        SynapseError::Shape(_) => (
            ReturnCode::RequestShapeException,
            format!("Input shape exception with error:{e}"),
        ),
        _ => (
            ReturnCode::RequestDeserializationException,
            format!("Input deserialization exception with error:{e}"),
        ),
    }
}

fn empty_tensor() -> proto::Tensor {
    proto::Tensor {
        version: VERSION_AS_INT,
        ..Default::default()
    }
}

impl AxonService {
    fn response(
        &self,
        code: ReturnCode,
        tensors: Vec<proto::Tensor>,
        slots: Vec<Slot>,
        requires_grad: bool,
    ) -> Response<TensorMessage> {
        Response::new(TensorMessage {
            version: VERSION_AS_INT,
            hotkey: self.shared.hotkey.clone(),
            return_code: code as i32,
            tensors,
            requires_grad,
            synapses: slots.into_iter().map(Slot::finish).collect(),
            ..Default::default()
        })
    }

    /// Applies the behaviours that act before the handler; `Some` answers the request.
    async fn misbehave(&self) -> Option<Status> {
        match self.shared.behaviour() {
            Behaviour::Delay(delay) => {
                tokio::time::sleep(delay).await;
                None
            }
            Behaviour::Hang => {
                std::future::pending::<()>().await;
                None
            }
            Behaviour::Status(code) => Some(Status::new(code, "test axon: configured status")),
            _ => None,
        }
    }

    fn process_forward(&self, caller: &str, request: TensorMessage) -> Response<TensorMessage> {
        let requires_grad = request.requires_grad;
        let (parsed, mut slots) = parse_synapses(&request.synapses);
        if request.tensors.is_empty() || request.tensors.len() != parsed.len() {
            // The reference axon crashes (gRPC UNKNOWN) on an empty list or a short one.
            let message = if request.tensors.is_empty() {
                "Forward request contains 0 tensors, expected 1 tensor in the forward call".into()
            } else {
                "Request length doesn't match synape length.".to_string()
            };
            for slot in &mut slots {
                slot.code = ReturnCode::RequestShapeException;
                slot.message = message.clone();
            }
            return self.response(
                ReturnCode::RequestShapeException,
                vec![],
                slots,
                requires_grad,
            );
        }
        let mut inputs: Vec<Option<Tensor>> = vec![None; parsed.len()];
        for (i, synapse) in parsed.iter().enumerate() {
            let Ok(synapse) = synapse else { continue };
            match synapse.deserialize_forward_request(&request.tensors[i]) {
                Ok(input) => inputs[i] = Some(input),
                Err(e) => {
                    let (code, message) = input_failure(&e);
                    slots[i].fail(code, message);
                }
            }
        }
        if let Some(first) = slots.first().filter(|_| slots.iter().all(|s| !s.ok())) {
            let code = first.code;
            return self.response(code, vec![], slots, requires_grad);
        }
        let behaviour = self.shared.behaviour();
        let mut tensors = Vec::with_capacity(parsed.len());
        for (i, synapse) in parsed.iter().enumerate() {
            let (Ok(synapse), Some(input)) = (synapse, &inputs[i]) else {
                tensors.push(empty_tensor());
                continue;
            };
            if !slots[i].ok() {
                tensors.push(empty_tensor());
                continue;
            }
            if let (Behaviour::FirstSynapseCode(code), 0) = (&behaviour, i) {
                slots[i].fail(*code, "test axon: configured code for the first synapse");
                tensors.push(empty_tensor());
                continue;
            }
            match self.answer(caller, synapse, input, &behaviour) {
                Ok(tensor) => tensors.push(tensor),
                Err(HandlerError { code, message }) => {
                    slots[i].fail(code, message);
                    tensors.push(empty_tensor());
                }
            }
        }
        if behaviour == Behaviour::MissingTensor {
            tensors.pop();
        }
        if let Some(first) = slots.first().filter(|_| slots.iter().all(|s| !s.ok())) {
            let code = first.code;
            return self.response(code, vec![], slots, requires_grad);
        }
        self.response(ReturnCode::Success, tensors, slots, requires_grad)
    }

    /// One synapse's response tensor, or the code it is answered with.
    fn answer(
        &self,
        caller: &str,
        synapse: &Synapse,
        input: &Tensor,
        behaviour: &Behaviour,
    ) -> Result<proto::Tensor, HandlerError> {
        if let Behaviour::FixedCode(code) = behaviour {
            return Err(HandlerError::new(*code, "test axon: configured code"));
        }
        // The reference fails out-of-range parameters (topk above the vocabulary) when it
        // encodes the response.
        synapse.validate().map_err(response_failure)?;
        let mut tensor = self
            .shared
            .handler
            .forward(caller, synapse, input)?
            .serialize(synapse, input)?;
        match behaviour {
            Behaviour::GarbageTensors => tensor.buffer = Bytes::from_static(b"\xc1not msgpack"),
            Behaviour::WrongShape => {
                let wrong =
                    Tensor::zeros(DType::Float32, [1, 1, 3]).unwrap_or_else(|_| Tensor::empty());
                tensor = dendrite_wire::serializer::serialize(&wrong, proto::Serializer::Msgpack)
                    .unwrap_or_else(|_| empty_tensor());
            }
            Behaviour::WrongDtype => {
                let decoded = dendrite_wire::serializer::deserialize(&tensor);
                let flipped = decoded.map(|t| match t.dtype() {
                    DType::Int64 => t.cast(DType::Float32),
                    _ => t.cast(DType::Int64),
                });
                if let Ok(t) = flipped {
                    tensor = dendrite_wire::serializer::serialize(&t, proto::Serializer::Msgpack)
                        .unwrap_or_else(|_| empty_tensor());
                }
            }
            Behaviour::NonFinite => {
                let poisoned = dendrite_wire::serializer::deserialize(&tensor).map(poison);
                if let Ok(Some(t)) = poisoned {
                    let serializer = proto::Serializer::try_from(tensor.serializer)
                        .unwrap_or(proto::Serializer::Msgpack);
                    tensor = dendrite_wire::serializer::serialize(&t, serializer)
                        .unwrap_or_else(|_| empty_tensor());
                }
            }
            _ => {}
        }
        Ok(tensor)
    }

    fn process_backward(&self, caller: &str, request: TensorMessage) -> Response<TensorMessage> {
        let requires_grad = request.requires_grad;
        let (parsed, mut slots) = parse_synapses(&request.synapses);
        let n = request.tensors.len();
        let whole = if n == 0 {
            Some((ReturnCode::EmptyRequest, "Empty Request".to_string()))
        } else if n < 2 {
            Some((
                ReturnCode::InvalidRequest,
                format!("Backward request contains {n} tensors, expected atleast 2 tensor in the backward call"),
            ))
        } else if n != 2 * parsed.len() {
            Some((
                ReturnCode::RequestShapeException,
                "Request length doesn't match synape length.".to_string(),
            ))
        } else {
            None
        };
        if let Some((code, message)) = whole {
            for slot in &mut slots {
                slot.code = code;
                slot.message = message.clone();
            }
            return self.response(code, vec![], slots, requires_grad);
        }
        let behaviour = self.shared.behaviour();
        for (i, synapse) in parsed.iter().enumerate() {
            let Ok(synapse) = synapse else { continue };
            let decoded = synapse
                .deserialize_forward_request(&request.tensors[i])
                .and_then(|input| {
                    let grad = synapse
                        .deserialize_backward_request(&input, &request.tensors[parsed.len() + i])?;
                    Ok((input, grad))
                });
            let (input, grad) = match decoded {
                Ok(pair) => pair,
                Err(e) => {
                    let (code, message) = input_failure(&e);
                    slots[i].fail(code, message);
                    continue;
                }
            };
            if let Behaviour::FixedCode(code) = behaviour {
                slots[i].fail(code, "test axon: configured code");
                continue;
            }
            if let Err(HandlerError { code, message }) =
                self.shared.handler.backward(caller, synapse, &input, &grad)
            {
                slots[i].fail(code, message);
            }
        }
        let code = match slots.first() {
            Some(first) if slots.iter().all(|s| !s.ok()) => first.code,
            _ => ReturnCode::Success,
        };
        self.response(code, vec![], slots, requires_grad)
    }

    fn authenticate<T>(&self, request: &Request<T>) -> Result<String, Status> {
        self.shared
            .auth
            .authenticate(request.metadata())
            .inspect_err(|_| {
                self.shared
                    .counters
                    .rejected
                    .fetch_add(1, Ordering::Relaxed);
            })
    }
}

#[tonic::async_trait]
impl Bittensor for AxonService {
    async fn forward(
        &self,
        request: Request<TensorMessage>,
    ) -> Result<Response<TensorMessage>, Status> {
        let caller = self.authenticate(&request)?;
        self.shared.counters.forward.fetch_add(1, Ordering::Relaxed);
        if let Some(status) = self.misbehave().await {
            return Err(status);
        }
        Ok(self.process_forward(&caller, request.into_inner()))
    }

    async fn backward(
        &self,
        request: Request<TensorMessage>,
    ) -> Result<Response<TensorMessage>, Status> {
        let caller = self.authenticate(&request)?;
        self.shared
            .counters
            .backward
            .fetch_add(1, Ordering::Relaxed);
        if let Some(status) = self.misbehave().await {
            return Err(status);
        }
        Ok(self.process_backward(&caller, request.into_inner()))
    }
}

/// The f32 tensor with NaN, +inf and -inf as its first values; `None` for other dtypes.
fn poison(tensor: Tensor) -> Option<Tensor> {
    let mut values = tensor.as_slice::<f32>().ok()?.to_vec();
    for (value, bad) in values
        .iter_mut()
        .zip([f32::NAN, f32::INFINITY, f32::NEG_INFINITY])
    {
        *value = bad;
    }
    Tensor::from_vec(values, tensor.shape()).ok()
}
