//! sr25519 keys as bittensor uses them: dev URIs (`//Alice`), mnemonics, 32-byte seeds and wallet
//! hotkey files, with SS58 addresses (prefix 42).
//!
//! The cryptography is schnorrkel's sr25519; `subxt-signer` parses secret URIs and BIP-39
//! phrases, and `derivation.rs` turns them into schnorrkel keypairs as substrate does
//! (checked against subxt-signer's own keypairs in its tests). Every key is a schnorrkel
//! keypair, so a batch of signatures can be made together ([`Keypair::sign_many`]), except a key
//! whose secret a signer outside holds ([`Keypair::signed_outside`]), which signs through it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use dendrite_ss58 as ss58;
use subxt_signer::bip39::Mnemonic;
use subxt_signer::SecretUri;

use crate::batch;
use crate::derivation;
use crate::outside::{self, OutsideSigner};

/// The SS58 prefix of bittensor addresses.
pub const SS58_PREFIX: u8 = 42;

/// Largest wallet key file we read; real ones are under 1 KiB.
const MAX_KEYFILE_BYTES: u64 = 64 * 1024;

pub use crate::error::KeyError;

/// An sr25519 keypair that signs requests, with its SS58 address computed once (shared, so a
/// clone allocates nothing).
#[derive(Clone)]
pub struct Keypair {
    secret: Secret,
    public: [u8; 32],
    ss58: std::sync::Arc<str>,
}

/// Where a key's secret is: here, or with a signer outside ([`OutsideSigner`]). Held inline:
/// the held key is the common case, and a `Keypair` was this size before keys could be held
/// outside (boxing it would allocate on every clone of the dendrite's key).
#[derive(Clone)]
#[allow(clippy::large_enum_variant)]
enum Secret {
    Held(schnorrkel::Keypair),
    Outside(std::sync::Arc<dyn OutsideSigner>),
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keypair")
            .field("ss58", &self.ss58)
            .finish_non_exhaustive()
    }
}

impl Keypair {
    fn from_pair(pair: schnorrkel::Keypair) -> Self {
        let public = pair.public.to_bytes();
        let ss58 = ss58::encode(&public, SS58_PREFIX).into();
        Keypair {
            secret: Secret::Held(pair),
            public,
            ss58,
        }
    }

    /// The key of `public`, whose secret `signer` holds and uses for every signature (made
    /// one message at a time or a batch at once, in its own [`OutsideSigner::sign_all`]).
    /// Nothing checks here that `signer` holds the secret of `public`: a receiver refuses
    /// what it signs otherwise.
    pub fn signed_outside(public: [u8; 32], signer: std::sync::Arc<dyn OutsideSigner>) -> Self {
        let ss58 = ss58::encode(&public, SS58_PREFIX).into();
        Keypair {
            secret: Secret::Outside(signer),
            public,
            ss58,
        }
    }

    /// Whether the secret is held outside ([`Keypair::signed_outside`]).
    pub fn is_signed_outside(&self) -> bool {
        matches!(self.secret, Secret::Outside(_))
    }

    /// A key from a 64-byte sr25519 secret key (scalar and nonce) and the public key it
    /// belongs to, as a Python `Keypair` holds them in memory (`private_key`, `public_key`).
    /// Both of schnorrkel's layouts are read (substrate's ed25519-style one, and the plain
    /// one); whichever gives `public` is the key. Anything else is [`KeyError::SecretKey`].
    pub fn from_secret_key_bytes(secret: &[u8], public: &[u8; 32]) -> Result<Self, KeyError> {
        let wrong = |e: &dyn fmt::Display| KeyError::SecretKey(e.to_string());
        if secret.len() != 64 {
            return Err(KeyError::SecretKey(format!(
                "{} bytes, expected 64",
                secret.len()
            )));
        }
        let layouts = [
            schnorrkel::SecretKey::from_ed25519_bytes(secret),
            schnorrkel::SecretKey::from_bytes(secret),
        ];
        let mut error = None;
        for layout in layouts {
            match layout {
                Ok(key) if key.to_public().to_bytes() == *public => {
                    return Ok(Self::from_pair(schnorrkel::Keypair::from(key)));
                }
                Ok(_) => {
                    error = Some(KeyError::SecretKey(format!(
                        "it is not the secret of {}",
                        ss58::encode(public, SS58_PREFIX)
                    )))
                }
                Err(e) => {
                    error.get_or_insert(wrong(&e));
                }
            }
        }
        Err(error.unwrap_or_else(|| KeyError::SecretKey("unreadable".into())))
    }

