//! A fast, bounded Rust Bittensor dendrite, wire-compatible with the Bittensor 3.x axon.
//!
//! ```no_run
//! use dendrite::{Dendrite, Endpoint, Keypair, TextLastHiddenState};
//!
//! # async fn run(endpoints: Vec<Endpoint>) -> Result<(), Box<dyn std::error::Error>> {
//! let dendrite = Dendrite::new(Keypair::from_uri("//Alice")?)?;
//! let response = dendrite
//!     .text_last_hidden_state(endpoints, "hello world", TextLastHiddenState::default(), None)
//!     .await?;
//! for (endpoint, codes) in response.endpoints.iter().zip(response.codes()) {
//!     println!("{} {:?}", endpoint.hotkey, codes);
//! }
//! # Ok(()) }
//! ```
//!
//! The layers are re-exported for users who need them: [`wire`] (tensors, synapses, codes,
//! endpoints), [`format`](mod@format) (inputs, tokenizer), [`core`] (keys, receptors, fan-out) and `metrics`
//! (Prometheus, statistics).
//!
//! Features: `metrics` (default) counts every call in Prometheus series and per-endpoint
//! statistics (`dendrite-metrics`); `torch` adds the tch face (`TorchDendrite` and the autograd
//! function; needs libtorch 2.13, `cargo xtask setup`). The command line is the `dendrite-cli`
//! crate and the Rust axon `dendrite-axon`; neither is compiled for users of this library.

mod config;
mod dendrite;
mod error;
#[cfg(feature = "torch")]
mod torch;

pub use dendrite_core as core;
pub use dendrite_format as format;
/// The 10.x HTTP wire: synapse requests, answers, btauth/1 (`Client::call_synapse` sends them).
pub use dendrite_http as http;
#[cfg(feature = "metrics")]
pub use dendrite_metrics as metrics;
pub use dendrite_wire as wire;

pub use config::{ConfigError, DendriteConfig};
pub use dendrite::{Dendrite, GenerateOptions, Generation, Response};
#[cfg(feature = "torch")]
pub use dendrite_autograd as autograd;
pub use dendrite_core::{ClientConfig, EndpointResult, Keypair, SynapseResult};
pub use dendrite_format::{load_endpoints, Endpoint, Endpoints, Inputs};
pub use dendrite_wire::synapse::{
    TextCausalLM, TextCausalLMNext, TextLastHiddenState, TextSeq2Seq,
};
pub use dendrite_wire::{DType, ReturnCode, Synapse, Tensor};
pub use error::DendriteError;
#[cfg(feature = "torch")]
pub use tch;
#[cfg(feature = "torch")]
pub use torch::{torch_inputs, TorchDendrite, TorchError, TorchResponse};

/// The README's Rust examples, compiled by `cargo test --doc` (not run: they need live axons),
/// so they cannot drift from the API; the README marks each code block as run or not, and why
/// (a tidy test checks the marks).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
