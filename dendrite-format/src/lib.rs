//! What users hand the dendrite, put into the form the wire needs, with no torch dependency.
//!
//! - [`Endpoint`]: every field of the reference's endpoint, validation, the dummy endpoint and the
//!   `[250]` int64 endpoint tensor.
//! - [`format_text_inputs`]: the reference's five endpoint forms and its input forms, broadcast
//!   and checked into one int64 `[B, S]` tensor per endpoint.
//! - [`BittensorTokenizer`]: GPT-2 BPE with bittensor's special tokens and left padding.
//!
//! **Architecture invariant:** a user's mistake is a [`FormatError`] returned here, before any RPC.

mod endpoint;
mod error;
mod inputs;
pub mod ss58;
mod tokenizer;

pub use endpoint::{
    load_endpoints, Endpoint, DUMMY_KEY, ENDPOINT_BUFFER_SIZE, MAX_UID, MAX_VERSION,
};
pub use error::FormatError;
pub use inputs::{format_text_inputs, Endpoints, Inputs};
pub use tokenizer::{BittensorTokenizer, EOS_TOKEN, MODEL_MAX_LENGTH, PAD_TOKEN_ID};
