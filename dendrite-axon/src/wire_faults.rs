//! Faults below the gRPC layer, which a tonic server cannot produce: garbage protobuf, a
//! message header claiming gigabytes, a message just over the caller's limit, a response
//! trickled out a few bytes at a time, a stream reset halfway through the response.
//!
//! [`serve_wire_fault`] runs a bare HTTP/2 server (hyper) on the Bittensor paths. It does not
//! authenticate; well-formed answers are the toy model's, so a test knows what a good answer is.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use dendrite_wire::proto::{self, ReturnCode, TensorMessage};
use dendrite_wire::{Synapse, VERSION_AS_INT};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{HeaderMap, Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;

use crate::handler::SynapseHandler;
use crate::toy::ToyModel;

/// How the fault server answers every Forward and Backward.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireFault {
    /// A gRPC message whose bytes are not a `TensorMessage`.
    GarbageProtobuf,
    /// A gRPC message header claiming this many bytes, then the end of the stream.
    ClaimedLength(u32),
    /// A message of this many bytes (the toy answer padded with an unknown field).
    PaddedTo(usize),
    /// The toy answer, `chunk` bytes every `interval`.
    Trickle {
        /// Bytes per DATA frame.
        chunk: usize,
        /// Pause between frames.
        interval: Duration,
    },
    /// Half of the toy answer, then a stream reset.
    ResetMidResponse,
}

/// A running fault server; dropping it stops accepting (connections already open finish).
#[derive(Debug)]
pub struct WireFaultServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl WireFaultServer {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for WireFaultServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type FaultBody = StreamBody<ReceiverStream<Result<Frame<Bytes>, std::io::Error>>>;

/// Serves `fault` on 127.0.0.1 at a free port.
pub async fn serve_wire_fault(fault: WireFault) -> std::io::Result<WireFaultServer> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let model = Arc::new(ToyModel::new());
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let model = model.clone();
            let service = hyper::service::service_fn(move |request| {
                let model = model.clone();
                async move { Ok::<_, Infallible>(respond(fault, &model, request).await) }
            });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(WireFaultServer { addr, task })
}

async fn respond(
    fault: WireFault,
    model: &ToyModel,
    request: Request<Incoming>,
) -> Response<FaultBody> {
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let answer = toy_answer(model, &body);
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        let send = |frame| tx.send(Ok(frame));
        match fault {
            WireFault::GarbageProtobuf => {
                let _ = send(Frame::data(framed(b"\xff\xff\xff\xff\x0fnot a proto"))).await;
            }
            WireFault::ClaimedLength(len) => {
                let mut head = BytesMut::with_capacity(13);
                head.put_u8(0);
                head.put_u32(len);
                head.put_slice(b"partial");
                let _ = send(Frame::data(head.freeze())).await;
            }
            WireFault::PaddedTo(len) => {
                let _ = send(Frame::data(framed(&padded(answer, len)))).await;
            }
            WireFault::Trickle { chunk, interval } => {
                let whole = framed(&answer);
                for piece in whole.chunks(chunk.max(1)) {
                    if send(Frame::data(Bytes::copy_from_slice(piece)))
                        .await
                        .is_err()
                    {
                        return;
                    }
                    tokio::time::sleep(interval).await;
                }
            }
            WireFault::ResetMidResponse => {
                let whole = framed(&answer);
                let _ = send(Frame::data(whole.slice(..whole.len() / 2))).await;
                tokio::time::sleep(Duration::from_millis(20)).await;
                let _ = tx
                    .send(Err(std::io::Error::other("reset on purpose")))
                    .await;
                return;
            }
        }
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", hyper::header::HeaderValue::from_static("0"));
        let _ = tx.send(Ok(Frame::trailers(trailers))).await;
    });
    let mut response = Response::new(StreamBody::new(ReceiverStream::new(rx)));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/grpc"),
    );
    response
}

/// A gRPC message frame: uncompressed flag, big-endian length, the bytes.
fn framed(message: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(message.len() + 5);
    out.put_u8(0);
    out.put_u32(u32::try_from(message.len()).unwrap_or(u32::MAX));
    out.put_slice(message);
    out.freeze()
}

/// The toy model's encoded answer to a framed request (an empty message if it does not parse).
fn toy_answer(model: &ToyModel, body: &[u8]) -> Vec<u8> {
    let request = body
        .get(5..)
        .and_then(|m| <TensorMessage as prost::Message>::decode(m).ok())
        .unwrap_or_default();
    let mut response = TensorMessage {
        version: VERSION_AS_INT,
        return_code: ReturnCode::Success as i32,
        ..TensorMessage::default()
    };
    for (wire, tensor) in request.synapses.iter().zip(&request.tensors) {
        let answer = Synapse::from_wire(wire).ok().and_then(|synapse| {
            let input = synapse.deserialize_forward_request(tensor).ok()?;
            let output = model.forward("", &synapse, &input).ok()?;
            Some((
                synapse.to_wire(ReturnCode::Success, "Success"),
                output.serialize(&synapse, &input).ok()?,
            ))
        });
        let (synapse, tensor): (proto::Synapse, proto::Tensor) = answer.unwrap_or_default();
        response.synapses.push(synapse);
        response.tensors.push(tensor);
    }
    prost::Message::encode_to_vec(&response)
}

/// `message` followed by an unknown length-delimited field (tag 15) so that the whole is
/// exactly `len` bytes (or the smallest padded message when `len` is below that).
fn padded(mut message: Vec<u8>, len: usize) -> Vec<u8> {
    let fixed = message.len() + 1;
    let room = (1..=10)
        .map(|varint_len| len.saturating_sub(fixed + varint_len))
        .find(|&room| fixed + prost::encoding::encoded_len_varint(room as u64) + room == len)
        .unwrap_or(0);
    message.push(15 << 3 | 2);
    prost::encoding::encode_varint(room as u64, &mut message);
    message.resize(message.len() + room, 0);
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The padded message is exactly the length asked for (when that is reachable) and
        /// still decodes to the same message.
        #[test]
        fn padding_is_exact_and_harmless(hotkey in "[a-z]{0,40}", extra in 8usize..300_000) {
            let message = TensorMessage { hotkey: hotkey.clone(), ..TensorMessage::default() };
            let encoded = prost::Message::encode_to_vec(&message);
            let len = encoded.len() + extra;
            let padded = padded(encoded, len);
            prop_assert_eq!(padded.len(), len);
            let back = <TensorMessage as prost::Message>::decode(&padded[..]).unwrap();
            prop_assert_eq!(back.hotkey, hotkey);
        }
    }
}
