//! The dendrite's network core, with no torch dependency.
//!
//! - [`Keypair`] and [`signature`]: re-exported from `dendrite-keys`, which the axon shares.
//! - [`Client`]: concurrent fan-out with one hard deadline per call and the call policies, for
//!   both wires: 3.x Forward/Backward ([`Client::forward`]) and 10.x synapses
//!   ([`Client::call_synapse`]) over an HTTP/1.1 pool.
//! - [`Outcome`]: the class of an endpoint's result that the shared policies read, whatever
//!   the wire.
//! - `transport`: what both wires ask of a connection (send a request, read its answer under
//!   a limit), done by an HTTP/2 stream (3.x) and a pooled HTTP/1.1 connection (10.x, `http1`).
//! - The 3.x adapter (`grpc`): [`Receptor`] (one lazily connected HTTP/2 link per endpoint with
//!   its signing lanes, gRPC unary calls on h2's `SendRequest`), [`ReceptorPool`] (at most
//!   `max_active_receptors`, least recently used evicted), [`EndpointResult`] and the
//!   `ReturnCode` mapping.
//!
//! **Architecture invariant:** a peer can only ever produce a code ([`ReturnCode`], a 10.x
//! status) and a message for its own endpoint; the caller's mistakes are [`CallError`]s before
//! any RPC.
//!
//! [`ReturnCode`]: dendrite_wire::ReturnCode

mod backoff;
pub mod backward_plan;
mod client;
mod config;
mod connector;
#[doc(hidden)]
pub mod fuzzing;
mod grpc;
mod http1;
mod observer;
mod outcome;
#[doc(hidden)]
pub mod phases;
mod policy_settings;
mod retry;
pub mod seconds;
mod transport;

pub use backward_plan::{
    answered, plan_backward, plan_backward_of, plan_gradients, PlannedEndpoint, SynapseGradient,
};
pub use client::{BackwardDispatch, CallError, Client, SynapseOutcome, SynapseStream};
pub use config::{
    BackoffConfig, ClientConfig, HttpConfig, Quorum, ReceptorConfig, RetryConfig, DEFAULT_TIMEOUT,
};
pub use dendrite_keys::{keys, signature, KeyError, Keypair};
pub use dendrite_wire::Compression;
pub use grpc::pool::ReceptorPool;
pub use grpc::receptor::Receptor;
pub use grpc::results::{
    outcome_of, python_status_name, return_code, CallFailure, EndpointResult, SynapseResult,
};
pub use observer::{CallObserver, CallReport, Direction, EndpointSummary};
pub use outcome::{Outcome, WireOutcome};
pub use phases::{Phase, Phases};
pub use policy_settings::{PolicyError, PolicySetting, PolicySettings};
pub use seconds::{parse_number, parse_seconds, seconds, SecondsError, SecondsRange};
