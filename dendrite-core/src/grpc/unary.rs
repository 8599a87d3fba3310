//! A gRPC unary call on an HTTP/2 connection, without tonic's `Channel` and `Streaming`: the
//! request is one length-prefixed frame encoded once (shared by every endpoint that gets the
//! same input), and the response's DATA frames are gathered once into the message they carry.
//!
//! A message that arrives in one frame is decoded where it lies (protobuf `bytes` fields alias
//! it); one spread over frames is copied once into a buffer of exactly its declared length.
//!
//! Status handling follows gRPC over HTTP/2 as tonic implements it (trailers-only answers,
//! `grpc-status` in trailers, HTTP statuses without one, the same messages for oversize and
//! undecodable bodies), so codes and messages are unchanged for callers.
//!
//! **Invariants:** a response is never buffered beyond `limit` bytes, compressed or not: a
//! declared length over the limit is refused before anything is allocated, and data beyond the
//! declared length is an error.

use std::io::Read;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use dendrite_wire::proto::TensorMessage;
use dendrite_wire::Compression;
use http::HeaderMap;
use tonic::{Code, Status};

use super::results::CallFailure;
use crate::neutral::phases::Probe;
use crate::neutral::transport::{check_declared, one_part, AnswerBody, Exchange};

/// Length of the gRPC message prefix: a compressed flag and a big-endian u32 length.
pub(crate) const PREFIX_LEN: usize = 5;

/// `message` as one gRPC length-prefixed frame, compressed when asked.
pub(crate) fn encode_frame(
    message: &TensorMessage,
    compression: Option<Compression>,
) -> Result<Bytes, Status> {
    let len = prost::Message::encoded_len(message);
    let mut frame = BytesMut::with_capacity(PREFIX_LEN + len);
    frame.put_bytes(0, PREFIX_LEN);
    prost::Message::encode(message, &mut frame)
        .map_err(|e| Status::internal(format!("failed to encode Protobuf message: {e}")))?;
    if let Some(compression) = compression {
        let compressed = compress(compression, &frame[PREFIX_LEN..])
            .map_err(|e| Status::internal(format!("Error compressing: {e}")))?;
        frame.truncate(0);
        frame.put_u8(1);
        frame.put_u32(message_len(compressed.len())?);
        frame.extend_from_slice(&compressed);
        return Ok(frame.freeze());
    }
    frame[1..PREFIX_LEN].copy_from_slice(&message_len(len)?.to_be_bytes());
    Ok(frame.freeze())
}

/// [`encode_frame`] with a failure as the call's outcome. Every receptor of a client sends the
/// `grpc-encoding` of `config.receptor.compression`, so a frame encoded with it (once, for every
/// endpoint that gets the same input) goes to any of them.
pub(crate) fn encode_request(
    message: &TensorMessage,
    compression: Option<Compression>,
) -> Result<Bytes, CallFailure> {
    encode_frame(message, compression).map_err(|s| CallFailure::from_status(&s))
}

fn message_len(len: usize) -> Result<u32, Status> {
    u32::try_from(len).map_err(|_| {
        Status::resource_exhausted(format!(
            "Error, encoded message length too large: found {len} bytes, the limit is: {} bytes",
            u32::MAX
        ))
    })
}

fn compress(compression: Compression, data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len() / 2 + 64);
    match compression {
        Compression::Gzip => {
            flate2::read::GzEncoder::new(data, flate2::Compression::new(6)).read_to_end(&mut out)?
        }
        Compression::Zstd => {
            zstd::stream::read::Encoder::new(data, zstd::DEFAULT_COMPRESSION_LEVEL)?
                .read_to_end(&mut out)?
        }
    };
    Ok(out)
}

/// At most `limit` bytes of `data` decompressed; more is the "too large" error.
fn decompress(compression: Compression, data: &[u8], limit: usize) -> Result<Bytes, Status> {
    let mut out = Vec::new();
    let cap = limit as u64 + 1;
    let read = match compression {
        Compression::Gzip => flate2::read::GzDecoder::new(data)
            .take(cap)
            .read_to_end(&mut out),
        Compression::Zstd => {
            zstd::stream::read::Decoder::new(data).and_then(|d| d.take(cap).read_to_end(&mut out))
        }
    };
    read.map_err(|e| Status::internal(format!("Error decompressing: {e}")))?;
    if out.len() > limit {
        return Err(too_large(out.len(), limit));
    }
    Ok(Bytes::from(out))
}

