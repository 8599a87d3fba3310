//! A sent string that came back unchanged, found without parsing it again.
//!
//! A 10.x answer is the whole synapse: its inputs come back beside its outputs (a `TensorEcho`
//! answer carries the 1.4 MB of base64 it was sent). Parsing such a string again (a scan for
//! its quotes, escapes and control bytes, then its UTF-8 checked) was a sixth of a large
//! call's CPU; comparing its bytes with the bytes that were sent is one pass.
//!
//! [`SentStrings::of`] keeps the long string members of a request's own fields, through
//! objects (a `bt.Tensor`'s `buffer`): each one's raw keys and literal, slices of the fields
//! JSON every axon of the call was sent. [`elide`] walks an answer's body from the top, in
//! place before anything shares it: at the first member whose raw keys and literal are a sent
//! one's, byte for byte, it moves everything before the literal over the literal's end and
//! writes `""` there, so the body from [`Elided::start`] is the same document with that value
//! empty. [`Elided::restore`] puts the sent string back into the parsed [`Doc`].
//!
//! **Invariants:** the rearranged document is JSON exactly when the answer is, with the same
//! members in the same order: the literal and `""` are each one string token, and the walk
//! reads strings as JSON does (a quote ends one unless escaped), so on a valid answer it finds
//! each member's true extent, and an invalid prefix stays in the document the parser reads.
//! Only literals without escapes are kept (their bytes are the string's UTF-8). The walk reads
//! at most [`MAX_PREFIX`] bytes before the literal and allocates nothing per byte.

use std::ops::Range;

use bytes::Bytes;

use crate::doc::{Doc, Text};

/// The shortest sent string worth eliding, bytes (shorter ones cost little to parse).
pub const MIN_ELIDED_BYTES: usize = 4096;

/// The most bytes of an answer before the elided literal (what is moved; the walk reads no
/// further).
pub const MAX_PREFIX: usize = 64 * 1024;

/// The deepest object a sent string is looked for in.
const MAX_NESTING: usize = 8;

/// The long strings a request sent among its own fields.
#[derive(Clone, Debug, Default)]
pub struct SentStrings {
    members: Vec<SentString>,
}

#[derive(Clone, Debug)]
struct SentString {
    /// The keys from the top, through objects, as written (quotes included).
    path: Vec<Bytes>,
    /// The value as written, quotes included.
    literal: Bytes,
    /// The string (the literal between its quotes).
    text: Text,
}

impl SentStrings {
    /// The members of `fields` (a request's own fields as they are written: `, "key": value`
    /// for each, then `}`), through objects, whose values are strings of at least `min_len`
    /// bytes without escapes. Fields that do not read so give none.
    pub fn of(fields: &Bytes, min_len: usize) -> SentStrings {
        let mut sent = SentStrings::default();
        let mut walk = Walk {
            text: fields,
            at: 0,
        };
        sent.collect(fields, &mut walk, false, &mut Vec::new(), min_len);
        sent
    }

    /// The long strings of the object whose members `walk` is at, under `path`.
    fn collect(
        &mut self,
        fields: &Bytes,
        walk: &mut Walk<'_>,
        mut first: bool,
        path: &mut Vec<Bytes>,
        min_len: usize,
    ) -> Option<()> {
        while let Some(key) = walk.key(first) {
            first = false;
            path.push(fields.slice(key));
            let value = match walk.text.get(walk.at) {
                Some(b'{') if path.len() < MAX_NESTING => {
                    walk.at += 1;
                    self.collect(fields, walk, true, path, min_len);
                    walk.space();
                    walk.eat(b'}').map(|()| 0..0)
                }
                _ => walk.value(),
            };
            let value = value?;
            let literal = &fields[value.clone()];
            let plain = literal.len() >= min_len + 2
                && literal.first() == Some(&b'"')
                && memchr::memchr(b'\\', literal).is_none();
            if plain {
                let content = fields.slice(value.start + 1..value.end - 1);
                if let Some(text) = Text::from_utf8(content) {
                    self.members.push(SentString {
                        path: path.clone(),
                        literal: fields.slice(value),
                        text,
                    });
                }
            }
            path.pop();
        }
        Some(())
    }

