//! What users hand the dendrite, put into the form the wire needs, with no torch dependency.
//!
//! - [`Endpoint`] (re-exported from `dendrite-wire`, where its `[250]` tensor form lives, so that
//!   the RPC core can name endpoints without compiling the tokenizer).
//! - [`format_text_inputs`]: the reference's five endpoint forms and its input forms, broadcast
//!   and checked into one int64 `[B, S]` tensor per endpoint.
//! - [`BittensorTokenizer`]: GPT-2 BPE with bittensor's special tokens and left padding.
//!
//! **Architecture invariant:** a user's mistake is a [`FormatError`] returned here, before any RPC.

mod error;
mod inputs;
mod tokenizer;

pub use dendrite_wire::{
    load_endpoints, ss58, Endpoint, EndpointError, DUMMY_KEY, ENDPOINT_BUFFER_SIZE, MAX_UID,
    MAX_VERSION,
};
pub use error::FormatError;
pub use inputs::{format_text_inputs, Endpoints, Inputs};
pub use tokenizer::{BittensorTokenizer, EOS_TOKEN, MODEL_MAX_LENGTH, PAD_TOKEN_ID};
