//! btauth/1, bittensor 11's signed HTTP requests (`bittensor.http_auth`), both sides: [`sign`]
//! gives the `X-Bittensor-*` headers of a request, [`Verifier::verify`] checks them as 11.3.0's
//! `verify` does, in its order, with its error kinds.
//!
//! The signed bytes are newline-joined UTF-8, no trailing newline: `btauth/1`, `sr25519`, the
//! upper-case method, the request target (path and `?query` as sent), the lower-case hex sha256
//! of the raw body, the decimal nanosecond nonce, the sender's SS58 and the receiver's (`-` when
//! unbound).
//!
//! Invariants: headers from the network are parsed into [`AuthError`]s, never a panic; the
//! replay store is written only after the signature verifies and holds at most its capacity
//! (full → [`AuthError::Overloaded`], never an eviction that would let a replay through).
//! Only sr25519 is spoken: a request declaring another scheme is `MalformedAuth`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dendrite_keys::keys::PublicKey;
use dendrite_keys::Keypair;

use crate::epistula::{body_sha256, parts_sha256};

/// The protocol's name, the first line of the signed bytes.
pub const PROTOCOL: &str = "btauth/1";
/// `X-Bittensor-Version`'s only value.
pub const VERSION: &str = "1";
/// The headers, as 11.3.0 spells them (verification reads them case-insensitively).
pub const HEADER_VERSION: &str = "X-Bittensor-Version";
/// The sender's hotkey.
pub const HEADER_HOTKEY: &str = "X-Bittensor-Hotkey";
/// The receiver's hotkey, when the request is bound to one.
pub const HEADER_RECEIVER: &str = "X-Bittensor-Receiver";
/// Nanoseconds since the epoch.
pub const HEADER_NONCE: &str = "X-Bittensor-Nonce";
/// The scheme, absent for sr25519.
pub const HEADER_CRYPTO: &str = "X-Bittensor-Crypto";
/// `0x` + the signature's hex.
pub const HEADER_SIGNATURE: &str = "X-Bittensor-Signature";
/// 11.3.0's freshness window: nonces at most this old…
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(10);
/// …and at most this far ahead.
pub const DEFAULT_ALLOWED_SKEW: Duration = Duration::from_secs(2);
/// How long an accepted (hotkey, nonce) is remembered (11.3.0's default).
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(60);
/// How many accepted (hotkey, nonce) pairs the store holds at most.
pub const DEFAULT_STORE_CAPACITY: usize = 1 << 20;
/// How many of them one hotkey may hold by default: a sixteenth of the store (65,536 in 60 s,
/// over 1,000 requests a second from one key), so one key cannot fill it for everyone.
pub const DEFAULT_HOTKEY_QUOTA: usize = DEFAULT_STORE_CAPACITY / 16;

/// Why a request failed authentication: 11.3.0's `AuthError` subclasses, plus the store's bound.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// A required header is missing or unparseable.
    #[error("MalformedAuth: {0}")]
    MalformedAuth(String),
    /// The request was signed for another receiver, or for none where one is required.
    #[error("WrongReceiver: {0}")]
    WrongReceiver(String),
    /// The nonce is outside the freshness window.
    #[error("StaleRequest: {0}")]
    StaleRequest(String),
    /// The signature does not verify.
    #[error("BadSignature: signature does not verify against the claimed hotkey")]
    BadSignature,
    /// This (hotkey, nonce) was accepted before.
    #[error("ReplayedRequest: this nonce was already accepted from this hotkey")]
    ReplayedRequest,
    /// The replay store is full (ours: a bound 11.3.0's store does not have).
    #[error("Overloaded: the replay store holds {0} requests")]
    Overloaded(usize),
    /// This hotkey holds its whole quota of the replay store (ours, as `Overloaded`).
    #[error("Overloaded: this hotkey holds its {0} requests of the replay store")]
    HotkeyOverloaded(usize),
}

impl AuthError {
    /// The error's class name in 11.3.0 (`Overloaded` is ours).
    pub fn kind(&self) -> &'static str {
        match self {
            AuthError::MalformedAuth(_) => "MalformedAuth",
            AuthError::WrongReceiver(_) => "WrongReceiver",
            AuthError::StaleRequest(_) => "StaleRequest",
            AuthError::BadSignature => "BadSignature",
            AuthError::ReplayedRequest => "ReplayedRequest",
            AuthError::Overloaded(_) | AuthError::HotkeyOverloaded(_) => "Overloaded",
        }
    }
}

