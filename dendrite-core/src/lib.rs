//! The dendrite's network core, with no torch dependency.
//!
//! - [`Keypair`] and [`signature`]: re-exported from `dendrite-keys`, which the axon shares.
//! - [`Receptor`]: one lazily connected HTTP/2 link per endpoint with its signing lanes; gRPC
//!   unary calls on h2's `SendRequest` (`unary`), no tonic `Channel`.
//! - [`ReceptorPool`]: at most `max_active_receptors` receptors, least recently used evicted.
//! - [`Client`]: concurrent forward/backward fan-out with one hard deadline per call.
//!
//! **Architecture invariant:** a peer can only ever produce a [`ReturnCode`] and a message for
//! its own endpoint; the caller's mistakes are [`CallError`]s before any RPC.
//!
//! [`ReturnCode`]: dendrite_wire::ReturnCode

mod backoff;
pub mod backward_plan;
mod client;
mod config;
mod connector;
#[doc(hidden)]
pub mod fuzzing;
mod http1;
mod lanes;
mod link;
mod observer;
mod outcome;
#[doc(hidden)]
pub mod phases;
mod pool;
mod receptor;
mod request;
mod retry;
pub mod seconds;
mod unary;

pub use backward_plan::{
    answered, plan_backward, plan_backward_of, plan_gradients, PlannedEndpoint, SynapseGradient,
};
pub use client::{BackwardDispatch, CallError, Client, SynapseOutcome, SynapseStream};
pub use config::{
    BackoffConfig, ClientConfig, HttpConfig, Quorum, ReceptorConfig, RetryConfig, DEFAULT_TIMEOUT,
};
pub use dendrite_keys::{keys, signature, KeyError, Keypair};
pub use dendrite_wire::Compression;
pub use observer::{CallObserver, CallReport, Direction, EndpointSummary};
pub use outcome::{python_status_name, return_code, CallFailure, EndpointResult, SynapseResult};
pub use phases::{Phase, Phases};
pub use pool::ReceptorPool;
pub use receptor::Receptor;
pub use seconds::{parse_seconds, seconds, SecondsError, SecondsRange};
