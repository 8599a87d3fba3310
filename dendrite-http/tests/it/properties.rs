//! Properties of the parsers of peer bytes and of the writers Python's output must match.

use dendrite_http::btauth::{sign, Verifier};
use dendrite_http::terminal::TerminalInfo;
use dendrite_http::value::float_repr;
use dendrite_http::{read_answer, Doc, PyValue};
use dendrite_keys::Keypair;
use proptest::prelude::*;

fn value() -> impl Strategy<Value = PyValue> {
    let leaf = prop_oneof![
        Just(PyValue::None),
        any::<bool>().prop_map(PyValue::Bool),
        any::<i64>().prop_map(|i| PyValue::Int(i.into())),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(PyValue::Float),
        ".*".prop_map(PyValue::Str),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(PyValue::List),
            prop::collection::vec(("[a-z_]{1,8}", inner), 0..6).prop_map(PyValue::Dict),
        ]
    })
}

proptest! {
    // sr25519 signs and verifies in each btauth case: fewer cases than the default 256.
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// `json.dumps` output parses back to the same value (order, ints vs floats, escapes),
    /// by both parsers: the value's and the answers' in-place one; FastAPI's compact UTF-8 too.
    #[test]
    fn dumps_round_trips(value in value()) {
        let text = value.dumps();
        prop_assert!(text.is_ascii(), "ensure_ascii: {text}");
        prop_assert_eq!(PyValue::parse(text.as_bytes()).unwrap(), value.clone());
        prop_assert_eq!(Doc::parse(&text.into()).unwrap().to_value(), value.clone());
        let compact = value.dumps_compact();
        prop_assert_eq!(Doc::parse(&compact.into()).unwrap().to_value(), value);
    }

    /// The answers' parser and the value's agree on any text made of JSON's pieces, numbers at
    /// their edges (17 digits, big exponents, beyond u64) and bytes JSON forbids included:
    /// both refuse it, or both read the same value.
    #[test]
    fn both_parsers_read_any_text_alike(pieces in prop::collection::vec(prop_oneof![
        Just("["), Just("]"), Just("{"), Just("}"), Just(","), Just(":"), Just(" "),
        Just("\"a\""), Just("\"\\u00e9\\n\""), Just("\"\u{1}\""), Just("\"\\ud800\""),
        Just("1"), Just("-0"), Just("-0.0"), Just("104523.41234567891"), Just("1e400"),
        Just("2.2250738585072011e-308"), Just("5e-324"), Just("18446744073709551616"),
        Just("-9223372036854775809"), Just("1E5"), Just("0.1e-5"), Just("01"), Just("1."),
        Just("NaN"), Just("true"), Just("null"), Just("nul"),
    ], 1..12)) {
        let text = pieces.concat();
        let value = PyValue::parse(text.as_bytes());
        let doc = Doc::parse(&text.clone().into());
        prop_assert_eq!(value.is_ok(), doc.is_ok(), "{}: {:?} vs {:?}", text, value, doc);
        if let (Ok(value), Ok(doc)) = (value, doc) {
            prop_assert_eq!(doc.to_value(), value, "{}", text);
        }
    }

    /// Any 17-digit float Python writes reads back exactly through the answers' parser.
    #[test]
    fn the_answers_parser_reads_floats_exactly(bits in any::<u64>()) {
        let x = f64::from_bits(bits);
        prop_assume!(x.is_finite());
        let text = format!("[{}]", float_repr(x));
        let doc = Doc::parse(&text.clone().into());
        prop_assert_eq!(doc.map(|d| d.to_value()).ok(), Some(PyValue::List(vec![PyValue::Float(x)])), "{}", text);
    }

    /// Python's float repr reads back as the same float, and is never shorter than Rust's
    /// shortest digits allow.
    #[test]
    fn float_repr_round_trips(x in any::<f64>().prop_filter("finite", |f| f.is_finite())) {
        let text = float_repr(x);
        prop_assert_eq!(text.parse::<f64>().unwrap(), x);
        prop_assert!(text.contains('.') || text.contains('e'), "{}", text);
    }

    /// Any answer bytes read into a result or a 422, never a panic.
    #[test]
    fn any_answer_reads_or_fails_typed(
        status in 100u16..600,
        body in prop::collection::vec(any::<u8>(), 0..256),
        headers in prop::collection::vec(("bt_header_(axon|dendrite)_[a-z_]{1,14}", ".{0,20}"), 0..6),
    ) {
        let sent = TerminalInfo::default();
        let view = headers.iter().map(|(k, v)| (k.as_str(), v.as_bytes()));
        if let Ok(answer) = read_answer(status, view, &body.into(), &sent, &sent) {
            prop_assert_eq!(answer.dendrite.status_code, answer.axon.status_code);
        }
    }

    /// A signed request verifies exactly when nothing it covers changed.
    #[test]
    fn btauth_covers_method_target_body_and_receiver(
        body in prop::collection::vec(any::<u8>(), 0..64),
        flip in 0usize..4,
    ) {
        let alice = Keypair::from_uri("//Alice").unwrap();
        let bob = Keypair::from_uri("//Bob").unwrap();
        let now = 1_800_000_000_000_000_000i128;
        let headers = sign(&alice, "POST", "/Dummy?a=1", &[&body], Some(bob.ss58_address()), now);
        let view = || headers.iter().map(|(k, v)| (*k, v.as_str()));
        let verifier = Verifier::new(bob.ss58_address());
        let mut other_body = body.clone();
        other_body.push(b'!');
        let (method, target, sent) = match flip {
            0 => ("PUT", "/Dummy?a=1", &body),
            1 => ("POST", "/Dummy?a=2", &body),
            2 => ("POST", "/Dummy?a=1", &other_body),
            _ => ("post", "/Dummy?a=1", &body),
        };
        let verified = verifier.verify(view(), sent, method, target, now);
        prop_assert_eq!(verified.is_ok(), flip == 3, "{:?}", verified);
    }
}

