//! The Bittensor dendrite as a torch autograd function (tch 0.26, libtorch 2.13.0).
//!
//! [`AutogradDendrite::forward`] runs the Forward RPCs (through `dendrite-core`) and records the
//! outputs in the graph through a small C++ custom function; `loss.backward()` then sends each
//! endpoint that answered the gradient of its outputs, encoded with each synapse's gradient
//! encoding. With `requires_grad` off, or inside `tch::no_grad`, nothing is recorded and nothing
//! goes back on the wire. [`to_torch`] / [`from_torch`] convert tensors with one copy.
//!
//! libtorch: `cargo xtask setup` installs it and prints `LIBTORCH`; this crate's build script
//! sets an rpath so its binaries find it at run time.

mod convert;
mod dendrite;
mod function;

pub use convert::{dtype_of, from_torch, kind_of, to_torch, ConvertError};
pub use dendrite::{AutogradConfig, AutogradDendrite, AutogradError, Delivery, ForwardOutput};
pub use function::{grad_enabled, live_states};
