//! A 10.x synapse request: prepared once per call ([`SynapseCall`]: the body's fields, the body
//! hash, the input headers), then rendered per axon ([`Dendrite::render`]: terminal infos, nonce,
//! signature) as the real 10.5.0 dendrite sends it, header for header and byte for byte.
//!
//! Invariants: the signature covers the body hash, so a request is signed after its body is
//! fixed (no signing ahead of the call); the header list holds bittensor's headers only, in
//! 10.5.0's order; the transport adds `Host`, `Content-Length` and `Content-Type`.

use std::borrow::Cow;

use base64::Engine as _;
use bytes::Bytes;
use dendrite_keys::Keypair;
use sha3::{Digest, Sha3_256};

use crate::terminal::{Side, TerminalInfo};
use crate::value::{float_repr, write_json_str, PyValue};

/// bittensor 10.5.0's `version_as_int` (major·10⁶ + minor·10³ + patch), which we speak.
pub const VERSION_AS_INT: i64 = 10_005_000;

/// The fields of bittensor's `Synapse` itself, in order; a subclass's own fields follow them in
/// every body and answer.
pub const BASE_FIELDS: [&str; 7] = [
    "name",
    "timeout",
    "total_size",
    "header_size",
    "dendrite",
    "axon",
    "computed_body_hash",
];

/// `sha3_256` of nothing, hex: the body hash of a synapse with no hash fields.
pub const EMPTY_BODY_HASH: &str =
    "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a";

/// Why a synapse cannot be sent.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RequestError {
    /// The name cannot be a URL path segment or a header value.
    #[error("synapse name {0:?} is not a Python identifier")]
    BadName(String),
    /// A required or hashed field is missing from the fields.
    #[error("synapse field {0:?} is named in required or hash fields but not given")]
    MissingField(String),
    /// The fields are not a JSON object.
    #[error("synapse fields must be a JSON object")]
    NotAnObject,
    /// The timeout is not a positive finite number of seconds.
    #[error("timeout must be a positive number of seconds, not {0}")]
    BadTimeout(f64),
}

/// One synapse as every axon of a call gets it, prepared once: the name, the timeout, the
/// subclass fields (after the base class's) and what follows from them.
#[derive(Clone, Debug)]
pub struct SynapseCall {
    name: String,
    timeout: f64,
    total_size: i128,
    /// `, "field": value` for every subclass field, as `json.dumps` writes them, then the
    /// body's closing `}`: the part of every axon's body that is the same (shared, not copied).
    fields_json: Bytes,
    /// `bt_header_input_obj_<field>` values, in field order.
    input_headers: Vec<(String, String)>,
    body_hash: String,
    /// The long strings of `fields_json`, found on first use ([`SynapseCall::sent_strings`]).
    sent_strings: std::sync::Arc<std::sync::OnceLock<crate::echoed::SentStrings>>,
}

impl SynapseCall {
    /// A synapse named `name` (its class name and route) with its subclass `fields` in
    /// declaration order; `required` are the fields without a default (sent as
    /// `bt_header_input_obj_*`), `hash_fields` its `required_hash_fields`.
    ///
    /// `total_size` is what the body's and the header's `total_size` say: 10.5.0 writes
    /// CPython's recursive `sys.getsizeof` of the synapse there, which only CPython can
    /// reproduce; no 10.5.0 axon reads it. Callers in Python pass the real one; others pass
    /// the size of their fields' JSON ([`SynapseCall::fields_size`]).
    pub fn new(
        name: &str,
        timeout: f64,
        fields: &PyValue,
        required: &[&str],
        hash_fields: &[&str],
        total_size: Option<i128>,
    ) -> Result<Self, RequestError> {
        let PyValue::Dict(items) = fields else {
            return Err(RequestError::NotAnObject);
        };
        let mut fields_json = String::new();
        for (key, value) in items {
            fields_json.push_str(", ");
            write_json_str(key, &mut fields_json);
            fields_json.push_str(": ");
            value.write_json(&mut fields_json);
        }
        for name in required.iter().chain(hash_fields) {
            if fields.get(name).is_none() {
                return Err(RequestError::MissingField((*name).to_owned()));
            }
        }
        let input_headers = items
            .iter()
            .filter(|(key, value)| required.contains(&key.as_str()) && *value != PyValue::None)
            .map(|(key, value)| input_header(key, value))
            .collect();
        let body_hash = body_hash_of(fields, hash_fields);
        let total_size = total_size.unwrap_or(fields_json.len() as i128);
        Self::from_parts(
            name,
            timeout,
            fields_json,
            input_headers,
            body_hash,
            total_size,
        )
    }

