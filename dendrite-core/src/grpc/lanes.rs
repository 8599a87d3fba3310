//! A receptor's signing lanes (a uuid and a strictly increasing nonce each), and signatures
//! made ahead of the calls that use them.
//!
//! Axons check that nonces increase per sender × uuid, but they check concurrent requests in
//! whatever order their workers run (a thread pool in Python, tokio tasks in Rust), so two
//! requests in flight on one uuid can be rejected as replays. A receptor therefore signs each
//! in-flight call on its own *lane*: the first lane's uuid is the receptor's uuid, and
//! concurrent calls to the same endpoint take further lanes.
//!
//! The 3.x signature covers nonce, sender, receiver and uuid, not the body
//! ([`SigningScheme::may_sign_ahead`]; checked when this compiles), so it can be made before the
//! call: with `presign` on, a lane that finishes a call is handed to a task that
//! signs its next (nonce, header) pair and only then returns it to the idle lanes. The next
//! call on that lane sends the pair as it is, taking the sr25519 signature (~20 µs here) off
//! its critical path; the CPU is the same, spent while the runtime would otherwise wait.
//!
//! **Invariants:** a lane is held by one call, or one refill, at a time; every header a lane
//! hands out carries a nonce above every nonce it handed out before (a pair's nonce is drawn
//! when it is signed, and nothing else draws from the lane until the pair is used); a pair is
//! handed out once (it is taken from the lane); lanes and their pairs live in their receptor and
//! go when it is evicted (a refill still running drops its lane with the last reference).

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use dendrite_keys::SigningScheme;

use crate::keys::Keypair;
use crate::signature::sign_header;

/// What lanes sign: the 3.x signature, which may be made ahead of its call.
const SCHEME: SigningScheme = SigningScheme::Bittensor3;
const _: () = assert!(
    SCHEME.may_sign_ahead(),
    "lanes presign; their scheme must allow it"
);

/// Idle lanes kept per receptor; more concurrent calls create lanes that are dropped after.
const MAX_IDLE_LANES: usize = 64;

/// What a refill signs with besides the lane: the sender's key and the receiver.
#[derive(Clone, Debug)]
struct Signer {
    key: Keypair,
    /// The receiver's version (it picks the signature format).
    version: u32,
    receiver: Arc<str>,
}

impl Signer {
    fn header(&self, nonce: u64, uuid: &str) -> String {
        sign_header(&self.key, self.version, &self.receiver, nonce, uuid)
    }
}

/// A signing identity for one call at a time.
#[derive(Debug)]
struct Lane {
    uuid: String,
    last_nonce: u64,
    /// A header signed ahead; its nonce is `last_nonce`.
    presigned: Option<String>,
}

impl Lane {
    fn new() -> Self {
        Lane {
            uuid: uuid::Uuid::new_v4().to_string(),
            last_nonce: 0,
            presigned: None,
        }
    }

    /// The next nonce: wall-clock nanoseconds, forced above the previous one.
    fn next_nonce(&mut self) -> u64 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        self.last_nonce = now.max(self.last_nonce.saturating_add(1));
        self.last_nonce
    }

    /// The header of this lane's next call: the one signed ahead if there is one (taken, so
    /// never sent twice), else one signed now by `sign(nonce, uuid)`.
    fn next_header(&mut self, sign: impl FnOnce(u64, &str) -> String) -> String {
        if let Some(header) = self.presigned.take() {
            return header;
        }
        let nonce = self.next_nonce();
        sign(nonce, &self.uuid)
    }

    /// Signs the next pair unless one is waiting.
    fn presign(&mut self, signer: &Signer) {
        if self.presigned.is_none() {
            let nonce = self.next_nonce();
            self.presigned = Some(signer.header(nonce, &self.uuid));
        }
    }
}

/// One receptor's lanes.
#[derive(Debug)]
pub(crate) struct Lanes {
    idle: Arc<Mutex<Vec<Lane>>>,
    first_uuid: String,
    presign: bool,
}

impl Lanes {
    /// One idle lane; `presign` signs each lane's next pair after every call.
    pub(crate) fn new(presign: bool) -> Self {
        let first = Lane::new();
        Lanes {
            first_uuid: first.uuid.clone(),
            idle: Arc::new(Mutex::new(vec![first])),
            presign,
        }
    }

    /// The first lane's uuid.
    pub(crate) fn uuid(&self) -> &str {
        &self.first_uuid
    }

    /// A lane for one call: the most recently returned one (so the receptor's own uuid stays in
    /// use when calls do not overlap), or a new one.
    pub(crate) fn take(&self) -> LaneGuard<'_> {
        let lane = lock(&self.idle).pop().unwrap_or_else(Lane::new);
        LaneGuard {
            lanes: self,
            lane: Some(lane),
            refill: None,
        }
    }
}

