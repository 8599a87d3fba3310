//! Request authentication exactly as the 3.x `AuthInterceptor`: the same checks in the same
//! order, each rejection a gRPC `UNAUTHENTICATED` with the same message.

use std::sync::Mutex;

use dendrite_keys::keys::PublicKey;
use dendrite_keys::signature::{
    parse_python_int, SignatureHeader, MIN_ACCEPTED_VERSION, SIGNATURE_HEADER, VERSION_HEADER,
};
use dendrite_wire::ss58;
use lru::LruCache;
use tonic::metadata::MetadataMap;
use tonic::Status;

/// Senders × uuids whose last nonce is remembered. The reference keeps them all (a memory leak
/// under churn); we keep the most recent ones. A pair evicted from here is treated as new, so
/// keep this well above the number of distinct receptors that talk to the axon.
pub const MAX_REMEMBERED_NONCES: usize = 100_000;

/// Senders whose decoded public key is kept (a subnet has at most 4,096 neurons).
pub const MAX_REMEMBERED_SENDERS: usize = 4_096;

/// The reference's message when `bittensor-version` is missing (Python's `int(None)`).
const MISSING_VERSION: &str =
    "int() argument must be a string, a bytes-like object or a real number, not 'NoneType'";

/// Checks signatures addressed to one receiver hotkey and remembers nonces.
#[derive(Debug)]
pub struct Authenticator {
    receiver: String,
    nonces: Mutex<LruCache<String, i128>>,
    /// Decoded, decompressed sender keys: each saves an SS58 decode and a point decompression
    /// per request.
    senders: Mutex<LruCache<String, PublicKey>>,
}

impl Authenticator {
    /// An authenticator for requests addressed to `receiver` (this axon's SS58 hotkey).
    pub fn new(receiver: impl Into<String>) -> Self {
        // Unbounded map, bounded by hand: `LruCache::new(cap)` reserves the whole table up
        // front, and every insert into it touched a fresh page (~4 KB of RSS per new sender ×
        // uuid until 100k, per axon; the soak test found it).
        Authenticator {
            receiver: receiver.into(),
            nonces: Mutex::new(LruCache::unbounded()),
            senders: Mutex::new(LruCache::unbounded()),
        }
    }

    /// Checks a request's metadata; returns the sender's hotkey.
    pub fn authenticate(&self, metadata: &MetadataMap) -> Result<String, Status> {
        let reject = |message: &str| Status::unauthenticated(message);
        let Some(header) = metadata.get(SIGNATURE_HEADER) else {
            return Err(reject("Request signature missing"));
        };
        let version = match metadata.get(VERSION_HEADER) {
            None => return Err(reject(MISSING_VERSION)),
            Some(v) => {
                let text = v.to_str().unwrap_or_default();
                parse_python_int(text).ok_or_else(|| {
                    reject(&format!("invalid literal for int() with base 10: '{text}'"))
                })?
            }
        };
        if version < i128::from(MIN_ACCEPTED_VERSION) {
            return Err(reject("Incorrect Version"));
        }
        let parsed = header
            .to_str()
            .ok()
            .and_then(SignatureHeader::parse)
            .ok_or_else(|| reject("Unknown signature format"))?;
        let sender = self.sender_key(&parsed.sender)?;
        let key = format!("{}:{}", parsed.sender, parsed.uuid);
        self.check_nonce(&key, parsed.nonce)?;
        if !sender.is_some_and(|sender| parsed.verify_with(&sender, &self.receiver)) {
            return Err(reject("Signature mismatch"));
        }
        // Verified outside the lock; check again before remembering, as another request
        // with a larger nonce may have been accepted meanwhile.
        let mut nonces = self.lock();
        if nonces.peek(&key).is_some_and(|&last| parsed.nonce <= last) {
            return Err(reject("Nonce is too small"));
        }
        nonces.put(key, parsed.nonce);
        while nonces.len() > MAX_REMEMBERED_NONCES {
            nonces.pop_lru();
        }
        Ok(parsed.sender)
    }

    /// The sender's key (kept for the next request), `None` when the address decodes but is not
    /// a valid point (its signatures cannot verify), or the reference's rejection of an address
    /// that does not decode.
    fn sender_key(&self, sender: &str) -> Result<Option<PublicKey>, Status> {
        let mut senders = self.senders.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(key) = senders.get(sender) {
            return Ok(Some(key.clone()));
        }
        let Ok(bytes) = ss58::decode(sender) else {
            return Err(Status::unauthenticated("Invalid SS58 address"));
        };
        let key = PublicKey::from_bytes(&bytes);
        if let Some(key) = &key {
            senders.put(sender.to_owned(), key.clone());
            while senders.len() > MAX_REMEMBERED_SENDERS {
                senders.pop_lru();
            }
        }
        Ok(key)
    }

    fn check_nonce(&self, key: &str, nonce: i128) -> Result<(), Status> {
        match self.lock().peek(key) {
            Some(&last) if nonce <= last => Err(Status::unauthenticated("Nonce is too small")),
            _ => Ok(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<String, i128>> {
        self.nonces.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dendrite_keys::signature::{sign_header, REQUEST_TYPE_HEADER};
    use dendrite_keys::Keypair;

    fn metadata(signature: Option<&str>, version: Option<&str>) -> MetadataMap {
        let mut md = MetadataMap::new();
        if let Some(s) = signature {
            md.insert(SIGNATURE_HEADER, s.parse().unwrap());
        }
        if let Some(v) = version {
            md.insert(VERSION_HEADER, v.parse().unwrap());
        }
        md.insert(REQUEST_TYPE_HEADER, "1".parse().unwrap());
        md
    }

    fn rejection(auth: &Authenticator, md: &MetadataMap) -> String {
        let status = auth.authenticate(md).unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unauthenticated);
        status.message().to_string()
    }

    #[test]
    fn every_rejection_of_the_reference() {
        let alice = Keypair::from_uri("//Alice").unwrap();
        let bob = Keypair::from_uri("//Bob").unwrap();
        let auth = Authenticator::new(bob.ss58_address());
        let good = sign_header(&alice, 370, bob.ss58_address(), 100, "u");
        assert_eq!(
            auth.authenticate(&metadata(Some(&good), Some("370")))
                .unwrap(),
            alice.ss58_address()
        );
        let cases = [
            (metadata(Some(&good), Some("370")), "Nonce is too small"),
            (metadata(None, Some("370")), "Request signature missing"),
            (metadata(Some(&good), None), MISSING_VERSION),
            (metadata(Some(&good), Some("369")), "Incorrect Version"),
            (
                metadata(Some(&good), Some("abc")),
                "invalid literal for int() with base 10: 'abc'",
            ),
            (
                metadata(Some("hello"), Some("370")),
                "Unknown signature format",
            ),
            (
                metadata(
                    Some(&sign_header(&alice, 370, alice.ss58_address(), 101, "u")),
                    Some("370"),
                ),
                "Signature mismatch",
            ),
            (
                metadata(
                    Some(&format!("102.5NotAnAddress.0x{}.u", "00".repeat(64))),
                    Some("370"),
                ),
                "Invalid SS58 address",
            ),
        ];
        for (md, message) in cases {
            assert_eq!(rejection(&auth, &md), message);
        }
        // A rejected signature does not advance the nonce: 101 is still usable.
        let next = sign_header(&alice, 370, bob.ss58_address(), 101, "u");
        assert!(auth
            .authenticate(&metadata(Some(&next), Some("370")))
            .is_ok());
    }
}