    /// A synapse whose fields JSON (`, "field": value` …), input headers and body hash were
    /// computed elsewhere (by Python, from the user's class).
    pub fn from_parts(
        name: &str,
        timeout: f64,
        fields_json: String,
        input_headers: Vec<(String, String)>,
        body_hash: String,
        total_size: i128,
    ) -> Result<Self, RequestError> {
        let identifier = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !identifier {
            return Err(RequestError::BadName(name.to_owned()));
        }
        if !(timeout.is_finite() && timeout > 0.0) {
            return Err(RequestError::BadTimeout(timeout));
        }
        let mut fields_json = fields_json.into_bytes();
        fields_json.push(b'}');
        Ok(SynapseCall {
            name: name.to_owned(),
            timeout,
            total_size,
            fields_json: Bytes::from(fields_json),
            input_headers,
            body_hash,
            sent_strings: std::sync::Arc::default(),
        })
    }

    /// The size of the fields' JSON: the `total_size` of a synapse built outside Python.
    pub fn fields_size(&self) -> usize {
        self.fields_json.len() - 1
    }

    /// Its long string fields as they are sent, for finding them in the answers
    /// ([`crate::echoed`]; found once, on first use, for every clone of the call).
    pub fn sent_strings(&self) -> &crate::echoed::SentStrings {
        self.sent_strings.get_or_init(|| {
            crate::echoed::SentStrings::of(&self.fields_json, crate::echoed::MIN_ELIDED_BYTES)
        })
    }

    /// The synapse's name (its route, `POST /{name}`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The timeout in seconds, as sent.
    pub fn timeout(&self) -> f64 {
        self.timeout
    }

    /// `computed_body_hash`: sha3-256 over the sha3-256 hex digests of `str()` of each hash field.
    pub fn body_hash(&self) -> &str {
        &self.body_hash
    }
}

/// `computed_body_hash` of a synapse's fields (a dict holding at least the hash fields):
/// sha3-256 hex of the concatenated sha3-256 hex digests of `str()` of each hash field, in the
/// order given. Both ends compute it: the dendrite to sign, the axon to check the body.
pub fn body_hash_of(fields: &PyValue, hash_fields: &[&str]) -> String {
    let texts: Vec<String> = hash_fields
        .iter()
        .filter_map(|f| fields.get(f))
        .map(PyValue::py_str)
        .collect();
    body_hash_of_texts(texts.iter().map(String::as_str))
}

/// `computed_body_hash` of the `str()` texts of a synapse's hash fields, in order: sha3-256 hex
/// of the concatenated sha3-256 hex digests of each. The one rule, for [`body_hash_of`] and for
/// the Python module's synapses (`_native.body_hash`).
pub fn body_hash_of_texts<'a>(texts: impl IntoIterator<Item = &'a str>) -> String {
    let hashes: String = texts
        .into_iter()
        .map(|text| hex::encode(Sha3_256::digest(text.as_bytes())))
        .collect();
    hex::encode(Sha3_256::digest(hashes.as_bytes()))
}

/// The text a 10.x request's signature covers:
/// `{nonce}.{dendrite_hotkey}.{axon_hotkey}.{uuid}.{body_hash}`.
pub fn signed_text(
    nonce: i128,
    dendrite_hotkey: &str,
    axon_hotkey: &str,
    uuid: &str,
    body_hash: &str,
) -> String {
    format!("{nonce}.{dendrite_hotkey}.{axon_hotkey}.{uuid}.{body_hash}")
}

