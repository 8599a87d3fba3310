//! HTTP/1.1's framing as the client reads it, apart from any socket: bytes in, decisions out
//! ([`parse_head`]: an answer's head, interim answers dropped; [`Framing::decode`]: its body
//! by its declared length, its chunks and trailers, or until the close; [`encode_head`]: a
//! request's head as it goes out), so that it is tested and fuzzed without one.
//!
//! **Invariants:** nothing here holds more than its bound: a head at most `max_head_bytes`
//! (trailers too) and `max_headers` lines, a chunk-size line at most [`MAX_CHUNK_LINE`]; a
//! malformed answer is a typed error ([`H1Error`]), never a panic; an answer is reusable only
//! when HTTP/1.1 lets its connection carry another request (a persistent connection, a body
//! not delimited by the close nor framed two ways).

use std::io;

use bytes::{Buf as _, Bytes, BytesMut};
use http::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_LENGTH, TRANSFER_ENCODING};

/// The longest chunk-size line (the size and any chunk extensions), bytes.
pub(crate) const MAX_CHUNK_LINE: usize = 4096;

/// The bounds of an answer's head.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// The most header lines.
    pub max_headers: usize,
    /// The most bytes of a head (and of a chunked body's trailers).
    pub max_head_bytes: usize,
}

/// Why an exchange on the connection failed.
#[derive(Debug)]
pub(crate) enum H1Error {
    /// The connection closed before a byte of the answer came.
    Closed,
    /// The connection closed in the middle of an answer.
    Incomplete,
    /// The answer broke HTTP/1.1's framing.
    Malformed(String),
    /// The answer's head (or trailers) went over its bound.
    TooLarge(&'static str),
    /// The socket failed.
    Io(io::Error),
}

impl H1Error {
    /// Whether the connection went away (closed, cut or reset) rather than saying something
    /// wrong: the axon disconnected.
    pub fn is_disconnect(&self) -> bool {
        match self {
            H1Error::Closed | H1Error::Incomplete => true,
            H1Error::Io(e) => matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe
                    | io::ErrorKind::UnexpectedEof
            ),
            H1Error::Malformed(_) | H1Error::TooLarge(_) => false,
        }
    }
}

impl std::fmt::Display for H1Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            H1Error::Closed => f.write_str("connection closed before an answer"),
            H1Error::Incomplete => f.write_str("connection closed before message completed"),
            H1Error::Malformed(why) => write!(f, "invalid HTTP/1.1 answer: {why}"),
            H1Error::TooLarge(what) => write!(f, "the answer's {what} is over its bound"),
            H1Error::Io(e) => write!(f, "connection error: {e}"),
        }
    }
}

impl std::error::Error for H1Error {}

impl From<io::Error> for H1Error {
    fn from(e: io::Error) -> Self {
        H1Error::Io(e)
    }
}

/// How an answer's body is delimited (RFC 9112 §6.3), and how far it has been read.
#[derive(Debug)]
pub(crate) enum Framing {
    /// No body (an answer to `HEAD`, a 204 or a 304).
    Empty,
    /// This many bytes are left of a declared length.
    Length(u64),
    /// Chunked, at this point of a chunk.
    Chunked(Chunk),
    /// Everything until the connection closes.
    UntilClose,
    /// Read to its end.
    Done,
}

/// Where a chunked body's reading is.
#[derive(Debug)]
pub(crate) enum Chunk {
    /// At a chunk-size line.
    Size,
    /// In a chunk's data, this many bytes left.
    Data(u64),
    /// At the line end after a chunk's data.
    DataEnd,
    /// At the trailers after the last chunk.
    Trailers,
}

/// What [`Framing::decode`] made of the bytes at hand.
#[derive(Debug, PartialEq)]
pub(crate) enum Step {
    /// Body bytes.
    Data(Bytes),
    /// More bytes are needed from the socket.
    More,
    /// The body ended.
    End,
}

/// An answer's head as read: its status and headers, how its body is framed, and whether the
/// connection may carry another request after it.
#[derive(Debug)]
pub(crate) struct AnswerHead {
    pub parts: http::response::Parts,
    pub framing: Framing,
    pub reusable: bool,
}