    /// A key from a substrate secret URI: `//Alice` (the dev phrase), `<mnemonic>//hard/soft`,
    /// `0x<64 hex>` (a seed), each with an optional `///password`.
    pub fn from_uri(uri: &str) -> Result<Self, KeyError> {
        let parsed = SecretUri::from_str(uri).map_err(|e| KeyError::Uri(e.to_string()))?;
        derivation::from_uri(&parsed).map(Self::from_pair)
    }

    /// A key from a BIP-39 mnemonic, as `Keypair.create_from_mnemonic` makes it.
    pub fn from_mnemonic(phrase: &str) -> Result<Self, KeyError> {
        let mnemonic =
            Mnemonic::parse(phrase.trim()).map_err(|e| KeyError::Mnemonic(e.to_string()))?;
        derivation::from_phrase(&mnemonic, "").map(Self::from_pair)
    }

    /// A key from a 32-byte mini secret, as `Keypair.create_from_seed` makes it.
    pub fn from_seed(seed: [u8; 32]) -> Result<Self, KeyError> {
        Ok(Self::from_pair(derivation::from_seed(&seed)))
    }

    /// A key from a seed in hex, with or without `0x`.
    pub fn from_seed_hex(seed: &str) -> Result<Self, KeyError> {
        let hex_digits = seed.trim().trim_start_matches("0x");
        let bytes = hex::decode(hex_digits).map_err(|e| KeyError::Seed(e.to_string()))?;
        let seed: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| KeyError::Seed(format!("{} bytes, expected 32", b.len())))?;
        Self::from_seed(seed)
    }

    /// A key from a bittensor key file (JSON with `secretSeed` or `secretPhrase`, as
    /// `_keyfile/` writes it, or bittensor_wallet 4.x's `privateKey` with `publicKey`).
    /// Encrypted files and public-only files are clear errors.
    pub fn from_keyfile(path: impl AsRef<Path>) -> Result<Self, KeyError> {
        let path = path.as_ref();
        let data = read_keyfile(path)?;
        Self::from_keyfile_data(&data, path)
    }

    /// The hotkey of a wallet: `<root>/<wallet>/hotkeys/<hotkey>`, root defaulting to
    /// `~/.bittensor/wallets`.
    pub fn from_wallet(root: Option<&Path>, wallet: &str, hotkey: &str) -> Result<Self, KeyError> {
        let root = match root {
            Some(root) => root.to_path_buf(),
            None => default_wallet_root(),
        };
        Self::from_keyfile(root.join(wallet).join("hotkeys").join(hotkey))
    }

    /// A key held in memory (`secret`, `public`: [`Keypair::from_secret_key_bytes`]) that
    /// belongs to the wallet key file `path`: when the file names a public key (in the clear:
    /// `publicKey`, `ss58Address` or a secret), it must be `public`. An encrypted or missing
    /// file checks nothing, as bittensor signs with the keypair it holds either way.
    pub fn from_memory_of_keyfile(
        secret: &[u8],
        public: &[u8; 32],
        path: impl AsRef<Path>,
    ) -> Result<Self, KeyError> {
        let key = Self::from_secret_key_bytes(secret, public)?;
        let path = path.as_ref();
        if let Some(file_public) = keyfile_public_key(path)? {
            if file_public != *public {
                return Err(KeyError::Keyfile {
                    path: path.into(),
                    reason: format!(
                        "it holds {}, not the key in memory {}",
                        ss58::encode(&file_public, SS58_PREFIX),
                        key.ss58_address()
                    ),
                });
            }
        }
        Ok(key)
    }

    fn from_keyfile_data(data: &[u8], path: &Path) -> Result<Self, KeyError> {
        if let Some(kind) = encryption_of(data) {
            return Err(KeyError::Encrypted(path.into(), kind));
        }
        let bad = |reason: String| KeyError::Keyfile {
            path: path.into(),
            reason,
        };
        let json: serde_json::Value =
            serde_json::from_slice(data).map_err(|e| bad(format!("not JSON: {e}")))?;
        let field = |name: &str| json.get(name).and_then(|v| v.as_str());
        if let Some(seed) = field("secretSeed") {
            return Self::from_seed_hex(seed);
        }
        if let Some(phrase) = field("secretPhrase") {
            return Self::from_mnemonic(phrase);
        }
        // bittensor_wallet 4.x (bittensor 10) writes the 64-byte secret key beside the public
        // key, also for hotkeys made from a URI (which hold no seed or phrase).
        if let (Some(private), Some(public)) = (field("privateKey"), field("publicKey")) {
            let hex_bytes = |name: &str, text: &str| {
                hex::decode(text.trim().trim_start_matches("0x"))
                    .map_err(|e| bad(format!("{name}: {e}")))
            };
            let private = hex_bytes("privateKey", private)?;
            let public: [u8; 32] = hex_bytes("publicKey", public)?
                .try_into()
                .map_err(|b: Vec<u8>| bad(format!("publicKey of {} bytes", b.len())))?;
            return Self::from_secret_key_bytes(&private, &public);
        }
        if field("ss58Address").is_some() || field("publicKey").is_some() {
            return Err(KeyError::PublicOnly(path.into()));
        }
        Err(bad(
            "no secretSeed, secretPhrase, privateKey or ss58Address".into(),
        ))
    }

    /// The SS58 address (prefix 42) of the public key.
    pub fn ss58_address(&self) -> &str {
        &self.ss58
    }

    /// The 32-byte public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.public
    }

    /// An sr25519 signature of `message` in the substrate signing context.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        match &self.secret {
            Secret::Held(pair) => pair.sign(batch::context().bytes(message)).to_bytes(),
            Secret::Outside(signer) => outside::one_per_message(signer.sign_all(&[message]), 1)[0],
        }
    }

    /// Signatures of every message, in order, each exactly what [`Keypair::sign`] makes, made
    /// together: their commitments are compressed in one batch (one field inversion shared by
    /// all), ~18% less CPU per signature from 8 messages on (`batch.rs`).
    pub fn sign_many(&self, messages: &[&[u8]]) -> Vec<[u8; 64]> {
        match &self.secret {
            Secret::Held(pair) => {
                let transcripts = messages.iter().map(|m| batch::context().bytes(m));
                batch::sign_transcripts(pair, transcripts)
            }
            Secret::Outside(signer) => {
                outside::one_per_message(signer.sign_all(messages), messages.len())
            }
        }
    }
}

