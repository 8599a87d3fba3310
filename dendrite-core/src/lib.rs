//! The dendrite's network core, with no torch dependency.
//!
//! Three layers, each a module (`xtask`'s tidy test keeps their edges):
//!
//! - **the wire-neutral core** (`neutral`): the fan-out, the policy loop ([`Outcome`]-driven
//!   backoff, budgeted retries, in-flight slots, the quorum), phases, the transport trait and
//!   connector, and the observer traits ([`CallObserver`], [`CallView`], [`EndpointReport`]);
//!   it names no wire;
//! - **the wires** above it, each knowing only the core: `grpc` (3.x: receptors, pool, lanes,
//!   Forward/Backward, batch signing) and `http` (10.x: the HTTP/1.1 pool, synapse calls,
//!   streams, the nonce clock);
//! - **the facade**, [`Client`]: holds the core and the wires, and is the door to their calls
//!   (3.x [`Client::forward`], 10.x [`Client::call_synapse`]).
//!
//! [`Keypair`] and [`signature`] are re-exported from `dendrite-keys`, which the axon shares.
//!
//! **Architecture invariant:** a peer can only ever produce a code ([`ReturnCode`], a 10.x
//! status) and a message for its own endpoint; the caller's mistakes are [`CallError`]s before
//! any RPC.
//!
//! [`ReturnCode`]: dendrite_wire::ReturnCode

mod client;
mod config;
#[doc(hidden)]
pub mod fuzzing;
mod grpc;
mod http;
mod neutral;
mod policy_settings;

/// The HTTP method of a [`RestRequest`] (the `http` crate's, re-exported).
pub use ::http::Method;
pub use client::Client;
pub use config::{
    BackoffConfig, ClientConfig, HttpConfig, Quorum, ReceptorConfig, RetryConfig, DEFAULT_TIMEOUT,
};
pub use dendrite_keys::{keys, nonce, signature, KeyError, Keypair, OutsideSigner};
pub use dendrite_wire::Compression;
pub use grpc::backward::BackwardDispatch;
pub use grpc::backward_plan;
pub use grpc::backward_plan::{
    answered, plan_backward, plan_backward_of, plan_gradients, PlannedEndpoint, SynapseGradient,
};
pub use grpc::checks::CallError;
pub use grpc::direction::Direction;
pub use grpc::pool::ReceptorPool;
pub use grpc::receptor::Receptor;
pub use grpc::report::GrpcCallView;
pub use grpc::results::{
    outcome_of, python_status_name, return_code, CallFailure, EndpointResult, SynapseResult,
};
pub use http::rest::{AuthScheme, RestAnswer, RestCallView, RestRequest, RestStream};
pub use http::result::{AxonResult, SynapseCallView};
pub use http::stream::SynapseStream;
pub use neutral::observer::{
    endpoint_label, http_status_name, CallKind, CallObserver, CallReport, CallView, EndpointReport,
};
pub use neutral::outcome::{Outcome, WireOutcome};
#[doc(hidden)]
pub use neutral::phases;
pub use neutral::phases::{Phase, Phases};
pub use neutral::seconds;
pub use neutral::seconds::{parse_number, parse_seconds, seconds, SecondsError, SecondsRange};
pub use policy_settings::{PolicyError, PolicySetting, PolicySettings};

/// The result of a 10.x synapse call at one axon, by its earlier name.
#[deprecated(note = "renamed AxonResult (10.x, per axon), beside EndpointResult (3.x)")]
pub type SynapseOutcome = AxonResult;
