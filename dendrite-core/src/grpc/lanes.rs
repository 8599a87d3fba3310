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
//! A fan-out signs its calls' first headers in batches ([`sign_round`]): each call takes its
//! lane and nonce first, then the batch is signed together (`sign_headers`: ~18% less CPU per
//! signature), and every call sends its header with the lane it was drawn on.
//!
//! **Invariants:** a lane is held by one call, or one refill, at a time; every header a lane
//! hands out carries a nonce above every nonce it handed out before (a pair's nonce is drawn
//! when it is signed, and nothing else draws from the lane until the pair is used); a pair is
//! handed out once (it is taken from the lane); lanes and their pairs live in their receptor and
//! go when it is evicted (a refill still running drops its lane with the last reference).

use dendrite_keys::nonce;
use std::sync::{Arc, Mutex};

use dendrite_keys::SigningScheme;

use dendrite_keys::signature::{sign_header, sign_headers, HeaderRequest};
use dendrite_keys::Keypair;

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
        self.last_nonce = nonce::rising_after(self.last_nonce, nonce::now_ns());
        self.last_nonce
    }

    /// The header of this lane's next call: the one signed ahead if there is one (taken, so
    /// never sent twice), else one signed now by `sign(nonce, uuid)`.
    fn next_header(&mut self, sign: impl FnOnce(u64, &str) -> String) -> String {
        self.next_to_sign()
            .unwrap_or_else(|nonce| sign(nonce, &self.uuid))
    }

    /// The header signed ahead, taken, or the nonce of the next header to sign.
    fn next_to_sign(&mut self) -> Result<String, u64> {
        match self.presigned.take() {
            Some(header) => Ok(header),
            None => Err(self.next_nonce()),
        }
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
    pub(crate) fn take(&self) -> LaneGuard {
        let lane = lock(&self.idle).pop().unwrap_or_else(Lane::new);
        LaneGuard {
            idle: self.idle.clone(),
            presign: self.presign,
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

/// A lane held by one call; returns it to its receptor's idle lanes when dropped (also when
/// the call is cancelled), after signing its next pair on another task when presigning.
pub(crate) struct LaneGuard {
    idle: Arc<Mutex<Vec<Lane>>>,
    presign: bool,
    lane: Option<Lane>,
    /// What the refill signs with (presigning only).
    refill: Option<Signer>,
}

impl LaneGuard {
    /// The signature header of this call, from `key` to the receiver of `version` and hotkey
    /// `receiver`.
    pub(crate) fn header(&mut self, key: &Keypair, version: u32, receiver: &Arc<str>) -> String {
        self.refill_with(key, version, receiver);
        let Some(lane) = self.lane.as_mut() else {
            return String::new();
        };
        let sign = |nonce, uuid: &str| sign_header(key, version, receiver, nonce, uuid);
        lane.next_header(sign)
    }

    /// Notes what the refill signs with, when presigning.
    fn refill_with(&mut self, key: &Keypair, version: u32, receiver: &Arc<str>) {
        if self.presign {
            self.refill = Some(Signer {
                key: key.clone(),
                version,
                receiver: receiver.clone(),
            });
        }
    }
}

/// A lane with the header of its call, signed with the other calls of its round.
pub(crate) struct SignedLane {
    /// The lane, held until the call ends.
    pub(crate) lane: LaneGuard,
    /// The call's `bittensor-signature`.
    pub(crate) header: String,
}

/// One call of a round to sign: its lane, and the receiver's version and hotkey.
pub(crate) struct RoundCall {
    /// The call's lane, taken from its receptor.
    pub(crate) lane: LaneGuard,
    /// The receiver's version (it picks the signature format).
    pub(crate) version: u32,
    /// The receiver's hotkey.
    pub(crate) receiver: Arc<str>,
}

/// Every call's header, in order: a lane's header signed ahead as it is, the others signed
/// together by `key`. Each nonce is drawn from its own lane before anything is signed, so the
/// order of a lane's nonces is the order of its calls, as with [`LaneGuard::header`].
pub(crate) fn sign_round(key: &Keypair, calls: Vec<RoundCall>) -> Vec<SignedLane> {
    let drawn: Vec<(RoundCall, Result<String, u64>)> = calls
        .into_iter()
        .map(|mut call| {
            call.lane.refill_with(key, call.version, &call.receiver);
            let next = match call.lane.lane.as_mut() {
                Some(lane) => lane.next_to_sign(),
                None => Ok(String::new()),
            };
            (call, next)
        })
        .collect();
    let requests: Vec<HeaderRequest> = drawn
        .iter()
        .filter_map(|(call, next)| {
            Some(HeaderRequest {
                endpoint_version: call.version,
                receiver: &call.receiver,
                nonce: *next.as_ref().err()?,
                uuid: &call.lane.lane.as_ref()?.uuid,
            })
        })
        .collect();
    let mut fresh = sign_headers(key, &requests).into_iter();
    drawn
        .into_iter()
        .map(|(call, next)| SignedLane {
            lane: call.lane,
            header: next.unwrap_or_else(|_nonce| fresh.next().unwrap_or_default()),
        })
        .collect()
}

impl Drop for LaneGuard {
    fn drop(&mut self) {
        let Some(mut lane) = self.lane.take() else {
            return;
        };
        let (Some(signer), Ok(runtime)) =
            (self.refill.take(), tokio::runtime::Handle::try_current())
        else {
            return give_back(&self.idle, lane);
        };
        let idle = self.idle.clone();
        runtime.spawn(async move {
            lane.presign(&signer);
            give_back(&idle, lane);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dendrite_keys::signature::SignatureHeader;

    fn signer() -> Signer {
        Signer {
            key: Keypair::from_uri("//Alice").unwrap(),
            version: 370,
            receiver: Keypair::from_uri("//Bob").unwrap().ss58_address().into(),
        }
    }

    impl LaneGuard {
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

    /// Signs one call on `lanes` (which presign) and waits for the refill: the header now
    /// waiting on its idle lane.
    async fn pair_signed_ahead(lanes: &Lanes, signer: &Signer) -> String {
        drop({
            let mut guard = lanes.take();
            guard.sign(signer);
            guard
        });
        idle_again(lanes).await;
        let waiting = lock(&lanes.idle)[0].presigned.clone();
        waiting.expect("a pair signed ahead")
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
        let waiting = pair_signed_ahead(&lanes, &signer).await;
        let mut guard = lanes.take();
        assert_eq!(guard.sign(&signer), waiting);
    }

    fn round_call(lanes: &Lanes, s: &Signer) -> RoundCall {
        RoundCall {
            lane: lanes.take(),
            version: s.version,
            receiver: s.receiver.clone(),
        }
    }

    #[tokio::test]
    async fn a_round_signs_every_lane_with_rising_nonces_and_sends_pairs_signed_ahead() {
        let signer = signer();
        let (plain, ahead) = (Lanes::new(false), Lanes::new(true));
        let waiting = pair_signed_ahead(&ahead, &signer).await;
        let before = nonce_of(&{ plain.take().sign(&signer) });
        // Three calls on `plain` at once (three lanes), one on `ahead`.
        let calls = vec![
            round_call(&plain, &signer),
            round_call(&ahead, &signer),
            round_call(&plain, &signer),
            round_call(&plain, &signer),
        ];
        let uuids: Vec<String> = calls
            .iter()
            .map(|c| c.lane.lane.as_ref().unwrap().uuid.clone())
            .collect();
        let signed = sign_round(&signer.key, calls);
        assert_eq!(signed.len(), 4);
        assert_eq!(
            signed[1].header, waiting,
            "the pair signed ahead is sent verbatim"
        );
        for (i, lane) in signed.iter().enumerate() {
            let parsed = SignatureHeader::parse(&lane.header).unwrap();
            assert!(parsed.verify(&signer.receiver), "call {i}");
            assert_eq!(parsed.uuid, uuids[i]);
            assert!(lane.lane.lane.as_ref().unwrap().presigned.is_none());
        }
        // The lane `plain` signed on before is the first one taken again: its nonce rose.
        assert_eq!(uuids[0], plain.uuid());
        assert!(nonce_of(&signed[0].header) > before);
        drop(signed);
        idle_again(&ahead).await;
        assert_eq!(lock(&plain.idle).len(), 3);
        // Presigning refills the lane a round used.
        for _ in 0..1000 {
            if lock(&ahead.idle)[0].presigned.is_some() {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("the round's lane on `ahead` was not refilled");
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