    /// Whether none were kept.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The string kept for the member at `path` (keys from the top, through objects, each
    /// written without escapes), if any: the very bytes an elided answer's member holds
    /// ([`Elided::restore`]).
    pub fn get(&self, path: &[&str]) -> Option<&Text> {
        self.members
            .iter()
            .find(|m| {
                m.path.len() == path.len()
                    && m.path.iter().zip(path).all(|(raw, key)| {
                        raw.len() == key.len() + 2
                            && &raw[1..raw.len() - 1] == key.as_bytes()
                            && memchr::memchr(b'\\', raw).is_none()
                    })
            })
            .map(|m| &m.text)
    }
}

/// Where [`elide`] left an answer's body, and what goes back.
#[derive(Clone, Debug)]
pub struct Elided {
    start: usize,
    /// The member's index in each object from the top.
    indexes: Vec<usize>,
    prefix: usize,
    end: usize,
    literal: Bytes,
    text: Text,
}

impl Elided {
    /// Where the rearranged document starts in the body.
    pub fn start(&self) -> usize {
        self.start
    }

    /// Puts the sent string back as the value of the elided member of `doc`, the parse of the
    /// body from [`Elided::start`]; `false` when that member is not the `""` written there.
    pub fn restore(&self, doc: &mut Doc) -> bool {
        let mut value = doc;
        for &index in &self.indexes {
            let Doc::Dict(items) = value else {
                return false;
            };
            let Some((_, inner)) = items.get_mut(index) else {
                return false;
            };
            value = inner;
        }
        if !value_is_empty(value) {
            return false;
        }
        *value = Doc::Str(self.text.clone());
        true
    }

    /// The answer's body as it came (a copy), from the rearranged `body`.
    pub fn original(&self, body: &[u8]) -> Vec<u8> {
        let moved = self.start..self.start + self.prefix;
        let mut original = Vec::with_capacity(body.len());
        original.extend_from_slice(&body[moved]);
        original.extend_from_slice(&self.literal);
        original.extend_from_slice(&body[self.end..]);
        original
    }
}

fn value_is_empty(value: &Doc) -> bool {
    matches!(value, Doc::Str(text) if text.is_empty())
}

/// Rearranges `body` (a whole answer, not yet shared) around the first member (from the top,
/// through objects) that is a sent string come back byte for byte (module docs); `None`, with `body` unchanged, when
/// there is none within [`MAX_PREFIX`] bytes, the members before it would not fit in its
/// literal, or the body does not read as an object that far.
pub fn elide(body: &mut [u8], sent: &SentStrings) -> Option<Elided> {
    if sent.is_empty() {
        return None;
    }
    // Members before the literal are walked within the first MAX_PREFIX bytes only; a literal
    // is compared where its value starts, never walked.
    let mut walk = Walk {
        text: &body[..body.len().min(MAX_PREFIX)],
        at: 0,
    };
    walk.space();
    walk.eat(b'{')?;
    // The path walked into so far (raw keys) and each member's index there.
    let mut path: Vec<&[u8]> = Vec::new();
    let mut indexes: Vec<usize> = Vec::new();
    let mut index = 0;
    let (found, prefix) = loop {
        let key = walk.key(index == 0)?;
        let at = walk.at;
        let depth = path.len();
        let under = |m: &&SentString| {
            m.path.len() > depth
                && m.path[..depth].iter().zip(&path).all(|(a, b)| a[..] == **b)
                && m.path[depth][..] == body[key.clone()]
        };
        let found = sent.members.iter().filter(under).find(|m| {
            m.path.len() == depth + 1 && body.get(at..at + m.literal.len()) == Some(&m.literal[..])
        });
        if let Some(found) = found {
            indexes.push(index);
            break (found, at);
        }
        let deeper = sent
            .members
            .iter()
            .filter(under)
            .any(|m| m.path.len() > depth + 1);
        if deeper && walk.eat(b'{').is_some() {
            path.push(&body[key]);
            indexes.push(index);
            index = 0;
            continue;
        }
        walk.value()?;
        index += 1;
    };
    let end = prefix + found.literal.len();
    // The members before the literal move into its last bytes, before the `""`.
    let start = (end - 2).checked_sub(prefix).filter(|&at| at >= prefix)?;
    body.copy_within(0..prefix, start);
    body[end - 2..end].copy_from_slice(b"\"\"");
    Some(Elided {
        start,
        indexes,
        prefix,
        end,
        literal: found.literal.clone(),
        text: found.text.clone(),
    })
}

