//! HTTP/1.1 on one client connection, our own: a request written (its head, then the body's
//! parts in one `writev`), an answer's head read and its body framed (RFC 9112: a declared
//! length, chunks, or until the connection closes).
//!
//! Not hyper's client, measured: hyper hands a body over in pieces of its read buffer (at most
//! 408 KiB), which a reader that needs the whole body in one slice (a JSON parser) must copy
//! into one buffer, so every byte of a large answer was copied twice (kernel → hyper's buffer
//! → ours: 10% of a 1 MiB `TensorEcho` call's CPU). Here a body of declared length is read by
//! the kernel straight into the buffer the parser reads ([`H1Body::read_whole`]); what is left
//! is framing, the part of HTTP/1.1 a client needs, with the head parsed by `httparse` (hyper's
//! own head parser).
//!
//! - [`framing`]: HTTP/1.1's framing, apart from any socket (bytes in, decisions out), so that
//!   it is tested and fuzzed without one.
//! - [`conn`]: one open connection: the request written, the answer's head and body read by
//!   that framing.
//!
//! **Invariants:** nothing read here holds more than its bound (a head, its trailers and a
//! chunk-size line each have one; a body reads only what its reader asked for); a malformed
//! answer is a typed error, never a panic; a connection is handed back for reuse only after an
//! answer was read to its end, with nothing unread after it, and only when HTTP/1.1 lets it be
//! reused (a persistent connection, a body not delimited by the close).

mod conn;
mod framing;

pub(crate) use conn::{H1Body, H1};
pub(crate) use framing::{read_answers, H1Error, Limits};
