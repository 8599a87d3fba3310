//! A fast, bounded Rust Bittensor dendrite.
//!
//! This facade will offer `Dendrite` with the reference's methods (`text`, `text_causal_lm`, ...).
//! Today it re-exports the layers that exist: the wire ([`wire`]) and, as they land, formatting,
//! the RPC core and metrics.

pub use dendrite_wire as wire;