fn too_large(len: usize, limit: usize) -> Status {
    Status::out_of_range(format!(
        "Error, decoded message length too large: found {len} bytes, the limit is: {limit} bytes"
    ))
}

/// The `grpc-timeout` header value of `timeout`: the most precise unit that fits the
/// protocol's eight digits.
pub(crate) fn grpc_timeout(timeout: Duration) -> String {
    const MAX: u128 = 99_999_999;
    let secs = u128::from(timeout.as_secs());
    [
        (timeout.as_nanos(), 'n'),
        (timeout.as_micros(), 'u'),
        (timeout.as_millis(), 'm'),
        (secs, 'S'),
        (secs / 60, 'M'),
        (secs / 3600, 'H'),
    ]
    .into_iter()
    .find(|(value, _)| *value <= MAX)
    .map_or_else(
        || format!("{MAX}H"),
        |(value, unit)| format!("{value}{unit}"),
    )
}

/// The response body's DATA frames gathered into the one message they carry.
#[derive(Debug)]
pub(crate) struct Gather {
    limit: usize,
    /// Bytes received before the prefix was complete (at most `PREFIX_LEN - 1` of them).
    head: Vec<u8>,
    /// Compressed flag and length, once the prefix is in.
    prefix: Option<(bool, usize)>,
    /// The message so far when it spans frames; reserved at exactly its declared length.
    spread: BytesMut,
    /// The message when it arrived whole inside one frame.
    whole: Option<Bytes>,
}

impl Gather {
    /// A gatherer of one message of at most `limit` bytes.
    pub(crate) fn new(limit: usize) -> Self {
        Gather {
            limit,
            head: Vec::with_capacity(PREFIX_LEN),
            prefix: None,
            spread: BytesMut::new(),
            whole: None,
        }
    }

    /// Takes one DATA frame.
    pub(crate) fn push(&mut self, mut data: Bytes) -> Result<(), Status> {
        if self.prefix.is_none() {
            let need = PREFIX_LEN - self.head.len();
            let take = need.min(data.len());
            self.head.extend_from_slice(&data[..take]);
            data.advance(take);
            if self.head.len() < PREFIX_LEN {
                return Ok(());
            }
            self.prefix = Some(self.read_prefix()?);
        }
        let Some((_, len)) = self.prefix else {
            return Ok(());
        };
        if data.is_empty() {
            return Ok(());
        }
        if self.whole.is_some() || self.spread.len() + data.len() > len {
            return Err(Status::internal(
                "protocol error: a unary response carried more than one message",
            ));
        }
        if self.spread.is_empty() && data.len() == len {
            self.whole = Some(data);
            return Ok(());
        }
        if self.spread.capacity() == 0 {
            self.spread.reserve(len);
        }
        self.spread.extend_from_slice(&data);
        Ok(())
    }

    fn read_prefix(&self) -> Result<(bool, usize), Status> {
        let compressed = match self.head[0] {
            0 => false,
            1 => true,
            flag => {
                return Err(Status::internal(format!(
                    "protocol error: received message with invalid compression flag: {flag} \
                     (valid flags are 0 and 1) while receiving response with status: 200 OK"
                )))
            }
        };
        let len = u32::from_be_bytes([self.head[1], self.head[2], self.head[3], self.head[4]]);
        let len = check_declared(u64::from(len), self.limit)
            .map_err(|len| too_large(len as usize, self.limit))?;
        Ok((compressed, len))
    }

    /// The bytes this gatherer holds or has reserved: never more than its limit and the prefix.
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.head.len() + self.spread.capacity() + self.whole.as_ref().map_or(0, Bytes::len)
    }

    /// The message (decompressed when its flag says so), or `None` when the body carried none.
    pub(crate) fn finish(self, encoding: Option<Compression>) -> Result<Option<Bytes>, Status> {
        let Some((compressed, len)) = self.prefix else {
            return if self.head.is_empty() {
                Ok(None)
            } else {
                Err(Status::internal(
                    "protocol error: the response ended inside a message prefix",
                ))
            };
        };
        let message = match self.whole {
            Some(whole) => whole,
            None if self.spread.len() == len => self.spread.freeze(),
            None => {
                return Err(Status::internal(format!(
                    "protocol error: the response ended after {} of the message's {len} bytes",
                    self.spread.len()
                )))
            }
        };
        if !compressed {
            return Ok(Some(message));
        }
        let Some(encoding) = encoding else {
            return Err(Status::internal(
                "protocol error: received message with compressed-flag but no grpc-encoding was specified",
            ));
        };
        decompress(encoding, &message, self.limit).map(Some)
    }
}

