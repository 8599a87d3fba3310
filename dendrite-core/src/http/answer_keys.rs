//! The Epistula signatures on REST answers, checked as cheaply as they can be: each axon's
//! public key decoded from its SS58 hotkey and decompressed once, then kept ([`AxonKeys`]); a
//! call's answer signatures checked together in one batch ([`AxonKeys::verdicts`]).
//!
//! **Invariants:** keys are kept only for hotkeys the caller named (its axon list), never for
//! a name an answer gave, and at most [`MAX_KEPT`] of them (the table is emptied when full: a
//! metagraph's few thousand hotkeys fit); a verdict is exactly what checking that one signature
//! alone with `PublicKey::verify` says.

use std::collections::HashMap;
use std::sync::Mutex;

use dendrite_http::epistula::AnswerClaim;
use dendrite_keys::keys::{verify_many, PublicKey, SignatureCheck};

/// Keys kept at most (a subnet has up to 256 axons; a few metagraphs fit).
pub(crate) const MAX_KEPT: usize = 16_384;

/// The public keys of the axons answers were checked for, by SS58 hotkey.
#[derive(Debug, Default)]
pub(crate) struct AxonKeys {
    keys: Mutex<HashMap<String, Option<PublicKey>>>,
}

impl AxonKeys {
    /// The key of `hotkey` (`None` when it names no valid key), decompressed once.
    fn key(&self, hotkey: &str) -> Option<PublicKey> {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(key) = keys.get(hotkey) {
            return key.clone();
        }
        if keys.len() >= MAX_KEPT {
            keys.clear();
        }
        let key = PublicKey::from_ss58(hotkey);
        keys.insert(hotkey.to_owned(), key.clone());
        key
    }

    /// The verdict of one claim of `hotkey`'s answer, checked alone: `None` unsigned,
    /// `Some(true)` a valid signature, `Some(false)` a wrong one.
    pub(crate) fn verdict(&self, hotkey: &str, claim: &AnswerClaim) -> Option<bool> {
        self.verdicts(&[(hotkey, claim)]).pop().flatten()
    }

    /// The verdicts of many answers' claims, each `(the axon's hotkey, its claim)`, in order;
    /// the signatures are checked together.
    pub(crate) fn verdicts(&self, claims: &[(&str, &AnswerClaim)]) -> Vec<Option<bool>> {
        let mut verdicts: Vec<Option<bool>> = Vec::with_capacity(claims.len());
        let mut keys = Vec::new();
        let mut signed = Vec::new();
        for (index, (hotkey, claim)) in claims.iter().enumerate() {
            verdicts.push(claim.settled().unwrap_or(Some(false)));
            if let AnswerClaim::Signed { message, signature } = claim {
                if let Some(key) = self.key(hotkey) {
                    keys.push(key);
                    signed.push((index, message.as_slice(), signature));
                }
            }
        }
        let checks: Vec<SignatureCheck<'_>> = keys
            .iter()
            .zip(&signed)
            .map(|(key, (_, message, signature))| (key, *message, *signature))
            .collect();
        for ((index, _, _), ok) in signed.iter().zip(verify_many(&checks)) {
            verdicts[*index] = Some(ok);
        }
        verdicts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dendrite_http::epistula;
    use dendrite_keys::Keypair;

    /// An answer's headers signed by `axon` for `me` over `body`, as a claim.
    fn claim(axon: &Keypair, me: &str, body: &[u8], signed_body: &[u8]) -> AnswerClaim {
        let uuid = "0b5e9b8e-43a4-4c0b-9d1b-1f6f1c0b8f3a";
        let headers = epistula::sign(axon, signed_body, uuid, 1_765_000_000_000, Some(me));
        let view = headers.iter().map(|(k, v)| (*k, v.as_str()));
        epistula::answer_claim(view, body, axon.ss58_address(), me)
    }

    #[test]
    fn verdicts_together_are_each_answer_checked_alone() {
        let me = Keypair::from_uri("//Alice").unwrap();
        let axons: Vec<Keypair> = (0..9)
            .map(|i| Keypair::from_uri(&format!("//Axon{i}")).unwrap())
            .collect();
        let body = br#"{"score": 1}"#;
        let mut claims: Vec<AnswerClaim> = axons
            .iter()
            .map(|axon| claim(axon, me.ss58_address(), body, body))
            .collect();
        claims[2] = claim(&axons[2], me.ss58_address(), body, b"another body");
        claims[5] = AnswerClaim::Absent;
        claims[7] = claim(&axons[1], me.ss58_address(), body, body);
        let named: Vec<(&str, &AnswerClaim)> = axons
            .iter()
            .map(|a| a.ss58_address())
            .zip(&claims)
            .collect();
        let keys = AxonKeys::default();
        let alone: Vec<Option<bool>> = named.iter().map(|(h, c)| keys.verdict(h, c)).collect();
        let mut expected = vec![Some(true); 9];
        expected[2] = Some(false);
        expected[5] = None;
        expected[7] = Some(false);
        assert_eq!(alone, expected);
        assert_eq!(keys.verdicts(&named), expected);
        // A hotkey that is no key: its signed claim is wrong, not a panic.
        let bad = [("not-an-ss58", &claims[0])];
        assert_eq!(keys.verdicts(&bad), vec![Some(false)]);
    }
}
