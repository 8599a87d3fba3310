//! Starting and stopping an axon on a TCP address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};

use dendrite_keys::Keypair;
use dendrite_wire::proto::bittensor_server::BittensorServer;
use dendrite_wire::Compression;
use dendrite_wire::Endpoint;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_stream::StreamExt;
use tonic::codec::CompressionEncoding;

use crate::auth::Authenticator;
use crate::behaviour::Behaviour;
use crate::handler::SynapseHandler;
use crate::service::{AxonCounters, AxonService, Shared};

/// Why an axon could not start.
#[derive(Debug, thiserror::Error)]
pub enum AxonError {
    /// Binding the listener failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Settings of an axon.
#[derive(Clone, Debug)]
pub struct AxonConfig {
    /// Address to listen on; port 0 picks a free one.
    pub addr: SocketAddr,
    /// The largest request accepted, bytes.
    pub max_request_bytes: usize,
    /// How it answers at start.
    pub behaviour: Behaviour,
    /// Compress responses with this encoding when the caller accepts it (requests in gzip or
    /// zstd are always accepted); `None` answers plain, as the Python axon does.
    pub compression: Option<Compression>,
}

impl Default for AxonConfig {
    fn default() -> Self {
        AxonConfig {
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            max_request_bytes: 256 << 20,
            behaviour: Behaviour::Normal,
            compression: None,
        }
    }
}

/// A running axon. Dropping the handle stops it (in the background); [`AxonHandle::shutdown`]
/// stops it and waits.
pub struct AxonHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for AxonHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AxonHandle")
            .field("addr", &self.addr)
            .field("hotkey", &self.shared.hotkey)
            .finish()
    }
}

/// Starts an axon serving `handler`, signed requests addressed to `key`'s hotkey only. Must be
/// called inside a tokio runtime.
pub async fn serve(
    key: &Keypair,
    handler: Arc<dyn SynapseHandler>,
    config: AxonConfig,
) -> Result<AxonHandle, AxonError> {
    let listener = TcpListener::bind(config.addr)
        .await
        .map_err(|source| AxonError::Bind {
            addr: config.addr,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| AxonError::Bind {
        addr: config.addr,
        source,
    })?;
    let shared = Arc::new(Shared {
        hotkey: key.ss58_address().to_owned(),
        auth: Authenticator::new(key.ss58_address()),
        handler,
        behaviour: RwLock::new(config.behaviour),
        counters: AxonCounters::default(),
    });
    let service = BittensorServer::new(AxonService {
        shared: shared.clone(),
    })
    .max_decoding_message_size(config.max_request_bytes)
    .max_encoding_message_size(usize::MAX)
    .accept_compressed(CompressionEncoding::Gzip)
    .accept_compressed(CompressionEncoding::Zstd);
    let service = match config.compression {
        Some(compression) => service.send_compressed(compression.encoding()),
        None => service,
    };
    let gate = shared.clone();
    let incoming = TcpListenerStream::new(listener).filter_map(move |conn| match conn {
        Ok(stream) if gate.drops_connection() => {
            drop(stream);
            None
        }
        Ok(stream) => {
            let _ = stream.set_nodelay(true);
            Some(Ok::<_, std::io::Error>(stream))
        }
        // Accept errors (fd exhaustion, a reset before accept) must not end the server.
        Err(e) => {
            tracing::warn!("axon accept failed: {e}");
            None
        }
    });
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tonic::transport::Server::builder()
        .initial_stream_window_size(16 << 20)
        .initial_connection_window_size(64 << 20)
        .max_frame_size(1 << 20)
        .add_service(service)
        .serve_with_incoming_shutdown(incoming, async {
            let _ = stopped.await;
        });
    let task = tokio::spawn(async move {
        if let Err(e) = server.await {
            tracing::warn!("axon stopped with an error: {e}");
        }
    });
    Ok(AxonHandle {
        addr,
        shared,
        stop: Some(stop),
        task: Some(task),
    })
}

impl AxonHandle {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its hotkey (the receiver every request must be signed for).
    pub fn hotkey(&self) -> &str {
        &self.shared.hotkey
    }

    /// The endpoint a dendrite uses to reach it (version 370, uid as given).
    pub fn endpoint(&self, uid: u64) -> Endpoint {
        Endpoint {
            version: dendrite_wire::VERSION_AS_INT as u32,
            uid,
            hotkey: self.shared.hotkey.clone(),
            ip: self.addr.ip().to_string(),
            ip_type: if self.addr.is_ipv4() { 4 } else { 6 },
            port: self.addr.port(),
            protocol: 0,
            coldkey: self.shared.hotkey.clone(),
            modality: 0,
        }
    }

    /// `{"hotkey", "ip", "port", "version", "pid"}`: the endpoint JSON `../shared/peer/axon.py`
    /// prints after `AXON READY` and writes with `--info-out`.
    pub fn info_json(&self, pid: u32) -> String {
        format!(
            r#"{{"hotkey": "{}", "ip": "{}", "port": {}, "version": {}, "pid": {pid}}}"#,
            self.shared.hotkey,
            self.addr.ip(),
            self.addr.port(),
            dendrite_wire::VERSION_AS_INT
        )
    }

    /// Changes how it answers from now on.
    pub fn set_behaviour(&self, behaviour: Behaviour) {
        *self
            .shared
            .behaviour
            .write()
            .unwrap_or_else(|e| e.into_inner()) = behaviour;
    }

    /// What it has served.
    pub fn counters(&self) -> &AxonCounters {
        &self.shared.counters
    }

    /// Authenticated forward requests so far.
    pub fn forward_count(&self) -> u64 {
        self.shared.counters.forward.load(Ordering::Relaxed)
    }

    /// Authenticated backward requests so far.
    pub fn backward_count(&self) -> u64 {
        self.shared.counters.backward.load(Ordering::Relaxed)
    }

    /// Stops accepting, lets open calls finish, and waits for the server to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for AxonHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