/// Reads one answer head off the front of `buf` (interim 1xx answers before it are dropped):
/// `Ok(None)` while it is incomplete. `method` is the request's (an answer to `HEAD` has no
/// body).
pub(crate) fn parse_head(
    buf: &mut BytesMut,
    limits: Limits,
    method: &http::Method,
) -> Result<Option<AnswerHead>, H1Error> {
    loop {
        let mut headers = vec![httparse::EMPTY_HEADER; limits.max_headers.max(1)];
        let mut answer = httparse::Response::new(&mut headers);
        let length = match answer.parse(buf) {
            Ok(httparse::Status::Complete(length)) => length,
            Ok(httparse::Status::Partial) if buf.len() >= limits.max_head_bytes => {
                return Err(H1Error::TooLarge("head"));
            }
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(httparse::Error::TooManyHeaders) => return Err(H1Error::TooLarge("header count")),
            Err(e) => return Err(H1Error::Malformed(e.to_string())),
        };
        if length > limits.max_head_bytes {
            return Err(H1Error::TooLarge("head"));
        }
        let code = answer.code.unwrap_or_default();
        let status = http::StatusCode::from_u16(code)
            .map_err(|_| H1Error::Malformed(format!("status {code}")))?;
        if status.is_informational() && status != http::StatusCode::SWITCHING_PROTOCOLS {
            buf.advance(length);
            continue;
        }
        let version = match answer.version {
            Some(1) => http::Version::HTTP_11,
            _ => http::Version::HTTP_10,
        };
        let mut map = HeaderMap::with_capacity(answer.headers.len());
        for header in answer.headers.iter() {
            let name = HeaderName::from_bytes(header.name.as_bytes())
                .map_err(|_| H1Error::Malformed(format!("header name {:?}", header.name)))?;
            let value = HeaderValue::from_bytes(header.value)
                .map_err(|_| H1Error::Malformed(format!("the value of {name}")))?;
            map.append(name, value);
        }
        buf.advance(length);
        if status == http::StatusCode::SWITCHING_PROTOCOLS {
            return Err(H1Error::Malformed("an unasked protocol switch".into()));
        }
        let (framing, delimited) = framing_of(status, &map, method)?;
        let persistent =
            version == http::Version::HTTP_11 && !has_token(&map, "connection", "close");
        let mut parts = http::Response::new(()).into_parts().0;
        parts.status = status;
        parts.version = version;
        parts.headers = map;
        return Ok(Some(AnswerHead {
            parts,
            framing,
            reusable: persistent && delimited,
        }));
    }
}

/// The body's framing, and whether its end is known without the connection closing (and a
/// length not contradicted by a transfer coding).
fn framing_of(
    status: http::StatusCode,
    headers: &HeaderMap,
    method: &http::Method,
) -> Result<(Framing, bool), H1Error> {
    if method == http::Method::HEAD
        || status == http::StatusCode::NO_CONTENT
        || status == http::StatusCode::NOT_MODIFIED
    {
        return Ok((Framing::Empty, true));
    }
    if headers.contains_key(TRANSFER_ENCODING) {
        let chunked = last_coding(headers).is_some_and(|c| c.eq_ignore_ascii_case("chunked"));
        let clean = !headers.contains_key(CONTENT_LENGTH);
        return Ok(match chunked {
            true => (Framing::Chunked(Chunk::Size), clean),
            false => (Framing::UntilClose, false),
        });
    }
    let mut declared: Option<u64> = None;
    for value in headers.get_all(CONTENT_LENGTH) {
        let text = value
            .to_str()
            .map_err(|_| H1Error::Malformed("content-length".into()))?;
        for item in text.split(',') {
            let item = item.trim();
            let valid = !item.is_empty() && item.bytes().all(|b| b.is_ascii_digit());
            let length = item
                .parse::<u64>()
                .ok()
                .filter(|_| valid)
                .ok_or_else(|| H1Error::Malformed(format!("content-length {item:?}")))?;
            if declared.is_some_and(|d| d != length) {
                return Err(H1Error::Malformed("content-lengths that differ".into()));
            }
            declared = Some(length);
        }
    }
    Ok(match declared {
        Some(length) => (Framing::Length(length), true),
        None => (Framing::UntilClose, false),
    })
}

/// The last transfer coding named.
fn last_coding(headers: &HeaderMap) -> Option<&str> {
    let last = headers.get_all(TRANSFER_ENCODING).iter().next_back()?;
    last.to_str().ok()?.rsplit(',').next().map(str::trim)
}

