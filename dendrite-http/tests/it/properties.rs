//! Properties of the parsers of peer bytes and of the writers Python's output must match.

use dendrite_http::btauth::{sign, Verifier};
use dendrite_http::terminal::TerminalInfo;
use dendrite_http::value::float_repr;
use dendrite_http::{read_answer, PyValue};
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

    /// `json.dumps` output parses back to the same value (order, ints vs floats, escapes).
    #[test]
    fn dumps_round_trips(value in value()) {
        let text = value.dumps();
        prop_assert!(text.is_ascii(), "ensure_ascii: {text}");
        prop_assert_eq!(PyValue::parse(text.as_bytes()).unwrap(), value);
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
        if let Ok(answer) = read_answer(status, view, &body, &sent, &sent) {
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
        let headers = sign(&alice, "POST", "/Dummy?a=1", &body, Some(bob.ss58_address()), now);
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