/// A public key ready to verify with: decoded from SS58 and decompressed once (an axon keeps
/// them per sender, which saves a point decompression, ~4 µs, on every request).
#[derive(Clone, Debug)]
pub struct PublicKey(schnorrkel::PublicKey);

impl PublicKey {
    /// The key of an SS58 address; `None` when the address or the point is invalid.
    pub fn from_ss58(address: &str) -> Option<Self> {
        Self::from_bytes(&ss58::decode(address).ok()?)
    }

    /// The key of 32 public key bytes; `None` when they are not a valid point.
    pub fn from_bytes(bytes: &[u8; 32]) -> Option<Self> {
        schnorrkel::PublicKey::from_bytes(bytes).ok().map(PublicKey)
    }

    /// Whether `signature` is this key's sr25519 signature of `message` in the substrate
    /// signing context.
    pub fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        let Ok(signature) = schnorrkel::Signature::from_bytes(signature) else {
            return false;
        };
        self.0
            .verify(batch::context().bytes(message), &signature)
            .is_ok()
    }
}

/// One signature to check: the signer's key, the message, the signature.
pub type SignatureCheck<'a> = (&'a PublicKey, &'a [u8], &'a [u8; 64]);

/// Below this many signatures [`verify_many`] checks each one alone: a batch's multiscalar
/// multiplication pays for itself from about 4 (measured: 31 µs alone, 26 µs each in a batch
/// of 4, 22 µs of 8, 16 µs of 256).
const SMALLEST_VERIFY_BATCH: usize = 4;

