//! Where one endpoint's call spent its time: [`Phases`], and the probe that times them.
//!
//! A call passes through, in order: `queue` (from the call's start until it has an in-flight
//! slot and the receptor: the fan-out signing its batch, the runtime starting its task, the
//! slot, retry pauses),
//! `sign`, `connect` (opening the TCP connection; zero on a reused one), `send` (until the
//! request body was handed to HTTP/2), `wait` (until the response headers), `receive` (until
//! the response body ended) and `decode` (our checks and synapse decoding). The transport marks
//! are taken by the unary call (3.x: its unary call): the request's end when HTTP/2 has queued it,
//! the response headers and the body's end; the connect window comes from the receptor's
//! connector.
//!
//! **Invariants:** a failed call has the phases it reached and zeros after; the phases never
//! overlap, so their sum never exceeds the call's time; every mark is one `Instant::now()` (a
//! vDSO clock read, no system call) and a relaxed atomic store.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One phase of an endpoint's call. [`Phase::ALL`] is the one list of them, in call order:
/// `--json` rows, Prometheus labels, timelines, benches and the Python module name them from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Waiting for an in-flight slot and the receptor.
    Queue,
    /// Signing.
    Sign,
    /// Opening a connection.
    Connect,
    /// Handing the request to HTTP/2.
    Send,
    /// Waiting for the response headers.
    Wait,
    /// Receiving the response body.
    Receive,
    /// Checking and decoding.
    Decode,
}

impl Phase {
    /// How many phases there are.
    pub const COUNT: usize = 7;

    /// Every phase, in call order.
    pub const ALL: [Phase; Phase::COUNT] = [
        Phase::Queue,
        Phase::Sign,
        Phase::Connect,
        Phase::Send,
        Phase::Wait,
        Phase::Receive,
        Phase::Decode,
    ];

    /// Its name (the key of a `--json` row's `phases`, the `phase` label in Prometheus).
    pub const fn name(self) -> &'static str {
        match self {
            Phase::Queue => "queue",
            Phase::Sign => "sign",
            Phase::Connect => "connect",
            Phase::Send => "send",
            Phase::Wait => "wait",
            Phase::Receive => "receive",
            Phase::Decode => "decode",
        }
    }
}

/// The time one endpoint's call spent in each phase.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Phases {
    /// From the call's start until the endpoint's task had an in-flight slot and the receptor
    /// (the runtime starting the task, waiting for a slot, pauses before retries).
    pub queue: Duration,
    /// Signing the request on the call's own path: zero when its header was signed ahead
    /// (`presign`) or with its fan-out's batch, whose signing falls in `queue`.
    pub sign: Duration,
    /// Opening a connection for this call (zero when it went out on an open one).
    pub connect: Duration,
    /// Until the request body was handed to HTTP/2.
    pub send: Duration,
    /// Until the response headers arrived (the peer's computing time, mostly).
    pub wait: Duration,
    /// Until the response body ended.
    pub receive: Duration,
    /// Checking and decoding the response.
    pub decode: Duration,
    /// Whether an RPC was attempted (false: the call was answered locally, or never got a
    /// slot and a receptor).
    pub rpc_attempted: bool,
    /// Whether the last RPC attempt went out on a connection that was already open (false
    /// when none was attempted).
    pub reused_connection: bool,
}

impl Phases {
    /// The time spent in `phase`.
    pub fn get(&self, phase: Phase) -> Duration {
        match phase {
            Phase::Queue => self.queue,
            Phase::Sign => self.sign,
            Phase::Connect => self.connect,
            Phase::Send => self.send,
            Phase::Wait => self.wait,
            Phase::Receive => self.receive,
            Phase::Decode => self.decode,
        }
    }

