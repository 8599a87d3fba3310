//! An answer's JSON parsed in place: a [`Doc`] is the same tree as a [`PyValue`] (dicts in
//! order, ints and floats apart), but its strings are [`Text`]s that share the body's bytes
//! rather than copies of them.
//!
//! A 10.x answer carries its payload as strings (a 1 MiB tensor is 1.4 MB of base64, twice in
//! a `TensorEcho` answer); copying each into a `String` between the body and the Python `str`
//! that must hold it cost a tenth of such a call's CPU. A string without escapes is a slice of
//! the body (a reference count, no copy); one with escapes is unescaped into bytes of its own.
//!
//! Invariants: parsing never panics and nests no deeper than [`MAX_DEPTH`], as
//! [`PyValue::parse`]; a [`Text`] is always UTF-8 (made from a `&str`, or from bytes checked
//! once: [`Text::from_utf8`]); numbers are read exactly as [`PyValue::parse`] reads them (one
//! rule: [`Doc::to_value`] of a parse is that parse).

use std::fmt;

use bytes::Bytes;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::value::{PyValue, MAX_DEPTH};

/// A JSON value whose strings share the bytes of the body they were read from.
#[derive(Clone, Debug, PartialEq)]
pub enum Doc {
    /// `null`.
    None,
    /// `true` / `false`.
    Bool(bool),
    /// An int (as [`PyValue::Int`]).
    Int(i128),
    /// A float.
    Float(f64),
    /// A string.
    Str(Text),
    /// A list.
    List(Vec<Doc>),
    /// A non-empty list whose items are all floats (JSON numbers with a fraction or an
    /// exponent), held flat: 8 bytes a number rather than a node (a price path's 289 floats,
    /// an embedding's).
    Floats(Vec<f64>),
    /// An object, its keys in order (duplicates kept; [`Doc::get`] reads the last).
    Dict(Vec<(Text, Doc)>),
}

/// A UTF-8 string that is a slice of an answer's body, or (where it had escapes) bytes of its
/// own.
#[derive(Clone, PartialEq, Eq)]
pub struct Text(Bytes);

impl Text {
    /// `text` as a slice of `body` when it lies within it (no copy), else a copy.
    fn of(body: &Bytes, text: &str) -> Text {
        let start = (text.as_ptr() as usize).wrapping_sub(body.as_ptr() as usize);
        let within = start <= body.len() && text.len() <= body.len() - start;
        if within {
            Text(body.slice(start..start + text.len()))
        } else {
            Text(Bytes::copy_from_slice(text.as_bytes()))
        }
    }

    /// `bytes` as a `Text` when they are UTF-8.
    pub fn from_utf8(bytes: Bytes) -> Option<Text> {
        std::str::from_utf8(&bytes).is_ok().then_some(Text(bytes))
    }

    /// The string.
    pub fn as_str(&self) -> &str {
        // SAFETY: a `Text` is only made by `Text::of` (and `From<String>`), from the bytes of a
        // `&str`, or by `Text::from_utf8`, which checked them, and `Bytes` never changes its
        // bytes: they are UTF-8.
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }
}

