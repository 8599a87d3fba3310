//! Epistula v2, the request signatures many of today's subnets use (Manifold's protocol; their
//! FastAPI and Go miners check it, and some sign their answers with it): the headers a signed
//! request or answer carries ([`sign`]), and their verification ([`verify`] for a request, as a
//! miner checks it; [`answer_signature`] for an answer, as a validator checks it).
//!
//! The signed text is `f"{sha256(body).hexdigest()}.{uuid}.{timestamp}.{signed_for or ''}"`
//! ([`signed_text`]), signed with sr25519 under the substrate context, sent as `0x` + hex in
//! `Epistula-Request-Signature`, beside `Epistula-Version: 2`, `Epistula-Timestamp` (ms),
//! `Epistula-Uuid` (a uuid4, 36 characters, new for every request), `Epistula-Signed-By` (the
//! sender's SS58) and `Epistula-Signed-For` (the receiver's SS58; sent by default, since a
//! signature for nobody in particular can be replayed at any miner). The optional
//! `Epistula-Secret-Signature-{0,1,2}` headers are not made: no verifier we test against reads
//! them, and the public implementations disagree on their text.
//!
//! **Invariants:** nothing here panics on a peer's headers or body; verification checks in the
//! order the reference miner does (headers present, version, uuid, freshness, receiver,
//! signature), so refusals carry its reasons; the uuid store of a verifier is the caller's (a
//! bounded store keyed only after the signature verified).

use std::time::Duration;

use dendrite_keys::keys::PublicKey;
use dendrite_keys::Keypair;
use sha2::{Digest, Sha256};

/// `Epistula-Version`: always `2`.
pub const HEADER_VERSION: &str = "Epistula-Version";
/// `Epistula-Timestamp`: milliseconds since the Unix epoch.
pub const HEADER_TIMESTAMP: &str = "Epistula-Timestamp";
/// `Epistula-Uuid`: a uuid4, new for every request.
pub const HEADER_UUID: &str = "Epistula-Uuid";
/// `Epistula-Signed-By`: the sender's SS58 address.
pub const HEADER_SIGNED_BY: &str = "Epistula-Signed-By";
/// `Epistula-Signed-For`: the receiver's SS58 address (optional).
pub const HEADER_SIGNED_FOR: &str = "Epistula-Signed-For";
/// `Epistula-Request-Signature`: `0x` + hex of the sr25519 signature.
pub const HEADER_SIGNATURE: &str = "Epistula-Request-Signature";
/// The version this module speaks.
pub const VERSION: &str = "2";
/// How far a request's timestamp may be from the verifier's clock, either way, by default (the
/// reference miner's 8 s).
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(8);

/// Why a request's Epistula headers were refused; the messages are the reference miner's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EpistulaError {
    /// A required header is absent.
    #[error("Missing header {0}")]
    Missing(&'static str),
    /// `Epistula-Version` is not `2`.
    #[error("Unsupported version")]
    Version,
    /// `Epistula-Uuid` is not 36 characters.
    #[error("Invalid uuid")]
    Uuid,
    /// The timestamp is not a number, or outside the window.
    #[error("Request is too stale")]
    Stale,
    /// `Epistula-Signed-For` names another receiver.
    #[error("Signed for another hotkey")]
    SignedForAnother,
    /// The signature does not verify (or the sender or the signature does not parse).
    #[error("Signature Mismatch")]
    Signature,
}

/// The text an Epistula signature covers:
/// `{sha256(body) hex}.{uuid}.{timestamp}.{signed_for or ''}`.
pub fn signed_text(body: &[u8], uuid: &str, timestamp_ms: u64, signed_for: Option<&str>) -> String {
    signed_text_of_hash(&body_sha256(body), uuid, timestamp_ms, signed_for)
}

/// The sha256 of a body in lower-case hex, as both signed-request schemes (Epistula, btauth/1)
/// put it in the text they sign.
pub fn body_sha256(body: &[u8]) -> String {
    parts_sha256(&[body])
}

