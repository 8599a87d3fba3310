//! [`Endpoint`]: where a neuron serves, and its `[250]` int64 tensor form.
//!
//! The tensor form is the UTF-8 bytes of the endpoint's JSON (exactly as Python's `json.dumps`
//! writes it) padded with -1, byte-identical to the reference's `endpoint.to_tensor()`.
//!
//! ```
//! use dendrite_wire::Endpoint;
//! let e = Endpoint::new(370, 0, "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty", "127.0.0.1", 4, 8091,
//!     "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty").unwrap();
//! let tensor = e.to_tensor().unwrap();
//! assert_eq!(tensor.shape(), &[250]);
//! assert_eq!(Endpoint::from_tensor(&tensor).unwrap(), e);
//! ```

use crate::{ss58, DType, EndpointError, Tensor};
use std::net::{IpAddr, SocketAddr};

/// Length of the endpoint tensor.
pub const ENDPOINT_BUFFER_SIZE: usize = 250;
/// Versions must be below this.
pub const MAX_VERSION: u32 = 999;
/// Uids must be below this (u32 max).
pub const MAX_UID: u64 = 4_294_967_295;
/// Length of an SS58 hotkey or coldkey.
pub const SS58_LENGTH: usize = 48;
/// IP strings must be shorter than this.
pub const MAX_IP_LENGTH: usize = 32;
/// The hotkey and coldkey of the dummy endpoint.
pub const DUMMY_KEY: &str = "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX";

/// A neuron's serving endpoint, every field of the reference's `Endpoint`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// Protocol version of the neuron (e.g. 370).
    pub version: u32,
    /// Network uid.
    pub uid: u64,
    /// SS58 address of the neuron's hotkey, the receiver of signed requests.
    pub hotkey: String,
    /// IPv4 or IPv6 address.
    pub ip: String,
    /// 4 or 6.
    pub ip_type: u8,
    /// TCP port.
    pub port: u16,
    /// Protocol (always 0 today).
    pub protocol: u32,
    /// SS58 address of the owner's coldkey.
    pub coldkey: String,
    /// Modality (0 = text).
    pub modality: u32,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> EndpointError {
    EndpointError::Invalid {
        field,
        reason: reason.into(),
    }
}

impl Endpoint {
    /// A validated endpoint (protocol and modality 0).
    pub fn new(
        version: u32,
        uid: u64,
        hotkey: impl Into<String>,
        ip: impl Into<String>,
        ip_type: u8,
        port: u16,
        coldkey: impl Into<String>,
    ) -> Result<Self, EndpointError> {
        let endpoint = Endpoint {
            version,
            uid,
            hotkey: hotkey.into(),
            ip: ip.into(),
            ip_type,
            port,
            protocol: 0,
            coldkey: coldkey.into(),
            modality: 0,
        };
        endpoint.validate()?;
        Ok(endpoint)
    }

    /// The reference's dummy endpoint (ip 0.0.0.0, port 0): calls to it are answered `BadEndpoint`
    /// without network traffic.
    pub fn dummy() -> Self {
        Endpoint {
            version: 0,
            uid: 0,
            hotkey: DUMMY_KEY.into(),
            ip: "0.0.0.0".into(),
            ip_type: 4,
            port: 0,
            protocol: 0,
            coldkey: DUMMY_KEY.into(),
            modality: 0,
        }
    }

    /// Whether this is an endpoint that serves (its ip is not 0.0.0.0).
    pub fn is_serving(&self) -> bool {
        self.ip != "0.0.0.0"
    }