/// Whether a comma-separated header lists `token` (case-insensitively).
fn has_token(headers: &HeaderMap, name: &str, token: &str) -> bool {
    headers.get_all(name).iter().any(|value| {
        value.to_str().is_ok_and(|text| {
            text.split(',')
                .any(|item| item.trim().eq_ignore_ascii_case(token))
        })
    })
}

impl Framing {
    /// The next body bytes from `buf`: data, a need for more, or the end (`trailers` set when a
    /// chunked body brings some). `closed` says the socket has closed: the end of a body
    /// delimited by the close, a cut anywhere else.
    pub fn decode(
        &mut self,
        buf: &mut BytesMut,
        trailers: &mut Option<HeaderMap>,
        limits: Limits,
        closed: bool,
    ) -> Result<Step, H1Error> {
        loop {
            let step = match self {
                Framing::Empty | Framing::Done | Framing::Length(0) => {
                    *self = Framing::Done;
                    return Ok(Step::End);
                }
                Framing::Length(left) => take(buf, left),
                Framing::UntilClose if buf.is_empty() && closed => {
                    *self = Framing::Done;
                    return Ok(Step::End);
                }
                Framing::UntilClose => match buf.is_empty() {
                    true => Step::More,
                    false => Step::Data(buf.split().freeze()),
                },
                Framing::Chunked(chunk) => match chunk_step(chunk, buf, trailers, limits)? {
                    Some(Step::End) => {
                        *self = Framing::Done;
                        return Ok(Step::End);
                    }
                    Some(step) => step,
                    None => continue,
                },
            };
            return match step {
                Step::More if closed => Err(H1Error::Incomplete),
                step => Ok(step),
            };
        }
    }
}

/// Up to `left` bytes from `buf`, counted off.
fn take(buf: &mut BytesMut, left: &mut u64) -> Step {
    if buf.is_empty() {
        return Step::More;
    }
    let n = usize::try_from(*left).map_or(buf.len(), |left| left.min(buf.len()));
    *left -= n as u64;
    Step::Data(buf.split_to(n).freeze())
}

/// One step of a chunked body: `Some` a step to report, `None` when a line was read and the
/// next state should be tried.
fn chunk_step(
    chunk: &mut Chunk,
    buf: &mut BytesMut,
    trailers: &mut Option<HeaderMap>,
    limits: Limits,
) -> Result<Option<Step>, H1Error> {
    match chunk {
        Chunk::Size => {
            let line = &buf[..buf.len().min(MAX_CHUNK_LINE + 1)];
            let Some(end) = line.iter().position(|&b| b == b'\n') else {
                return match buf.len() > MAX_CHUNK_LINE {
                    true => Err(H1Error::TooLarge("chunk-size line")),
                    false => Ok(Some(Step::More)),
                };
            };
            if end > MAX_CHUNK_LINE {
                return Err(H1Error::TooLarge("chunk-size line"));
            }
            let line = buf.split_to(end + 1);
            let size = chunk_size(&line)?;
            *chunk = match size {
                0 => Chunk::Trailers,
                size => Chunk::Data(size),
            };
            Ok(None)
        }
        Chunk::Data(left) => {
            let step = take(buf, left);
            if *left == 0 {
                *chunk = Chunk::DataEnd;
            }
            Ok(Some(step))
        }
        Chunk::DataEnd => {
            let ending = match &buf[..] {
                [b'\n', ..] => 1,
                [b'\r', b'\n', ..] => 2,
                [] | [b'\r'] => return Ok(Some(Step::More)),
                _ => return Err(H1Error::Malformed("no line end after a chunk".into())),
            };
            buf.advance(ending);
            *chunk = Chunk::Size;
            Ok(None)
        }
        Chunk::Trailers => {
            let mut headers = vec![httparse::EMPTY_HEADER; limits.max_headers.max(1)];
            match httparse::parse_headers(buf, &mut headers) {
                Ok(httparse::Status::Complete((length, lines))) => {
                    if length > limits.max_head_bytes {
                        return Err(H1Error::TooLarge("trailers"));
                    }
                    let mut map = HeaderMap::new();
                    for line in lines {
                        if let (Ok(name), Ok(value)) = (
                            HeaderName::from_bytes(line.name.as_bytes()),
                            HeaderValue::from_bytes(line.value),
                        ) {
                            map.append(name, value);
                        }
                    }
                    buf.advance(length);
                    *trailers = (!map.is_empty()).then_some(map);
                    Ok(Some(Step::End))
                }
                Ok(httparse::Status::Partial) if buf.len() >= limits.max_head_bytes => {
                    Err(H1Error::TooLarge("trailers"))
                }
                Ok(httparse::Status::Partial) => Ok(Some(Step::More)),
                Err(httparse::Error::TooManyHeaders) => Err(H1Error::TooLarge("trailer count")),
                Err(e) => Err(H1Error::Malformed(format!("trailers: {e}"))),
            }
        }
    }
}

