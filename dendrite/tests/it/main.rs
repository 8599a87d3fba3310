//! The facade's integration tests, one binary: its calls against real toy axons over loopback,
//! and (feature `torch`) its tch face.

mod api;
#[cfg(feature = "torch")]
mod torch;
