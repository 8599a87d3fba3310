//! Plain-text tables and latency summaries for the terminal.

use std::io::Write;
use std::time::Duration;

/// Prints rows under a header with columns padded to their widest cell, to stdout through one
/// buffer (a write per 8 KiB, not per line: a `--repeat 300` table is ~5,000 lines). A closed
/// stdout (`| head`) ends the printing quietly.
pub fn print(header: &[&str], rows: &[Vec<String>]) {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let _ = write(&mut out, header, rows).and_then(|()| out.flush());
}

/// The table of [`print`] written to `out`.
fn write(out: &mut impl Write, header: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (i, (cell, width)) in cells.zip(&widths).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            let _ = std::fmt::Write::write_fmt(&mut text, format_args!("{cell:<width$}"));
        }
        writeln!(out, "{}", text.trim_end())
    };
    line(&mut header.iter().copied())?;
    let rules: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    line(&mut rules.iter().map(String::as_str))?;
    for row in rows {
        line(&mut row.iter().map(String::as_str))?;
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_padded_to_their_widest_cell_and_lines_trimmed() {
        let rows = vec![
            vec!["0".to_string(), "Success".to_string(), "1".to_string()],
            vec!["12".to_string(), "Timeout".to_string(), String::new()],
        ];
        let mut out = Vec::new();
        write(&mut out, &["uid", "code", "x"], &rows).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "uid  code     x\n---  -------  -\n0    Success  1\n12   Timeout\n"
        );
    }
}