/// 10.5.0's `bt_header_input_obj_{field}` header of a required field: base64 of the JSON of
/// its type's empty value (`type(value)()`), never the value. The one rule, for our requests
/// and the Python module's `Synapse.to_headers` (`_native.input_header`).
pub fn input_header(field: &str, value: &PyValue) -> (String, String) {
    let empty = empty_of_type(value).dumps();
    (
        format!("bt_header_input_obj_{field}"),
        base64::engine::general_purpose::STANDARD.encode(empty),
    )
}

/// `type(value)()`: the empty value of a value's type, which 10.5.0 sends in the
/// `bt_header_input_obj_*` headers instead of the value.
fn empty_of_type(value: &PyValue) -> PyValue {
    match value {
        PyValue::None => PyValue::None,
        PyValue::Bool(_) => PyValue::Bool(false),
        PyValue::Int(_) => PyValue::Int(0),
        PyValue::Float(_) => PyValue::Float(0.0),
        PyValue::Str(_) => PyValue::Str(String::new()),
        PyValue::List(_) => PyValue::List(Vec::new()),
        PyValue::Dict(_) => PyValue::Dict(Vec::new()),
    }
}

/// Where a request goes: the axon's `AxonInfo` fields the request names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AxonTarget {
    /// Its IP address as the chain has it.
    pub ip: String,
    /// Its port.
    pub port: u16,
    /// Its hotkey's SS58 address.
    pub hotkey: String,
    /// Its uid in the metagraph, where the caller knows it (10.x's `AxonInfo` carries none;
    /// the request never names it): per-endpoint metrics and statistics name the axon by it,
    /// else by its hotkey.
    pub uid: Option<u64>,
}

/// Who sends: the dendrite's key, uuid, reported IP and version.
#[derive(Debug)]
pub struct Dendrite {
    key: Keypair,
    uuid: String,
    external_ip: String,
    version: i64,
}

/// What a request's signature is made of, and the signature.
#[derive(Clone, Debug)]
pub struct Signed<'a> {
    /// The uuid the request names.
    pub uuid: &'a str,
    /// Its nonce.
    pub nonce: i128,
    /// The signed text, `{nonce}.{dendrite}.{axon}.{uuid}.{body_hash}`.
    pub message: String,
    /// `0x` + the signature's hex.
    pub signature: String,
}

impl<'a> Signed<'a> {
    /// `key`'s signature of a request to `axon_hotkey` naming `uuid`, `nonce` and
    /// `body_hash`: the text is [`signed_text`] with `key`'s own address as the dendrite's.
    pub fn sign(
        key: &Keypair,
        uuid: &'a str,
        nonce: i128,
        axon_hotkey: &str,
        body_hash: &str,
    ) -> Self {
        let message = signed_text(nonce, key.ss58_address(), axon_hotkey, uuid, body_hash);
        let signature = format!("0x{}", hex::encode(key.sign(message.as_bytes())));
        Signed {
            uuid,
            nonce,
            message,
            signature,
        }
    }
}

/// A request header's name: static for bittensor's fixed headers, owned for a synapse's own
/// `bt_header_input_*`.
pub type HeaderKey = Cow<'static, str>;

/// One request, ready for the transport.
#[derive(Clone, Debug, PartialEq)]
pub struct SynapseRequest {
    /// `/{SynapseName}`.
    pub path: String,
    /// bittensor's headers in 10.5.0's order (the transport adds `Host`, `Content-Length`,
    /// `Content-Type: application/json`); the fixed names are static strings.
    pub headers: Vec<(HeaderKey, String)>,
    /// `json.dumps(synapse.model_dump())`, in its two parts.
    pub body: RequestBody,
    /// The text that was signed: `{nonce}.{dendrite}.{axon}.{uuid}.{body_hash}`.
    pub signed_message: String,
}

impl Dendrite {
    /// A dendrite signing with `key`, reporting `external_ip`, with a fresh uuid.
    pub fn new(key: Keypair, external_ip: &str) -> Self {
        Self::with_uuid(key, external_ip, uuid::Uuid::new_v4().to_string())
    }

