//! A Rust axon: the server side of the Bittensor 3.x wire, for tests, benchmarks and the demo.
//!
//! - [`serve`] starts a tonic server that authenticates exactly as the 3.x `AuthInterceptor`
//!   ([`auth`]), applies the reference axon's request checks with its codes and messages, and
//!   dispatches each synapse to a [`SynapseHandler`].
//! - [`ToyModel`] answers all four synapses deterministically without torch; [`Memoized`]
//!   replays serialized answers for benchmarks.
//! - [`Behaviour`] makes an axon misbehave on purpose (delay, hang, codes, garbage, drops).
//! - [`http::serve_http`] is the same axon on the 10.x HTTP wire (the synapses of
//!   `shared/peer10/synapses.py`, 10.5.0's checks, btauth/1 when asked).
//!
//! Unlike the Python 3.7.0 axon, an empty tensor list or a tensor/synapse count mismatch is
//! answered `RequestShapeException` instead of crashing with gRPC `UNKNOWN`.

pub mod auth;
mod behaviour;
mod handler;
pub mod http;
mod memo;
mod server;
mod service;
mod toy;
mod wire_faults;

pub use behaviour::Behaviour;
pub use handler::{HandlerError, SynapseHandler, SynapseOutput};
pub use memo::Memoized;
pub use server::{serve, AxonConfig, AxonError, AxonHandle};
pub use service::AxonCounters;
pub use toy::{ReceivedGradient, ToyModel, DEFAULT_GRADIENT_LOG_BYTES};
pub use wire_faults::{serve_wire_fault, WireFault, WireFaultServer};