/// The exact bytes btauth/1 signs.
pub fn payload(
    method: &str,
    target: &str,
    body: &[u8],
    nonce_ns: i128,
    sender: &str,
    receiver: Option<&str>,
) -> Vec<u8> {
    payload_of_hash(
        method,
        target,
        &body_sha256(body),
        nonce_ns,
        sender,
        receiver,
    )
}

/// [`payload`] of a body whose sha256 (hex) is `body_sha256`: hashed once for a request sent to
/// many receivers.
pub fn payload_of_hash(
    method: &str,
    target: &str,
    body_sha256: &str,
    nonce_ns: i128,
    sender: &str,
    receiver: Option<&str>,
) -> Vec<u8> {
    let lines = [
        PROTOCOL,
        "sr25519",
        &method.to_uppercase(),
        target,
        body_sha256,
        &nonce_ns.to_string(),
        sender,
        receiver.unwrap_or("-"),
    ];
    lines.join("\n").into_bytes()
}

/// The `X-Bittensor-*` headers of a request, in 11.3.0's order: version, hotkey, nonce,
/// signature, then the receiver when bound.
pub fn sign(
    key: &Keypair,
    method: &str,
    target: &str,
    body: &[&[u8]],
    receiver: Option<&str>,
    nonce_ns: i128,
) -> Vec<(&'static str, String)> {
    let hash = parts_sha256(body);
    let signed = payload_of_hash(
        method,
        target,
        &hash,
        nonce_ns,
        key.ss58_address(),
        receiver,
    );
    headers(key, nonce_ns, receiver, &key.sign(&signed))
}

/// The btauth/1 headers of a signature already made over [`payload`] (a batch's).
pub fn headers(
    key: &Keypair,
    nonce_ns: i128,
    receiver: Option<&str>,
    signature: &[u8; 64],
) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        (HEADER_VERSION, VERSION.to_owned()),
        (HEADER_HOTKEY, key.ss58_address().to_owned()),
        (HEADER_NONCE, nonce_ns.to_string()),
        (HEADER_SIGNATURE, format!("0x{}", hex::encode(signature))),
    ];
    if let Some(receiver) = receiver {
        headers.push((HEADER_RECEIVER, receiver.to_owned()));
    }
    headers
}

/// The sender of a verified request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// Its SS58 address.
    pub hotkey: String,
    /// Its nonce.
    pub nonce_ns: i128,
}

/// A receiver's verification: its hotkey, window and replay store.
#[derive(Debug)]
pub struct Verifier {
    hotkey: String,
    max_age: Duration,
    allowed_skew: Duration,
    require_receiver: bool,
    store: ReplayStore,
}

impl Verifier {
    /// A verifier for `hotkey` with 11.3.0's defaults (receiver required).
    pub fn new(hotkey: &str) -> Self {
        Verifier {
            hotkey: hotkey.to_owned(),
            max_age: DEFAULT_MAX_AGE,
            allowed_skew: DEFAULT_ALLOWED_SKEW,
            require_receiver: true,
            store: ReplayStore::new(DEFAULT_RETENTION, DEFAULT_STORE_CAPACITY),
        }
    }

    /// Accepts requests bound to no receiver.
    pub fn allow_unbound(mut self) -> Self {
        self.require_receiver = false;
        self
    }

    /// A replay store of another capacity (each hotkey's quota a sixteenth of it, at least 1).
    pub fn with_store_capacity(mut self, capacity: usize) -> Self {
        self.store = ReplayStore::new(DEFAULT_RETENTION, capacity);
        self
    }

