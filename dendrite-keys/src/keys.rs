//! sr25519 keys as bittensor uses them: dev URIs (`//Alice`), mnemonics, 32-byte seeds and wallet
//! hotkey files, with SS58 addresses (prefix 42).
//!
//! The cryptography (schnorrkel sr25519, substrate hard/soft derivation, BIP-39 seeds) is
//! `subxt-signer`'s; this module only reads bittensor's formats.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use dendrite_wire::ss58;
use subxt_signer::bip39::Mnemonic;
use subxt_signer::sr25519;
use subxt_signer::SecretUri;

/// The SS58 prefix of bittensor addresses.
pub const SS58_PREFIX: u8 = 42;

/// Largest wallet key file we read; real ones are under 1 KiB.
const MAX_KEYFILE_BYTES: u64 = 64 * 1024;

/// Why a key could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A secret URI (`//Alice`, `<mnemonic>//hard/soft`, `0x<seed>`) that does not parse.
    #[error("invalid secret URI: {0}")]
    Uri(String),
    /// A mnemonic that is not valid BIP-39.
    #[error("invalid mnemonic: {0}")]
    Mnemonic(String),
    /// A seed that is not 32 bytes of hex.
    #[error("invalid seed: {0}")]
    Seed(String),
    /// A key file that cannot be read.
    #[error("cannot read key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A key file that is encrypted; we do not decrypt wallets.
    #[error(
        "key file {0} is encrypted ({1}); decrypt it with btcli (`btcli wallet regen_hotkey`) or use --uri"
    )]
    Encrypted(PathBuf, &'static str),
    /// A key file whose contents are not a bittensor key.
    #[error("key file {path} is not a bittensor key file: {reason}")]
    Keyfile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A key file that holds only a public key: it cannot sign.
    #[error("key file {0} holds only a public address; signing needs a secret seed or phrase")]
    PublicOnly(PathBuf),
}

/// An sr25519 keypair that signs requests, with its SS58 address computed once (shared, so a
/// clone allocates nothing).
#[derive(Clone)]
pub struct Keypair {
    inner: sr25519::Keypair,
    public: [u8; 32],
    ss58: std::sync::Arc<str>,
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keypair")
            .field("ss58", &self.ss58)
            .finish_non_exhaustive()
    }
}

impl Keypair {
    fn from_inner(inner: sr25519::Keypair) -> Self {
        let public = inner.public_key().0;
        let ss58 = ss58::encode(&public, SS58_PREFIX).into();
        Keypair {
            inner,
            public,
            ss58,
        }
    }

    /// A key from a substrate secret URI: `//Alice` (the dev phrase), `<mnemonic>//hard/soft`,
    /// `0x<64 hex>` (a seed), each with an optional `///password`.
    pub fn from_uri(uri: &str) -> Result<Self, KeyError> {
        let parsed = SecretUri::from_str(uri).map_err(|e| KeyError::Uri(e.to_string()))?;
        sr25519::Keypair::from_uri(&parsed)
            .map(Self::from_inner)
            .map_err(|e| KeyError::Uri(e.to_string()))
    }

    /// A key from a BIP-39 mnemonic, as `Keypair.create_from_mnemonic` makes it.
    pub fn from_mnemonic(phrase: &str) -> Result<Self, KeyError> {
        let mnemonic =
            Mnemonic::parse(phrase.trim()).map_err(|e| KeyError::Mnemonic(e.to_string()))?;
        sr25519::Keypair::from_phrase(&mnemonic, None)
            .map(Self::from_inner)
            .map_err(|e| KeyError::Mnemonic(e.to_string()))
    }

    /// A key from a 32-byte mini secret, as `Keypair.create_from_seed` makes it.
    pub fn from_seed(seed: [u8; 32]) -> Result<Self, KeyError> {
        sr25519::Keypair::from_secret_key(seed)
            .map(Self::from_inner)
            .map_err(|e| KeyError::Seed(e.to_string()))
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
    /// `_keyfile/` writes it). Encrypted files and public-only files are clear errors.
    pub fn from_keyfile(path: impl AsRef<Path>) -> Result<Self, KeyError> {
        let path = path.as_ref();
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
        let data = std::fs::read(path).map_err(io)?;
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
        if field("ss58Address").is_some() || field("publicKey").is_some() {
            return Err(KeyError::PublicOnly(path.into()));
        }
        Err(bad("no secretSeed, secretPhrase or ss58Address".into()))
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
        self.inner.sign(message).0
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
            .verify_simple(SIGNING_CONTEXT, message, &signature)
            .is_ok()
    }
}

/// The signing context of substrate's sr25519 signatures (subxt-signer's).
const SIGNING_CONTEXT: &[u8] = b"substrate";

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
}
