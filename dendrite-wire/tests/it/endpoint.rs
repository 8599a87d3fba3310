//! Endpoints: tensors round-trip, malformed endpoint tensors or JSON never panic, and
//! validation names the field that is wrong.

use dendrite_wire::{ss58, Endpoint, EndpointError, Tensor};
use proptest::prelude::*;

fn key() -> impl Strategy<Value = String> {
    any::<[u8; 32]>().prop_map(|k| ss58::encode(&k, 42))
}

fn ip() -> impl Strategy<Value = (String, u8)> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|b| (std::net::Ipv4Addr::from(b).to_string(), 4)),
        any::<[u16; 8]>().prop_map(|s| (std::net::Ipv6Addr::from(s).to_string(), 6)),
    ]
}

fn endpoint() -> impl Strategy<Value = Endpoint> {
    (1u32..999, 0u64..1_000_000, key(), ip(), 1u16..65535, key()).prop_map(
        |(version, uid, hotkey, (ip, ip_type), port, coldkey)| Endpoint {
            version,
            uid,
            hotkey,
            ip,
            ip_type,
            port,
            protocol: 0,
            coldkey,
            modality: 0,
        },
    )
}

proptest! {
    #[test]
    fn endpoint_tensors_round_trip(e in endpoint()) {
        match e.to_tensor() {
            Ok(t) => prop_assert_eq!(Endpoint::from_tensor(&t).unwrap(), e),
            Err(EndpointError::TooLarge(n)) => prop_assert!(n > 250),
            Err(other) => prop_assert!(false, "unexpected error {}", other),
        }
    }

    #[test]
    fn arbitrary_endpoint_tensors_never_panic(values in proptest::collection::vec(-300i64..300, 250)) {
        let t = Tensor::from_vec(values, [250]).unwrap();
        let _ = Endpoint::from_tensor(&t);
    }

    #[test]
    fn arbitrary_endpoint_json_never_panics(text in ".{0,200}") {
        let _ = Endpoint::from_json(&text);
    }

}

#[test]
fn endpoint_validation_says_what_is_wrong() {
    let key = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";
    let bad_checksum = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694tz";
    // (version, uid, hotkey, ip, ip_type, port, coldkey) -> the field the error names.
    type Args<'a> = (u32, u64, &'a str, &'a str, u8, u16, &'a str);
    let cases: [(Args, &str); 8] = [
        ((370, 0, key, "::1", 4, 8091, key), "ip_type"),
        ((370, 0, key, "1.2.3.4", 6, 8091, key), "ip_type"),
        ((370, 0, key, "localhost", 4, 8091, key), "ip"),
        ((370, 0, key, "1.2.3.4", 4, 0, key), "port"),
        ((0, 0, key, "1.2.3.4", 4, 1, key), "version"),
        ((370, u32::MAX as u64, key, "1.2.3.4", 4, 1, key), "uid"),
        ((370, 0, bad_checksum, "1.2.3.4", 4, 1, key), "hotkey"),
        ((370, 0, key, "1.2.3.4", 4, 1, "short"), "coldkey"),
    ];
    for ((version, uid, hotkey, ip, ip_type, port, coldkey), expected) in cases {
        match Endpoint::new(version, uid, hotkey, ip, ip_type, port, coldkey) {
            Err(EndpointError::Invalid { field, .. }) => assert_eq!(field, expected, "{ip}"),
            other => panic!("expected an invalid {expected}, got {other:?}"),
        }
    }
    assert!(Endpoint::new(370, 0, key, "1.2.3.4", 4, 1, key).is_ok());
}