/// A walk over a JSON text's members (into objects as the caller asks): positions only, no
/// values.
struct Walk<'a> {
    text: &'a [u8],
    at: usize,
}

impl Walk<'_> {
    fn space(&mut self) {
        while matches!(self.text.get(self.at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.text.get(self.at) == Some(&byte)).then(|| self.at += 1)
    }

    /// The next member's key (after the object's `{` when `first`, else after the previous
    /// member), the walk left at its value; `None` at the object's end or at anything that does
    /// not read as a member's start.
    fn key(&mut self, first: bool) -> Option<Range<usize>> {
        self.space();
        if !first {
            self.eat(b',')?;
            self.space();
        }
        let key = self.string()?;
        self.space();
        self.eat(b':')?;
        self.space();
        Some(key)
    }

    /// The string literal here, quotes included.
    fn string(&mut self) -> Option<Range<usize>> {
        let start = self.at;
        self.eat(b'"')?;
        loop {
            let found = memchr::memchr2(b'"', b'\\', self.text.get(self.at..)?)?;
            self.at += found + 1;
            if self.text[self.at - 1] == b'"' {
                return Some(start..self.at);
            }
            // An escape: the next byte is never the string's end.
            self.at += 1;
        }
    }

    /// The value here: a string, an object or array (to its matching bracket, strings
    /// skipped as strings), or a number or literal (to the next delimiter).
    fn value(&mut self) -> Option<Range<usize>> {
        let start = self.at;
        match self.text.get(self.at)? {
            b'"' => self.string(),
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.text.get(self.at)? {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth = depth.checked_sub(1)?;
                            if depth == 0 {
                                self.at += 1;
                                return Some(start..self.at);
                            }
                        }
                        _ => {}
                    }
                    self.at += 1;
                }
            }
            _ => {
                let rest = &self.text[self.at..];
                let len = rest
                    .iter()
                    .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                    .unwrap_or(rest.len());
                self.at += len;
                (len > 0).then_some(start..self.at)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `text` with each `LONG` a 640-byte string.
    fn t(text: &str) -> String {
        text.replace("LONG", &"0123456789abcdef".repeat(40))
    }

    fn sent(fields: &str) -> SentStrings {
        SentStrings::of(&Bytes::from(t(fields)), 8)
    }

    /// The parse of `answer` as the client reads it with `sent` elided: the rearranged
    /// document's, the sent string restored.
    fn parse_elided(answer: &str, sent: &SentStrings) -> (Result<Doc, String>, bool) {
        let answer = &t(answer);
        let mut body = answer.as_bytes().to_vec();
        let Some(elided) = elide(&mut body, sent) else {
            assert_eq!(body, answer.as_bytes(), "nothing elided, nothing moved");
            return (
                Doc::parse(&Bytes::from(body)).map_err(|e| e.to_string()),
                false,
            );
        };
        assert_eq!(elided.original(&body), answer.as_bytes());
        let body = Bytes::from(body);
        let parsed = Doc::parse(&body.slice(elided.start()..)).map(|mut doc| {
            assert!(elided.restore(&mut doc), "the member is the written \"\"");
            doc
        });
        (parsed.map_err(|e| e.to_string()), true)
    }

    #[test]
    fn long_plain_strings_are_kept_from_the_fields_as_written() {
        let fields = r#", "x": "0123456789", "short": "abc", "esc": "01234\"5678", "n": 12345678901, "o": {"a": [1], "x": "9876543210"}, "l": ["0123456789"]}"#;
        let kept = sent(fields);
        let paths: Vec<Vec<&[u8]>> = kept
            .members
            .iter()
            .map(|m| m.path.iter().map(|k| &k[..]).collect())
            .collect();
        let expected: Vec<Vec<&[u8]>> = vec![vec![b"\"x\""], vec![b"\"o\"", b"\"x\""]];
        assert_eq!(
            paths, expected,
            "escaped, short, listed and non-strings are not"
        );
        assert_eq!(kept.get(&["x"]).unwrap().as_str(), "0123456789");
        assert_eq!(kept.get(&["o", "x"]).unwrap().as_str(), "9876543210");
        assert!(kept.get(&["o"]).is_none() && kept.get(&["short"]).is_none());
    }

    #[test]
    fn a_string_echoed_inside_an_object_reads_as_it_would_unelided() {
        let kept = sent(r#", "x": {"buffer": "LONG", "dtype": "f"}, "y": null}"#);
        let answer =
            r#"{"name": "E", "x": {"dtype": "f", "buffer": "LONG"}, "y": {"buffer": "z"}}"#;
        let (elided, was) = parse_elided(answer, &kept);
        assert!(was);
        assert_eq!(
            elided,
            Doc::parse(&Bytes::from(t(answer))).map_err(|e| e.to_string())
        );
        for other in [
            r#"{"x": {"buffer": "LONG-changed"}}"#,
            r#"{"x": ["LONG"]}"#,
            r#"{"y": {"buffer": "LONG"}}"#,
        ] {
            assert!(!parse_elided(other, &kept).1, "{other}");
        }
    }

    #[test]
    fn an_echoed_string_reads_as_it_would_unelided() {
        let kept = sent(r#", "x": "LONG", "y": null}"#);
        let answers = [
            r#"{"name": "Echo", "d": {"a": [1, "}\"]"], "b": null}, "x": "LONG", "y": "out"}"#,
            r#"{"x":"LONG"}"#,
            r#"  {  "x"  :  "LONG"  ,"x": "later wins"}  "#,
        ];
        for answer in answers {
            let (elided, was) = parse_elided(answer, &kept);
            assert!(was, "{answer}");
            assert_eq!(
                elided,
                Doc::parse(&Bytes::from(t(answer))).map_err(|e| e.to_string())
            );
        }
    }

    #[test]
    fn a_changed_or_misplaced_string_is_left_to_the_parser() {
        let kept = sent(r#", "x": "LONG"}"#);
        for answer in [
            r#"{"x": "LONG-changed"}"#,
            r#"{"y": "LONG"}"#,
            r#"{"o": {"x": "LONG"}}"#,
            r#"{"\u0078": "LONG"}"#,
            r#"{"pad": "LONGLONG", "x": "LONG"}"#,
            r#"["x", "LONG"]"#,
        ] {
            assert!(!parse_elided(answer, &kept).1, "{answer}");
        }
    }

    #[test]
    fn an_invalid_answer_stays_invalid() {
        let kept = sent(r#", "x": "LONG"}"#);
        for answer in [
            r#"{"a": [1,, 2], "x": "LONG"}"#,
            r#"{"a": tru, "x": "LONG"}"#,
            r#"{"a": "\q", "x": "LONG"}"#,
            r#"{"x": "LONG",}"#,
            r#"{"x": "LONG""#,
        ] {
            let (parsed, _) = parse_elided(answer, &kept);
            assert!(parsed.is_err(), "{answer}");
        }
    }

    proptest::proptest! {
        /// Any answer built from JSON's edge pieces around the sent string reads alike elided
        /// or not: the same document, or an error both ways.
        #[test]
        fn elided_and_plain_parses_agree(
            pieces in proptest::collection::vec(proptest::sample::select(vec![
                "{", "}", "[", "]", ",", ":", " ", "\"", "\\", "\\\"", "\"x\"", "\"k\"", "1",
                "-0.5e3", "null", "true", "\"s\"", "\"}\"", "\"\\u0041\"", "\"LONG\"",
                "\u{e9}", "\u{1}",
            ]), 0..24),
        ) {
            let kept = sent(r#", "x": "LONG", "o": {"b": "LONG"}}"#);
            let answer: String = pieces.concat();
            let variants = [
                answer.clone(),
                format!("{{\"x\": \"LONG\"{answer}"),
                format!("{{\"o\": {{\"b\": \"LONG\"{answer}"),
                format!("{{{answer}\"o\": {{{answer}\"b\": \"LONG\"{answer}"),
            ];
            for answer in variants {
                let (elided, _) = parse_elided(&answer, &kept);
                let plain = Doc::parse(&Bytes::from(t(&answer))).map_err(|e| e.to_string());
                proptest::prop_assert_eq!(elided.is_ok(), plain.is_ok(), "{}", answer);
                if let (Ok(elided), Ok(plain)) = (elided, plain) {
                    proptest::prop_assert_eq!(elided, plain, "{}", answer);
                }
            }
        }
    }
}