    /// The phases in call order ([`Phase::ALL`]), named.
    pub fn named(&self) -> [(&'static str, Duration); Phase::COUNT] {
        Phase::ALL.map(|phase| (phase.name(), self.get(phase)))
    }

    /// Adds one RPC attempt's phases (what it waited for inside the attempt, such as an
    /// HTTP/1.1 connection, is `queue`); the latest attempt says whether its connection was
    /// reused.
    pub(crate) fn add_attempt(&mut self, attempt: &Phases) {
        self.queue += attempt.queue;
        self.decode += attempt.decode;
        self.sign += attempt.sign;
        self.connect += attempt.connect;
        self.send += attempt.send;
        self.wait += attempt.wait;
        self.receive += attempt.receive;
        self.rpc_attempted |= attempt.rpc_attempted;
        self.reused_connection = attempt.reused_connection;
    }

    /// Whether the call went out on an open connection; `None` when no RPC was attempted (a
    /// row's `reused_connection`, Python's `last_phases`).
    pub fn connection_reuse(&self) -> Option<bool> {
        self.rpc_attempted.then_some(self.reused_connection)
    }

    /// Their sum.
    pub fn total(&self) -> Duration {
        self.named().iter().map(|(_, d)| *d).sum()
    }
}

/// Transport marks of one RPC, in nanoseconds since the probe's start (0: not reached).
#[derive(Debug)]
pub(crate) struct Probe {
    start: Instant,
    sent: AtomicU64,
    headers: AtomicU64,
    body_end: AtomicU64,
    /// The answer's body bytes that arrived (HTTP/2 DATA payload).
    received: AtomicU64,
}

impl Probe {
    pub(crate) fn new(start: Instant) -> Self {
        Probe {
            start,
            sent: AtomicU64::new(0),
            headers: AtomicU64::new(0),
            body_end: AtomicU64::new(0),
            received: AtomicU64::new(0),
        }
    }

    /// `n` more bytes of the answer's body arrived.
    pub(crate) fn count_received(&self, n: usize) {
        self.received.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// The answer's body bytes so far.
    pub(crate) fn received(&self) -> usize {
        self.received.load(Ordering::Relaxed) as usize
    }

    /// The whole request was handed to the transport (queued in HTTP/2, or to the HTTP/1.1
    /// connection task).
    pub(crate) fn mark_sent(&self) {
        self.mark(&self.sent);
    }

    /// The response headers arrived.
    pub(crate) fn mark_headers(&self) {
        self.mark(&self.headers);
    }

    /// The response body ended.
    pub(crate) fn mark_body_end(&self) {
        self.mark(&self.body_end);
    }

    fn mark(&self, slot: &AtomicU64) {
        let nanos = (self.start.elapsed().as_nanos() as u64).max(1);
        let _ = slot.compare_exchange(0, nanos, Ordering::Relaxed, Ordering::Relaxed);
    }

    fn at(&self, slot: &AtomicU64) -> Option<Instant> {
        match slot.load(Ordering::Relaxed) {
            0 => None,
            nanos => Some(self.start + Duration::from_nanos(nanos)),
        }
    }

    /// The marks reached: request sent, response headers, response body ended.
    pub(crate) fn marks(&self) -> (Option<Instant>, Option<Instant>, Option<Instant>) {
        (
            self.at(&self.sent),
            self.at(&self.headers),
            self.at(&self.body_end),
        )
    }
}

/// The connection attempts of one receptor: the latest attempt's window, and how many
/// connections are open.
#[derive(Debug, Default)]
pub(crate) struct ConnectLog {
    latest: Mutex<Option<(Instant, Option<Instant>)>>,
    open: AtomicU64,
}

impl ConnectLog {
    pub(crate) fn started(&self, at: Instant) {
        *self.window() = Some((at, None));
    }