impl From<String> for Text {
    fn from(text: String) -> Text {
        Text(Bytes::from(text.into_bytes()))
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::ops::Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl Doc {
    /// Parses `body` (keys in order), its strings sharing `body`'s bytes; a typed error for
    /// anything that is not JSON or nests deeper than [`MAX_DEPTH`].
    pub fn parse(body: &Bytes) -> Result<Doc, sonic_rs::Error> {
        let mut deserializer = sonic_rs::Deserializer::from_slice(body);
        let doc = Node { body }.deserialize(&mut deserializer)?;
        deserializer.end()?;
        if doc.depth() > MAX_DEPTH {
            return Err(de::Error::custom(format!(
                "JSON nests deeper than {MAX_DEPTH}"
            )));
        }
        Ok(doc)
    }

    fn depth(&self) -> usize {
        match self {
            Doc::List(items) => 1 + items.iter().map(Doc::depth).max().unwrap_or(0),
            Doc::Floats(_) => 1,
            Doc::Dict(items) => 1 + items.iter().map(|(_, v)| v.depth()).max().unwrap_or(0),
            _ => 0,
        }
    }

    /// The value of `key` in a dict (the last of duplicates, as Python keeps it).
    pub fn get(&self, key: &str) -> Option<&Doc> {
        match self {
            Doc::Dict(items) => items
                .iter()
                .rev()
                .find(|(k, _)| k.as_str() == key)
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The same value with strings of its own.
    pub fn to_value(&self) -> PyValue {
        match self {
            Doc::None => PyValue::None,
            Doc::Bool(b) => PyValue::Bool(*b),
            Doc::Int(i) => PyValue::Int(*i),
            Doc::Float(f) => PyValue::Float(*f),
            Doc::Str(s) => PyValue::Str(s.as_str().to_owned()),
            Doc::List(items) => PyValue::List(items.iter().map(Doc::to_value).collect()),
            Doc::Floats(items) => {
                PyValue::List(items.iter().copied().map(PyValue::Float).collect())
            }
            Doc::Dict(items) => PyValue::Dict(
                items
                    .iter()
                    .map(|(k, v)| (k.as_str().to_owned(), v.to_value()))
                    .collect(),
            ),
        }
    }
}

/// Reads one value of `body`.
#[derive(Clone, Copy)]
struct Node<'b> {
    body: &'b Bytes,
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Doc;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Doc, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Doc;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Doc, E> {
        Ok(Doc::None)
    }
    fn visit_none<E>(self) -> Result<Doc, E> {
        Ok(Doc::None)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Doc, E> {
        Ok(Doc::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Doc, E> {
        Ok(Doc::Int(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Doc, E> {
        Ok(Doc::Int(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Doc, E> {
        Ok(Doc::Float(v))
    }
    // Strings are read as keys are.
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Doc, E> {
        Key { body: self.body }.visit_borrowed_str(v).map(Doc::Str)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Doc, E> {
        Key { body: self.body }.visit_str(v).map(Doc::Str)
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Doc, E> {
        Key { body: self.body }.visit_string(v).map(Doc::Str)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Doc, A::Error> {
        // Flat while every item is a float; nodes from the first one that is not.
        let mut floats = Vec::new();
        let first_other = loop {
            match seq.next_element_seed(self)? {
                Some(Doc::Float(f)) => floats.push(f),
                Some(other) => break other,
                None if floats.is_empty() => return Ok(Doc::List(Vec::new())),
                None => return Ok(Doc::Floats(floats)),
            }
        };
        let mut items: Vec<Doc> = floats.into_iter().map(Doc::Float).collect();
        items.push(first_other);
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Doc::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Doc, A::Error> {
        let mut items = Vec::new();
        while let Some(key) = map.next_key_seed(Key { body: self.body })? {
            items.push((key, map.next_value_seed(self)?));
        }
        Ok(Doc::Dict(items))
    }
}

/// Reads one object key, or string, of `body`: a slice of it where the parser lends one, else
/// (an unescaped copy) bytes of its own.
struct Key<'b> {
    body: &'b Bytes,
}

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = Text;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Text, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = Text;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string key")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text, E> {
        Ok(Text::of(self.body, v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Text, E> {
        // Unescaped into the parser's scratch: never within the body, so `of` copies it.
        Ok(Text::of(self.body, v))
    }
    fn visit_string<E>(self, v: String) -> Result<Text, E> {
        Ok(v.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parse_is_the_value_parse_gives_and_plain_strings_share_the_body() {
        let text = br#"{"a": [1, -2, 3.5, 1e300, 18446744073709551615, null, true],
            "s": "plain", "e": "tab\there \u00e9", "a": {"k\"q": "v"}}"#;
        let body = Bytes::from_static(text);
        let doc = Doc::parse(&body).unwrap();
        assert_eq!(doc.to_value(), PyValue::parse(text).unwrap());
        let Some(Doc::Str(plain)) = doc.get("s") else {
            panic!("no s: {doc:?}")
        };
        let inside = body.as_ptr() as usize..body.as_ptr() as usize + body.len();
        assert!(inside.contains(&(plain.as_ptr() as usize)), "a copy");
        let Some(Doc::Str(escaped)) = doc.get("e") else {
            panic!("no e")
        };
        assert_eq!(escaped.as_str(), "tab\there é");
        assert!(!inside.contains(&(escaped.as_ptr() as usize)));
        assert_eq!(
            doc.get("a").and_then(|a| a.get("k\"q")).map(Doc::to_value),
            Some(PyValue::Str("v".into()))
        );
    }

    #[test]
    fn lists_of_floats_are_held_flat_and_mixed_lists_as_nodes() {
        let text = br#"[[1.5, 2e3, -0.0], [1.5, 2], [], [0.5, "x"], [7]]"#;
        let doc = Doc::parse(&Bytes::from_static(text)).unwrap();
        let Doc::List(rows) = &doc else {
            panic!("{doc:?}")
        };
        assert_eq!(rows[0], Doc::Floats(vec![1.5, 2000.0, -0.0]));
        assert!(
            matches!(&rows[1], Doc::List(items) if items[1] == Doc::Int(2)),
            "an int stays an int"
        );
        assert_eq!(rows[2], Doc::List(Vec::new()));
        assert!(matches!(&rows[3], Doc::List(items) if items.len() == 2));
        assert!(matches!(&rows[4], Doc::List(items) if items == &[Doc::Int(7)]));
        assert_eq!(doc.to_value(), PyValue::parse(text).unwrap());
    }

    #[test]
    fn what_is_no_json_or_nests_too_deep_is_an_error() {
        for text in ["", "{", "[1,]", "\"\\ud800\"x", "nul"] {
            assert!(Doc::parse(&Bytes::from(text)).is_err(), "{text:?}");
        }
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(Doc::parse(&Bytes::from(deep)).is_err());
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(Doc::parse(&Bytes::from(ok)).is_ok());
        // A stranger's millions of `[` are refused at the parser's own depth, not a stack
        // overflow.
        assert!(Doc::parse(&Bytes::from("[".repeat(2_000_000))).is_err());
        assert!(
            Doc::parse(&Bytes::from(&b"[\"\xff\"]"[..])).is_err(),
            "not UTF-8"
        );
        assert!(
            Doc::parse(&Bytes::from(&b"[\"\x01\"]"[..])).is_err(),
            "a raw control"
        );
    }
}
