//! `TerminalInfo`: what a synapse says about one end of a call (the dendrite's or the axon's
//! side), its JSON in the body and its `bt_header_{side}_{field}` headers.
//!
//! Field order is 10.5.0's (`status_code, status_message, process_time, ip, port, version,
//! nonce, uuid, hotkey, signature`); `None` fields are left out of headers and written as `null`
//! in the body.

use crate::value::{float_repr, write_json_str, PyValue};

/// One side of a call as the synapse carries it (bittensor 10.5.0's `TerminalInfo`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TerminalInfo {
    /// HTTP status of the call as this side saw it.
    pub status_code: Option<i64>,
    /// Its message.
    pub status_message: Option<String>,
    /// Seconds this side spent.
    pub process_time: Option<f64>,
    /// Its IP address.
    pub ip: Option<String>,
    /// Its port.
    pub port: Option<i64>,
    /// Its bittensor version as an int (`10005000` for 10.5.0).
    pub version: Option<i64>,
    /// Its nonce (`time.time_ns()` of the request).
    pub nonce: Option<i128>,
    /// Its uuid.
    pub uuid: Option<String>,
    /// Its hotkey's SS58 address.
    pub hotkey: Option<String>,
    /// Its signature, `0x` + 128 hex digits.
    pub signature: Option<String>,
}

/// Which end of the call a [`TerminalInfo`] describes: the prefix of its headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// `bt_header_dendrite_*`.
    Dendrite,
    /// `bt_header_axon_*`.
    Axon,
}

/// The fields in 10.5.0's order with their header names on each side, written out once so that
/// a request's header names are static strings (no formatting, no allocation per request).
const HEADERS: [(&str, &str, &str); 10] = [
    (
        "status_code",
        "bt_header_dendrite_status_code",
        "bt_header_axon_status_code",
    ),
    (
        "status_message",
        "bt_header_dendrite_status_message",
        "bt_header_axon_status_message",
    ),
    (
        "process_time",
        "bt_header_dendrite_process_time",
        "bt_header_axon_process_time",
    ),
    ("ip", "bt_header_dendrite_ip", "bt_header_axon_ip"),
    ("port", "bt_header_dendrite_port", "bt_header_axon_port"),
    (
        "version",
        "bt_header_dendrite_version",
        "bt_header_axon_version",
    ),
    ("nonce", "bt_header_dendrite_nonce", "bt_header_axon_nonce"),
    ("uuid", "bt_header_dendrite_uuid", "bt_header_axon_uuid"),
    (
        "hotkey",
        "bt_header_dendrite_hotkey",
        "bt_header_axon_hotkey",
    ),
    (
        "signature",
        "bt_header_dendrite_signature",
        "bt_header_axon_signature",
    ),
];

impl Side {
    /// The header name prefix, `bt_header_dendrite_` or `bt_header_axon_`.
    pub fn prefix(self) -> &'static str {
        match self {
            Side::Dendrite => "bt_header_dendrite_",
            Side::Axon => "bt_header_axon_",
        }
    }

    /// `bt_header_{side}_{field}` for one of [`TerminalInfo`]'s fields, `None` for any other.
    pub fn header_name(self, field: &str) -> Option<&'static str> {
        let (_, dendrite, axon) = HEADERS.iter().find(|(name, _, _)| *name == field)?;
        Some(match self {
            Side::Dendrite => dendrite,
            Side::Axon => axon,
        })
    }
}