    pub(crate) fn ended(&self, at: Instant, connected: bool) {
        if let Some((_, end)) = self.window().as_mut() {
            *end = Some(at);
        }
        if connected {
            self.open.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn closed(&self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }

    /// Whether a connection is open now.
    pub(crate) fn is_open(&self) -> bool {
        self.open.load(Ordering::Relaxed) > 0
    }

    /// How much of `[from, to]` the latest connection attempt covered.
    pub(crate) fn overlap(&self, from: Instant, to: Instant) -> Duration {
        let Some((start, end)) = *self.window() else {
            return Duration::ZERO;
        };
        let end = end.unwrap_or(to).min(to);
        end.saturating_duration_since(start.max(from))
    }

    fn window(&self) -> std::sync::MutexGuard<'_, Option<(Instant, Option<Instant>)>> {
        self.latest.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The transport phases of one RPC from its marks: `signed` is when the request was ready,
/// `end` when the call returned. Time before the request was sent is connecting where a
/// connection attempt covered it, else sending.
pub(crate) fn transport_phases(
    probe: &Probe,
    connects: &ConnectLog,
    reused: bool,
    signed: Instant,
    end: Instant,
) -> (Duration, Duration, Duration, Duration) {
    let (sent, headers, body_end) = probe.marks();
    let sent_at = sent.unwrap_or(end).min(end);
    let before_sent = sent_at.saturating_duration_since(signed);
    let connect = if reused {
        Duration::ZERO
    } else if sent.is_none() {
        // Never sent: the connection never carried it (refused, or still opening).
        before_sent
    } else {
        connects.overlap(signed, sent_at).min(before_sent)
    };
    let send = before_sent - connect;
    let (wait, receive) = match (sent, headers) {
        (None, _) => (Duration::ZERO, Duration::ZERO),
        (Some(_), None) => (end.saturating_duration_since(sent_at), Duration::ZERO),
        (Some(_), Some(headers)) => {
            let headers = headers.min(end).max(sent_at);
            let body_end = body_end.unwrap_or(end).min(end).max(headers);
            (
                headers.saturating_duration_since(sent_at),
                body_end.saturating_duration_since(headers),
            )
        }
    };
    (connect, send, wait, receive)
}

/// What timing the phases costs per call, averaged over `calls`: every clock read, the probe
/// and its marks, the connection check and the arithmetic. Not API: `cargo xtask bench phases`.
#[doc(hidden)]
pub fn clock_cost_per_call(calls: u32) -> Duration {
    let connects = ConnectLog::default();
    let started = Instant::now();
    for _ in 0..calls {
        let queued = Instant::now();
        let queue = queued.elapsed();
        let entered = Instant::now();
        let signed = Instant::now();
        let reused = connects.is_open();
        let probe = Probe::new(signed);
        probe.mark_sent();
        probe.mark_headers();
        probe.mark_body_end();
        let end = Instant::now();
        let transport = transport_phases(&probe, &connects, reused, signed, end);
        let decoding = Instant::now();
        let decode = decoding.elapsed();
        std::hint::black_box((queue, signed - entered, transport, decode));
    }
    started.elapsed() / calls.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_never_overlap_and_unreached_ones_are_zero() {
        let start = Instant::now();
        let ms = |n| start + Duration::from_millis(n);
        let connects = ConnectLog::default();
        // Refused: never sent, everything after signing is connecting.
        let probe = Probe::new(start);
        let (connect, send, wait, receive) =
            transport_phases(&probe, &connects, false, ms(1), ms(5));
        assert_eq!(
            (connect, send, wait, receive),
            (
                Duration::from_millis(4),
                Duration::ZERO,
                Duration::ZERO,
                Duration::ZERO
            )
        );
        // Sent after a 2 ms connect, headers never came: the rest is waiting.
        connects.started(ms(1));
        connects.ended(ms(3), true);
        probe.sent.store(4_000_000, Ordering::Relaxed);
        let (connect, send, wait, receive) =
            transport_phases(&probe, &connects, false, ms(1), ms(10));
        assert_eq!(connect, Duration::from_millis(2));
        assert_eq!(send, Duration::from_millis(1));
        assert_eq!(wait, Duration::from_millis(6));
        assert_eq!(receive, Duration::ZERO);
        // Reused: no connect; headers at 6 ms, body at 9 ms.
        probe.headers.store(6_000_000, Ordering::Relaxed);
        probe.body_end.store(9_000_000, Ordering::Relaxed);
        let phases = transport_phases(&probe, &connects, true, ms(1), ms(10));
        assert_eq!(
            phases,
            (
                Duration::ZERO,
                Duration::from_millis(3),
                Duration::from_millis(2),
                Duration::from_millis(3)
            )
        );
    }

    #[test]
    fn a_mark_is_kept_once() {
        let probe = Probe::new(Instant::now());
        probe.mark(&probe.sent);
        let first = probe.sent.load(Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(2));
        probe.mark(&probe.sent);
        assert_eq!(probe.sent.load(Ordering::Relaxed), first);
    }
}