/// One generated SSE event: optional type and id, data lines, comments between.
#[derive(Clone, Debug)]
struct GeneratedEvent {
    event: Option<String>,
    id: Option<String>,
    data: Vec<String>,
    comment: Option<String>,
}

fn sse_event() -> impl Strategy<Value = GeneratedEvent> {
    // Values hold no CR or LF (they end lines); anything else, multibyte text included.
    let text = "[^\r\n]{0,12}";
    (
        prop::option::of("[a-z]{1,6}"),
        prop::option::of("[a-z0-9]{0,4}"),
        prop::collection::vec(text, 1..4),
        prop::option::of(text),
    )
        .prop_map(|(event, id, data, comment)| GeneratedEvent {
            event,
            id,
            data,
            comment,
        })
}

/// A stream of `events` with one line ending throughout (mixing CR-only lines with LF-started
/// ones would be another stream: `\r` then `\n` is one CRLF).
fn sse_stream(events: &[GeneratedEvent], ending: &str) -> Vec<u8> {
    let mut out = String::new();
    for e in events {
        if let Some(comment) = &e.comment {
            out.push_str(&format!(":{comment}{ending}"));
        }
        if let Some(event) = &e.event {
            out.push_str(&format!("event: {event}{ending}"));
        }
        if let Some(id) = &e.id {
            out.push_str(&format!("id: {id}{ending}"));
        }
        for line in &e.data {
            out.push_str(&format!("data: {line}{ending}"));
        }
        out.push_str(ending);
    }
    out.into_bytes()
}

proptest! {
    /// Any split of a valid stream into reads gives the events it was written from, in order.
    #[test]
    fn sse_events_survive_any_split(
        events in prop::collection::vec(sse_event(), 0..8),
        ending in prop::sample::select(vec!["\n", "\r\n", "\r"]),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        use dendrite_http::sse::{parse_all, SseParser};
        let stream = sse_stream(&events, ending);
        let whole = parse_all(&stream);
        let mut at: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
        at.sort_unstable();
        let mut parser = SseParser::new();
        let mut split = Vec::new();
        let mut from = 0;
        for cut in at.into_iter().chain([stream.len()]) {
            parser.push(&stream[from..cut], &mut split);
            from = cut;
        }
        prop_assert_eq!(&split, &whole);
        prop_assert_eq!(whole.len(), events.len());
        let mut last_id = String::new();
        for (got, want) in whole.iter().zip(&events) {
            if let Some(id) = &want.id {
                last_id = id.clone();
            }
            prop_assert_eq!(&got.data, &want.data.join("\n"));
            prop_assert_eq!(&got.event, want.event.as_deref().unwrap_or("message"));
            prop_assert_eq!(&got.id, &last_id);
        }
    }

    /// The parser reads any bytes without panicking, in any split.
    #[test]
    fn sse_parser_takes_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256), cut in any::<prop::sample::Index>()) {
        use dendrite_http::sse::SseParser;
        let at = cut.index(bytes.len() + 1);
        let mut parser = SseParser::new();
        let mut out = Vec::new();
        parser.push(&bytes[..at], &mut out);
        parser.push(&bytes[at..], &mut out);
        prop_assert!(parser.pending_bytes() <= bytes.len() * 3 + 3);
    }
}