    /// A dendrite with a given uuid (tests and captures).
    pub fn with_uuid(key: Keypair, external_ip: &str, uuid: String) -> Self {
        Dendrite {
            key,
            uuid,
            external_ip: external_ip.to_owned(),
            version: VERSION_AS_INT,
        }
    }

    /// The uuid every request names.
    pub fn uuid(&self) -> &str {
        &self.uuid
    }

    /// The signing key.
    pub fn key(&self) -> &Keypair {
        &self.key
    }

    /// The IP address the requests report.
    pub fn external_ip(&self) -> &str {
        &self.external_ip
    }

    /// `synapse` for `axon`, with `nonce` (`time.time_ns()` in 10.5.0), signed.
    pub fn render(&self, synapse: &SynapseCall, axon: &AxonTarget, nonce: i128) -> SynapseRequest {
        self.render_as(&self.uuid, synapse, axon, nonce)
    }

    /// [`Dendrite::render`] naming another uuid (`dendrite-core` gives each HTTP/1.1
    /// connection its own, so that one axon never sees one uuid's nonces out of order).
    pub fn render_as(
        &self,
        uuid: &str,
        synapse: &SynapseCall,
        axon: &AxonTarget,
        nonce: i128,
    ) -> SynapseRequest {
        let signed = Signed::sign(&self.key, uuid, nonce, &axon.hotkey, &synapse.body_hash);
        self.render_signed(synapse, axon, signed)
    }

    /// The request with a given signature (a capture's, to compare bytes): the terminal infos
    /// it names, its headers and its body.
    pub fn render_signed(
        &self,
        synapse: &SynapseCall,
        axon: &AxonTarget,
        signed: Signed<'_>,
    ) -> SynapseRequest {
        let Signed {
            uuid,
            nonce,
            message: signed_message,
            signature,
        } = signed;
        let (dendrite, axon_info) = self.terminal_infos(axon, uuid, nonce, signature);
        SynapseRequest {
            path: format!("/{}", synapse.name),
            headers: request_headers(synapse, &dendrite, &axon_info),
            body: request_body(synapse, &dendrite, &axon_info),
            signed_message,
        }
    }

    /// The dendrite's terminal info (this dendrite, its `uuid`, `nonce` and `signature`) and
    /// the axon's.
    fn terminal_infos(
        &self,
        axon: &AxonTarget,
        uuid: &str,
        nonce: i128,
        signature: String,
    ) -> (TerminalInfo, TerminalInfo) {
        let dendrite = TerminalInfo {
            ip: Some(self.external_ip.clone()),
            version: Some(self.version),
            nonce: Some(nonce),
            uuid: Some(uuid.to_owned()),
            hotkey: Some(self.key.ss58_address().to_owned()),
            signature: Some(signature),
            ..TerminalInfo::default()
        };
        let axon_info = TerminalInfo {
            ip: Some(axon.ip.clone()),
            port: Some(i64::from(axon.port)),
            hotkey: Some(axon.hotkey.clone()),
            ..TerminalInfo::default()
        };
        (dendrite, axon_info)
    }
}

/// A request's headers in 10.5.0's order: `name`, `timeout`, the axon's then the dendrite's
/// `bt_header_*`, the input headers, then `header_size`, `total_size`, `computed_body_hash`.
fn request_headers(
    synapse: &SynapseCall,
    dendrite: &TerminalInfo,
    axon: &TerminalInfo,
) -> Vec<(HeaderKey, String)> {
    let mut headers: Vec<(HeaderKey, String)> =
        Vec::with_capacity(16 + synapse.input_headers.len());
    headers.push(("name".into(), synapse.name.clone()));
    headers.push(("timeout".into(), float_repr(synapse.timeout)));
    for (side, info) in [(Side::Axon, axon), (Side::Dendrite, dendrite)] {
        for (field, value) in info.header_fields() {
            let name = side
                .header_name(field)
                .map_or_else(|| format!("{}{field}", side.prefix()).into(), Cow::Borrowed);
            headers.push((name, value));
        }
    }
    headers.extend(
        synapse
            .input_headers
            .iter()
            .map(|(name, value)| (Cow::Owned(name.clone()), value.clone())),
    );
    headers.push((
        "header_size".into(),
        cpython_dict_sizeof(headers.len()).to_string(),
    ));
    headers.push(("total_size".into(), synapse.total_size.to_string()));
    headers.push(("computed_body_hash".into(), synapse.body_hash.clone()));
    headers
}

