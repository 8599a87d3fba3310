//! The dendrite as an autograd function: `forward` runs the Forward RPCs and records the outputs
//! in the graph; `loss.backward()` sends each answering endpoint its gradients.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dendrite_core::{plan_backward, plan_gradients, Client, EndpointResult};
use dendrite_format::Endpoint;
use dendrite_wire::{Synapse, Tensor as WireTensor};
use tch::{Kind, Tensor};
use tokio::runtime::Handle;

use crate::convert::{from_torch, to_torch, ConvertError};
use crate::function::{self, BackwardHandler};

/// How gradients leave `backward()`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Delivery {
    /// Start the Backward RPCs and return at once (the reference's fire-and-forget), bounded
    /// by the client's `max_detached_backward`.
    #[default]
    Detached,
    /// Wait for every Backward RPC to be answered (or time out) before `backward()` returns.
    Await,
}

/// Settings of an [`AutogradDendrite`].
#[derive(Clone, Debug)]
pub struct AutogradConfig {
    /// Record outputs in the graph and send gradients back. Reference default: true.
    pub requires_grad: bool,
    /// How gradients are sent.
    pub delivery: Delivery,
    /// Default timeout of forward and backward calls: the reference's 14 s
    /// ([`dendrite_core::DEFAULT_TIMEOUT`]).
    pub timeout: Duration,
}

impl Default for AutogradConfig {
    fn default() -> Self {
        AutogradConfig {
            requires_grad: true,
            delivery: Delivery::default(),
            timeout: dendrite_core::DEFAULT_TIMEOUT,
        }
    }
}