    /// Checks a request as 11.3.0's `verify` does: header shape, receiver, freshness (against
    /// `now_ns`, nanoseconds since the epoch), signature, replay. `headers` are looked up
    /// case-insensitively.
    pub fn verify<'h>(
        &self,
        headers: impl IntoIterator<Item = (&'h str, &'h str)> + Clone,
        body: &[u8],
        method: &str,
        target: &str,
        now_ns: i128,
    ) -> Result<Caller, AuthError> {
        let hash = body_sha256(body);
        self.check_head(headers, now_ns)?
            .finish(self, &hash, method, target)
    }

    /// [`Verifier::verify`]'s checks that need no body (header shape, receiver, freshness): a
    /// server refuses on them before it reads a byte of body, then finishes with the body's
    /// hash ([`HeadChecked::finish`]).
    pub fn check_head<'h>(
        &self,
        headers: impl IntoIterator<Item = (&'h str, &'h str)> + Clone,
        now_ns: i128,
    ) -> Result<HeadChecked<'h>, AuthError> {
        let claim = Claim::read(headers)?;
        self.check_receiver(claim.receiver)?;
        self.check_fresh(claim.nonce, now_ns)?;
        Ok(HeadChecked { claim })
    }

    /// The receiver a request names must be this server (and be named, where required).
    fn check_receiver(&self, receiver: Option<&str>) -> Result<(), AuthError> {
        match receiver {
            None if self.require_receiver => Err(AuthError::WrongReceiver(format!(
                "missing {HEADER_RECEIVER}: this server requires receiver-bound requests"
            ))),
            Some(r) if r != self.hotkey => Err(AuthError::WrongReceiver(
                "request was signed for a different receiving hotkey".into(),
            )),
            _ => Ok(()),
        }
    }

    /// A nonce within the freshness window and the allowed skew of `now_ns`.
    fn check_fresh(&self, nonce: i128, now_ns: i128) -> Result<(), AuthError> {
        if now_ns - nonce > self.max_age.as_nanos() as i128 {
            return Err(AuthError::StaleRequest(format!(
                "nonce is older than the {}s freshness window",
                self.max_age.as_secs_f64()
            )));
        }
        if nonce - now_ns > self.allowed_skew.as_nanos() as i128 {
            return Err(AuthError::StaleRequest(format!(
                "nonce is more than {}s in the future",
                self.allowed_skew.as_secs_f64()
            )));
        }
        Ok(())
    }
}

/// A request's btauth/1 headers that passed every check but the signature and the replay
/// store ([`Verifier::check_head`]).
pub struct HeadChecked<'h> {
    claim: Claim<'h>,
}

impl std::fmt::Debug for HeadChecked<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeadChecked")
            .field("sender", &self.claim.sender)
            .field("nonce", &self.claim.nonce)
            .finish_non_exhaustive()
    }
}

impl HeadChecked<'_> {
    /// The signature checked over the request whose body's sha256 (lower-case hex) is
    /// `body_sha256`, then the replay store of `verifier` (the one that checked the head).
    pub fn finish(
        self,
        verifier: &Verifier,
        body_sha256: &str,
        method: &str,
        target: &str,
    ) -> Result<Caller, AuthError> {
        let claim = self.claim;
        claim.check_signature(method, target, body_sha256)?;
        verifier
            .store
            .check_and_store(claim.sender, claim.nonce, Instant::now())?;
        Ok(Caller {
            hotkey: claim.sender.to_owned(),
            nonce_ns: claim.nonce,
        })
    }
}

/// What a request's btauth/1 headers claim, read in 11.3.0's order (version, hotkey, nonce,
/// crypto, signature), before anything is verified.
struct Claim<'h> {
    sender: &'h str,
    nonce: i128,
    signature: Vec<u8>,
    receiver: Option<&'h str>,
}

impl<'h> Claim<'h> {
    /// The claim of `headers` (looked up case-insensitively), or why they are malformed.
    fn read(
        headers: impl IntoIterator<Item = (&'h str, &'h str)> + Clone,
    ) -> Result<Self, AuthError> {
        let header = |name: &str| {
            headers
                .clone()
                .into_iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        };
        let malformed = |m: String| AuthError::MalformedAuth(m);
        if header(HEADER_VERSION) != Some(VERSION) {
            return Err(malformed(format!(
                "missing or unsupported {HEADER_VERSION} (expected '{VERSION}')"
            )));
        }
        let sender = header(HEADER_HOTKEY)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| malformed(format!("missing {HEADER_HOTKEY}")))?;
        let nonce: i128 = header(HEADER_NONCE)
            .ok_or_else(|| malformed(format!("missing {HEADER_NONCE}")))?
            .trim()
            .parse()
            .map_err(|_| malformed(format!("{HEADER_NONCE} is not a decimal integer")))?;
        if header(HEADER_CRYPTO).is_some_and(|c| !c.eq_ignore_ascii_case("sr25519")) {
            return Err(malformed(format!("unsupported {HEADER_CRYPTO}")));
        }
        let raw_signature = header(HEADER_SIGNATURE)
            .ok_or_else(|| malformed(format!("missing {HEADER_SIGNATURE}")))?;
        let signature = hex::decode(raw_signature.strip_prefix("0x").unwrap_or(raw_signature))
            .map_err(|_| malformed(format!("{HEADER_SIGNATURE} is not hex")))?;
        Ok(Claim {
            sender,
            nonce,
            signature,
            receiver: header(HEADER_RECEIVER),
        })
    }

    /// The signature verifies over the request's payload under the sender's key.
    fn check_signature(
        &self,
        method: &str,
        target: &str,
        body_sha256: &str,
    ) -> Result<(), AuthError> {
        let encoding =
            || AuthError::MalformedAuth("invalid hotkey address or signature encoding".into());
        let key = PublicKey::from_ss58(self.sender).ok_or_else(encoding)?;
        let signature: [u8; 64] = self
            .signature
            .as_slice()
            .try_into()
            .map_err(|_| encoding())?;
        let signed = payload_of_hash(
            method,
            target,
            body_sha256,
            self.nonce,
            self.sender,
            self.receiver,
        );
        if !key.verify(&signed, &signature) {
            return Err(AuthError::BadSignature);
        }
        Ok(())
    }
}

