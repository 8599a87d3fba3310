//! This machine's limits, measured in the run that reports beside them: memcpy and one
//! loopback TCP stream, in GB/s (`cargo xtask bench`'s limits line, the HTTP bench's floor of a
//! large answer).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Instant;

use anyhow::Result;

/// GB/s of copying `size` bytes, best of several runs, into a warm buffer.
pub fn memcpy_gbps(size: usize) -> f64 {
    let src = vec![1u8; size];
    let mut dst = vec![0u8; size];
    let reps = (512 << 20) / size.max(1);
    let mut best = f64::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        for _ in 0..reps.max(1) {
            dst.copy_from_slice(std::hint::black_box(&src));
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    std::hint::black_box(&dst);
    (size * reps.max(1)) as f64 / best / 1e9
}

/// GB/s of one loopback TCP stream: the best of 256 KiB, 1 MiB and 4 MiB writes (the kernel's
/// figure varies with the write size by up to 2x on this VM).
pub fn loopback_gbps() -> Result<f64> {
    let mut best = 0.0f64;
    for chunk in [256 << 10, 1 << 20, 4 << 20] {
        best = best.max(loopback_gbps_with(chunk)?);
    }
    Ok(best)
}

/// GB/s of one loopback TCP stream with `chunk`-byte writes, 1 GiB in total.
fn loopback_gbps_with(chunk: usize) -> Result<f64> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let total: usize = 1 << 30;
    let reader = std::thread::spawn(move || -> std::io::Result<usize> {
        let (mut stream, _) = listener.accept()?;
        let mut buf = vec![0u8; chunk];
        let mut got = 0;
        while got < total {
            let n = stream.read(&mut buf)?;
            if n == 0 {
                break;
            }
            got += n;
        }
        Ok(got)
    });
    let mut stream = TcpStream::connect(addr)?;
    let chunk = vec![7u8; chunk];
    let start = Instant::now();
    for _ in 0..total / chunk.len() {
        stream.write_all(&chunk)?;
    }
    drop(stream);
    let got = reader
        .join()
        .map_err(|_| anyhow::anyhow!("reader panicked"))??;
    Ok(got as f64 / start.elapsed().as_secs_f64() / 1e9)
}
