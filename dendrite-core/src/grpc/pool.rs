//! The bounded receptor pool: at most `max_active_receptors` channels, keyed by hotkey as the
//! reference keys them, least recently used idle receptors closed first.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dendrite_wire::Endpoint;
use lru::LruCache;
use tokio::sync::Semaphore;

use super::config::ReceptorConfig;
use super::receptor::Receptor;
use crate::neutral::connector::WireBytes;

/// Receptors by endpoint hotkey, bounded and least-recently-used.
#[derive(Debug)]
pub struct ReceptorPool {
    receptors: Mutex<LruCache<String, Arc<Receptor>>>,
    capacity: usize,
    config: ReceptorConfig,
    idle_timeout: Option<Duration>,
    epoch: Instant,
    /// One permit per open TCP connection.
    connections: Arc<Semaphore>,
    bytes: Arc<WireBytes>,
}

impl ReceptorPool {
    /// An empty pool of at most `capacity` receptors (at least 1).
    pub fn new(capacity: usize, config: ReceptorConfig, idle_timeout: Option<Duration>) -> Self {
        let capacity = capacity.max(1);
        ReceptorPool {
            receptors: Mutex::new(LruCache::unbounded()),
            capacity,
            config,
            idle_timeout,
            epoch: Instant::now(),
            connections: Arc::new(Semaphore::new(capacity)),
            bytes: Arc::default(),
        }
    }

    /// The most receptors this pool keeps.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many TCP connections are open now (never more than the capacity).
    pub fn open_connections(&self) -> usize {
        self.capacity - self.connections.available_permits()
    }

    /// TCP payload bytes (sent, received) through all of this pool's connections so far:
    /// HTTP/2 framing and headers included, after any compression.
    pub fn wire_bytes(&self) -> (u64, u64) {
        (
            self.bytes.sent.load(Ordering::Relaxed),
            self.bytes.received.load(Ordering::Relaxed),
        )
    }

    /// How many receptors are open now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no receptor is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Closes every receptor not in use.
    pub fn clear_idle(&self) {
        let mut receptors = self.lock();
        let idle: Vec<String> = receptors
            .iter()
            .filter(|(_, r)| Arc::strong_count(r) == 1)
            .map(|(k, _)| k.clone())
            .collect();
        for key in idle {
            receptors.pop(&key);
        }
    }

    /// The receptor for `endpoint` at `addr`: the pooled one if it still serves that address
    /// and version, else a new one (replacing a stale one, evicting the least recently used
    /// idle receptor when full). Creating a receptor does no I/O.
    pub fn get(&self, endpoint: &Endpoint, addr: SocketAddr) -> Result<Arc<Receptor>, http::Error> {
        let now_ms = self.epoch.elapsed().as_millis() as u64;
        let mut receptors = self.lock();
        if let Some(receptor) = receptors.get(&endpoint.hotkey) {
            if receptor.serves(endpoint, addr) {
                receptor.touch(now_ms);
                return Ok(receptor.clone());
            }
            receptors.pop(&endpoint.hotkey);
        }
        self.evict_idle_expired(&mut receptors, now_ms);
        while receptors.len() >= self.capacity {
            Self::evict_one(&mut receptors);
        }
        let receptor = Arc::new(Receptor::new(
            endpoint,
            addr,
            &self.config,
            self.connections.clone(),
            self.bytes.clone(),
        )?);
        receptor.touch(now_ms);
        receptors.put(endpoint.hotkey.clone(), receptor.clone());
        Ok(receptor)
    }

    /// Evicts the least recently used receptor without calls in flight, or the least recently
    /// used one if all are busy (its calls finish; the connection closes after them).
    fn evict_one(receptors: &mut LruCache<String, Arc<Receptor>>) {
        let idle = receptors
            .iter()
            .rev()
            .find(|(_, r)| Arc::strong_count(r) == 1)
            .map(|(k, _)| k.clone());
        match idle {
            Some(key) => {
                receptors.pop(&key);
            }
            None => {
                receptors.pop_lru();
            }
        }
    }

    fn evict_idle_expired(&self, receptors: &mut LruCache<String, Arc<Receptor>>, now_ms: u64) {
        let Some(idle) = self.idle_timeout else {
            return;
        };
        let idle_ms = idle.as_millis() as u64;
        while let Some((_, receptor)) = receptors.peek_lru() {
            let expired = now_ms.saturating_sub(receptor.last_used_ms()) > idle_ms;
            if !expired || Arc::strong_count(receptor) > 1 {
                break;
            }
            receptors.pop_lru();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<String, Arc<Receptor>>> {
        self.receptors.lock().unwrap_or_else(|e| e.into_inner())
    }
}