/// The compression a response says it uses; anything but gzip, zstd and identity is refused.
fn response_encoding(headers: &HeaderMap) -> Result<Option<Compression>, Status> {
    let Some(value) = headers.get("grpc-encoding") else {
        return Ok(None);
    };
    let name = value.to_str().unwrap_or_default();
    if name == "identity" {
        return Ok(None);
    }
    Compression::from_name(name).map(Some).ok_or_else(|| {
        Status::unimplemented(format!(
            "Content is compressed with `{}` which isn't supported",
            String::from_utf8_lossy(value.as_bytes())
        ))
    })
}

/// A status from an HTTP status without `grpc-status`, as gRPC maps them.
fn status_from_http(status: http::StatusCode) -> Status {
    let code = match status {
        http::StatusCode::BAD_REQUEST => Code::Internal,
        http::StatusCode::UNAUTHORIZED => Code::Unauthenticated,
        http::StatusCode::FORBIDDEN => Code::PermissionDenied,
        http::StatusCode::NOT_FOUND => Code::Unimplemented,
        http::StatusCode::TOO_MANY_REQUESTS
        | http::StatusCode::BAD_GATEWAY
        | http::StatusCode::SERVICE_UNAVAILABLE
        | http::StatusCode::GATEWAY_TIMEOUT => Code::Unavailable,
        _ => Code::Unknown,
    };
    Status::new(
        code,
        format!(
            "grpc-status header missing, mapped from HTTP status code {}",
            status.as_u16()
        ),
    )
}

/// A transport failure as a status, as tonic maps h2's errors (a reset stream's reason picks
/// the code; an I/O error keeps its source, so [`crate::grpc::results::CallFailure::from_status`]
/// can tell a dropped connection).
fn transport_status(error: impl std::error::Error + Send + Sync + 'static) -> Status {
    Status::from_error(Box::new(error))
}

