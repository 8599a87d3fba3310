//! Plain-text tables and latency summaries for the terminal.

use std::time::Duration;

/// Prints rows under a header with columns padded to their widest cell.
pub fn print(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.to_vec());
    line(
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect(),
    );
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// `min / p50 / p99 / max` of durations, in milliseconds.
pub fn latency_summary(times: &mut [Duration]) -> String {
    if times.is_empty() {
        return "no samples".into();
    }
    times.sort();
    let at = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e3;
    format!(
        "min {:.2} ms, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} samples)",
        at(0.0),
        at(0.5),
        at(0.99),
        at(1.0),
        times.len()
    )
}

/// `[2, 9, 1024]` style.
pub fn shape(shape: &[usize]) -> String {
    format!("{shape:?}")
}

/// The first characters of a hotkey, enough to tell endpoints apart.
pub fn short(hotkey: &str) -> String {
    hotkey.chars().take(8).collect()
}
