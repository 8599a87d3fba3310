//! The wire of bittensor 10.x's HTTP synapses and bittensor 11's btauth/1, with no 3.x (gRPC)
//! type in its graph.
//!
//! - [`value`]: JSON as Python holds it (ordered dicts, ints and floats) and the two ways 10.x
//!   writes values: `json.dumps` (request bodies) and `str()` (what the body hash hashes).
//! - [`doc`]: an answer's JSON parsed in place, its strings sharing the body's bytes.
//! - [`request`]: a synapse prepared once per call ([`SynapseCall`]) and rendered per axon by a
//!   [`Dendrite`] — `POST /{Name}`, the `bt_header_*` headers in 10.5.0's order, the body, the
//!   body hash and the sr25519 signature over `{nonce}.{dendrite}.{axon}.{uuid}.{body_hash}`.
//! - [`response`]: an answer read into the synapse as 10.5.0 does, and the dendrite's own
//!   failures (408, 503, 400, 500, 422) with 10.5.0's messages.
//! - [`terminal`]: `TerminalInfo`, both ends of a call, in JSON and in headers.
//! - [`btauth`]: btauth/1 signing and verification with a bounded replay store.
//! - [`epistula`]: Epistula v2 (the request signatures many subnets use): signing, a miner's
//!   verification of a request, a validator's of an answer.
//! - [`sse`]: `text/event-stream` answers parsed as the WHATWG rules say, from bytes as they
//!   arrive.
//!
//! ```
//! use dendrite_http::{AxonTarget, Dendrite, PyValue, SynapseCall};
//! use dendrite_keys::Keypair;
//! let fields = PyValue::parse(br#"{"text": "hello", "out": null}"#).unwrap();
//! let call = SynapseCall::new("Hashed", 12.0, &fields, &["text"], &["text"], None).unwrap();
//! let dendrite = Dendrite::new(Keypair::from_uri("//Alice").unwrap(), "192.0.2.1");
//! let bob = Keypair::from_uri("//Bob").unwrap();
//! let axon = AxonTarget { ip: "127.0.0.1".into(), port: 8091, hotkey: bob.ss58_address().into(), uid: None };
//! let request = dendrite.render(&call, &axon, 1_796_473_710_744_629_982);
//! assert_eq!(request.path, "/Hashed");
//! assert!(request.signed_message.ends_with(call.body_hash()));
//! ```
//!
//! **Architecture invariant:** every parser of peer bytes here (answers, headers, btauth and
//! Epistula headers, event streams) returns a typed error, never panics, and nests JSON no deeper than
//! [`value::MAX_DEPTH`]; sizes are bounded by the transport before the bytes get here.

pub mod btauth;
pub mod doc;
pub mod echoed;
pub mod epistula;
pub mod request;
pub mod response;
pub mod sse;
pub mod terminal;
pub mod value;

pub use doc::{Doc, Text};
pub use request::{
    body_hash_of_texts, input_header, AxonTarget, Dendrite, HeaderKey, RequestBody, RequestError,
    Signed, SynapseCall, SynapseRequest, BASE_FIELDS, VERSION_AS_INT,
};
pub use response::{
    infos_from_headers, read_answer, read_elided_answer, read_stream_head, CallSite,
    DendriteFailure, SynapseAnswer, ERROR_MAPPING, UNMAPPED_ERROR,
};
pub use terminal::TerminalInfo;
pub use value::PyValue;
