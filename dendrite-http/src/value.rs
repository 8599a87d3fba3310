//! JSON values as Python holds them: objects keep their keys in order, numbers keep whether they
//! were ints or floats, and the two ways bittensor 10.x writes a value are here, exactly.
//!
//! - [`PyValue::dumps`] is `json.dumps(value)` with its defaults (separators `", "` and `": "`,
//!   `ensure_ascii`): how the 10.x dendrite writes a request body.
//! - [`PyValue::py_str`] is `str(value)`: what the body hash hashes, field by field.
//!
//! Floats are written as Python's `repr` writes them (shortest round trip, `1e-05`, `1e+16`,
//! `12.0`). Invariant: parsing never panics and nests no deeper than [`MAX_DEPTH`].

use std::fmt::{self, Write as _};

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// How deep a value may nest (serde_json's own recursion limit is 128; ours is lower and ours).
pub const MAX_DEPTH: usize = 64;

/// A JSON value with Python's distinctions: int or float, keys in insertion order.
#[derive(Clone, Debug, PartialEq)]
pub enum PyValue {
    /// `None` / `null`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// A Python int within i128 (the JSON numbers bittensor sends: nonces, ports, versions).
    Int(i128),
    /// A Python float.
    Float(f64),
    /// A str.
    Str(String),
    /// A list.
    List(Vec<PyValue>),
    /// A dict with string keys, in order.
    Dict(Vec<(String, PyValue)>),
}

impl PyValue {
    /// Parses JSON text, keeping the key order; a typed error for anything that is not JSON or
    /// nests deeper than [`MAX_DEPTH`].
    pub fn parse(text: &[u8]) -> Result<PyValue, serde_json::Error> {
        let mut deserializer = serde_json::Deserializer::from_slice(text);
        let value = PyValue::deserialize(&mut deserializer)?;
        deserializer.end()?;
        if value.depth() > MAX_DEPTH {
            return Err(de::Error::custom(format!(
                "JSON nests deeper than {MAX_DEPTH}"
            )));
        }
        Ok(value)
    }

    fn depth(&self) -> usize {
        match self {
            PyValue::List(items) => 1 + items.iter().map(PyValue::depth).max().unwrap_or(0),
            PyValue::Dict(items) => 1 + items.iter().map(|(_, v)| v.depth()).max().unwrap_or(0),
            _ => 0,
        }
    }

    /// The value of `key` in a dict (the first, as Python keeps the last of duplicates only
    /// when parsing; ours keep both and this reads the last, as Python would).
    pub fn get(&self, key: &str) -> Option<&PyValue> {
        match self {
            PyValue::Dict(items) => items.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// `json.dumps(self)` with Python's defaults.
    pub fn dumps(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }

    /// `json.dumps(self, ensure_ascii=False, separators=(",", ":"))`: how FastAPI's
    /// `JSONResponse` (the 10.x axon's answers) writes it.
    pub fn dumps_compact(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, Style::Compact);
        out
    }

    /// Appends `json.dumps(self)` to `out`.
    pub fn write_json(&self, out: &mut String) {
        self.write(out, Style::Dumps);
    }

    fn write(&self, out: &mut String, style: Style) {
        let (item, key) = match style {
            Style::Dumps => (", ", ": "),
            Style::Compact => (",", ":"),
        };
        let text = |text: &str, out: &mut String| match style {
            Style::Dumps => write_json_str(text, out),
            Style::Compact => write_json_str_utf8(text, out),
        };
        match self {
            PyValue::None => out.push_str("null"),
            PyValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            PyValue::Int(i) => {
                let _ = write!(out, "{i}");
            }
            PyValue::Float(f) => write_json_float(*f, out),
            PyValue::Str(s) => text(s, out),
            PyValue::List(items) => {
                out.push('[');
                for (i, value) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(item);
                    }
                    value.write(out, style);
                }
                out.push(']');
            }
            PyValue::Dict(items) => {
                out.push('{');
                for (i, (name, value)) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(item);
                    }
                    text(name, out);
                    out.push_str(key);
                    value.write(out, style);
                }
                out.push('}');
            }
        }
    }

    /// `str(self)` as Python writes it (a str is itself; containers are their `repr`).
    pub fn py_str(&self) -> String {
        match self {
            PyValue::Str(s) => s.clone(),
            other => {
                let mut out = String::new();
                other.write_repr(&mut out);
                out
            }
        }
    }

    fn write_repr(&self, out: &mut String) {
        match self {
            PyValue::None => out.push_str("None"),
            PyValue::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
            PyValue::Int(i) => {
                let _ = write!(out, "{i}");
            }
            PyValue::Float(f) => out.push_str(&float_repr(*f)),
            PyValue::Str(s) => write_str_repr(s, out),
            PyValue::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.write_repr(out);
                }
                out.push(']');
            }
            PyValue::Dict(items) => {
                out.push('{');
                for (i, (key, value)) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_str_repr(key, out);
                    out.push_str(": ");
                    value.write_repr(out);
                }
                out.push('}');
            }
        }
    }
}