/// Whether each signature verifies, in order, exactly as [`PublicKey::verify`] says, checked
/// together: schnorrkel's batch verification (random linear combination, one multiscalar
/// multiplication) over all; where a batch fails, its halves are checked the same way, down to
/// single checks, so one bad signature costs a few more batches and never a wrong answer.
pub fn verify_many(checks: &[SignatureCheck<'_>]) -> Vec<bool> {
    let mut verified = vec![false; checks.len()];
    // Signatures that do not even parse are false without curve arithmetic.
    let parsed: Vec<(usize, schnorrkel::Signature)> = checks
        .iter()
        .enumerate()
        .filter_map(|(i, (_, _, raw))| Some((i, schnorrkel::Signature::from_bytes(*raw).ok()?)))
        .collect();
    verify_parsed(checks, &parsed, &mut verified);
    verified
}

/// Marks in `verified` each of `parsed` (an index into `checks`, its signature) that verifies.
fn verify_parsed(
    checks: &[SignatureCheck<'_>],
    parsed: &[(usize, schnorrkel::Signature)],
    verified: &mut [bool],
) {
    if parsed.len() < SMALLEST_VERIFY_BATCH {
        for (i, signature) in parsed {
            let (key, message, _) = checks[*i];
            verified[*i] = key
                .0
                .verify(batch::context().bytes(message), signature)
                .is_ok();
        }
        return;
    }
    let transcripts = parsed
        .iter()
        .map(|(i, _)| batch::context().bytes(checks[*i].1));
    let signatures: Vec<schnorrkel::Signature> = parsed.iter().map(|(_, s)| *s).collect();
    let keys: Vec<schnorrkel::PublicKey> = parsed.iter().map(|(i, _)| checks[*i].0 .0).collect();
    if schnorrkel::verify_batch(transcripts, &signatures, &keys, false).is_ok() {
        for (i, _) in parsed {
            verified[*i] = true;
        }
        return;
    }
    let (left, right) = parsed.split_at(parsed.len() / 2);
    verify_parsed(checks, left, verified);
    verify_parsed(checks, right, verified);
}

/// Checks an sr25519 signature of `message` by the holder of `public_key`.
pub fn verify(public_key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
    PublicKey::from_bytes(public_key).is_some_and(|key| key.verify(message, signature))
}

/// `~/.bittensor/wallets`, or `./.bittensor/wallets` when there is no home directory.
pub fn default_wallet_root() -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    home.join(".bittensor").join("wallets")
}

/// The encryption scheme of a key file, if it is encrypted (ansible vault, legacy Fernet, NaCl).
/// The bytes of a key file, refused past [`MAX_KEYFILE_BYTES`] before they are read.
fn read_keyfile(path: &Path) -> Result<Vec<u8>, KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > MAX_KEYFILE_BYTES {
        return Err(KeyError::Keyfile {
            path: path.into(),
            reason: format!("{len} bytes is too large for a key file"),
        });
    }
    std::fs::read(path).map_err(io)
}

