//! One open HTTP/1.1 connection of the client: a request written (its head, then the body's
//! parts in one `writev`), its answer's head read, and the body read off the socket by its
//! framing ([`super::framing`]): a declared length straight into one kept buffer
//! ([`H1Body::read_whole`]), anything else piece by piece ([`H1Body::chunk`]).
//!
//! **Invariants:** a body reads only what its reader asked for; the connection is handed back
//! for reuse ([`H1Body::into_connection`]) only after an answer was read to its end, with
//! nothing unread after it, and only when its head said it may be reused.

use std::io;
use std::pin::Pin;
use std::task::Poll;

use bytes::{Buf as _, Bytes, BytesMut};
use http::header::HeaderMap;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, ReadBuf};

use super::framing::{encode_head, parse_head, AnswerHead, Framing, H1Error, Limits, Step};
use crate::neutral::buffers::{BodyBuffers, Gathering};
use crate::neutral::transport::RequestBody;

/// How much is read at a time while a head is incomplete (and what comes after it).
const HEAD_READ: usize = 8 * 1024;

/// How much a body read chunk by chunk asks the socket for at a time.
const CHUNK_READ: usize = 64 * 1024;

/// One open connection: its socket, and what was read from it past the last answer's head
/// (none once an answer was read to its end, or the connection is not reused).
#[derive(Debug)]
pub(crate) struct H1<S> {
    io: S,
    ahead: BytesMut,
    limits: Limits,
}

impl<S: AsyncRead + AsyncWrite + Unpin> H1<S> {
    /// A connection over `io`, its answers' heads held to `limits`.
    pub fn new(io: S, limits: Limits) -> Self {
        H1 {
            io,
            ahead: BytesMut::new(),
            limits,
        }
    }

    /// The socket.
    pub fn io(&self) -> &S {
        &self.io
    }

    /// Writes the request (its head, then the body's parts, in one `writev` where the socket
    /// takes them all) and reads its answer's head. An answer the peer sends before it has read
    /// the whole request (a 413, say) is read even so: while the socket takes no more, or after
    /// the write failed; the connection then carries no other request.
    pub async fn exchange(
        &mut self,
        head: &http::Request<()>,
        body: &RequestBody,
        on_sent: impl FnOnce(),
    ) -> Result<AnswerHead, H1Error> {
        let encoded = encode_head(head, body.remaining());
        let parts = [&encoded[..], body.first_ref(), body.last_ref()];
        let written = self.write_watching(&parts, head.method()).await;
        on_sent();
        let early = |mut answer: AnswerHead| {
            answer.reusable = false;
            answer
        };
        match written {
            Ok(None) => self.read_head(head.method()).await,
            Ok(Some(answer)) => Ok(early(answer)),
            Err(e) => self
                .read_head(head.method())
                .await
                .map(early)
                .map_err(|_| e),
        }
    }

    /// Writes every part (as few `writev`s as the socket allows); whenever the socket takes no
    /// more, reads what the peer sent: `Some` when that is a whole answer head (the rest is not
    /// written).
    async fn write_watching(
        &mut self,
        parts: &[&[u8]],
        method: &http::Method,
    ) -> Result<Option<AnswerHead>, H1Error> {
        let H1 { io, ahead, limits } = self;
        let mut parts: Vec<&[u8]> = parts.iter().copied().filter(|p| !p.is_empty()).collect();
        let mut first = 0;
        let mut scratch = [0u8; 2048];
        std::future::poll_fn(|cx| loop {
            if first == parts.len() {
                return Pin::new(&mut *io)
                    .poll_flush(cx)
                    .map(|flushed| flushed.map(|()| None).map_err(H1Error::Io));
            }
            let slices: Vec<io::IoSlice<'_>> =
                parts[first..].iter().map(|p| io::IoSlice::new(p)).collect();
            match Pin::new(&mut *io).poll_write_vectored(cx, &slices) {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(H1Error::Io(io::ErrorKind::WriteZero.into())))
                }
                Poll::Ready(Ok(written)) => advance(&mut parts, &mut first, written),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(H1Error::Io(e))),
                Poll::Pending => {
                    let mut read = ReadBuf::new(&mut scratch);
                    match Pin::new(&mut *io).poll_read(cx, &mut read) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(H1Error::Io(e))),
                        Poll::Ready(Ok(())) if read.filled().is_empty() => {
                            return Poll::Ready(Err(H1Error::Closed))
                        }
                        Poll::Ready(Ok(())) => {
                            ahead.extend_from_slice(read.filled());
                            if let Some(head) = parse_head(ahead, *limits, method)? {
                                return Poll::Ready(Ok(Some(head)));
                            }
                        }
                    }
                }
            }
        })
        .await
    }

    /// Reads an answer's head, interim answers dropped.
    async fn read_head(&mut self, method: &http::Method) -> Result<AnswerHead, H1Error> {
        loop {
            if !self.ahead.is_empty() {
                if let Some(head) = parse_head(&mut self.ahead, self.limits, method)? {
                    return Ok(head);
                }
            }
            self.ahead.reserve(HEAD_READ);
            if self.io.read_buf(&mut self.ahead).await? == 0 {
                return Err(match self.ahead.is_empty() {
                    true => H1Error::Closed,
                    false => H1Error::Incomplete,
                });
            }
        }
    }
}