/// Accepted (hotkey, nonce) pairs, each kept for the retention, at most `capacity` of them and
/// at most `hotkey_quota` of one hotkey. A hotkey's text is held once (shared by its nonces and
/// their expiry entries), whatever number of nonces it has.
#[derive(Debug)]
pub struct ReplayStore {
    retention: Duration,
    capacity: usize,
    hotkey_quota: usize,
    state: Mutex<StoreState>,
}

#[derive(Debug, Default)]
struct StoreState {
    seen: HashMap<Arc<str>, HashSet<i128>>,
    expiry: VecDeque<(Instant, Arc<str>, i128)>,
}

impl ReplayStore {
    /// A store keeping pairs for `retention`, at most `capacity` at once, a sixteenth of them
    /// (at least 1) per hotkey.
    pub fn new(retention: Duration, capacity: usize) -> Self {
        Self::with_hotkey_quota(retention, capacity, (capacity / 16).max(1))
    }

    /// [`ReplayStore::new`] with each hotkey's share set to `hotkey_quota` pairs.
    pub fn with_hotkey_quota(retention: Duration, capacity: usize, hotkey_quota: usize) -> Self {
        ReplayStore {
            retention,
            capacity,
            hotkey_quota,
            state: Mutex::default(),
        }
    }

    /// Records the pair if it was never seen; `ReplayedRequest` if it was, `Overloaded` if the
    /// store is full of pairs younger than the retention, `HotkeyOverloaded` if the hotkey
    /// holds its quota of them.
    pub fn check_and_store(
        &self,
        hotkey: &str,
        nonce: i128,
        now: Instant,
    ) -> Result<(), AuthError> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while state.expiry.front().is_some_and(|(at, _, _)| *at <= now) {
            if let Some((_, key, old)) = state.expiry.pop_front() {
                if let Some(nonces) = state.seen.get_mut(&key) {
                    nonces.remove(&old);
                    if nonces.is_empty() {
                        state.seen.remove(&key);
                    }
                }
            }
        }
        let held = state.seen.get(hotkey);
        if held.is_some_and(|nonces| nonces.contains(&nonce)) {
            return Err(AuthError::ReplayedRequest);
        }
        if state.expiry.len() >= self.capacity {
            return Err(AuthError::Overloaded(self.capacity));
        }
        if held.is_some_and(|nonces| nonces.len() >= self.hotkey_quota) {
            return Err(AuthError::HotkeyOverloaded(self.hotkey_quota));
        }
        let key: Arc<str> = match state.seen.get_key_value(hotkey) {
            Some((key, _)) => key.clone(),
            None => Arc::from(hotkey),
        };
        state.seen.entry(key.clone()).or_default().insert(nonce);
        state.expiry.push_back((now + self.retention, key, nonce));
        Ok(())
    }

    /// Pairs held now.
    pub fn len(&self) -> usize {
        self.state.lock().map_or(0, |s| s.expiry.len())
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i128 = 1_800_000_000_000_000_000;

    fn pair() -> (Keypair, Keypair) {
        (
            Keypair::from_uri("//Alice").unwrap(),
            Keypair::from_uri("//Bob").unwrap(),
        )
    }

    fn check(
        verifier: &Verifier,
        headers: &[(&'static str, String)],
        body: &[u8],
        now: i128,
    ) -> Result<Caller, AuthError> {
        let view: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        verifier.verify(view.iter().copied(), body, "POST", "/generate?x=1", now)
    }

    #[test]
    fn signed_requests_verify_once() {
        let (alice, bob) = pair();
        let verifier = Verifier::new(bob.ss58_address());
        let headers = sign(
            &alice,
            "post",
            "/generate?x=1",
            &[b"{}"],
            Some(bob.ss58_address()),
            NOW,
        );
        let caller = check(&verifier, &headers, b"{}", NOW).unwrap();
        assert_eq!(caller.hotkey, alice.ss58_address());
        assert_eq!(
            check(&verifier, &headers, b"{}", NOW),
            Err(AuthError::ReplayedRequest)
        );
    }

    #[test]
    fn each_check_fails_with_its_kind() {
        let (alice, bob) = pair();
        let verifier = Verifier::new(bob.ss58_address());
        let bound = sign(
            &alice,
            "POST",
            "/generate?x=1",
            &[b"{}"],
            Some(bob.ss58_address()),
            NOW,
        );
        let kind = |r: Result<Caller, AuthError>| r.unwrap_err().kind();
        assert_eq!(kind(check(&verifier, &bound, b"{ }", NOW)), "BadSignature");
        assert_eq!(
            kind(check(&verifier, &bound, b"{}", NOW + 11_000_000_000)),
            "StaleRequest"
        );
        assert_eq!(
            kind(check(&verifier, &bound, b"{}", NOW - 3_000_000_000)),
            "StaleRequest"
        );
        let unbound = sign(&alice, "POST", "/generate?x=1", &[b"{}"], None, NOW);
        assert_eq!(
            kind(check(&verifier, &unbound, b"{}", NOW)),
            "WrongReceiver"
        );
        let other = sign(
            &alice,
            "POST",
            "/generate?x=1",
            &[b"{}"],
            Some(alice.ss58_address()),
            NOW,
        );
        assert_eq!(kind(check(&verifier, &other, b"{}", NOW)), "WrongReceiver");
        let mut garbled = bound.clone();
        garbled[3].1 = "0xzz".into();
        assert_eq!(
            kind(check(&verifier, &garbled, b"{}", NOW)),
            "MalformedAuth"
        );
        garbled[3].1 = "0x00".into();
        assert_eq!(
            kind(check(&verifier, &garbled, b"{}", NOW)),
            "MalformedAuth"
        );
        assert_eq!(
            kind(check(&verifier, &bound[1..], b"{}", NOW)),
            "MalformedAuth"
        );
        let open = Verifier::new(bob.ss58_address()).allow_unbound();
        assert!(check(&open, &unbound, b"{}", NOW).is_ok());
    }

    #[test]
    fn a_full_store_refuses_rather_than_forgets() {
        let store = ReplayStore::with_hotkey_quota(Duration::from_secs(60), 2, 2);
        let now = Instant::now();
        store.check_and_store("a", 1, now).unwrap();
        store.check_and_store("a", 2, now).unwrap();
        assert_eq!(
            store.check_and_store("a", 3, now),
            Err(AuthError::Overloaded(2))
        );
        assert_eq!(
            store.check_and_store("a", 1, now),
            Err(AuthError::ReplayedRequest)
        );
        let later = now + Duration::from_secs(61);
        store.check_and_store("a", 3, later).unwrap();
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn one_hotkey_cannot_fill_the_store_for_everyone() {
        let store = ReplayStore::with_hotkey_quota(Duration::from_secs(60), 4, 2);
        let now = Instant::now();
        store.check_and_store("greedy", 1, now).unwrap();
        store.check_and_store("greedy", 2, now).unwrap();
        assert_eq!(
            store.check_and_store("greedy", 3, now),
            Err(AuthError::HotkeyOverloaded(2))
        );
        assert_eq!(AuthError::HotkeyOverloaded(2).kind(), "Overloaded");
        // Another key still has room; a replay is still a replay.
        store.check_and_store("other", 1, now).unwrap();
        assert_eq!(
            store.check_and_store("greedy", 2, now),
            Err(AuthError::ReplayedRequest)
        );
        // Once its pairs expire, the key has its quota again, and the store forgot them.
        let later = now + Duration::from_secs(61);
        store.check_and_store("greedy", 3, later).unwrap();
        assert_eq!(store.len(), 1);
    }
}
