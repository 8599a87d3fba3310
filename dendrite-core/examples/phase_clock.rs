//! The phase clock's cost per call (`cargo xtask bench phases`): one JSON line.
//!
//! `cargo run --release -p dendrite-core --example phase_clock`

fn main() {
    let calls = 1_000_000;
    // Warm up, then the best of five runs (the machine's other work only adds).
    dendrite_core::phases::clock_cost_per_call(calls / 10);
    let best = (0..5)
        .map(|_| dendrite_core::phases::clock_cost_per_call(calls))
        .min()
        .unwrap_or_default();
    println!(
        "{{\"phase_clock_ns_per_call\": {:.1}, \"calls\": {calls}}}",
        best.as_secs_f64() * 1e9
    );
}
