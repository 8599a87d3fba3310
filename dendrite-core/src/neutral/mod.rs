//! The wire-neutral core: what every wire's calls run through, naming no wire.
//!
//! - [`gather`]: the fan-out, one task per endpoint, gathered in order under the quorum.
//! - [`policy`]: [`policy::Core`], the shared policies (in-flight slots, backoff, budgeted
//!   retries, the observer) and [`policy::WireFailure`], how a wire says what an endpoint the
//!   core ended gets.
//! - [`outcome`]: the neutral class of an endpoint's result that the policies read.
//! - [`phases`]: where an endpoint's time went.
//! - [`transport`] and [`connector`]: what a wire's connection must do (send a request, read
//!   an answer under a limit) and the TCP connector every wire's pools use (a permit per open
//!   socket, bytes counted).
//! - [`buffers`]: the buffers answers' bodies are gathered into, kept for the next answers.
//! - [`observer`]: reporting finished calls through traits each wire implements.
//! - [`settings`], [`backoff`], [`retry`], [`seconds`]: the policies' settings and state.
//!
//! **Architecture invariant:** nothing here names a wire's crate (`dendrite_wire`,
//! `dendrite_http`) or a module above it (`crate::grpc`, `crate::http`, the client facade);
//! `xtask`'s tidy test checks the edges.

pub(crate) mod backoff;
pub(crate) mod buffers;
pub(crate) mod connector;
pub(crate) mod gather;
pub mod observer;
pub mod outcome;
pub mod phases;
pub(crate) mod policy;
pub(crate) mod retry;
pub mod seconds;
pub mod settings;
pub(crate) mod transport;