impl TerminalInfo {
    /// The fields as Python's `str()` writes them, in order, `None`s left out: the values of the
    /// `bt_header_{side}_{field}` headers.
    pub fn header_fields(&self) -> Vec<(&'static str, String)> {
        let mut fields = Vec::with_capacity(10);
        let mut push = |name: &'static str, value: Option<String>| {
            if let Some(value) = value {
                fields.push((name, value));
            }
        };
        push("status_code", self.status_code.map(|v| v.to_string()));
        push("status_message", self.status_message.clone());
        push("process_time", self.process_time.map(float_repr));
        push("ip", self.ip.clone());
        push("port", self.port.map(|v| v.to_string()));
        push("version", self.version.map(|v| v.to_string()));
        push("nonce", self.nonce.map(|v| v.to_string()));
        push("uuid", self.uuid.clone());
        push("hotkey", self.hotkey.clone());
        push("signature", self.signature.clone());
        fields
    }

    /// The JSON object `json.dumps(model_dump())` writes.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }

    /// Appends the JSON object `json.dumps(model_dump())` writes.
    pub fn write_json(&self, out: &mut String) {
        fn opt<T>(out: &mut String, value: Option<T>, write: impl FnOnce(&mut String, T)) {
            match value {
                Some(v) => write(out, v),
                None => out.push_str("null"),
            }
        }
        let int = |out: &mut String, v: i128| out.push_str(&v.to_string());
        let text = |out: &mut String, v: &String| write_json_str(v, out);
        out.push_str("{\"status_code\": ");
        opt(out, self.status_code.map(i128::from), int);
        out.push_str(", \"status_message\": ");
        opt(out, self.status_message.as_ref(), text);
        out.push_str(", \"process_time\": ");
        opt(out, self.process_time, |out, v| {
            PyValue::Float(v).write_json(out)
        });
        out.push_str(", \"ip\": ");
        opt(out, self.ip.as_ref(), text);
        out.push_str(", \"port\": ");
        opt(out, self.port.map(i128::from), int);
        out.push_str(", \"version\": ");
        opt(out, self.version.map(i128::from), int);
        out.push_str(", \"nonce\": ");
        opt(out, self.nonce, int);
        out.push_str(", \"uuid\": ");
        opt(out, self.uuid.as_ref(), text);
        out.push_str(", \"hotkey\": ");
        opt(out, self.hotkey.as_ref(), text);
        out.push_str(", \"signature\": ");
        opt(out, self.signature.as_ref(), text);
        out.push('}');
    }

    /// Sets the field a `bt_header_{side}_{name}` header names from its text, as pydantic
    /// would coerce it; a value that does not parse, or an unknown name, leaves it unchanged
    /// and says so.
    pub fn set_from_header(&mut self, name: &str, value: &str) -> bool {
        fn parsed<T: std::str::FromStr>(slot: &mut Option<T>, value: &str) -> bool {
            match value.trim().parse() {
                Ok(v) => {
                    *slot = Some(v);
                    true
                }
                Err(_) => false,
            }
        }
        match name {
            "status_code" => parsed(&mut self.status_code, value),
            "status_message" => {
                self.status_message = Some(value.to_owned());
                true
            }
            "process_time" => parsed(&mut self.process_time, value),
            "ip" => {
                self.ip = Some(value.to_owned());
                true
            }
            "port" => parsed(&mut self.port, value),
            "version" => parsed(&mut self.version, value),
            "nonce" => parsed(&mut self.nonce, value),
            "uuid" => {
                self.uuid = Some(value.to_owned());
                true
            }
            "hotkey" => {
                self.hotkey = Some(value.to_owned());
                true
            }
            "signature" => {
                self.signature = Some(value.to_owned());
                true
            }
            _ => false,
        }
    }

    /// The info in a JSON object (a response body's `dendrite` or `axon`); fields of the wrong
    /// type are left `None`.
    pub fn from_json(value: &PyValue) -> TerminalInfo {
        let int = |key: &str| match value.get(key) {
            Some(PyValue::Int(v)) => Some(*v),
            _ => None,
        };
        let text = |key: &str| match value.get(key) {
            Some(PyValue::Str(v)) => Some(v.clone()),
            _ => None,
        };
        TerminalInfo {
            status_code: int("status_code").and_then(|v| i64::try_from(v).ok()),
            status_message: text("status_message"),
            process_time: match value.get("process_time") {
                Some(PyValue::Float(v)) => Some(*v),
                Some(PyValue::Int(v)) => Some(*v as f64),
                _ => None,
            },
            ip: text("ip"),
            port: int("port").and_then(|v| i64::try_from(v).ok()),
            version: int("version").and_then(|v| i64::try_from(v).ok()),
            nonce: int("nonce"),
            uuid: text("uuid"),
            hotkey: text("hotkey"),
            signature: text("signature"),
        }
    }

    /// Every field `other` has replaces this one's (how the 10.x dendrite merges the response's
    /// headers into its synapse: the answer's non-`None` fields win).
    pub fn overlay(&mut self, other: &TerminalInfo) {
        macro_rules! take {
            ($($field:ident),*) => {$(
                if other.$field.is_some() {
                    self.$field = other.$field.clone();
                }
            )*};
        }
        take!(
            status_code,
            status_message,
            process_time,
            ip,
            port,
            version,
            nonce,
            uuid,
            hotkey,
            signature
        );
    }
}
