//! Keys whose secret stays outside this crate: a signer that holds it (a Python
//! `bittensor_wallet.Keypair`, which does not give its secret away, or a hardware or remote
//! signer) signs each message for us.
//!
//! **Invariant:** a signer answers every message with 64 bytes, in order; one that cannot sign
//! answers zeros for that message (a signature no receiver accepts), so a failing signer makes
//! refused requests, never a panic or a request signed by another key.

use std::fmt;

/// Signs messages with a secret this crate never sees, as sr25519 in the substrate signing
/// context (what [`crate::Keypair::sign`] makes).
pub trait OutsideSigner: Send + Sync {
    /// One signature per message, in order; 64 zero bytes for a message it could not sign.
    fn sign_all(&self, messages: &[&[u8]]) -> Vec<[u8; 64]>;
}

impl fmt::Debug for dyn OutsideSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OutsideSigner")
    }
}

/// `signatures` made exactly one per message: a signer that answered fewer is padded with
/// zeros, one that answered more is cut.
pub(crate) fn one_per_message(mut signatures: Vec<[u8; 64]>, messages: usize) -> Vec<[u8; 64]> {
    signatures.resize(messages, [0; 64]);
    signatures
}
