//! Plain-text tables and latency summaries for the terminal.

use std::io::Write;
use std::time::Duration;

/// Prints rows under a header with columns padded to their widest cell, to stdout through one
/// buffer (a write per 8 KiB, not per line). A closed stdout (`| head`) ends the printing
/// quietly.
pub fn print(header: &[&str], rows: &[Vec<String>]) {
    // Every row is measured before the header goes out (`write` widens first).
    Streaming::new(header).print(rows);
}

/// Writes `text` to stdout in one write. A closed stdout (`| head`) is not an error: the output
/// is dropped and the command goes on (its record, if any, stays complete).
pub fn emit(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// A table printed as its rows come (`query`'s rounds): the header with the first rows, each
/// column padded to its widest cell so far (a wider cell widens its column from then on), so
/// nothing is kept between prints and a long run's memory stays flat.
pub struct Streaming {
    header: Vec<String>,
    widths: Vec<usize>,
    started: bool,
}

impl Streaming {
    /// A table under `header`, nothing printed yet.
    pub fn new(header: &[&str]) -> Self {
        Streaming {
            header: header.iter().map(|h| h.to_string()).collect(),
            widths: header.iter().map(|h| h.len()).collect(),
            started: false,
        }
    }

    /// Prints `rows` (the header first, once) to stdout through one buffer.
    pub fn print(&mut self, rows: &[Vec<String>]) {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        let _ = self.write(&mut out, rows).and_then(|()| out.flush());
    }

    /// Widens the columns to `rows`' cells.
    fn widen(&mut self, rows: &[Vec<String>]) {
        for row in rows {
            for (w, cell) in self.widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }

    /// `rows` (the header and its rule first, once) written to `out`.
    fn write(&mut self, out: &mut impl Write, rows: &[Vec<String>]) -> std::io::Result<()> {
        self.widen(rows);
        if !self.started {
            self.started = true;
            let rules: Vec<String> = self.widths.iter().map(|w| "-".repeat(*w)).collect();
            line(out, &self.widths, &self.header)?;
            line(out, &self.widths, &rules)?;
        }
        for row in rows {
            line(out, &self.widths, row)?;
        }
        Ok(())
    }
}

/// One line of cells padded to `widths`, two spaces apart, without trailing blanks.
fn line(out: &mut impl Write, widths: &[usize], cells: &[String]) -> std::io::Result<()> {
    let mut text = String::new();
    for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
        if i > 0 {
            text.push_str("  ");
        }
        let _ = std::fmt::Write::write_fmt(&mut text, format_args!("{cell:<width$}"));
    }
    writeln!(out, "{}", text.trim_end())
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

    fn cells(row: &[&str]) -> Vec<String> {
        row.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn columns_are_padded_to_their_widest_cell_and_lines_trimmed() {
        let rows = vec![cells(&["0", "Success", "1"]), cells(&["12", "Timeout", ""])];
        let mut table = Streaming::new(&["uid", "code", "x"]);
        let mut out = Vec::new();
        table.write(&mut out, &rows).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "uid  code     x\n---  -------  -\n0    Success  1\n12   Timeout\n"
        );
    }

    #[test]
    fn a_streamed_table_prints_its_header_once_and_widens_for_later_rows() {
        let mut table = Streaming::new(&["uid", "code"]);
        let mut out = Vec::new();
        table.write(&mut out, &[cells(&["0", "Success"])]).unwrap();
        table
            .write(&mut out, &[cells(&["12345", "Timeout"])])
            .unwrap();
        table.write(&mut out, &[cells(&["1", "Success"])]).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "uid  code\n---  -------\n0    Success\n12345  Timeout\n1      Success\n"
        );
    }
}
