//! The 10.5.0 axon's `default_verify`, with its messages: the signature over
//! `{nonce}.{dendrite}.{our hotkey}.{uuid}.{body_hash}` (also accepted wrapped in
//! `<Bytes>…</Bytes>`), and nonces per `{dendrite_hotkey}:{uuid}`: a key's first nonce must be
//! newer than now − (4 s + the synapse's timeout), every later one above the last accepted. A
//! nonce is stored only after its signature verified.
//!
//! Checks, in this order: the uuid's form (a canonical 36-character uuid, as every 10.x
//! dendrite sends `str(uuid.uuid1())`), the window for a key not in the table, the last nonce,
//! the signature; then, under the table's lock, the nonce must still be newer than the key's
//! last (two copies of one request checked at once: exactly one passes) and is stored.
//!
//! **Where we differ from 10.5.0 on purpose** (tests say so): 10.5.0 skips the window when the
//! unsigned `bt_header_dendrite_version` header is absent or below 7.2.0, so a sender that drops
//! it replays any old request whose key the table forgot; here the window always applies. And
//! 10.5.0 keys its table by any uuid text; here a uuid that is not a canonical uuid is refused
//! (`Invalid uuid`) before anything is stored, so a key is at most 48 + 1 + 36 bytes.
//!
//! Invariant: the table holds at most its capacity of keys, each of bounded size; when full,
//! the least recently used key is forgotten (its next request is then checked against the
//! window, as a first one).

use std::num::NonZeroUsize;
use std::sync::Mutex;

use dendrite_keys::keys::PublicKey;
use lru::LruCache;

/// 10.5.0's `ALLOWED_DELTA`: 4 s on top of the synapse's timeout.
const ALLOWED_DELTA_NS: i128 = 4_000_000_000;

/// 10.5.0's refusal of a nonce no newer than the key's last.
const REPLAYED: &str = "Nonce is too old, a newer one was last processed";

/// What a request says about its sender, as the verification reads it.
#[derive(Clone, Debug)]
pub struct Claim<'a> {
    /// `bt_header_dendrite_hotkey`.
    pub hotkey: &'a str,
    /// `bt_header_dendrite_nonce`.
    pub nonce: i128,
    /// `bt_header_dendrite_uuid`.
    pub uuid: &'a str,
    /// `bt_header_dendrite_signature`, if any.
    pub signature: Option<&'a str>,
    /// `bt_header_dendrite_version`, if any.
    pub version: Option<i64>,
    /// `computed_body_hash` as the headers give it.
    pub body_hash: &'a str,
    /// The synapse's timeout, seconds.
    pub timeout: f64,
}

/// Accepted nonces per `{hotkey}:{uuid}`, bounded.
#[derive(Debug)]
pub struct Nonces {
    last: Mutex<LruCache<String, i128>>,
}

impl Nonces {
    /// A table of at most `capacity` keys.
    pub fn new(capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity.max(1)).unwrap_or(NonZeroUsize::MIN);
        Nonces {
            last: Mutex::new(LruCache::new(capacity)),
        }
    }

    /// Checks `claim` for the axon `receiver` at `now_ns`; the error is 10.5.0's message (the
    /// axon answers 401 `Not Verified with error: {message}`).
    pub fn verify(&self, claim: &Claim<'_>, receiver: &str, now_ns: i128) -> Result<(), String> {
        if uuid::Uuid::try_parse(claim.uuid).is_err() || claim.uuid.len() != 36 {
            return Err("Invalid uuid".into());
        }
        let message = dendrite_http::request::signed_text(
            claim.nonce,
            claim.hotkey,
            receiver,
            claim.uuid,
            claim.body_hash,
        );
        let key = format!("{}:{}", claim.hotkey, claim.uuid);
        let last = self.lock().peek(&key).copied();
        let allowed = ALLOWED_DELTA_NS + (claim.timeout * 1e9) as i128;
        if last.is_none() && claim.nonce <= now_ns - allowed {
            return Err(format!(
                "Nonce is too old: acceptable delta is {:.2} seconds but request was {:.2} seconds old",
                allowed as f64 / 1e9,
                (now_ns - claim.nonce) as f64 / 1e9
            ));
        }
        if last.is_some_and(|last| claim.nonce <= last) {
            return Err(REPLAYED.into());
        }
        let signature = claim
            .signature
            .filter(|s| !s.is_empty())
            .ok_or("Missing Signature")?;
        let mismatch = || format!("Signature mismatch with {message} and {signature}");
        let bytes = hex::decode(signature.strip_prefix("0x").unwrap_or(signature))
            .ok()
            .and_then(|b| <[u8; 64]>::try_from(b).ok())
            .ok_or_else(mismatch)?;
        let key_of_sender = PublicKey::from_ss58(claim.hotkey).ok_or_else(mismatch)?;
        let wrapped = format!("<Bytes>{message}</Bytes>");
        let verified = key_of_sender.verify(message.as_bytes(), &bytes)
            || key_of_sender.verify(wrapped.as_bytes(), &bytes);
        if !verified {
            return Err(mismatch());
        }
        // Checked again under the lock: another copy of this request may have passed meanwhile.
        let mut table = self.lock();
        if table.peek(&key).is_some_and(|last| claim.nonce <= *last) {
            return Err(REPLAYED.into());
        }
        table.put(key, claim.nonce);
        Ok(())
    }

    /// Keys held now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<String, i128>> {
        self.last.lock().unwrap_or_else(|e| e.into_inner())
    }
}