    /// The checks of the reference's `assert_format`, plus: the ip parses and matches `ip_type`,
    /// and the keys are valid SS58 addresses (checksum included).
    pub fn validate(&self) -> Result<(), EndpointError> {
        if self.version == 0 || self.version >= MAX_VERSION {
            return Err(invalid(
                "version",
                format!("must be in [1, {MAX_VERSION}), got {}", self.version),
            ));
        }
        if self.uid >= MAX_UID {
            return Err(invalid(
                "uid",
                format!("must be below {MAX_UID}, got {}", self.uid),
            ));
        }
        if self.ip.len() >= MAX_IP_LENGTH {
            return Err(invalid(
                "ip",
                format!(
                    "must be shorter than {MAX_IP_LENGTH} characters, got {:?}",
                    self.ip
                ),
            ));
        }
        let ip: IpAddr = self.ip.parse().map_err(|_| {
            invalid(
                "ip",
                format!("{:?} is not an IPv4 or IPv6 address", self.ip),
            )
        })?;
        match (self.ip_type, ip) {
            (4, IpAddr::V4(_)) | (6, IpAddr::V6(_)) => {}
            (4 | 6, _) => {
                return Err(invalid(
                    "ip_type",
                    format!("{} does not match ip {}", self.ip_type, self.ip),
                ))
            }
            (other, _) => return Err(invalid("ip_type", format!("must be 4 or 6, got {other}"))),
        }
        if self.port == 0 || self.port == u16::MAX {
            return Err(invalid(
                "port",
                format!("must be in [1, 65535), got {}", self.port),
            ));
        }
        for (field, key) in [("hotkey", &self.hotkey), ("coldkey", &self.coldkey)] {
            if key.len() != SS58_LENGTH {
                return Err(invalid(
                    field,
                    format!("must be {SS58_LENGTH} characters, got {key:?}"),
                ));
            }
            ss58::decode(key).map_err(|e| invalid(field, format!("{key:?}: {e}")))?;
        }
        if self.protocol != 0 {
            return Err(invalid(
                "protocol",
                format!("must be 0, got {}", self.protocol),
            ));
        }
        Ok(())
    }

    /// The socket address to connect to.
    pub fn socket_addr(&self) -> Result<SocketAddr, EndpointError> {
        let ip: IpAddr = self
            .ip
            .parse()
            .map_err(|_| invalid("ip", format!("{:?} is not an IP address", self.ip)))?;
        Ok(SocketAddr::new(ip, self.port))
    }

    /// The endpoint's JSON exactly as Python's `json.dumps` writes the reference's `dumps()`.
    pub fn dumps(&self) -> String {
        format!(
            "{{\"version\": {}, \"uid\": {}, \"hotkey\": {}, \"ip\": {}, \"ip_type\": {}, \"port\": {}, \"coldkey\": {}, \"protocol\": {}, \"modality\": {}}}",
            self.version,
            self.uid,
            python_json_str(&self.hotkey),
            python_json_str(&self.ip),
            self.ip_type,
            self.port,
            python_json_str(&self.coldkey),
            self.protocol,
            self.modality,
        )
    }

    /// The `[250]` int64 tensor: JSON bytes then -1 padding.
    pub fn to_tensor(&self) -> Result<Tensor, EndpointError> {
        let json = self.dumps();
        if json.len() > ENDPOINT_BUFFER_SIZE {
            return Err(EndpointError::TooLarge(json.len()));
        }
        let mut values: Vec<i64> = json.bytes().map(i64::from).collect();
        values.resize(ENDPOINT_BUFFER_SIZE, -1);
        Tensor::from_vec(values, [ENDPOINT_BUFFER_SIZE])
            .map_err(|e| EndpointError::TensorContent(e.to_string()))
    }

    /// Parses a `[250]` (or `[1, 250]`) endpoint tensor; all -1 gives the dummy endpoint. The
    /// endpoint is validated as the reference's `from_dict` does.
    pub fn from_tensor(tensor: &Tensor) -> Result<Self, EndpointError> {
        match tensor.shape() {
            [ENDPOINT_BUFFER_SIZE] | [1, ENDPOINT_BUFFER_SIZE] => {}
            shape => return Err(EndpointError::TensorShape(shape.to_vec())),
        }
        let values = tensor.cast(DType::Int64);
        let values = values
            .as_slice::<i64>()
            .map_err(|e| EndpointError::TensorContent(e.to_string()))?;
        let end = values.iter().position(|&v| v == -1).unwrap_or(values.len());
        if end == 0 {
            return Ok(Endpoint::dummy());
        }
        let bytes = values[..end]
            .iter()
            .map(|&v| {
                u8::try_from(v)
                    .map_err(|_| EndpointError::TensorContent(format!("{v} is not a byte")))
            })
            .collect::<Result<Vec<u8>, _>>()?;
        let text = String::from_utf8(bytes)
            .map_err(|_| EndpointError::TensorContent("not UTF-8".into()))?;
        Self::from_json(&text)
    }