/// The body of an answer being read off its connection, which it holds until the body is read
/// to its end ([`H1Body::into_connection`]).
#[derive(Debug)]
pub(crate) struct H1Body<S> {
    conn: H1<S>,
    framing: Framing,
    reusable: bool,
    closed: bool,
    trailers: Option<HeaderMap>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> H1Body<S> {
    /// The body of an answer whose head `conn` read.
    pub fn new(conn: H1<S>, framing: Framing, reusable: bool) -> Self {
        H1Body {
            conn,
            framing,
            reusable,
            closed: false,
            trailers: None,
        }
    }

    /// The length its head declared, while none of it has been read.
    pub fn declared(&self) -> Option<u64> {
        match self.framing {
            Framing::Length(length) => Some(length),
            _ => None,
        }
    }

    /// The next piece of the body; `None` at its end.
    pub async fn chunk(&mut self) -> Option<Result<Bytes, H1Error>> {
        loop {
            let step = self.framing.decode(
                &mut self.conn.ahead,
                &mut self.trailers,
                self.conn.limits,
                self.closed,
            );
            match step {
                Ok(Step::Data(data)) => return Some(Ok(data)),
                Ok(Step::End) => return None,
                Err(e) => return Some(Err(e)),
                Ok(Step::More) => {}
            }
            self.conn.ahead.reserve(CHUNK_READ);
            match self.conn.io.read_buf(&mut self.conn.ahead).await {
                Ok(0) => self.closed = true,
                Ok(_) => {}
                Err(e) => return Some(Err(H1Error::Io(e))),
            }
        }
    }

    /// The whole body of a declared length, read by the socket straight into one of `buffers`
    /// (or, when it came with the head, a slice of what was read), and what `edit` made of it
    /// in place before it is shared; `None` when the body has no declared length (read it by
    /// [`H1Body::chunk`]). The caller checked the length against its bound.
    pub async fn read_whole<T>(
        &mut self,
        buffers: &std::sync::Arc<BodyBuffers>,
        edit: impl FnOnce(&mut [u8]) -> T,
    ) -> Option<Result<(Bytes, T), H1Error>> {
        let Framing::Length(length) = self.framing else {
            return None;
        };
        let Ok(length) = usize::try_from(length) else {
            return Some(Err(H1Error::TooLarge("body")));
        };
        if length <= self.conn.ahead.len() {
            self.framing = Framing::Done;
            let mut whole = self.conn.ahead.split_to(length);
            let edited = edit(&mut whole);
            return Some(Ok((whole.freeze(), edited)));
        }
        let mut whole = buffers.take(length);
        whole.extend(&self.conn.ahead.split());
        let read = fill(&mut self.conn.io, &mut whole, length).await;
        Some(read.map(|()| {
            self.framing = Framing::Done;
            let edited = edit(whole.as_mut_slice());
            (whole.freeze(), edited)
        }))
    }

    /// The trailers, once the body was read to its end (`None` when it had none).
    pub fn take_trailers(&mut self) -> Option<HeaderMap> {
        self.trailers.take()
    }

    /// The connection, when the body was read to its end, nothing came after it and HTTP/1.1
    /// lets it carry another request.
    pub fn into_connection(self) -> Option<H1<S>> {
        let done = matches!(self.framing, Framing::Done);
        (done && self.reusable && !self.closed && self.conn.ahead.is_empty()).then_some(self.conn)
    }
}

/// Reads from `io` into `whole` until it holds `length` bytes; a close before is a cut.
async fn fill<S: AsyncRead + Unpin>(
    io: &mut S,
    whole: &mut Gathering,
    length: usize,
) -> Result<(), H1Error> {
    while whole.len() < length {
        if whole.fill_from(io, length - whole.len()).await? == 0 {
            return Err(H1Error::Incomplete);
        }
    }
    Ok(())
}

/// Counts `written` bytes off the front of `parts` (from `first`).
fn advance(parts: &mut [&[u8]], first: &mut usize, written: usize) {
    let mut left = written;
    while left > 0 && *first < parts.len() {
        let part = parts[*first];
        if left >= part.len() {
            left -= part.len();
            *first += 1;
        } else {
            parts[*first] = &part[left..];
            left = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_headers: 8,
        max_head_bytes: 256,
    };

    /// A loopback server that reads each request's head and body (by its content-length) and
    /// answers it with `answer(index)`, written in pieces of `piece` bytes; the client's side.
    async fn server(
        answer: impl Fn(usize) -> Vec<u8> + Send + 'static,
        piece: usize,
    ) -> tokio::net::TcpStream {
        use tokio::io::AsyncWriteExt as _;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = BytesMut::new();
            for index in 0.. {
                let length = loop {
                    let mut headers = [httparse::EMPTY_HEADER; 16];
                    let mut request = httparse::Request::new(&mut headers);
                    if let Ok(httparse::Status::Complete(at)) = request.parse(&buf) {
                        let length = request
                            .headers
                            .iter()
                            .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                            .map_or(0, |h| {
                                std::str::from_utf8(h.value).unwrap().parse().unwrap()
                            });
                        buf.advance(at);
                        break length;
                    }
                    if socket.read_buf(&mut buf).await.unwrap_or(0) == 0 {
                        return;
                    }
                };
                while buf.len() < length {
                    if socket.read_buf(&mut buf).await.unwrap_or(0) == 0 {
                        return;
                    }
                }
                buf.advance(length);
                for part in answer(index).chunks(piece) {
                    if socket.write_all(part).await.is_err() {
                        return;
                    }
                }
            }
        });
        tokio::net::TcpStream::connect(addr).await.unwrap()
    }

