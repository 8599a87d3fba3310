//! Why a key could not be made or read: [`KeyError`], shared by the key files and URIs
//! (`keys`) and the derivation of keys from phrases and seeds (`derivation`).

use std::path::PathBuf;

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
    /// A 64-byte sr25519 secret key that is not one, or not the secret of the public key it
    /// came with.
    #[error("invalid secret key: {0}")]
    SecretKey(String),
}
