//! Wallet key files as bittensor's `_keyfile/` writes them, and the signature as a property.

use std::path::PathBuf;

use dendrite_keys::signature::{sign_header, SignatureHeader};
use dendrite_keys::{KeyError, Keypair};
use proptest::prelude::*;

/// A fresh directory under the target dir (no temp-dir crate needed).
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("keys-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const DEV_SEED: &str = "0xfac7959dbfe72f052e5a0c3c8d6530f202b02fd8f9f5ca3580ec8deb7797479e";

#[test]
fn wallet_hotkey_files_load_from_seed_or_phrase() {
    let root = scratch("wallet");
    let hotkeys = root.join("default").join("hotkeys");
    std::fs::create_dir_all(&hotkeys).unwrap();
    let dev = Keypair::from_mnemonic(subxt_phrase()).unwrap();
    // The JSON `_keyfile.serialized_keypair_to_keyfile_data` writes (all five fields).
    let full = format!(
        r#"{{"accountId": "0x{pk}", "publicKey": "0x{pk}", "secretPhrase": "{phrase}", "secretSeed": "{DEV_SEED}", "ss58Address": "{addr}"}}"#,
        pk = hex::encode(dev.public_key()),
        phrase = subxt_phrase(),
        addr = dev.ss58_address()
    );
    std::fs::write(hotkeys.join("full"), full).unwrap();
    std::fs::write(
        hotkeys.join("phrase_only"),
        format!(r#"{{"secretPhrase": "{}"}}"#, subxt_phrase()),
    )
    .unwrap();
    for name in ["full", "phrase_only"] {
        let key = Keypair::from_wallet(Some(&root), "default", name).unwrap();
        assert_eq!(key.ss58_address(), dev.ss58_address(), "{name}");
    }
}

#[test]
fn unusable_key_files_are_clear_errors() {
    let dir = scratch("bad");
    let cases: [(&str, &[u8]); 6] = [
        ("ansible", b"$ANSIBLE_VAULT;1.1;AES256\n6162"),
        ("fernet", b"gAAAAABiZ..."),
        ("nacl", b"$NACL\x00\x01"),
        (
            "public",
            br#"{"ss58Address": "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"}"#,
        ),
        ("garbage", b"\xff\xfe not json"),
        ("bad_seed", br#"{"secretSeed": "0x1234"}"#),
    ];
    for (name, bytes) in cases {
        std::fs::write(dir.join(name), bytes).unwrap();
        let err = Keypair::from_keyfile(dir.join(name)).unwrap_err();
        let ok = match name {
            "ansible" | "fernet" | "nacl" => matches!(err, KeyError::Encrypted(..)),
            "public" => matches!(err, KeyError::PublicOnly(_)),
            "garbage" => matches!(err, KeyError::Keyfile { .. }),
            _ => matches!(err, KeyError::Seed(_)),
        };
        assert!(ok, "{name}: {err}");
        if name != "bad_seed" {
            assert!(
                err.to_string().contains(name),
                "the message names the file: {err}"
            );
        }
    }
    assert!(matches!(
        Keypair::from_keyfile(dir.join("missing")),
        Err(KeyError::Io { .. })
    ));
}

fn subxt_phrase() -> &'static str {
    "bottom drive obey lake curtain smoke basket hold race lonely fit walk"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any key, nonce and uuid: the header parses back to its parts and verifies for its
    /// receiver only; flipping any signature byte breaks it.
    #[test]
    fn signature_round_trip(seed in any::<[u8; 32]>(), nonce in any::<u64>(), uuid in "[a-f0-9-]{1,36}", flip in 0usize..64) {
        let key = Keypair::from_seed(seed).unwrap();
        let receiver = Keypair::from_seed([1; 32]).unwrap();
        let header = sign_header(&key, 370, receiver.ss58_address(), nonce, &uuid);
        let parsed = SignatureHeader::parse(&header).unwrap();
        prop_assert_eq!(parsed.nonce, nonce as i128);
        prop_assert_eq!(&parsed.sender, key.ss58_address());
        prop_assert_eq!(&parsed.uuid, &uuid);
        prop_assert!(parsed.verify(receiver.ss58_address()));
        prop_assert!(!parsed.verify(key.ss58_address()));
        let mut bytes = hex::decode(&parsed.signature[2..]).unwrap();
        bytes[flip] ^= 1;
        let tampered = SignatureHeader { signature: format!("0x{}", hex::encode(bytes)), ..parsed };
        prop_assert!(!tampered.verify(receiver.ss58_address()));
    }

    /// Arbitrary header text never panics the parser or the verifier.
    #[test]
    fn arbitrary_headers_are_safe(text in ".{0,200}") {
        if let Some(parsed) = SignatureHeader::parse(&text) {
            let _ = parsed.verify("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY");
        }
    }
}