/// [`body_sha256`] of a body given in parts (a 10.x request's own and shared parts), as of the
/// parts joined: hashed in one pass, never joined.
pub fn parts_sha256(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hex::encode(hasher.finalize())
}

/// [`signed_text`] of a body whose sha256 (hex) is `body_sha256`: hashed once for a request
/// sent to many receivers.
pub fn signed_text_of_hash(
    body_sha256: &str,
    uuid: &str,
    timestamp_ms: u64,
    signed_for: Option<&str>,
) -> String {
    format!(
        "{body_sha256}.{uuid}.{timestamp_ms}.{}",
        signed_for.unwrap_or("")
    )
}

/// The Epistula headers of `body` signed by `key` for `signed_for`, with this `uuid` and
/// `timestamp_ms` (a request's: a fresh uuid4 and the time now), in the reference client's
/// order; `Epistula-Signed-For` only when there is a receiver.
pub fn sign(
    key: &Keypair,
    body: &[u8],
    uuid: &str,
    timestamp_ms: u64,
    signed_for: Option<&str>,
) -> Vec<(&'static str, String)> {
    let text = signed_text(body, uuid, timestamp_ms, signed_for);
    headers(
        key,
        uuid,
        timestamp_ms,
        signed_for,
        &key.sign(text.as_bytes()),
    )
}

/// The headers of a signature already made over [`signed_text`] (a batch's).
pub fn headers(
    key: &Keypair,
    uuid: &str,
    timestamp_ms: u64,
    signed_for: Option<&str>,
    signature: &[u8; 64],
) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        (HEADER_VERSION, VERSION.to_owned()),
        (HEADER_TIMESTAMP, timestamp_ms.to_string()),
        (HEADER_UUID, uuid.to_owned()),
        (HEADER_SIGNED_BY, key.ss58_address().to_owned()),
        (HEADER_SIGNATURE, format!("0x{}", hex::encode(signature))),
    ];
    if let Some(receiver) = signed_for {
        headers.push((HEADER_SIGNED_FOR, receiver.to_owned()));
    }
    headers
}

/// What verified Epistula headers said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified<'h> {
    /// The sender's SS58 address.
    pub signed_by: &'h str,
    /// The receiver named, if one was.
    pub signed_for: Option<&'h str>,
    /// The request's uuid (a verifier refuses one it has seen).
    pub uuid: &'h str,
    /// The timestamp, ms.
    pub timestamp_ms: i64,
}

/// Verifies a request's Epistula headers over `body` as the reference miner does: every header
/// present, version 2, a 36-character uuid, a timestamp within `window` of `now_ms` either way,
/// `Epistula-Signed-For` (when present) equal to `me`, then the signature. Headers are looked up
/// case-insensitively. Whether the uuid was used before is the caller's store to say.
pub fn verify<'h>(
    headers: impl IntoIterator<Item = (&'h str, &'h str)> + Clone,
    body: &[u8],
    me: &str,
    now_ms: i64,
    window: Duration,
) -> Result<Verified<'h>, EpistulaError> {
    check_head(headers, me, now_ms, window)?.finish(&body_sha256(body))
}

/// A request's Epistula headers that passed every check but the signature, which covers the
/// body: a server refuses on the headers before it reads a byte of body
/// ([`check_head`]), then checks the signature over the body's hash ([`HeadChecked::finish`]).
#[derive(Clone, Debug)]
pub struct HeadChecked<'h> {
    verified: Verified<'h>,
    signature: &'h str,
}