    fn post(body_len: usize) -> (http::Request<()>, RequestBody) {
        let mut head = http::Request::new(());
        *head.method_mut() = http::Method::POST;
        *head.uri_mut() = "/Echo".parse().unwrap();
        let body = Bytes::from(vec![b'x'; body_len]);
        (head, crate::neutral::transport::one_part(body))
    }

    #[tokio::test]
    async fn a_declared_body_is_read_into_one_buffer_and_the_connection_carries_the_next() {
        let big: Vec<u8> = (0..600_000u32).map(|i| (i % 251) as u8).collect();
        let payload = big.clone();
        let answer = move |index: usize| {
            let body: &[u8] = if index == 0 { &payload } else { b"small" };
            let mut out =
                format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len()).into_bytes();
            out.extend_from_slice(body);
            out
        };
        let socket = server(answer, 100_000).await;
        let buffers = BodyBuffers::new(crate::neutral::buffers::DEFAULT_IDLE_BYTES);
        let mut link = H1::new(socket, LIMITS);
        let (head, body) = post(300_000);
        let answer = link.exchange(&head, &body, || ()).await.unwrap();
        let mut body = H1Body::new(link, answer.framing, answer.reusable);
        let (whole, ()) = body.read_whole(&buffers, |_| ()).await.unwrap().unwrap();
        assert_eq!(&whole[..], &big[..]);
        let mut link = body.into_connection().expect("read to its end: reusable");
        let (head, body) = post(10);
        let answer = link.exchange(&head, &body, || ()).await.unwrap();
        let mut body = H1Body::new(link, answer.framing, answer.reusable);
        let (small, edited) = body
            .read_whole(&buffers, |b| b.len())
            .await
            .unwrap()
            .unwrap();
        assert_eq!((&small[..], edited), (&b"small"[..], 5));
        assert!(body.into_connection().is_some());
    }

    #[tokio::test]
    async fn a_chunked_answer_is_read_piece_by_piece_and_a_closing_one_is_not_reused() {
        let answer = |_: usize| {
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n".to_vec()
        };
        let socket = server(answer, 5).await;
        let mut link = H1::new(socket, LIMITS);
        let (head, body) = post(0);
        let answer = link.exchange(&head, &body, || ()).await.unwrap();
        let mut body = H1Body::new(link, answer.framing, answer.reusable);
        let mut read = Vec::new();
        while let Some(piece) = body.chunk().await {
            read.extend_from_slice(&piece.unwrap());
        }
        assert_eq!(read, b"abcde");
        assert!(body.into_connection().is_none(), "connection: close");
    }

    /// A loopback server that reads one request's first bytes, writes `answer` and closes; the
    /// client's side.
    async fn one_shot(answer: &'static [u8]) -> tokio::net::TcpStream {
        use tokio::io::AsyncWriteExt as _;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let _ = socket.read_buf(&mut BytesMut::with_capacity(4096)).await;
            let _ = socket.write_all(answer).await;
        });
        tokio::net::TcpStream::connect(addr).await.unwrap()
    }

    #[tokio::test]
    async fn a_body_cut_short_is_incomplete_and_a_silent_close_a_disconnect() {
        let buffers = BodyBuffers::new(0);
        let socket = one_shot(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nshort").await;
        let mut link = H1::new(socket, LIMITS);
        let (head, body) = post(1);
        let answer = link.exchange(&head, &body, || ()).await.unwrap();
        let mut body = H1Body::new(link, answer.framing, answer.reusable);
        let read = body.read_whole(&buffers, |_| ()).await.unwrap();
        assert!(matches!(read, Err(H1Error::Incomplete)), "{read:?}");
        assert!(body.into_connection().is_none());
        for answer in [&b""[..], b"HTTP/1.1 200 OK\r\ncontent-"] {
            let mut link = H1::new(one_shot(answer).await, LIMITS);
            let (head, body) = post(1);
            let error = link.exchange(&head, &body, || ()).await.unwrap_err();
            assert!(error.is_disconnect(), "{answer:?}: {error}");
        }
    }

    #[tokio::test]
    async fn an_answer_sent_while_the_request_is_still_going_out_is_heard_at_once() {
        // The peer answers 413 from the head and then neither reads nor closes: the write of
        // a 64 MB body stalls (more than both sockets' buffers hold), and the answer is read
        // meanwhile (not at the deadline).
        use tokio::io::AsyncWriteExt as _;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (hold, held) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let _ = socket.read_buf(&mut BytesMut::with_capacity(1024)).await;
            let answer = b"HTTP/1.1 413 Payload Too Large\r\ncontent-length: 0\r\n\r\n";
            socket.write_all(answer).await.unwrap();
            let _ = held.await;
        });
        let socket = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut link = H1::new(socket, LIMITS);
        let (head, body) = post(64 << 20);
        let answer = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            link.exchange(&head, &body, || ()),
        )
        .await
        .expect("heard before the body went out")
        .unwrap();
        assert_eq!(answer.parts.status, 413);
        assert!(
            !answer.reusable,
            "the rest of the request was never written"
        );
        drop(hold);
    }

    #[tokio::test]
    async fn an_answer_sent_before_the_request_was_read_is_still_heard() {
        // The peer refuses at the head (as an axon's 413 does), never reads the 8 MB body and
        // closes: the write fails, the answer that came first is what the call gets.
        let socket = one_shot(
            b"HTTP/1.1 413 Payload Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        )
        .await;
        let mut link = H1::new(socket, LIMITS);
        let (head, body) = post(8 << 20);
        let answer = link.exchange(&head, &body, || ()).await.unwrap();
        assert_eq!(answer.parts.status, 413);
        assert!(!answer.reusable);
    }
}