/// A request's body, `json.dumps(synapse.model_dump())` as 10.5.0 sends it: the base class's
/// fields (this axon's), then the synapse's own (every axon's, shared).
fn request_body(
    synapse: &SynapseCall,
    dendrite: &TerminalInfo,
    axon: &TerminalInfo,
) -> RequestBody {
    let mut head = String::with_capacity(head_capacity(synapse, dendrite, axon));
    head.push_str("{\"name\": ");
    write_json_str(&synapse.name, &mut head);
    head.push_str(", \"timeout\": ");
    head.push_str(&float_repr(synapse.timeout));
    head.push_str(&format!(
        ", \"total_size\": {}, \"header_size\": 0, \"dendrite\": ",
        synapse.total_size
    ));
    dendrite.write_json(&mut head);
    head.push_str(", \"axon\": ");
    axon.write_json(&mut head);
    head.push_str(", \"computed_body_hash\": \"\"");
    RequestBody {
        head,
        fields: synapse.fields_json.clone(),
    }
}

/// A 10.x request body in two parts, as it is written to the socket (one `writev`): the base
/// class's fields, rendered for one axon, and the synapse's own fields with the closing `}`,
/// the same for every axon of a call and shared by them (a 1.4 MB tensor is not copied per
/// axon).
#[derive(Clone, Debug, PartialEq)]
pub struct RequestBody {
    /// `{"name": …, "computed_body_hash": ""`: this axon's part.
    pub head: String,
    /// `, "field": value … }`: the call's part.
    pub fields: Bytes,
}

impl RequestBody {
    /// The body's length in bytes.
    pub fn len(&self) -> usize {
        self.head.len() + self.fields.len()
    }

    /// Whether it is empty (never, for a rendered body).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Its parts in order.
    pub fn parts(&self) -> [&[u8]; 2] {
        [self.head.as_bytes(), &self.fields]
    }

    /// The body in one piece (a copy: for tests and captures, not the transport).
    pub fn to_vec(&self) -> Vec<u8> {
        self.parts().concat()
    }
}

/// The body as text (both parts are UTF-8: JSON written from strings).
impl std::fmt::Display for RequestBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.head)?;
        f.write_str(&String::from_utf8_lossy(&self.fields))
    }
}

/// Room for a request body's own part: the base class's fields. The terminal
/// infos' JSON is their strings plus at most [`TERMINAL_JSON_ROOM`] of keys, numbers and quotes.
fn head_capacity(synapse: &SynapseCall, dendrite: &TerminalInfo, axon: &TerminalInfo) -> usize {
    let strings = |info: &TerminalInfo| {
        [
            &info.ip,
            &info.uuid,
            &info.hotkey,
            &info.signature,
            &info.status_message,
        ]
        .into_iter()
        .map(|s| s.as_deref().map_or(0, str::len))
        .sum::<usize>()
    };
    128 + 2 * synapse.name.len() + 2 * TERMINAL_JSON_ROOM + strings(dendrite) + strings(axon)
}

/// A terminal info's JSON beyond its strings: field names, numbers, `null`s, punctuation.
const TERMINAL_JSON_ROOM: usize = 512;