/// Sends `request` with `frame` as its body on `transport` (a stream of a receptor's link) and
/// reads the one message of the answer, of at most `limit` bytes. Marks the probe's request
/// sent, response headers and body end.
pub(crate) async fn call<T: Exchange>(
    mut transport: T,
    request: http::Request<()>,
    frame: Bytes,
    probe: &Probe,
    limit: usize,
) -> Result<TensorMessage, Status> {
    let response = transport
        .exchange(request, one_part(frame), probe)
        .await
        .map_err(transport_status)?;
    let (parts, mut body) = response.into_parts();
    if let Some(status) = Status::from_header_map(&parts.headers) {
        // Trailers-only: the status came with the headers and nothing follows.
        probe.mark_body_end();
        return Err(if status.code() == Code::Ok {
            Status::internal("Missing response message.")
        } else {
            status
        });
    }
    if parts.status != http::StatusCode::OK {
        probe.mark_body_end();
        return Err(status_from_http(parts.status));
    }
    let encoding = response_encoding(&parts.headers)?;
    let mut gather = Gather::new(limit);
    while let Some(data) = body.chunk().await {
        let data = data.map_err(transport_status)?;
        probe.count_received(data.len());
        gather.push(data)?;
    }
    let trailers = body.trailers().await.map_err(transport_status)?;
    probe.mark_body_end();
    let message = gather.finish(encoding)?;
    match trailers.as_ref().and_then(Status::from_header_map) {
        Some(status) if status.code() != Code::Ok => return Err(status),
        Some(_) => {}
        None => {
            return Err(Status::unknown(
                "protocol error: missing grpc-status trailer, stream was terminated without a final status",
            ))
        }
    }
    let message = message.ok_or_else(|| Status::internal("Missing response message."))?;
    <TensorMessage as prost::Message>::decode(message)
        .map_err(|e| Status::internal(format!("failed to decode Protobuf message: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn framed(message: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8];
        out.extend_from_slice(&(message.len() as u32).to_be_bytes());
        out.extend_from_slice(message);
        out
    }

    fn gather_in(chunks: &[Vec<u8>], limit: usize) -> Result<(Option<Bytes>, usize), Status> {
        let mut gather = Gather::new(limit);
        let mut most = 0;
        for chunk in chunks {
            gather.push(Bytes::copy_from_slice(chunk))?;
            most = most.max(gather.held());
        }
        Ok((gather.finish(None)?, most))
    }

    fn split(data: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
        cuts.sort_unstable();
        let mut chunks = Vec::new();
        let mut at = 0;
        for cut in cuts.into_iter().chain([data.len()]) {
            chunks.push(data[at..cut].to_vec());
            at = cut;
        }
        chunks
    }

    proptest! {
        /// However the frames split the message, it comes out whole, and what the gatherer
        /// holds never exceeds the limit on the way.
        #[test]
        fn any_split_gathers_the_message_within_the_ceiling(
            message in proptest::collection::vec(any::<u8>(), 0..3000),
            cuts in proptest::collection::vec(any::<usize>(), 0..8),
            slack in 0usize..64,
        ) {
            let limit = message.len() + slack;
            let (got, most) = gather_in(&split(&framed(&message), &cuts), limit).unwrap();
            prop_assert_eq!(got.as_deref(), Some(&message[..]));
            prop_assert!(most <= limit + PREFIX_LEN, "held {} of {}", most, limit);
        }

        /// A message over the limit is refused however it is split, before it is buffered.
        #[test]
        fn over_the_limit_is_refused_whatever_the_split(
            message in proptest::collection::vec(any::<u8>(), 1..3000),
            cuts in proptest::collection::vec(any::<usize>(), 0..8),
        ) {
            let limit = message.len() - 1;
            let err = gather_in(&split(&framed(&message), &cuts), limit).unwrap_err();
            prop_assert!(err.message().contains("too large"), "{}", err.message());
        }
    }

    #[test]
    fn a_claimed_length_over_the_limit_allocates_nothing() {
        let mut gather = Gather::new(1 << 20);
        let err = gather
            .push(Bytes::from_static(&[0, 0xEE, 0x6B, 0x28, 0x00]))
            .unwrap_err();
        assert!(err.message().contains("too large"));
        assert_eq!(gather.spread.capacity(), 0);
    }

    #[test]
    fn one_frame_holding_the_message_is_not_copied() {
        let frame = Bytes::from(framed(b"hello"));
        let mut gather = Gather::new(64);
        gather.push(frame.clone()).unwrap();
        let message = gather.finish(None).unwrap().unwrap();
        assert_eq!(&message[..], b"hello");
        assert_eq!(message.as_ptr(), frame[PREFIX_LEN..].as_ptr());
    }

    #[test]
    fn a_second_message_or_a_short_body_is_an_error() {
        let mut two = framed(b"ab");
        two.extend(framed(b"cd"));
        assert!(gather_in(&[two], 64).is_err());
        let mut short = framed(b"abcdef");
        short.truncate(8);
        assert!(gather_in(&[short], 64).is_err());
        assert!(gather_in(&[vec![0, 0]], 64).is_err());
        assert_eq!(gather_in(&[], 64).unwrap().0, None);
    }

    #[test]
    fn compressed_frames_round_trip_and_respect_the_limit() {
        let message = TensorMessage {
            hotkey: "x".repeat(5000),
            ..Default::default()
        };
        for compression in [Compression::Gzip, Compression::Zstd] {
            let frame = encode_frame(&message, Some(compression)).unwrap();
            assert_eq!(frame[0], 1);
            let mut gather = Gather::new(1 << 20);
            gather.push(frame.clone()).unwrap();
            let plain = gather.finish(Some(compression)).unwrap().unwrap();
            let decoded = <TensorMessage as prost::Message>::decode(plain).unwrap();
            assert_eq!(decoded, message);
            let mut small = Gather::new(4000);
            small.push(frame).unwrap();
            let err = small.finish(Some(compression)).unwrap_err();
            assert!(err.message().contains("too large"), "{}", err.message());
        }
    }

    #[test]
    fn grpc_timeouts_use_eight_digits_at_most() {
        assert_eq!(grpc_timeout(Duration::from_millis(50)), "50000000n");
        assert_eq!(grpc_timeout(Duration::from_secs(12)), "12000000u");
        assert_eq!(grpc_timeout(Duration::from_secs(1000)), "1000000m");
        assert_eq!(grpc_timeout(Duration::from_secs(200_000)), "200000S");
    }
}
