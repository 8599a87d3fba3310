//! Secret URIs, phrases and seeds made into schnorrkel keypairs, as substrate (and so bittensor's
//! `Keypair.create_from_uri`, `create_from_mnemonic`, `create_from_seed`) makes them.
//!
//! subxt-signer parses the URI and the BIP-39 phrase; the rest is here because subxt-signer's
//! keypair keeps its schnorrkel secret to itself, and [`crate::batch`] signs with that secret.
//! Each step is substrate's: a phrase's entropy through PBKDF2-HMAC-SHA512 (2,048 rounds, salt
//! `"mnemonic" + password`), the first 32 bytes as the mini secret, expanded in ed25519 mode; a
//! hard junction derives a new mini secret, a soft one derives the secret key itself. The tests
//! check every kind of URI against subxt-signer's own keypairs.

use hmac::Hmac;
use schnorrkel::derive::{ChainCode, Derivation};
use schnorrkel::{ExpansionMode, MiniSecretKey};
use sha2::Sha512;
use subxt_signer::bip39::Mnemonic;
use subxt_signer::{DeriveJunction, ExposeSecret, SecretUri};

use crate::error::KeyError;

/// The keypair of a parsed secret URI: its phrase (or `0x` seed), its password, its junctions.
pub(crate) fn from_uri(uri: &SecretUri) -> Result<schnorrkel::Keypair, KeyError> {
    let phrase = uri.phrase.expose_secret();
    // A hex phrase is the seed itself and ignores the password, as substrate does.
    let root = if let Some(digits) = phrase.strip_prefix("0x") {
        let seed: [u8; 32] = hex::decode(digits)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| KeyError::Uri("the seed is not 32 bytes of hex".into()))?;
        from_seed(&seed)
    } else {
        let mnemonic =
            Mnemonic::parse(phrase).map_err(|e| KeyError::Uri(format!("invalid phrase: {e}")))?;
        let password = uri.password.as_ref().map_or("", |p| p.expose_secret());
        from_phrase(&mnemonic, password).map_err(|e| KeyError::Uri(e.to_string()))?
    };
    Ok(derive(root, &uri.junctions))
}

/// The keypair of a BIP-39 phrase and its password (`""` for none).
pub(crate) fn from_phrase(
    mnemonic: &Mnemonic,
    password: &str,
) -> Result<schnorrkel::Keypair, KeyError> {
    let (entropy, length) = mnemonic.to_entropy_array();
    let entropy = &entropy[..length];
    if !(16..=32).contains(&entropy.len()) || entropy.len() % 4 != 0 {
        return Err(KeyError::Mnemonic(format!(
            "{} bytes of entropy",
            entropy.len()
        )));
    }
    let salt = format!("mnemonic{password}");
    let mut seed = [0u8; 64];
    pbkdf2::pbkdf2::<Hmac<Sha512>>(entropy, salt.as_bytes(), 2048, &mut seed)
        .map_err(|e| KeyError::Mnemonic(e.to_string()))?;
    let mut mini = [0u8; 32];
    mini.copy_from_slice(&seed[..32]);
    Ok(from_seed(&mini))
}

/// The keypair of a 32-byte mini secret.
pub(crate) fn from_seed(seed: &[u8; 32]) -> schnorrkel::Keypair {
    // Every 32 bytes are a mini secret; the error is schnorrkel's for other lengths.
    MiniSecretKey::from_bytes(seed)
        .map(|mini| mini.expand_to_keypair(ExpansionMode::Ed25519))
        .unwrap_or_else(|_| unreachable!("a mini secret is any 32 bytes"))
}

/// `root` derived along `junctions`, hard and soft, in order.
fn derive(root: schnorrkel::Keypair, junctions: &[DeriveJunction]) -> schnorrkel::Keypair {
    let secret = junctions
        .iter()
        .fold(root.secret.clone(), |secret, junction| match *junction {
            DeriveJunction::Soft(code) => secret.derived_key_simple(ChainCode(code), []).0,
            DeriveJunction::Hard(code) => secret
                .hard_derive_mini_secret_key(Some(ChainCode(code)), b"")
                .0
                .expand(ExpansionMode::Ed25519),
        });
    schnorrkel::Keypair::from(secret)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use subxt_signer::sr25519;

    use super::*;
    use crate::Keypair;

    /// Ours and subxt-signer's keypair of `uri`: the same public key, and each verifies the
    /// other's signature.
    fn same_as_subxt(uri: &str) {
        let parsed = SecretUri::from_str(uri).unwrap();
        let theirs = sr25519::Keypair::from_uri(&parsed).unwrap();
        let ours = Keypair::from_uri(uri).unwrap();
        assert_eq!(ours.public_key(), theirs.public_key().0, "{uri}");
        let message = uri.as_bytes();
        let their_signature = theirs.sign(message).0;
        assert!(crate::keys::verify(
            &ours.public_key(),
            message,
            &their_signature
        ));
        let our_signature = sr25519::Signature(ours.sign(message));
        assert!(sr25519::verify(
            &our_signature,
            message,
            &theirs.public_key()
        ));
    }

    #[test]
    fn every_kind_of_uri_gives_subxt_signers_key() {
        let phrase = "bottom drive obey lake curtain smoke basket hold race lonely fit walk";
        let seed = "0xfac7959dbfe72f052e5a0c3c8d6530f202b02fd8f9f5ca3580ec8deb7797479e";
        let long = "legal winner thank year wave sausage worth useful legal winner thank year \
                    wave sausage worth useful legal winner thank year wave sausage worth title";
        for uri in [
            "//Alice".to_string(),
            "//Bob//stash".into(),
            "//Alice/soft".into(),
            "//Alice/soft//hard/0/1".into(),
            "//42".into(),
            phrase.into(),
            format!("{phrase}///secret password"),
            format!("{phrase}//hard/soft///pw"),
            seed.into(),
            format!("{seed}//Alice/x"),
            format!("{seed}///ignored"),
            long.into(),
            format!("{long}//validator"),
        ] {
            same_as_subxt(&uri);
        }
    }
}