/// Python's `repr(float)`: the shortest digits that round-trip, fixed notation for decimal
/// exponents -5 < e < 16, else scientific with a signed two-digit exponent; `nan`, `inf`.
pub fn float_repr(value: f64) -> String {
    if value.is_nan() {
        return "nan".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.into();
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "-1.2345e-5".
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    // Python's decpt: the decimal point sits after `decpt` digits.
    let decpt = exponent + 1;
    if -4 < decpt && decpt <= 16 {
        let n = digits.len() as i32;
        let text = if decpt <= 0 {
            format!("0.{}{}", "0".repeat((-decpt) as usize), digits)
        } else if decpt >= n {
            format!("{}{}.0", digits, "0".repeat((decpt - n) as usize))
        } else {
            let (int, frac) = digits.split_at(decpt as usize);
            format!("{int}.{frac}")
        };
        format!("{sign}{text}")
    } else {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        format!("{sign}{first}{fraction}e{exp_sign}{:02}", exponent.abs())
    }
}

/// `json.dumps(float)`: the repr, with `NaN`, `Infinity`, `-Infinity` for the non-finite.
fn write_json_float(value: f64, out: &mut String) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        out.push_str(&float_repr(value));
    }
}

/// The two JSON layouts 10.x writes.
#[derive(Clone, Copy)]
enum Style {
    /// `json.dumps` defaults: `", "`, `": "`, ASCII only.
    Dumps,
    /// FastAPI's answers: `","`, `":"`, UTF-8 as is.
    Compact,
}

/// A JSON string as `json.dumps` writes it with `ensure_ascii=False`: only `"`, `\\` and
/// control characters escaped.
fn write_json_str_utf8(text: &str, out: &mut String) {
    write_escaped(text, out, false);
}

/// A JSON string as `json.dumps` writes it with `ensure_ascii=True`.
pub fn write_json_str(text: &str, out: &mut String) {
    write_escaped(text, out, true);
}

/// `json.dumps`'s string escaping; `ascii_only` (`ensure_ascii`) also escapes DEL and every
/// non-ASCII character, as `\uXXXX` UTF-16 units.
fn write_escaped(text: &str, out: &mut String, ascii_only: bool) {
    out.reserve(text.len() + 2);
    out.push('"');
    let mut rest = text;
    loop {
        // Runs that need no escape are copied whole (a 1.4 MB base64 str is one run).
        let plain = plain_run(rest.as_bytes(), ascii_only);
        let (run, tail) = rest.split_at(plain);
        out.push_str(run);
        let mut chars = tail.chars();
        let Some(c) = chars.next() else { break };
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
        rest = chars.as_str();
    }
    out.push('"');
}