impl<'h> HeadChecked<'h> {
    /// What the headers say (not verified until [`HeadChecked::finish`]).
    pub fn claimed(&self) -> &Verified<'h> {
        &self.verified
    }

    /// The signature checked over the body whose sha256 (lower-case hex) is `body_sha256`.
    pub fn finish(self, body_sha256: &str) -> Result<Verified<'h>, EpistulaError> {
        let key = PublicKey::from_ss58(self.verified.signed_by).ok_or(EpistulaError::Signature)?;
        let raw = parse_signature(self.signature)?;
        let text = text_of_hash(&self.verified, body_sha256);
        if key.verify(text.as_bytes(), &raw) {
            Ok(self.verified)
        } else {
            Err(EpistulaError::Signature)
        }
    }
}

/// [`verify`]'s checks that need no body, in its order (headers present, version, uuid,
/// freshness, receiver).
pub fn check_head<'h>(
    headers: impl IntoIterator<Item = (&'h str, &'h str)> + Clone,
    me: &str,
    now_ms: i64,
    window: Duration,
) -> Result<HeadChecked<'h>, EpistulaError> {
    let header = |name: &str| find(headers.clone(), name);
    let required = |name: &'static str| header(name).ok_or(EpistulaError::Missing(name));
    let version = required(HEADER_VERSION)?;
    let timestamp = required(HEADER_TIMESTAMP)?;
    let uuid = required(HEADER_UUID)?;
    let signed_by = required(HEADER_SIGNED_BY)?;
    let signature = required(HEADER_SIGNATURE)?;
    let signed_for = header(HEADER_SIGNED_FOR).filter(|s| !s.is_empty());
    if version != VERSION {
        return Err(EpistulaError::Version);
    }
    if uuid.chars().count() != 36 {
        return Err(EpistulaError::Uuid);
    }
    let timestamp_ms: i64 = timestamp.trim().parse().map_err(|_| EpistulaError::Stale)?;
    let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
    if now_ms.saturating_sub(timestamp_ms).saturating_abs() > window_ms {
        return Err(EpistulaError::Stale);
    }
    if signed_for.is_some_and(|receiver| receiver != me) {
        return Err(EpistulaError::SignedForAnother);
    }
    Ok(HeadChecked {
        verified: Verified {
            signed_by,
            signed_for,
            uuid,
            timestamp_ms,
        },
        signature,
    })
}

/// What an answer's Epistula headers claim, read before any curve arithmetic
/// ([`answer_claim`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnswerClaim {
    /// No `Epistula-Request-Signature`: the answer is not signed.
    Absent,
    /// Headers present but wrong without a check: a missing or malformed header, another
    /// version, another signer than the axon, another receiver than us.
    Wrong,
    /// Well-formed headers, signed by the axon for us: the signature over `message` decides.
    Signed {
        /// The text the signature must cover (the body's, as received).
        message: Vec<u8>,
        /// The signature's 64 bytes.
        signature: [u8; 64],
    },
}

impl AnswerClaim {
    /// The claim's verdict where no signature is left to check: `None` absent, `Some(false)`
    /// wrong; `Signed` has none yet.
    pub fn settled(&self) -> Option<Option<bool>> {
        match self {
            AnswerClaim::Absent => Some(None),
            AnswerClaim::Wrong => Some(Some(false)),
            AnswerClaim::Signed { .. } => None,
        }
    }
}

/// What an answer's Epistula headers claim about `body`, as signed by `axon` (its SS58 hotkey)
/// for `me`: the part of [`answer_signature`] that needs no key, so that a caller can check the
/// signatures of many answers together (`dendrite_keys::keys::verify_many`) with keys it keeps.
pub fn answer_claim<'h>(
    headers: impl IntoIterator<Item = (&'h str, &'h str)> + Clone,
    body: &[u8],
    axon: &str,
    me: &str,
) -> AnswerClaim {
    let Some(signature) = find(headers.clone(), HEADER_SIGNATURE) else {
        return AnswerClaim::Absent;
    };
    let header = |name: &str| find(headers.clone(), name);
    let claim = (|| {
        let timestamp_ms: i64 = header(HEADER_TIMESTAMP)?.trim().parse().ok()?;
        let ours = header(HEADER_VERSION) == Some(VERSION)
            && header(HEADER_SIGNED_BY)? == axon
            && header(HEADER_SIGNED_FOR).filter(|s| !s.is_empty()) == Some(me);
        if !ours {
            return None;
        }
        let signature = parse_signature(signature).ok()?;
        let signed = Verified {
            signed_by: axon,
            signed_for: Some(me),
            uuid: header(HEADER_UUID)?,
            timestamp_ms,
        };
        Some(AnswerClaim::Signed {
            message: text_of(&signed, body).into_bytes(),
            signature,
        })
    })();
    claim.unwrap_or(AnswerClaim::Wrong)
}