/// Why a forward could not run.
#[derive(Debug, thiserror::Error)]
pub enum AutogradError {
    /// An input or output tensor could not be converted.
    #[error(transparent)]
    Convert(#[from] ConvertError),
    /// The core rejected the call (counts, synapse parameters).
    #[error(transparent)]
    Call(#[from] dendrite_core::CallError),
    /// The blocking API was called on an async runtime thread.
    #[error("the autograd dendrite blocks: call it outside async code (e.g. in spawn_blocking)")]
    InsideRuntime,
    /// Building the async runtime failed.
    #[error("cannot start the dendrite's runtime: {0}")]
    Runtime(#[from] std::io::Error),
    /// libtorch refused to record the call.
    #[error("autograd: {0}")]
    Graph(String),
}

/// The reference's `Dendrite.forward` result, flattened endpoint-major.
#[derive(Debug)]
pub struct ForwardOutput {
    /// `[n_endpoints * n_synapses]` int64 return codes (never require grad).
    pub codes: Tensor,
    /// `[n_endpoints * n_synapses]` float32 seconds (never require grad).
    pub times: Tensor,
    /// One output per endpoint × synapse; float outputs require grad when recorded.
    pub outputs: Vec<Tensor>,
}

/// A dendrite whose outputs join the local autograd graph.
pub struct AutogradDendrite {
    client: Client,
    runtime: Option<tokio::runtime::Runtime>,
    handle: Handle,
    config: AutogradConfig,
}

impl std::fmt::Debug for AutogradDendrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AutogradDendrite")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AutogradDendrite {
    /// An autograd dendrite over `client`, with its own two-thread runtime.
    pub fn new(client: Client, config: AutogradConfig) -> Result<Self, AutogradError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("dendrite-rpc")
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        Ok(Self::build(client, Some(runtime), handle, config))
    }

    /// An autograd dendrite running its RPCs on an existing runtime.
    pub fn with_handle(client: Client, handle: Handle, config: AutogradConfig) -> Self {
        Self::build(client, None, handle, config)
    }

    fn build(
        client: Client,
        runtime: Option<tokio::runtime::Runtime>,
        handle: Handle,
        config: AutogradConfig,
    ) -> Self {
        AutogradDendrite {
            client,
            runtime,
            handle,
            config,
        }
    }

    /// The RPC core.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The settings.
    pub fn config(&self) -> &AutogradConfig {
        &self.config
    }

    /// Sends `inputs[i]` (int64 `[B, S]`) to `endpoints[i]` for every synapse and returns
    /// `(codes, times, outputs)` flattened endpoint-major. When `requires_grad` is on and grad
    /// mode is enabled, float outputs require grad and `backward()` sends the gradients to the
    /// endpoints that answered. Blocks: call it outside async code.
    pub fn forward(
        &self,
        endpoints: &[Endpoint],
        synapses: &[Synapse],
        inputs: &[Tensor],
        timeout: Option<Duration>,
    ) -> Result<ForwardOutput, AutogradError> {
        if Handle::try_current().is_ok() {
            return Err(AutogradError::InsideRuntime);
        }
        let timeout = timeout.unwrap_or(self.config.timeout);
        let wire_inputs: Vec<WireTensor> = inputs
            .iter()
            .map(|t| from_torch(&t.to_kind(Kind::Int64)))
            .collect::<Result<_, _>>()?;
        let results = self.handle.block_on(self.client.forward(
            endpoints,
            synapses,
            &wire_inputs,
            timeout,
        ))?;
        let (codes, times, outputs) = tensors_of(&results)?;
        if !self.config.requires_grad || !function::grad_enabled() {
            return Ok(ForwardOutput {
                codes,
                times,
                outputs,
            });
        }
        let mut all = vec![codes, times];
        let mut frozen = vec![0i64, 1];
        for (i, output) in outputs.into_iter().enumerate() {
            if !output.is_floating_point() {
                frozen.push(2 + i as i64);
            }
            all.push(output);
        }
        let handler = Arc::new(CallBackward {
            client: self.client.clone(),
            handle: self.handle.clone(),
            delivery: self.config.delivery,
            timeout,
            endpoints: endpoints.to_vec(),
            synapses: synapses.to_vec(),
            inputs: wire_inputs,
            success: dendrite_core::answered(&results),
            shapes: results
                .iter()
                .flat_map(|r| r.synapses.iter().map(|s| s.output.shape().to_vec()))
                .collect(),
            done: AtomicBool::new(false),
        });
        // The reference's DUMMY: a leaf that requires grad, so that int64 inputs (which cannot)
        // still put the call into the graph. One per call keeps the dendrite shareable across
        // threads (tch tensors are not Sync).
        let dummy = Tensor::zeros([0], (Kind::Float, tch::Device::Cpu)).set_requires_grad(true);
        let mut graph_inputs: Vec<&Tensor> = vec![&dummy];
        graph_inputs.extend(inputs.iter());
        let recorded =
            function::apply(&graph_inputs, &all, &frozen, handler).map_err(AutogradError::Graph)?;
        let mut recorded = recorded.into_iter();
        let codes = recorded
            .next()
            .ok_or_else(|| AutogradError::Graph("no codes".into()))?;
        let times = recorded
            .next()
            .ok_or_else(|| AutogradError::Graph("no times".into()))?;
        Ok(ForwardOutput {
            codes,
            times,
            outputs: recorded.collect(),
        })
    }
}

impl Drop for AutogradDendrite {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Codes, times and outputs of a forward as torch tensors.
fn tensors_of(results: &[EndpointResult]) -> Result<(Tensor, Tensor, Vec<Tensor>), ConvertError> {
    let synapses = results.iter().flat_map(|r| &r.synapses);
    let codes: Vec<i64> = synapses.clone().map(|s| s.code as i64).collect();
    let times: Vec<f32> = synapses.clone().map(|s| s.elapsed.as_secs_f32()).collect();
    let outputs = synapses
        .map(|s| to_torch(&s.output))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((
        Tensor::f_from_slice(&codes)?,
        Tensor::f_from_slice(&times)?,
        outputs,
    ))
}

/// The state of one recorded call, run by its backward.
struct CallBackward {
    client: Client,
    handle: Handle,
    delivery: Delivery,
    timeout: Duration,
    endpoints: Vec<Endpoint>,
    synapses: Vec<Synapse>,
    inputs: Vec<WireTensor>,
    success: Vec<Vec<bool>>,
    shapes: Vec<Vec<usize>>,
    done: AtomicBool,
}

impl BackwardHandler for CallBackward {
    fn backward(&self, grads: Vec<Tensor>) -> Result<(), String> {
        if self.done.swap(true, Ordering::SeqCst) {
            return Err(
                "backward ran twice through one dendrite call (double backward is not supported)"
                    .into(),
            );
        }
        let n_synapses = self.synapses.len();
        let expected = 2 + self.endpoints.len() * n_synapses;
        if grads.len() != expected {
            return Err(format!(
                "{} output gradients for {expected} outputs",
                grads.len()
            ));
        }
        let output_grads = &grads[2..];
        // The core's plan: silent endpoints get nothing, unanswered synapses zeros.
        let plan = plan_backward(&self.synapses, &self.success);
        // An output that took no part in the loss has no gradient: it is sent as zeros.
        let packed = plan_gradients(
            &plan,
            |e, s| -> Result<_, Box<dyn std::error::Error + Send + Sync>> {
                let grad = &output_grads[e * n_synapses + s];
                Ok(match grad.defined() {
                    true => Some(from_torch(&grad.to_kind(Kind::Float))?),
                    false => None,
                })
            },
            |e, s| self.shapes[e * n_synapses + s].clone(),
        )
        .map_err(|e| e.to_string())?;
        let endpoints: Vec<_> = plan
            .iter()
            .map(|p| self.endpoints[p.index].clone())
            .collect();
        let inputs: Vec<_> = plan.iter().map(|p| self.inputs[p.index].clone()).collect();
        if endpoints.is_empty() {
            return Ok(());
        }
        match self.delivery {
            Delivery::Detached => {
                let _entered = self.handle.enter();
                self.client
                    .backward_detached(&endpoints, &self.synapses, &inputs, &packed, self.timeout)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
            Delivery::Await => {
                if Handle::try_current().is_ok() {
                    return Err(
                        "awaited backward delivery cannot run on an async runtime thread".into(),
                    );
                }
                let results = self
                    .handle
                    .block_on(self.client.backward(
                        &endpoints,
                        &self.synapses,
                        &inputs,
                        &packed,
                        self.timeout,
                    ))
                    .map_err(|e| e.to_string())?;
                for (endpoint, result) in endpoints.iter().zip(&results) {
                    tracing::debug!(hotkey = %endpoint.hotkey, codes = ?result.codes(), "backward");
                }
                Ok(())
            }
        }
    }
}
