//! `cargo xtask bench wire`: tensor encode/decode throughput next to memcpy of the same bytes.
//!
//! For each size: a plain memcpy into a warm buffer and into a fresh allocation (what any encoder
//! must at least do), MSGPACK encode, decode of a received proto whose payload is aligned (no
//! copy) and unaligned (one copy), and the full receive path (prost decode of the message bytes +
//! tensor decode). Each figure is the median of repeated runs, in GB/s of tensor data.

use bytes::Bytes;
use dendrite_wire::proto::{self, Serializer};
use dendrite_wire::{serializer, Tensor};
use prost::Message;
use std::hint::black_box;
use std::time::{Duration, Instant};

fn median_seconds(mut f: impl FnMut()) -> f64 {
    let mut samples = Vec::new();
    let start = Instant::now();
    while samples.len() < 5 || (start.elapsed() < Duration::from_millis(700) && samples.len() < 400)
    {
        let t = Instant::now();
        f();
        samples.push(t.elapsed().as_secs_f64());
    }
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// A received proto whose data starts `shift` bytes past an 8-byte boundary.
fn received_with_shift(wire: &proto::Tensor, shift: usize) -> proto::Tensor {
    let encoded = wire.encode_to_vec();
    for pad in 0..8 {
        let mut buf = vec![0u8; pad];
        buf.extend_from_slice(&encoded);
        let bytes = Bytes::from(buf).slice(pad..);
        let t = proto::Tensor::decode(bytes).expect("valid proto");
        let data_at = t.buffer.as_ptr() as usize + t.buffer.len()
            - (wire.shape.iter().product::<i64>() as usize * 4);
        if data_at % 8 == shift {
            return t;
        }
    }
    unreachable!("some padding puts the data at every offset")
}

fn main() {
    println!("| tensor | bytes | memcpy warm | memcpy fresh | encode | decode aligned | decode unaligned | receive (prost+decode) | decode unaligned / memcpy warm |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for shape in [[10usize, 20, 1024], [10, 20, 50258]] {
        let n: usize = shape.iter().product();
        let values: Vec<f32> = (0..n).map(|i| (i % 1000) as f32 * 0.001).collect();
        let tensor = Tensor::from_vec(values, shape).unwrap();
        let bytes = tensor.data().len();
        let gbps = |s: f64| bytes as f64 / s / 1e9;

        let src = tensor.data().to_vec();
        let mut dst = vec![0u8; bytes];
        let memcpy_warm = median_seconds(|| {
            dst.copy_from_slice(black_box(&src));
            black_box(&dst);
        });
        let memcpy_fresh = median_seconds(|| {
            black_box(black_box(&src).to_vec());
        });
        let encode = median_seconds(|| {
            black_box(serializer::serialize(black_box(&tensor), Serializer::Msgpack).unwrap());
        });
        let wire = serializer::serialize(&tensor, Serializer::Msgpack).unwrap();
        let aligned = received_with_shift(&wire, 0);
        let unaligned = received_with_shift(&wire, 1);
        let decode_aligned = median_seconds(|| {
            black_box(serializer::deserialize(black_box(&aligned)).unwrap());
        });
        let decode_unaligned = median_seconds(|| {
            black_box(serializer::deserialize(black_box(&unaligned)).unwrap());
        });
        let message = Bytes::from(wire.encode_to_vec());
        let receive = median_seconds(|| {
            let t = proto::Tensor::decode(black_box(message.clone())).unwrap();
            black_box(serializer::deserialize(&t).unwrap());
        });
        println!(
            "| {shape:?} f32 | {bytes} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.0}% |",
            gbps(memcpy_warm),
            gbps(memcpy_fresh),
            gbps(encode),
            gbps(decode_aligned),
            gbps(decode_unaligned),
            gbps(receive),
            100.0 * memcpy_warm / decode_unaligned,
        );
    }
}