/// Whether an answer carries a valid Epistula signature from `axon`: `None` when it carries
/// none (no `Epistula-Request-Signature`); `Some(true)` when its headers verify over `body`,
/// signed by `axon`'s hotkey for `me`; `Some(false)` when they are present but wrong. An
/// answer's timestamp is not held to a window (the clocks of the two ends are theirs), and its
/// uuid is not remembered.
pub fn answer_signature<'h>(
    headers: impl IntoIterator<Item = (&'h str, &'h str)> + Clone,
    body: &[u8],
    axon: &str,
    me: &str,
) -> Option<bool> {
    match answer_claim(headers, body, axon, me) {
        AnswerClaim::Signed { message, signature } => {
            Some(PublicKey::from_ss58(axon).is_some_and(|key| key.verify(&message, &signature)))
        }
        settled => settled.settled().flatten(),
    }
}

/// The 64 bytes of a `0x`-prefixed (or bare) hex signature.
fn parse_signature(signature: &str) -> Result<[u8; 64], EpistulaError> {
    let mut raw = [0u8; 64];
    hex::decode_to_slice(signature.strip_prefix("0x").unwrap_or(signature), &mut raw)
        .map_err(|_| EpistulaError::Signature)?;
    Ok(raw)
}

/// The text `signed`'s signature covers over `body`.
fn text_of(signed: &Verified<'_>, body: &[u8]) -> String {
    text_of_hash(signed, &body_sha256(body))
}

/// The text `signed`'s signature covers over a body whose sha256 (hex) is `body_sha256`.
fn text_of_hash(signed: &Verified<'_>, body_sha256: &str) -> String {
    format!(
        "{body_sha256}.{}.{}.{}",
        signed.uuid,
        signed.timestamp_ms,
        signed.signed_for.unwrap_or("")
    )
}

