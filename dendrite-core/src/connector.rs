//! The TCP connector of every receptor: each open connection holds a permit of one shared
//! semaphore, released only when the socket is closed. Evicted channels close asynchronously;
//! this makes "open connections ≤ max_active_receptors" hold at every instant, not just
//! eventually.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A TCP stream that holds a connection permit while open.
#[derive(Debug)]
pub(crate) struct LimitedStream {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
}

/// A tower connector to `addr` that first takes a permit from `limit`.
pub(crate) fn limited_connector(
    addr: SocketAddr,
    limit: Arc<Semaphore>,
) -> impl tower::Service<
    tonic::codegen::http::Uri,
    Response = TokioIo<LimitedStream>,
    Error = io::Error,
    Future = impl Send,
> + Send
       + Clone
       + 'static {
    tower::service_fn(move |_uri| {
        let limit = limit.clone();
        async move {
            let permit = limit
                .acquire_owned()
                .await
                .map_err(|_| io::Error::other("connection limit closed"))?;
            let stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            Ok(TokioIo::new(LimitedStream {
                stream,
                _permit: permit,
            }))
        }
    })
}

impl AsyncRead for LimitedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for LimitedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
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
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
