//! `cargo xtask bench tokenizer`: tokens/s of a padded batch of the 1,000 fixture strings (the
//! xtask prints the Python tokenizer's figure on the same strings in the same run).

use dendrite_format::BittensorTokenizer;
use std::time::Instant;

fn main() {
    let fx: serde_json::Value =
        serde_json::from_str(include_str!("../tests/fixtures/format.json")).expect("fixture");
    let texts: Vec<String> = fx["strings"].as_array().expect("strings")[..1000]
        .iter()
        .map(|c| c["text"].as_str().expect("text").to_owned())
        .collect();
    let tokenizer = BittensorTokenizer::shared().expect("tokenizer");
    let tokens: usize = texts
        .iter()
        .map(|t| tokenizer.encode(t).expect("encode").len())
        .sum();
    let best = (0..5)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(tokenizer.encode_batch(&texts).expect("batch"));
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min);
    println!(
        "rust tokenizer: {tokens} tokens in {:.1} ms = {:.0} tokens/s",
        best * 1e3,
        tokens as f64 / best
    );
}
