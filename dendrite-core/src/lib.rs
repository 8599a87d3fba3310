//! The dendrite's network core, with no torch dependency.
//!
//! - [`Keypair`]: sr25519 keys from dev URIs, mnemonics, seeds and bittensor wallet files.
//! - [`signature`]: the 3.x request signature (v2 and legacy), signing and verifying.
//! - [`Receptor`]: one lazily connected HTTP/2 channel per endpoint with its uuid and nonce.
//! - [`ReceptorPool`]: at most `max_active_receptors` channels, least recently used evicted.
//! - [`Client`]: concurrent forward/backward fan-out with one hard deadline per call.
//!
//! **Architecture invariant:** a peer can only ever produce a [`ReturnCode`] and a message for
//! its own endpoint; the caller's mistakes are [`CallError`]s before any RPC.
//!
//! [`ReturnCode`]: dendrite_wire::ReturnCode

mod backoff;
mod client;
mod config;
mod connector;
#[doc(hidden)]
pub mod fuzzing;
pub mod keys;
mod observer;
mod outcome;
mod pool;
mod receptor;
mod request;
mod retry;
pub mod signature;

pub use client::{BackwardDispatch, CallError, Client};
pub use config::{
    BackoffConfig, ClientConfig, Compression, Quorum, ReceptorConfig, RetryConfig, DEFAULT_TIMEOUT,
};
pub use keys::{KeyError, Keypair};
pub use observer::{CallObserver, CallReport, Direction};
pub use outcome::{python_status_name, return_code, CallFailure, EndpointResult, SynapseResult};
pub use pool::ReceptorPool;
pub use receptor::Receptor;