/// CPython 3.11's `sys.getsizeof` of a dict of `entries` str keys built by inserting one at a
/// time: what 10.5.0 sends as `header_size` (464 for 12 headers). No axon reads it.
pub fn cpython_dict_sizeof(entries: usize) -> usize {
    // Slots grow 8 → next power of two ≥ 3 × used, usable = 2/3 of the slots.
    let mut slots = 8usize;
    while entries > slots * 2 / 3 {
        slots = (slots * 2 / 3 * 3).next_power_of_two();
    }
    let usable = slots * 2 / 3;
    let index_bytes = match slots {
        s if s <= 0xff => 1,
        s if s <= 0xffff => 2,
        s if s <= 0xffff_ffff => 4,
        _ => 8,
    };
    // GC header 16 + dict object 48 + keys header 32 + indices + 16-byte entries (str keys).
    16 + 48 + 32 + slots * index_bytes + usable * 16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_size_is_cpython_dicts() {
        // sys.getsizeof of dicts of n str keys inserted one by one, read from CPython 3.11 (the
        // peer10 venv's); the captures' 12 headers give 464.
        let python = [
            (1, 184),
            (5, 184),
            (6, 272),
            (10, 272),
            (11, 464),
            (12, 464),
            (21, 464),
        ];
        let more = [
            (22, 832),
            (42, 832),
            (43, 1584),
            (85, 1584),
            (86, 3328),
            (200, 6576),
        ];
        for (entries, size) in python.into_iter().chain(more) {
            assert_eq!(cpython_dict_sizeof(entries), size, "{entries} entries");
        }
    }

    #[test]
    fn names_and_timeouts_are_checked() {
        let fields = PyValue::Dict(vec![]);
        let bad = |name: &str, t: f64| SynapseCall::new(name, t, &fields, &[], &[], None).err();
        assert_eq!(bad("../x", 1.0), Some(RequestError::BadName("../x".into())));
        assert_eq!(bad("A b", 1.0), Some(RequestError::BadName("A b".into())));
        assert!(bad("Ok", f64::NAN).is_some());
        assert_eq!(bad("Ok", 0.0), Some(RequestError::BadTimeout(0.0)));
        assert!(bad("Ok_1", 12.0).is_none());
        let missing = SynapseCall::new("S", 1.0, &fields, &["x"], &[], None).err();
        assert_eq!(missing, Some(RequestError::MissingField("x".into())));
    }

    #[test]
    fn every_axon_s_body_shares_the_synapse_s_fields_and_its_own_part_is_sized_once() {
        let tensor = format!(r#"{{"x": {{"buffer": "{}"}}}}"#, "A".repeat(1 << 20));
        let fields = PyValue::parse(tensor.as_bytes()).unwrap();
        let call = SynapseCall::new("TensorEcho", 12.0, &fields, &[], &[], None).unwrap();
        let key = Keypair::from_uri("//Alice").unwrap();
        let axon = |port| AxonTarget {
            ip: "255.255.255.255".into(),
            port,
            hotkey: key.ss58_address().into(),
            uid: None,
        };
        let dendrite = Dendrite::new(key.clone(), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
        let one = dendrite.render(&call, &axon(65535), i128::MAX).body;
        let other = dendrite.render(&call, &axon(1), i128::MAX).body;
        assert_eq!(
            one.fields.as_ptr(),
            other.fields.as_ptr(),
            "shared, not copied"
        );
        assert_ne!(one.head, other.head);
        // A string that grew doubled its capacity; one sized right still has its first.
        assert!(
            one.head.capacity() < one.head.len() + 2048,
            "{}",
            one.head.capacity()
        );
        let whole = one.to_vec();
        assert_eq!(whole.len(), one.len());
        let parsed = PyValue::parse(&whole).unwrap();
        assert_eq!(parsed.get("x"), fields.get("x"));
        assert_eq!(parsed.get("name"), Some(&PyValue::Str("TensorEcho".into())));
    }

    #[test]
    fn no_hash_fields_hash_to_sha3_of_nothing() {
        let fields = PyValue::parse(br#"{"dummy_input": 21, "dummy_output": null}"#).unwrap();
        let call = SynapseCall::new("Dummy", 12.0, &fields, &["dummy_input"], &[], None).unwrap();
        assert_eq!(call.body_hash(), EMPTY_BODY_HASH);
    }
}