/// The public key a wallet key file names in the clear; `None` when it is missing or
/// encrypted.
fn keyfile_public_key(path: &Path) -> Result<Option<[u8; 32]>, KeyError> {
    let data = match read_keyfile(path) {
        Err(KeyError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok(None)
        }
        read => read?,
    };
    if encryption_of(&data).is_some() {
        return Ok(None);
    }
    let bad = |reason: String| KeyError::Keyfile {
        path: path.into(),
        reason,
    };
    let json: serde_json::Value =
        serde_json::from_slice(&data).map_err(|e| bad(format!("not JSON: {e}")))?;
    let field = |name: &str| json.get(name).and_then(|v| v.as_str());
    if let Some(public) = field("publicKey") {
        let bytes = hex::decode(public.trim_start_matches("0x"))
            .map_err(|e| bad(format!("publicKey: {e}")))?;
        return bytes
            .try_into()
            .map(Some)
            .map_err(|b: Vec<u8>| bad(format!("publicKey of {} bytes", b.len())));
    }
    if let Some(address) = field("ss58Address") {
        return ss58::decode(address)
            .map(Some)
            .map_err(|e| bad(format!("ss58Address: {e}")));
    }
    Keypair::from_keyfile_data(&data, path).map(|key| Some(key.public_key()))
}

