//! The 3.x wire's adapter: gRPC unary calls over HTTP/2 to Bittensor 3.x axons.
//!
//! - [`receptor`]: one endpoint's lazily connected, multiplexed link ([`link`], whose streams
//!   are the shared `crate::transport::Exchange`) and its signing lanes ([`lanes`]); [`pool`]
//!   bounds the receptors.
//! - [`unary`]: gRPC framing, `grpc-timeout`, compression and statuses on h2's streams.
//! - [`request`]: the `TensorMessage`s a call sends, encoded once per distinct input, and the
//!   answers read back into per-synapse results.
//! - [`results`]: those results, the 3.x `ReturnCode`s, how gRPC statuses become codes as the
//!   reference receptor maps them, and which neutral [`crate::Outcome`] each code is.
//!
//! The fan-out, deadline and policies that drive it are the shared core's (`crate::client`);
//! nothing outside this module and the 3.x pipelines (`client::forward`, `client::backward`)
//! names a 3.x type.

pub(crate) mod lanes;
pub(crate) mod link;
pub(crate) mod pool;
pub(crate) mod receptor;
pub(crate) mod request;
pub(crate) mod results;
pub(crate) mod unary;