/// The length of `text`'s first run of bytes `json.dumps` writes as they are: 32 bytes at a
/// time where none needs an escape (branch-free, so the compiler makes it SIMD: 1.3 ms → 0.1 ms
/// for 1.4 MB of base64), then byte by byte.
fn plain_run(text: &[u8], ascii_only: bool) -> usize {
    // Non-short-circuiting `|`: a branch per byte would keep the loop scalar.
    let escaped = |b: u8| {
        let outside = if ascii_only {
            b.wrapping_sub(0x20) > 0x5e // below ' ' or above '~'
        } else {
            b < 0x20
        };
        outside | (b == b'"') | (b == b'\\')
    };
    let mut at = 0;
    for block in text.chunks_exact(32) {
        if block.iter().fold(false, |any, &b| any | escaped(b)) {
            break;
        }
        at += 32;
    }
    at + text[at..]
        .iter()
        .position(|&b| escaped(b))
        .unwrap_or(text.len() - at)
}

/// Python's `repr(str)`: single quotes unless the text holds `'` and no `"`; backslash escapes
/// for the quote, `\\`, `\t`, `\n`, `\r`, other control characters and DEL as `\xNN`, the C1
/// controls likewise. Printable non-ASCII is written as is (Python's `isprintable`, taken here
/// as "not a control character").
fn write_str_repr(text: &str, out: &mut String) {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || (0x7f..0xa0).contains(&(c as u32)) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

impl<'de> Deserialize<'de> for PyValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(PyValueVisitor)
    }
}

struct PyValueVisitor;

impl<'de> Visitor<'de> for PyValueVisitor {
    type Value = PyValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<PyValue, E> {
        Ok(PyValue::None)
    }
    fn visit_none<E>(self) -> Result<PyValue, E> {
        Ok(PyValue::None)
    }
    fn visit_bool<E>(self, v: bool) -> Result<PyValue, E> {
        Ok(PyValue::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<PyValue, E> {
        Ok(PyValue::Int(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<PyValue, E> {
        Ok(PyValue::Int(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<PyValue, E> {
        Ok(PyValue::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<PyValue, E> {
        Ok(PyValue::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<PyValue, E> {
        Ok(PyValue::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PyValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(PyValue::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PyValue, A::Error> {
        let mut items = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, PyValue>()? {
            items.push((key, value));
        }
        Ok(PyValue::Dict(items))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_are_written_as_python_repr_writes_them() {
        let cases = [
            (12.0, "12.0"),
            (0.5, "0.5"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (9.083747863769531e-05, "9.083747863769531e-05"),
            (-2.5e-7, "-2.5e-07"),
            (123456.789, "123456.789"),
            (0.0, "0.0"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
        ];
        for (value, python) in cases {
            assert_eq!(float_repr(value), python, "{value:e}");
        }
    }

    #[test]
    fn dumps_keeps_order_and_python_separators() {
        let value =
            PyValue::parse(br#"{"b": 1, "a": [1.5, null, true], "s": "\u00e9\"x\n"}"#).unwrap();
        assert_eq!(
            value.dumps(),
            r#"{"b": 1, "a": [1.5, null, true], "s": "\u00e9\"x\n"}"#
        );
    }

    #[test]
    fn str_of_containers_is_their_repr() {
        let value = PyValue::parse(br#"{"k": ["it's", "a\"b", 1, 2.0, null, false]}"#).unwrap();
        assert_eq!(
            value.py_str(),
            r#"{'k': ["it's", 'a"b', 1, 2.0, None, False]}"#
        );
        assert_eq!(PyValue::Str("hello".into()).py_str(), "hello");
    }

    #[test]
    fn deep_or_broken_json_is_an_error() {
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(PyValue::parse(deep.as_bytes()).is_err());
        assert!(PyValue::parse(b"{\"a\": ").is_err());
        assert!(PyValue::parse(b"1 2").is_err());
    }
}