fn lock(idle: &Mutex<Vec<Lane>>) -> std::sync::MutexGuard<'_, Vec<Lane>> {
    idle.lock().unwrap_or_else(|e| e.into_inner())
}

fn give_back(idle: &Mutex<Vec<Lane>>, lane: Lane) {
    let mut idle = lock(idle);
    if idle.len() < MAX_IDLE_LANES {
        idle.push(lane);
    }
}

/// A lane held by one call; returns it when dropped (also when the call is cancelled), after
/// signing its next pair on another task when presigning.
pub(crate) struct LaneGuard<'a> {
    lanes: &'a Lanes,
    lane: Option<Lane>,
    /// What the refill signs with (presigning only).
    refill: Option<Signer>,
}

impl LaneGuard<'_> {
    /// The signature header of this call, from `key` to the receiver of `version` and hotkey
    /// `receiver`.
    pub(crate) fn header(&mut self, key: &Keypair, version: u32, receiver: &Arc<str>) -> String {
        let Some(lane) = self.lane.as_mut() else {
            return String::new();
        };
        if self.lanes.presign {
            self.refill = Some(Signer {
                key: key.clone(),
                version,
                receiver: receiver.clone(),
            });
        }
        let sign = |nonce, uuid: &str| sign_header(key, version, receiver, nonce, uuid);
        lane.next_header(sign)
    }
}

impl Drop for LaneGuard<'_> {
    fn drop(&mut self) {
        let Some(mut lane) = self.lane.take() else {
            return;
        };
        let (Some(signer), Ok(runtime)) =
            (self.refill.take(), tokio::runtime::Handle::try_current())
        else {
            return give_back(&self.lanes.idle, lane);
        };
        let idle = self.lanes.idle.clone();
        runtime.spawn(async move {
            lane.presign(&signer);
            give_back(&idle, lane);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::SignatureHeader;

    fn signer() -> Signer {
        Signer {
            key: Keypair::from_uri("//Alice").unwrap(),
            version: 370,
            receiver: Keypair::from_uri("//Bob").unwrap().ss58_address().into(),
        }
    }

    impl LaneGuard<'_> {
        fn sign(&mut self, s: &Signer) -> String {
            self.header(&s.key, s.version, &s.receiver)
        }
    }

    fn nonce_of(header: &str) -> i128 {
        SignatureHeader::parse(header).unwrap().nonce
    }

    /// Waits until the refill task gave the lane back.
    async fn idle_again(lanes: &Lanes) {
        for _ in 0..1000 {
            if !lock(&lanes.idle).is_empty() {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("the lane never came back");
    }

    #[tokio::test]
    async fn presigned_pairs_are_used_once_in_nonce_order() {
        let (lanes, signer) = (Lanes::new(true), signer());
        let mut seen = Vec::new();
        for call in 0..20 {
            let mut guard = lanes.take();
            let header = guard.sign(&signer);
            let lane = guard.lane.as_ref().unwrap();
            assert_eq!(lane.uuid, lanes.uuid(), "call {call} took another lane");
            // After the first call, every call sends the pair signed after the previous one.
            assert!(lane.presigned.is_none());
            seen.push(nonce_of(&header));
            drop(guard);
            idle_again(&lanes).await;
            let waiting = lock(&lanes.idle)[0].presigned.as_deref().map(nonce_of);
            assert!(waiting.is_some(), "call {call}: no pair signed ahead");
            assert!(waiting.unwrap_or(0) > *seen.last().unwrap());
        }
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    }

    #[tokio::test]
    async fn a_pair_signed_ahead_is_the_next_header_verbatim() {
        let (lanes, signer) = (Lanes::new(true), signer());
        drop({
            let mut guard = lanes.take();
            guard.sign(&signer);
            guard
        });
        idle_again(&lanes).await;
        let waiting = lock(&lanes.idle)[0].presigned.clone().unwrap();
        let mut guard = lanes.take();
        assert_eq!(guard.sign(&signer), waiting);
    }

    #[test]
    fn without_presigning_or_a_runtime_lanes_come_straight_back() {
        for presign in [false, true] {
            let (lanes, signer) = (Lanes::new(presign), signer());
            let mut first = lanes.take();
            let mut second = lanes.take();
            assert_ne!(
                first.lane.as_ref().unwrap().uuid,
                second.lane.as_ref().unwrap().uuid
            );
            let (a, b) = (
                nonce_of(&first.sign(&signer)),
                nonce_of(&second.sign(&signer)),
            );
            assert!(a > 0 && b > 0);
            drop((first, second));
            let idle = lock(&lanes.idle);
            assert_eq!(idle.len(), 2);
            assert!(idle.iter().all(|l| l.presigned.is_none()));
        }
    }
}