/// The size of a chunk-size line (hex digits, then optional whitespace and extensions).
fn chunk_size(line: &[u8]) -> Result<u64, H1Error> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let digits_end = line
        .iter()
        .position(|b| !b.is_ascii_hexdigit())
        .unwrap_or(line.len());
    let (digits, rest) = line.split_at(digits_end);
    let rest_ok = rest
        .iter()
        .position(|&b| b == b';')
        .map_or(rest, |at| &rest[..at])
        .iter()
        .all(|&b| b == b' ' || b == b'\t');
    if digits.is_empty() || digits.len() > 16 || !rest_ok {
        return Err(H1Error::Malformed("a chunk-size line".into()));
    }
    digits
        .iter()
        .try_fold(0u64, |size, &b| {
            let digit = (b as char).to_digit(16)?;
            size.checked_mul(16)?.checked_add(u64::from(digit))
        })
        .ok_or_else(|| H1Error::Malformed("a chunk size".into()))
}

/// The bytes of a request's head as it goes out: the request line, then each header as
/// `name: value` (names as the map holds them, lowercase), then a `content-length` when the
/// head declares none and the body is not empty.
pub(crate) fn encode_head(head: &http::Request<()>, body_len: usize) -> Vec<u8> {
    let headers = head.headers();
    let room = 64
        + headers
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len() + 4)
            .sum::<usize>();
    let mut out = Vec::with_capacity(room);
    out.extend_from_slice(head.method().as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(head.uri().to_string().as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let declared = headers.contains_key(CONTENT_LENGTH) || headers.contains_key(TRANSFER_ENCODING);
    if !declared && body_len > 0 {
        out.extend_from_slice(format!("content-length: {body_len}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Reads `bytes` as a connection's answers to `GET` requests, handed over in two reads split
/// at `cut`: every head and body in turn, as the client reads them, until the bytes run out or
/// one breaks the rules (for the fuzz target: any bytes end in a typed error or the answers,
/// never a panic, and the split never changes what is read). The bodies, each joined, in order.
pub fn read_answers(bytes: &[u8], cut: usize) -> Result<Vec<(u16, Vec<u8>)>, String> {
    let limits = Limits {
        max_headers: 32,
        max_head_bytes: 4096,
    };
    let cut = cut.min(bytes.len());
    let mut reads = [&bytes[..cut], &bytes[cut..]].into_iter();
    let mut buf = BytesMut::new();
    let mut closed = false;
    let mut more = |buf: &mut BytesMut, closed: &mut bool| match reads.next() {
        Some(read) => buf.extend_from_slice(read),
        None => *closed = true,
    };
    let mut answers = Vec::new();
    loop {
        let head = loop {
            match parse_head(&mut buf, limits, &http::Method::GET).map_err(|e| e.to_string())? {
                Some(head) => break head,
                None if closed => return Ok(answers),
                None => more(&mut buf, &mut closed),
            }
        };
        let (mut framing, mut trailers, mut body) = (head.framing, None, Vec::new());
        loop {
            match framing.decode(&mut buf, &mut trailers, limits, closed) {
                Ok(Step::Data(data)) => body.extend_from_slice(&data),
                Ok(Step::More) => more(&mut buf, &mut closed),
                Ok(Step::End) => break,
                Err(e) => return Err(e.to_string()),
            }
        }
        answers.push((head.parts.status.as_u16(), body));
        if !head.reusable {
            return Ok(answers);
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

    fn head_of(text: &str) -> Result<Option<AnswerHead>, H1Error> {
        parse_head(&mut BytesMut::from(text), LIMITS, &http::Method::POST)
    }

    fn framing_of_text(text: &str) -> (String, bool) {
        let head = head_of(text).unwrap().unwrap();
        (format!("{:?}", head.framing), head.reusable)
    }

    #[test]
    fn a_head_is_read_once_whole_and_interim_answers_are_dropped() {
        let text = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello";
        for end in 0..text.len() - 5 {
            let mut buf = BytesMut::from(&text[..end]);
            let partial = parse_head(&mut buf, LIMITS, &http::Method::POST).unwrap();
            assert!(partial.is_none() || end >= text.len() - 5, "{end}");
        }
        let mut buf = BytesMut::from(text);
        let head = parse_head(&mut buf, LIMITS, &http::Method::POST)
            .unwrap()
            .unwrap();
        assert_eq!(head.parts.status, 200);
        assert_eq!(head.parts.headers["x-a"], "b");
        assert!(matches!(head.framing, Framing::Length(5)));
        assert!(head.reusable);
        assert_eq!(&buf[..], b"hello", "the body stays for the framing");
    }

    #[test]
    fn heads_over_their_bounds_are_refused_before_more_is_read() {
        let long = format!("HTTP/1.1 200 OK\r\nx: {}\r\n", "a".repeat(300));
        assert!(matches!(head_of(&long), Err(H1Error::TooLarge("head"))));
        let many: String = (0..9).map(|i| format!("x{i}: y\r\n")).collect();
        let many = format!("HTTP/1.1 200 OK\r\n{many}\r\n");
        assert!(matches!(head_of(&many), Err(H1Error::TooLarge(_))));
        assert!(matches!(
            head_of("HTTP/1.1 2000 OK\r\n\r\n"),
            Err(H1Error::Malformed(_))
        ));
        assert!(matches!(
            head_of("SSH-2.0-x\r\n\r\n"),
            Err(H1Error::Malformed(_))
        ));
        assert!(matches!(
            head_of("HTTP/1.1 101 Switching\r\n\r\n"),
            Err(H1Error::Malformed(_))
        ));
    }

    #[test]
    fn framing_and_reuse_follow_rfc_9112() {
        let cases = [
            (
                "HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\n",
                "Length(3)",
                true,
            ),
            (
                "HTTP/1.1 200 OK\r\ncontent-length: 3, 3\r\ncontent-length: 3\r\n\r\n",
                "Length(3)",
                true,
            ),
            ("HTTP/1.1 204 No Content\r\n\r\n", "Empty", true),
            (
                "HTTP/1.1 304 Not Modified\r\ncontent-length: 9\r\n\r\n",
                "Empty",
                true,
            ),
            (
                "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
                "Chunked(Size)",
                true,
            ),
            (
                "HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, Chunked\r\n\r\n",
                "Chunked(Size)",
                true,
            ),
            (
                "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-length: 3\r\n\r\n",
                "Chunked(Size)",
                false,
            ),
            (
                "HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n",
                "UntilClose",
                false,
            ),
            ("HTTP/1.1 200 OK\r\n\r\n", "UntilClose", false),
            (
                "HTTP/1.1 200 OK\r\ncontent-length: 3\r\nconnection: keep-alive, Close\r\n\r\n",
                "Length(3)",
                false,
            ),
            (
                "HTTP/1.0 200 OK\r\ncontent-length: 3\r\n\r\n",
                "Length(3)",
                false,
            ),
        ];
        for (text, framing, reusable) in cases {
            assert_eq!(
                framing_of_text(text),
                (framing.to_string(), reusable),
                "{text:?}"
            );
        }
        let head = parse_head(
            &mut BytesMut::from("HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\n"),
            LIMITS,
            &http::Method::HEAD,
        );
        assert!(matches!(head.unwrap().unwrap().framing, Framing::Empty));
        for bad in ["+3", "3x", "", "3, 4", "99999999999999999999"] {
            let text = format!("HTTP/1.1 200 OK\r\ncontent-length: {bad}\r\n\r\n");
            assert!(
                matches!(head_of(&text), Err(H1Error::Malformed(_))),
                "{bad:?}"
            );
        }
    }

    /// A body decoded from `bytes` handed over in reads of `step` bytes.
    fn decode_all(
        framing: Framing,
        bytes: &[u8],
        step: usize,
    ) -> Result<(Vec<u8>, Option<HeaderMap>, usize), H1Error> {
        let (mut framing, mut trailers, mut body) = (framing, None, Vec::new());
        let mut buf = BytesMut::new();
        let mut reads = bytes.chunks(step.max(1));
        let mut closed = false;
        loop {
            match framing.decode(&mut buf, &mut trailers, LIMITS, closed)? {
                Step::Data(data) => body.extend_from_slice(&data),
                Step::End => return Ok((body, trailers, buf.len())),
                Step::More => match reads.next() {
                    Some(read) => buf.extend_from_slice(read),
                    None => closed = true,
                },
            }
        }
    }

    #[test]
    fn chunked_bodies_read_alike_however_the_bytes_arrive() {
        let wire = b"5;name=value\r\nhello\r\n7 \r\n, world\r\nA\r\n0123456789\r\n0\r\nx-sum: 7\r\n\r\nNEXT";
        for step in [1, 2, 3, 7, wire.len()] {
            let (body, trailers, left) =
                decode_all(Framing::Chunked(Chunk::Size), wire, step).unwrap();
            assert_eq!(body, b"hello, world0123456789", "step {step}");
            assert_eq!(trailers.unwrap()["x-sum"], "7");
            assert!(
                left <= 4,
                "what follows the body is left for the next answer"
            );
        }
        let (body, trailers, _) =
            decode_all(Framing::Chunked(Chunk::Size), b"3\nabc\n0\n\n", 1).unwrap();
        assert_eq!((body.as_slice(), trailers), (&b"abc"[..], None));
    }

    #[test]
    fn broken_chunks_and_cut_bodies_are_typed_errors() {
        let chunked = || Framing::Chunked(Chunk::Size);
        let malformed = [
            &b"g\r\n"[..],
            b"\r\n",
            b"11111111111111111\r\n",
            b"3\r\nabcX\r\n0\r\n\r\n",
            b"3 x\r\nabc\r\n",
        ];
        for wire in malformed {
            let error = decode_all(chunked(), wire, 2).unwrap_err();
            assert!(matches!(error, H1Error::Malformed(_)), "{wire:?}: {error}");
        }
        let long = vec![b'1'; MAX_CHUNK_LINE + 2];
        assert!(matches!(
            decode_all(chunked(), &long, 64),
            Err(H1Error::TooLarge(_))
        ));
        for (framing, wire) in [
            (chunked(), &b"5\r\nhel"[..]),
            (chunked(), b"5\r\nhello\r\n"),
            (Framing::Length(10), b"hello"),
        ] {
            assert!(matches!(
                decode_all(framing, wire, 3),
                Err(H1Error::Incomplete)
            ));
        }
        let (body, _, _) = decode_all(Framing::UntilClose, b"all of it", 4).unwrap();
        assert_eq!(
            body, b"all of it",
            "a body delimited by the close ends there"
        );
    }

    #[test]
    fn a_request_head_is_written_as_the_head_says_with_its_length() {
        let mut head = http::Request::new(());
        *head.method_mut() = http::Method::POST;
        *head.uri_mut() = "/Dummy?x=1".parse().unwrap();
        head.headers_mut()
            .insert("host", "127.0.0.1:1".parse().unwrap());
        head.headers_mut()
            .append("bt_header_a", "1".parse().unwrap());
        let text = String::from_utf8(encode_head(&head, 12)).unwrap();
        assert_eq!(
            text,
            "POST /Dummy?x=1 HTTP/1.1\r\nhost: 127.0.0.1:1\r\nbt_header_a: 1\r\ncontent-length: 12\r\n\r\n"
        );
        head.headers_mut()
            .insert(CONTENT_LENGTH, "12".parse().unwrap());
        let text = String::from_utf8(encode_head(&head, 12)).unwrap();
        assert_eq!(text.matches("content-length").count(), 1);
        *head.method_mut() = http::Method::GET;
        head.headers_mut().remove(CONTENT_LENGTH);
        assert!(!String::from_utf8(encode_head(&head, 0))
            .unwrap()
            .contains("content-length"));
    }

    #[test]
    fn answers_read_alike_wherever_the_reads_split() {
        let wire = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n";
        let whole = read_answers(wire, wire.len()).unwrap();
        assert_eq!(whole, vec![(200, b"ok".to_vec()), (201, b"z".to_vec())]);
        for cut in 0..wire.len() {
            assert_eq!(read_answers(wire, cut).unwrap(), whole, "cut at {cut}");
        }
    }
}