/// The value of header `name` (case-insensitive), the first if several.
fn find<'h>(headers: impl IntoIterator<Item = (&'h str, &'h str)>, name: &str) -> Option<&'h str> {
    headers
        .into_iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_765_000_000_000;

    fn keys() -> (Keypair, Keypair) {
        (
            Keypair::from_uri("//Alice").unwrap(),
            Keypair::from_uri("//Bob").unwrap(),
        )
    }

    fn signed(body: &[u8], at: i64, signed_for: Option<&str>) -> Vec<(&'static str, String)> {
        let (alice, _) = keys();
        let uuid = "0b5a2b7e-5c1e-4b5e-9a7e-1d2c3b4a5f60";
        sign(&alice, body, uuid, at as u64, signed_for)
    }

    fn view<'a>(headers: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
        headers.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }

    #[test]
    fn a_signed_request_verifies_for_its_receiver_and_nowhere_else() {
        let (alice, bob) = keys();
        let body = br#"{"task": "ping"}"#;
        let headers = signed(body, NOW, Some(bob.ss58_address()));
        let ok = verify(
            view(&headers),
            body,
            bob.ss58_address(),
            NOW + 10,
            DEFAULT_WINDOW,
        );
        let ok = ok.unwrap();
        assert_eq!(ok.signed_by, alice.ss58_address());
        assert_eq!(ok.signed_for, Some(bob.ss58_address()));
        let elsewhere = verify(
            view(&headers),
            body,
            alice.ss58_address(),
            NOW,
            DEFAULT_WINDOW,
        );
        assert_eq!(elsewhere, Err(EpistulaError::SignedForAnother));
        // Without a receiver it verifies anywhere (the reference's rule).
        let anyone = signed(body, NOW, None);
        assert!(verify(
            view(&anyone),
            body,
            alice.ss58_address(),
            NOW,
            DEFAULT_WINDOW
        )
        .is_ok());
    }

    #[test]
    fn each_refusal_is_the_reference_miners() {
        let (_, bob) = keys();
        let me = bob.ss58_address();
        let body = b"{}";
        let good = signed(body, NOW, Some(me));
        let check = |headers: Vec<(&'static str, String)>, body: &[u8], now: i64| {
            verify(view(&headers), body, me, now, DEFAULT_WINDOW).map(|_| ())
        };
        let without = |name: &str| -> Vec<(&'static str, String)> {
            good.iter().filter(|(k, _)| *k != name).cloned().collect()
        };
        let with = |name: &str, value: &str| -> Vec<(&'static str, String)> {
            good.iter()
                .map(|(k, v)| {
                    (
                        *k,
                        if *k == name {
                            value.to_owned()
                        } else {
                            v.clone()
                        },
                    )
                })
                .collect()
        };
        assert_eq!(
            check(without(HEADER_UUID), body, NOW),
            Err(EpistulaError::Missing(HEADER_UUID))
        );
        assert_eq!(
            check(with(HEADER_VERSION, "1"), body, NOW),
            Err(EpistulaError::Version)
        );
        assert_eq!(
            check(with(HEADER_UUID, "short"), body, NOW),
            Err(EpistulaError::Uuid)
        );
        assert_eq!(
            check(good.clone(), body, NOW + 8_001),
            Err(EpistulaError::Stale)
        );
        assert_eq!(
            check(good.clone(), body, NOW - 8_001),
            Err(EpistulaError::Stale)
        );
        assert_eq!(
            check(with(HEADER_TIMESTAMP, "soon"), body, NOW),
            Err(EpistulaError::Stale)
        );
        assert_eq!(
            check(good.clone(), b"{} ", NOW),
            Err(EpistulaError::Signature)
        );
        assert_eq!(
            check(with(HEADER_SIGNATURE, "0xzz"), body, NOW),
            Err(EpistulaError::Signature)
        );
        assert_eq!(check(good, body, NOW + 8_000), Ok(()));
    }

    #[test]
    fn an_answer_is_signed_true_false_or_not_at_all() {
        let (alice, bob) = keys();
        let body = br#"{"ok": true}"#;
        // Bob (the axon) answers Alice (us).
        let uuid = "0b5a2b7e-5c1e-4b5e-9a7e-1d2c3b4a5f61";
        let answer = sign(&bob, body, uuid, NOW as u64, Some(alice.ss58_address()));
        let (axon, me) = (bob.ss58_address(), alice.ss58_address());
        assert_eq!(answer_signature(view(&answer), body, axon, me), Some(true));
        assert_eq!(
            answer_signature(view(&answer), b"{}", axon, me),
            Some(false)
        );
        assert_eq!(
            answer_signature(view(&answer), body, me, me),
            Some(false),
            "another axon"
        );
        assert_eq!(
            answer_signature(view(&answer), body, axon, axon),
            Some(false),
            "for another"
        );
        assert_eq!(
            answer_signature(Vec::<(&str, &str)>::new(), body, axon, me),
            None
        );
    }

    #[test]
    fn headers_are_found_in_any_case() {
        let (_, bob) = keys();
        let body = b"x";
        let headers = signed(body, NOW, Some(bob.ss58_address()));
        let lower: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect();
        let view: Vec<(&str, &str)> = lower
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert!(verify(view, body, bob.ss58_address(), NOW, DEFAULT_WINDOW).is_ok());
    }
}