fn encryption_of(data: &[u8]) -> Option<&'static str> {
    if data.starts_with(b"$ANSIBLE_VAULT") {
        Some("ansible vault")
    } else if data.starts_with(b"gAAAAA") {
        Some("legacy Fernet")
    } else if data.starts_with(b"$NACL") {
        Some("NaCl")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Keypair.create_from_uri("//Ferdie")` of substrate-interface (bittensor 3.7.0's venv):
    /// `private_key` and `public_key`. Such a key has no seed: its key file holds no secret.
    const FERDIE_PRIVATE: &str = "b746f8a10820eff9292a07c0f5f3b5115e0d9b0d0d835082a54e6569e5be6908\
                                  03e4f21bc6cc62bb4eeed5a9cce642c25e2d2ac1464093b50f6196d78e3a7426";
    const FERDIE_PUBLIC: &str = "1cbd2d43530a44705ad088af313e18f80b53ef16b36177cd4b77b846f2a5f07c";

    /// A hotkey file as bittensor_wallet 4.x (bittensor 10.5.0's) writes it for
    /// `create_hotkey_from_uri("//Alice")`: no seed or phrase, the 64-byte secret key.
    #[test]
    fn bittensor_wallet_4_key_files_sign() {
        let dir = std::env::temp_dir().join(format!("keys-bw4-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("default");
        std::fs::write(
            &path,
            r#"{"publicKey":"0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d","ss58Address":"5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY","accountId":"0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d","cryptoType":1,"privateKey":"0x33a6f3093f158a7109f679410bef1a0c54168145e0cecb4df006c1c2fffb1f09925a225d97aa00682d6a59b95b18780c10d7032336e88f3442b42361f4a66011"}"#,
        )
        .unwrap();
        let key = Keypair::from_keyfile(&path).unwrap();
        let alice = Keypair::from_uri("//Alice").unwrap();
        assert_eq!(key.ss58_address(), alice.ss58_address());
        let signature = key.sign(b"message");
        assert!(verify(&alice.public_key(), b"message", &signature));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_python_keypair_in_memory_signs_as_the_same_key_from_its_uri() {
        let secret = hex::decode(FERDIE_PRIVATE).unwrap();
        let public: [u8; 32] = hex::decode(FERDIE_PUBLIC).unwrap().try_into().unwrap();
        let key = Keypair::from_secret_key_bytes(&secret, &public).unwrap();
        let from_uri = Keypair::from_uri("//Ferdie").unwrap();
        assert_eq!(key.ss58_address(), from_uri.ss58_address());
        assert_eq!(
            key.ss58_address(),
            "5CiPPseXPECbkjWCa6MnjNokrgYjMqmKndv2rSnekmSK2DjL"
        );
        let signature = key.sign(b"hello");
        assert!(verify(&public, b"hello", &signature));
        assert!(!verify(&public, b"hellO", &signature));
    }

    #[test]
    fn a_key_in_memory_must_be_the_one_its_key_file_names() {
        let dir = std::env::temp_dir().join(format!("dendrite-keys-memory-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let secret = hex::decode(FERDIE_PRIVATE).unwrap();
        let public: [u8; 32] = hex::decode(FERDIE_PUBLIC).unwrap().try_into().unwrap();
        // As 3.7.0 writes a hotkey made from a URI: the public parts only.
        let file = dir.join("ferdie");
        let public_only = format!(
            r#"{{"accountId": "0x{FERDIE_PUBLIC}", "publicKey": "0x{FERDIE_PUBLIC}", "secretPhrase": null, "secretSeed": null, "ss58Address": "5CiPPseXPECbkjWCa6MnjNokrgYjMqmKndv2rSnekmSK2DjL"}}"#
        );
        std::fs::write(&file, public_only).unwrap();
        assert!(matches!(
            Keypair::from_keyfile(&file),
            Err(KeyError::PublicOnly(_))
        ));
        let key = Keypair::from_memory_of_keyfile(&secret, &public, &file).unwrap();
        assert_eq!(key.public_key(), public);
        // Another wallet's file: refused, naming both keys.
        let other = dir.join("alice");
        let alice = Keypair::from_uri("//Alice").unwrap();
        std::fs::write(
            &other,
            format!(r#"{{"ss58Address": "{}"}}"#, alice.ss58_address()),
        )
        .unwrap();
        let err = Keypair::from_memory_of_keyfile(&secret, &public, &other).unwrap_err();
        assert!(
            err.to_string().contains("5Grwva") && err.to_string().contains("5CiPPs"),
            "{err}"
        );
        // No file, or an encrypted one: the key in memory, as bittensor signs with it.
        assert!(Keypair::from_memory_of_keyfile(&secret, &public, dir.join("none")).is_ok());
        std::fs::write(&other, "$NACL...").unwrap();
        assert!(Keypair::from_memory_of_keyfile(&secret, &public, &other).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_secret_key_must_be_64_bytes_of_the_given_public_key() {
        let secret = hex::decode(FERDIE_PRIVATE).unwrap();
        let alice = Keypair::from_uri("//Alice").unwrap().public_key();
        let err = Keypair::from_secret_key_bytes(&secret, &alice).unwrap_err();
        assert!(
            err.to_string().contains("not the secret of 5Grwva"),
            "{err}"
        );
        let err = Keypair::from_secret_key_bytes(&secret[..32], &alice).unwrap_err();
        assert!(err.to_string().contains("32 bytes, expected 64"), "{err}");
    }

    /// Addresses printed by substrate-interface's `Keypair.create_from_uri` (and `subkey`).
    #[test]
    fn dev_uris_give_the_well_known_addresses() {
        let cases = [
            (
                "//Alice",
                "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
            ),
            ("//Bob", "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"),
            (
                "//Charlie",
                "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y",
            ),
        ];
        for (uri, address) in cases {
            assert_eq!(Keypair::from_uri(uri).unwrap().ss58_address(), address);
        }
    }

    #[test]
    fn signatures_checked_together_say_what_each_alone_says() {
        let keys: Vec<Keypair> = (0..19)
            .map(|i| Keypair::from_uri(&format!("//Many{i}")).unwrap())
            .collect();
        let publics: Vec<PublicKey> = keys
            .iter()
            .map(|k| PublicKey::from_bytes(&k.public_key()).unwrap())
            .collect();
        let messages: Vec<Vec<u8>> = (0..19)
            .map(|i| format!("message {i}").into_bytes())
            .collect();
        let mut signatures: Vec<[u8; 64]> =
            keys.iter().zip(&messages).map(|(k, m)| k.sign(m)).collect();
        // Wrong in three ways: another key's signature, a flipped byte, bytes that do not parse.
        signatures[3] = keys[4].sign(&messages[3]);
        signatures[11][5] ^= 1;
        signatures[17] = [0xff; 64];
        for count in [0, 1, 3, 4, 8, 19] {
            let checks: Vec<SignatureCheck<'_>> = (0..count)
                .map(|i| (&publics[i], messages[i].as_slice(), &signatures[i]))
                .collect();
            let alone: Vec<bool> = checks.iter().map(|(k, m, s)| k.verify(m, s)).collect();
            assert_eq!(verify_many(&checks), alone, "{count} signatures");
            assert_eq!(
                alone.iter().filter(|ok| !**ok).count(),
                [3, 11, 17].iter().filter(|&&bad| bad < count).count()
            );
        }
    }

    #[test]
    fn signatures_verify_only_for_their_key_and_message() {
        let alice = Keypair::from_uri("//Alice").unwrap();
        let bob = Keypair::from_uri("//Bob").unwrap();
        let sig = alice.sign(b"hello");
        assert!(verify(&alice.public_key(), b"hello", &sig));
        assert!(!verify(&bob.public_key(), b"hello", &sig));
        assert!(!verify(&alice.public_key(), b"hellO", &sig));
    }

    #[test]
    fn the_dev_phrase_and_its_seed_are_the_same_key() {
        let phrase = subxt_signer::DEV_PHRASE;
        let from_phrase = Keypair::from_mnemonic(phrase).unwrap();
        let from_uri = Keypair::from_uri(phrase).unwrap();
        assert_eq!(from_phrase.ss58_address(), from_uri.ss58_address());
        // The dev phrase's mini secret, as `subkey inspect` prints it.
        let seed = "0xfac7959dbfe72f052e5a0c3c8d6530f202b02fd8f9f5ca3580ec8deb7797479e";
        let from_seed = Keypair::from_seed_hex(seed).unwrap();
        assert_eq!(from_seed.ss58_address(), from_phrase.ss58_address());
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(matches!(Keypair::from_uri("//"), Err(KeyError::Uri(_))));
        assert!(matches!(
            Keypair::from_mnemonic("not a phrase"),
            Err(KeyError::Mnemonic(_))
        ));
        assert!(matches!(
            Keypair::from_seed_hex("0x12"),
            Err(KeyError::Seed(_))
        ));
        assert!(matches!(
            Keypair::from_seed_hex("zz"),
            Err(KeyError::Seed(_))
        ));
    }

    /// A signer outside that holds Alice's secret, or none (it cannot sign).
    struct Outside(Option<Keypair>);

    impl OutsideSigner for Outside {
        fn sign_all(&self, messages: &[&[u8]]) -> Vec<[u8; 64]> {
            match &self.0 {
                Some(key) => messages.iter().map(|m| key.sign(m)).collect(),
                None => Vec::new(),
            }
        }
    }

    #[test]
    fn keys_signed_outside_sign_through_their_signer_and_a_failing_one_signs_nothing_valid() {
        let alice = Keypair::from_uri("//Alice").unwrap();
        let outside = Keypair::signed_outside(
            alice.public_key(),
            std::sync::Arc::new(Outside(Some(alice.clone()))),
        );
        assert!(outside.is_signed_outside() && !alice.is_signed_outside());
        assert_eq!(outside.ss58_address(), alice.ss58_address());
        let messages: [&[u8]; 3] = [b"one", b"two", b"three"];
        let signatures = outside.sign_many(&messages);
        assert_eq!(signatures.len(), 3);
        for (message, signature) in messages.iter().zip(&signatures) {
            assert!(verify(&alice.public_key(), message, signature));
        }
        assert!(verify(&alice.public_key(), b"one", &outside.sign(b"one")));
        // A signer that answers nothing: one zero signature per message, none verifies.
        let failing =
            Keypair::signed_outside(alice.public_key(), std::sync::Arc::new(Outside(None)));
        let signatures = failing.sign_many(&messages);
        assert_eq!(signatures, vec![[0u8; 64]; 3]);
        assert!(!verify(&alice.public_key(), b"one", &failing.sign(b"one")));
    }
}