    /// Parses the endpoint JSON (`dumps()` or the peer's endpoint files) and validates it.
    pub fn from_json(text: &str) -> Result<Self, EndpointError> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| EndpointError::TensorContent(format!("invalid JSON: {e}")))?;
        let field = |name: &'static str| {
            value
                .get(name)
                .ok_or_else(|| EndpointError::TensorContent(format!("missing {name}")))
        };
        let int = |name: &'static str| -> Result<u64, EndpointError> {
            field(name)?.as_u64().ok_or_else(|| {
                invalid(
                    name,
                    format!("must be a non-negative integer, got {}", value[name]),
                )
            })
        };
        let narrow = |name: &'static str, max: u64| -> Result<u64, EndpointError> {
            let v = int(name)?;
            if v > max {
                return Err(invalid(name, format!("{v} is out of range")));
            }
            Ok(v)
        };
        let string = |name: &'static str| -> Result<String, EndpointError> {
            field(name)?
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| invalid(name, "must be a string"))
        };
        let endpoint = Endpoint {
            version: narrow("version", u32::MAX as u64)? as u32,
            uid: int("uid")?,
            hotkey: string("hotkey")?,
            ip: string("ip")?,
            ip_type: narrow("ip_type", u8::MAX as u64)? as u8,
            port: narrow("port", u16::MAX as u64)? as u16,
            protocol: narrow("protocol", u32::MAX as u64)? as u32,
            coldkey: string("coldkey")?,
            modality: match value.get("modality") {
                Some(_) => narrow("modality", u32::MAX as u64)? as u32,
                None => 0,
            },
        };
        endpoint.validate()?;
        Ok(endpoint)
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.ip_type {
            6 => write!(
                f,
                "Endpoint(/ipv6/{}:{}, {}, {})",
                self.ip, self.port, self.uid, self.hotkey
            ),
            _ => write!(
                f,
                "Endpoint(/ipv4/{}:{}, {}, {})",
                self.ip, self.port, self.uid, self.hotkey
            ),
        }
    }
}

/// A JSON string literal as Python's `json.dumps` (ensure_ascii) writes it.
fn python_json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

/// Endpoints from an endpoint file: one JSON object or a list of them. Each needs `hotkey`,
/// `ip` and `port`; the peer's files (`../shared/peer/axon.py --info-out`) have just those and
/// `version`. Missing fields default to: version 370, uid = position in the list, ip_type from
/// the ip, coldkey = hotkey, protocol and modality 0. Unknown fields (`pid`) are ignored.
pub fn load_endpoints(text: &str) -> Result<Vec<Endpoint>, EndpointError> {
    use serde_json::Value;
    let value: Value =
        serde_json::from_str(text).map_err(|e| invalid("file", format!("invalid JSON: {e}")))?;
    let items = match value {
        Value::Array(items) => items,
        object @ Value::Object(_) => vec![object],
        _ => {
            return Err(invalid(
                "file",
                "must be an endpoint object or a list of them",
            ))
        }
    };
    items
        .into_iter()
        .enumerate()
        .map(|(uid, mut item)| {
            let object = item
                .as_object_mut()
                .ok_or_else(|| invalid("file", format!("item {uid} is not an object")))?;
            let hotkey = object.get("hotkey").cloned().unwrap_or(Value::Null);
            let ip_type = match object.get("ip").and_then(Value::as_str) {
                Some(ip) if ip.contains(':') => 6,
                _ => 4,
            };
            object.entry("version").or_insert(Value::from(370));
            object.entry("uid").or_insert(Value::from(uid));
            object.entry("ip_type").or_insert(Value::from(ip_type));
            object.entry("coldkey").or_insert(hotkey);
            object.entry("protocol").or_insert(Value::from(0));
            object.entry("modality").or_insert(Value::from(0));
            Endpoint::from_json(&item.to_string())
        })
        .collect()
}

#[cfg(test)]
mod load_tests {
    use super::*;

    const BOB: &str = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";

    #[test]
    fn peer_files_load_with_defaults() {
        let one = format!(
            r#"{{"hotkey": "{BOB}", "ip": "127.0.0.1", "port": 8091, "version": 370, "pid": 1}}"#
        );
        let endpoints = load_endpoints(&one).unwrap();
        assert_eq!(endpoints.len(), 1);
        let e = &endpoints[0];
        assert_eq!(
            (e.uid, e.ip_type, e.port, e.coldkey.as_str()),
            (0, 4, 8091, BOB)
        );
        let list = format!(r#"[{one}, {{"hotkey": "{BOB}", "ip": "::1", "port": 9}}]"#);
        let endpoints = load_endpoints(&list).unwrap();
        assert_eq!((endpoints[1].uid, endpoints[1].ip_type), (1, 6));
    }

    #[test]
    fn bad_files_are_errors() {
        for text in [
            "",
            "3",
            "[3]",
            r#"{"ip": "127.0.0.1", "port": 1}"#,
            r#"{"hotkey": "x", "ip": "1.2.3.4", "port": 1}"#,
        ] {
            assert!(load_endpoints(text).is_err(), "{text}");
        }
    }
}
