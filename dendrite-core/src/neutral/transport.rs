//! What a wire asks of a connection, whatever its HTTP version: send one request (head and
//! body) and read the answer (its head, its body chunk by chunk, its trailers). An HTTP/2
//! stream on a receptor's link (the 3.x wire: `grpc::link::Sender`) and an HTTP/1.1 connection
//! checked out of the pool (the 10.x wire: `http1::Connection`) implement it; each wire's
//! framing, statuses and codes stay its own.
//!
//! [`read_whole`] reads a body under a limit for either wire, with the check gRPC's message
//! prefix gets (`grpc::unary::Gather`, [`check_declared`]): a body whose declared length
//! (`Content-Length`) is over the limit is refused before a byte of it is read, and one within
//! it is gathered into a buffer of at least that length, kept for later answers
//! ([`super::buffers`]; a body in one chunk is not copied).
//!
//! **Invariants:** an exchange marks its probe *sent* once the whole request is queued and
//! *headers* when the answer's head arrived; nothing read here holds more than its limit.

use std::future::Future;

use std::sync::Arc;

use bytes::{Buf as _, Bytes};
use http::HeaderMap;

use super::buffers::{BodyBuffers, Gathering};
use super::phases::Probe;

/// A request's body as it goes out: a part of its own, then a part it may share with the
/// other requests of its call (`Bytes` both: a large shared part is a reference count per
/// endpoint, not a copy; the HTTP/1.1 transport writes both with one `writev`).
pub(crate) type RequestBody = bytes::buf::Chain<Bytes, Bytes>;

/// A body of one part.
pub(crate) fn one_part(body: Bytes) -> RequestBody {
    body.chain(Bytes::new())
}

/// One request and its answer on a connection.
pub(crate) trait Exchange {
    /// The transport's failure (h2's or hyper's error).
    type Error: std::error::Error + Send + Sync + 'static;
    /// The answer's body.
    type Body: AnswerBody<Error = Self::Error> + Send;

    /// Sends `head` with `body` and waits for the answer's head. Marks the probe's *sent* and
    /// *headers*.
    fn exchange(
        &mut self,
        head: http::Request<()>,
        body: RequestBody,
        probe: &Probe,
    ) -> impl Future<Output = Result<http::Response<Self::Body>, Self::Error>> + Send;
}

/// An answer's body as it arrives.
pub(crate) trait AnswerBody {
    /// The transport's failure.
    type Error;

    /// The next chunk; `None` once the body ended.
    fn chunk(&mut self) -> impl Future<Output = Option<Result<Bytes, Self::Error>>> + Send;

    /// The trailers, once the body ended (`None` when it had none).
    fn trailers(&mut self) -> impl Future<Output = Result<Option<HeaderMap>, Self::Error>> + Send;
}

/// A declared length over `limit`: `Err` with the length; else the length as `usize`.
pub(crate) fn check_declared(len: u64, limit: usize) -> Result<usize, u64> {
    usize::try_from(len)
        .ok()
        .filter(|len| *len <= limit)
        .ok_or(len)
}

/// Why a body could not be read whole.
#[derive(Debug)]
pub(crate) enum BodyError<E> {
    /// It declared, or brought, more than the limit.
    TooLarge,
    /// The transport failed while reading it.
    Transport(E),
}

/// The whole body, at most `limit` bytes: refused before reading when `declared` is over the
/// limit, else gathered into one buffer (one of `buffers`, of at least the declared length,
/// when there is one).
pub(crate) async fn read_whole<B: AnswerBody>(
    body: &mut B,
    declared: Option<u64>,
    limit: usize,
    buffers: &Arc<BodyBuffers>,
) -> Result<Bytes, BodyError<B::Error>> {
    let declared = declared
        .map(|len| check_declared(len, limit))
        .transpose()
        .map_err(|_| BodyError::TooLarge)?;
    let mut first: Option<Bytes> = None;
    let mut gathered: Option<Gathering> = None;
    let mut total = 0usize;
    while let Some(chunk) = body.chunk().await {
        let chunk = chunk.map_err(BodyError::Transport)?;
        total = total.saturating_add(chunk.len());
        if total > limit {
            return Err(BodyError::TooLarge);
        }
        match (&mut gathered, first.take()) {
            (Some(gathering), _) => gathering.extend(&chunk),
            (None, None) => first = Some(chunk),
            (None, Some(earlier)) => {
                let mut gathering = buffers.take(declared.unwrap_or(total).max(total));
                gathering.extend(&earlier);
                gathering.extend(&chunk);
                gathered = Some(gathering);
            }
        }
    }
    Ok(match gathered {
        Some(gathering) => gathering.freeze(),
        None => first.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body of fixed chunks, counting how many were read.
    struct Chunks(std::collections::VecDeque<Bytes>, usize);

    impl AnswerBody for Chunks {
        type Error = std::io::Error;

        async fn chunk(&mut self) -> Option<Result<Bytes, Self::Error>> {
            let next = self.0.pop_front()?;
            self.1 += 1;
            Some(Ok(next))
        }

        async fn trailers(&mut self) -> Result<Option<HeaderMap>, Self::Error> {
            Ok(None)
        }
    }

    fn pool() -> Arc<BodyBuffers> {
        BodyBuffers::new(crate::neutral::buffers::DEFAULT_IDLE_BYTES)
    }

    fn chunks(parts: &[&str]) -> Chunks {
        Chunks(
            parts
                .iter()
                .map(|p| Bytes::copy_from_slice(p.as_bytes()))
                .collect(),
            0,
        )
    }

    #[tokio::test]
    async fn a_body_comes_out_whole_however_it_is_split() {
        for parts in [
            &[][..],
            &["abcdef"],
            &["ab", "cd", "ef"],
            &["", "abc", "", "def"],
        ] {
            let mut body = chunks(parts);
            let whole = read_whole(&mut body, None, 6, &pool()).await.unwrap();
            assert_eq!(&whole[..], parts.concat().as_bytes());
        }
    }

    #[tokio::test]
    async fn a_declared_length_over_the_limit_is_refused_before_reading() {
        let mut body = chunks(&["abc", "def"]);
        let refused = read_whole(&mut body, Some(7), 6, &pool()).await;
        assert!(matches!(refused, Err(BodyError::TooLarge)));
        assert_eq!(body.1, 0, "nothing may be read");
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_refused_whatever_it_declared() {
        let mut body = chunks(&["abc", "def", "g"]);
        let refused = read_whole(&mut body, Some(6), 6, &pool()).await;
        assert!(matches!(refused, Err(BodyError::TooLarge)));
        let mut body = chunks(&["abcdefg"]);
        assert!(matches!(
            read_whole(&mut body, None, 6, &pool()).await,
            Err(BodyError::TooLarge)
        ));
    }

    #[test]
    fn declared_lengths_are_checked_against_the_limit() {
        assert_eq!(check_declared(6, 6), Ok(6));
        assert_eq!(check_declared(7, 6), Err(7));
        assert_eq!(check_declared(u64::MAX, usize::MAX - 1), Err(u64::MAX));
    }
}
