//! The TCP connector of every receptor: each open connection holds a permit of one shared
//! semaphore, released only when the socket is closed. Evicted channels close asynchronously;
//! this makes "open connections ≤ max_active_receptors" hold at every instant, not just
//! eventually.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::phases::ConnectLog;

/// Bytes through every connection of a pool, as TCP payload (HTTP/2 frames, after any
/// compression).
#[derive(Debug, Default)]
pub(crate) struct WireBytes {
    pub sent: AtomicU64,
    pub received: AtomicU64,
}

/// A TCP stream that holds a connection permit while open, counts its bytes and tells its
/// receptor's [`ConnectLog`] when it closes.
#[derive(Debug)]
pub(crate) struct LimitedStream {
    stream: TcpStream,
    bytes: Arc<WireBytes>,
    connects: Arc<ConnectLog>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for LimitedStream {
    fn drop(&mut self) {
        self.connects.closed();
    }
}

/// A TCP connection to `addr` that first takes a permit from `limit`; the attempt's window
/// (the permit's wait included) goes to `connects`.
pub(crate) async fn connect_limited(
    addr: SocketAddr,
    limit: &Arc<Semaphore>,
    bytes: Arc<WireBytes>,
    connects: Arc<ConnectLog>,
) -> io::Result<LimitedStream> {
    connects.started(std::time::Instant::now());
    let connected = async {
        let permit = limit
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| io::Error::other("connection limit closed"))?;
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok::<_, io::Error>((stream, permit))
    }
    .await;
    connects.ended(std::time::Instant::now(), connected.is_ok());
    let (stream, permit) = connected?;
    Ok(LimitedStream {
        stream,
        bytes,
        connects,
        _permit: permit,
    })
}

impl LimitedStream {
    /// Whether the peer closed or reset the connection, or sent bytes nobody asked for, as far
    /// as the socket tells now, without waiting: an idle connection found so is not reused (a
    /// byte read here is dropped with it).
    pub(crate) fn peer_closed(&self) -> bool {
        let mut probe = [0u8; 1];
        match self.stream.try_read(&mut probe) {
            Err(e) => e.kind() != io::ErrorKind::WouldBlock,
            Ok(_) => true,
        }
    }

    fn count_sent(&self, poll: &Poll<io::Result<usize>>) {
        if let Poll::Ready(Ok(n)) = poll {
            self.bytes.sent.fetch_add(*n as u64, Ordering::Relaxed);
        }
    }
}

impl AsyncRead for LimitedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.stream).poll_read(cx, buf);
        let read = buf.filled().len().saturating_sub(before);
        self.bytes
            .received
            .fetch_add(read as u64, Ordering::Relaxed);
        poll
    }
}

impl AsyncWrite for LimitedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.count_sent(&poll);
        poll
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.count_sent(&poll);
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
