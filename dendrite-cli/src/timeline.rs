//! `--timeline FILE.svg`: a round as a waterfall. One bar per endpoint, split and coloured by
//! phase, sorted by finish time, the code named on failures, the deadline drawn, the spread
//! between the first and the last successful answer stated.
//!
//! Past [`MAX_ROWS`] endpoints, consecutive endpoints (in finish order) share a row: the row
//! shows their mean phases, a whisker from the first to the last finish, and how many failed.
//! Drawn with plotters' SVG backend (text is SVG text, so no font files are needed).

use std::collections::BTreeMap;
use std::path::Path;

use dendrite::core::Phase;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use dendrite::{Endpoint, EndpointResult, Synapse};

use crate::record::{self, RoundInfo, Row, RowContent};
use crate::CliError;

/// Most rows drawn; more endpoints are aggregated.
pub const MAX_ROWS: usize = 64;

const WIDTH: u32 = 1200;
const LABEL_WIDTH: i32 = 230;
const RIGHT_MARGIN: i32 = 150;
const TOP: i32 = 92;
const ROW_HEIGHT: i32 = 18;
const BOTTOM: i32 = 40;

/// Phase colours, in call order (queue, sign, connect, send, wait, receive, decode).
const COLOURS: [RGBColor; Phase::COUNT] = [
    RGBColor(189, 189, 189),
    RGBColor(156, 117, 95),
    RGBColor(237, 201, 72),
    RGBColor(118, 183, 178),
    RGBColor(78, 121, 167),
    RGBColor(89, 161, 79),
    RGBColor(176, 122, 161),
];
/// Time the phases do not account for (scheduling, retry pauses).
const OTHER: RGBColor = RGBColor(235, 235, 235);
const FAILED: RGBColor = RGBColor(225, 87, 89);

/// One endpoint's call in a round (the rows of its synapses folded into one).
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// `uid hotkey…`.
    pub label: String,
    /// Seconds per phase, in call order.
    pub phases: [f64; Phase::COUNT],
    /// Seconds until its last synapse was known.
    pub finish: f64,
    /// The first failing code, `None` when every synapse succeeded.
    pub failure: Option<String>,
}

/// The calls of one round and direction, from its rows (every synapse of an endpoint shares
/// the endpoint's phases).
fn calls<'a>(rows: impl IntoIterator<Item = &'a Row>) -> Vec<Call> {
    let mut by_endpoint: BTreeMap<(u64, &str, &str), Call> = BTreeMap::new();
    for row in rows {
        let key = (row.uid, row.hotkey.as_str(), row.address.as_str());
        let call = by_endpoint.entry(key).or_insert_with(|| Call {
            label: format!("{} {}", row.uid, crate::table::short(&row.hotkey)),
            phases: row.phases.ordered(),
            finish: 0.0,
            failure: None,
        });
        call.finish = call.finish.max(row.time_s);
        if !row.succeeded() && call.failure.is_none() {
            call.failure = Some(row.code.clone());
        }
    }
    by_endpoint.into_values().collect()
}

/// A drawn row: one call, or the mean of several (then `finish` is their mean finish, and
/// the whisker runs from the first to the last).
struct Bar {
    label: String,
    phases: [f64; Phase::COUNT],
    finish: f64,
    first_finish: f64,
    last_finish: f64,
    note: Option<String>,
    failed: bool,
}

fn bars(mut calls: Vec<Call>) -> Vec<Bar> {
    calls.sort_by(|a, b| a.finish.total_cmp(&b.finish));
    let group = calls.len().div_ceil(MAX_ROWS).max(1);
    let total = calls.len();
    calls
        .chunks(group)
        .enumerate()
        .map(|(i, chunk)| {
            if let [call] = chunk {
                return Bar {
                    label: call.label.clone(),
                    phases: call.phases,
                    finish: call.finish,
                    first_finish: call.finish,
                    last_finish: call.finish,
                    note: call.failure.clone(),
                    failed: call.failure.is_some(),
                };
            }
            let n = chunk.len() as f64;
            let mut phases = [0.0; Phase::COUNT];
            for call in chunk {
                for (sum, p) in phases.iter_mut().zip(call.phases) {
                    *sum += p / n;
                }
            }
            let failures = chunk.iter().filter(|c| c.failure.is_some()).count();
            let mut codes: BTreeMap<&str, usize> = BTreeMap::new();
            for code in chunk.iter().filter_map(|c| c.failure.as_deref()) {
                *codes.entry(code).or_default() += 1;
            }
            let first = i * group + 1;
            Bar {
                label: format!(
                    "#{first}–{} of {total} ({} calls)",
                    first + chunk.len() - 1,
                    chunk.len()
                ),
                phases,
                finish: chunk.iter().map(|c| c.finish / n).sum(),
                first_finish: chunk.iter().map(|c| c.finish).fold(f64::MAX, f64::min),
                last_finish: chunk.iter().map(|c| c.finish).fold(0.0, f64::max),
                note: (failures > 0).then(|| {
                    let codes: Vec<String> =
                        codes.iter().map(|(c, n)| format!("{c}×{n}")).collect();
                    format!("{failures} failed: {}", codes.join(", "))
                }),
                failed: failures == chunk.len(),
            }
        })
        .collect()
}

fn draw_failure(e: impl std::fmt::Display) -> CliError {
    CliError::Failure(format!("timeline: {e}"))
}

/// Writes the waterfall of one round's rows (one direction) to `path`.
pub fn render_rows<'a>(
    path: &Path,
    title: &str,
    rows: impl IntoIterator<Item = &'a Row>,
    deadline: f64,
) -> Result<(), CliError> {
    render(path, title, calls(rows), deadline)
}

/// Writes the waterfall of one round's `results` (as `record::rows` makes them) to `path`.
pub fn render_results(
    path: &Path,
    title: &str,
    info: &RoundInfo,
    endpoints: &[Endpoint],
    synapses: &[Synapse],
    results: &[EndpointResult],
) -> Result<(), CliError> {
    let rows = record::rows(info, endpoints, synapses, results, RowContent::SHOWN);
    render_rows(path, title, &rows, info.timeout_s)
}

/// Writes the waterfall of `calls` to `path` (SVG). `title` names the round; `deadline` is
/// the calls' timeout in seconds.
fn render(path: &Path, title: &str, calls: Vec<Call>, deadline: f64) -> Result<(), CliError> {
    if calls.is_empty() {
        return Err(CliError::input("timeline: the round has no calls"));
    }
    let spread = spread_line(&calls);
    let bars = bars(calls);
    let latest = bars.iter().map(|b| b.last_finish).fold(0.0, f64::max);
    // The deadline is drawn to scale unless it is far beyond every finish (a 5 s deadline
    // over 50 ms calls would squeeze the bars to a few pixels): then it is marked at the edge.
    let deadline_on_scale = deadline <= latest * 1.5;
    let span = if deadline_on_scale {
        latest.max(deadline)
    } else {
        latest
    }
    .max(1e-6)
        * 1.02;
    let height = (TOP + ROW_HEIGHT * bars.len() as i32 + BOTTOM) as u32;
    let canvas = Canvas {
        root: SVGBackend::new(path, (WIDTH, height)).into_drawing_area(),
        span,
        bottom: TOP + ROW_HEIGHT * bars.len() as i32,
    };
    canvas.root.fill(&WHITE).map_err(draw_failure)?;
    canvas.text(title, (10, 16), 17, HPos::Left)?;
    canvas.text(&spread, (10, 38), 13, HPos::Left)?;
    canvas.legend()?;
    canvas.grid()?;
    for (row, bar) in bars.iter().enumerate() {
        canvas.bar(row, bar)?;
    }
    canvas.deadline(deadline, deadline_on_scale)?;
    canvas.root.present().map_err(draw_failure)
}

/// How many calls answered, and the spread between the first and the last answer.
fn spread_line(calls: &[Call]) -> String {
    let successes: Vec<f64> = calls
        .iter()
        .filter(|c| c.failure.is_none())
        .map(|c| c.finish)
        .collect();
    let n_calls = calls.len();
    match (
        successes.iter().copied().reduce(f64::min),
        successes.iter().copied().reduce(f64::max),
    ) {
        (Some(first), Some(last)) => format!(
            "{} of {n_calls} answered; first {:.1} ms, last {:.1} ms: spread {:.1} ms",
            successes.len(),
            first * 1e3,
            last * 1e3,
            (last - first) * 1e3
        ),
        _ => format!("none of {n_calls} answered"),
    }
}

/// The drawing: the SVG area, the time span its plot covers and the plot's bottom edge.
struct Canvas<'a> {
    root: DrawingArea<SVGBackend<'a>, plotters::coord::Shift>,
    span: f64,
    bottom: i32,
}

impl Canvas<'_> {
    /// The x pixel of `seconds` after the round's start.
    fn x(&self, seconds: f64) -> i32 {
        let plot_width = WIDTH as i32 - LABEL_WIDTH - RIGHT_MARGIN;
        LABEL_WIDTH + ((seconds / self.span) * plot_width as f64).round() as i32
    }

    fn text(&self, s: &str, at: (i32, i32), size: u32, anchor: HPos) -> Result<(), CliError> {
        self.text_in(s, at, size, anchor, &BLACK)
    }

    fn text_in(
        &self,
        s: &str,
        at: (i32, i32),
        size: u32,
        anchor: HPos,
        colour: &RGBColor,
    ) -> Result<(), CliError> {
        self.root
            .draw(&Text::new(
                s.to_owned(),
                at,
                ("sans-serif", size)
                    .into_font()
                    .color(colour)
                    .pos(Pos::new(anchor, VPos::Center)),
            ))
            .map_err(draw_failure)
    }

    /// A swatch and name per phase, then "other".
    fn legend(&self) -> Result<(), CliError> {
        let mut legend_x = 10;
        let names = Phase::ALL.map(Phase::name);
        for (colour, name) in COLOURS.iter().zip(names).chain([(&OTHER, "other")]) {
            self.root
                .draw(&Rectangle::new(
                    [(legend_x, 54), (legend_x + 12, 66)],
                    colour.filled(),
                ))
                .map_err(draw_failure)?;
            self.text(name, (legend_x + 16, 60), 12, HPos::Left)?;
            legend_x += 80;
        }
        Ok(())
    }

    /// Five ticks across the span.
    fn grid(&self) -> Result<(), CliError> {
        for i in 0..=5 {
            let seconds = self.span / 1.02 * i as f64 / 5.0;
            let at = self.x(seconds);
            self.root
                .draw(&PathElement::new(
                    vec![(at, TOP - 4), (at, self.bottom)],
                    RGBColor(225, 225, 225),
                ))
                .map_err(draw_failure)?;
            let label = format!("{:.0} ms", seconds * 1e3);
            self.text(&label, (at, self.bottom + 14), 11, HPos::Center)?;
        }
        Ok(())
    }

    /// One row: its label, its phases end to end, time past them as "other", the whisker of
    /// an aggregated row, and its note.
    fn bar(&self, row: usize, bar: &Bar) -> Result<(), CliError> {
        let top = TOP + row as i32 * ROW_HEIGHT + 3;
        let base = top + ROW_HEIGHT - 6;
        self.text(&bar.label, (LABEL_WIDTH - 8, top + 6), 11, HPos::Right)?;
        let mut start = 0.0;
        for (phase, colour) in bar.phases.iter().zip(COLOURS) {
            if *phase > 0.0 {
                let end = self.x(start + phase).max(self.x(start) + 1);
                self.root
                    .draw(&Rectangle::new(
                        [(self.x(start), top), (end, base)],
                        colour.filled(),
                    ))
                    .map_err(draw_failure)?;
            }
            start += phase;
        }
        if bar.finish > start {
            let corners = [(self.x(start), top), (self.x(bar.finish), base)];
            self.root
                .draw(&Rectangle::new(corners, OTHER.filled()))
                .map_err(draw_failure)?;
        }
        if bar.first_finish < bar.last_finish {
            let middle = (top + base) / 2;
            let whisker = vec![
                (self.x(bar.first_finish), middle),
                (self.x(bar.last_finish), middle),
            ];
            self.root
                .draw(&PathElement::new(whisker, BLACK))
                .map_err(draw_failure)?;
        }
        if let Some(note) = &bar.note {
            let colour = if bar.failed { FAILED } else { BLACK };
            let at = (self.x(bar.last_finish.max(start)) + 4, top + 6);
            self.text_in(note, at, 11, HPos::Left, &colour)?;
        }
        Ok(())
    }

    /// The deadline: a line to scale, or a mark at the edge when it is far beyond the calls.
    fn deadline(&self, deadline: f64, on_scale: bool) -> Result<(), CliError> {
        let label = format!("deadline {:.0} ms", deadline * 1e3);
        if on_scale {
            let at = self.x(deadline);
            self.root
                .draw(&PathElement::new(
                    vec![(at, TOP - 8), (at, self.bottom)],
                    FAILED.stroke_width(2),
                ))
                .map_err(draw_failure)?;
            self.text(&label, (at + 4, TOP - 10), 11, HPos::Left)
        } else {
            let at = self.x(self.span);
            self.text(&format!("{label} →"), (at + 8, TOP - 10), 11, HPos::Left)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(finish: f64, failure: Option<&str>) -> Call {
        Call {
            label: format!("{finish}"),
            phases: [0.0, 0.0, 0.0, 0.0, finish * 0.8, finish * 0.1, 0.0],
            finish,
            failure: failure.map(str::to_owned),
        }
    }

    #[test]
    fn rows_are_in_finish_order_and_aggregate_past_the_limit() {
        let few = bars(vec![
            call(0.3, None),
            call(0.1, Some("Timeout")),
            call(0.2, None),
        ]);
        let finishes: Vec<f64> = few.iter().map(|b| b.finish).collect();
        assert_eq!(finishes, [0.1, 0.2, 0.3]);
        assert_eq!(few[0].note.as_deref(), Some("Timeout"));
        let many: Vec<Call> = (0..1024)
            .map(|i| {
                call(
                    0.001 * (i + 1) as f64,
                    (i % 100 == 0).then_some("Unavailable"),
                )
            })
            .collect();
        let rows = bars(many);
        assert_eq!(rows.len(), 64);
        assert!(rows[0].label.contains("(16 calls)"), "{}", rows[0].label);
        assert_eq!(rows[0].note.as_deref(), Some("1 failed: Unavailable×1"));
        assert!((rows[63].last_finish - 1.024).abs() < 1e-9);
        assert!(
            (rows[0].finish - 0.0085).abs() < 1e-9,
            "the mean of 1..16 ms"
        );
        assert!(rows
            .iter()
            .all(|b| b.first_finish <= b.finish && b.finish <= b.last_finish));
    }

    #[test]
    fn an_svg_is_written_with_every_part() {
        let path = std::env::temp_dir().join(format!("timeline-{}.svg", std::process::id()));
        let calls = vec![
            call(0.05, None),
            call(0.5, Some("Timeout")),
            call(0.02, None),
        ];
        render(&path, "round 0 forward", calls, 0.5).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        for needle in [
            "round 0 forward",
            "deadline 500 ms",
            "Timeout",
            "spread 30.0 ms",
            "wait",
        ] {
            assert!(svg.contains(needle), "{needle} missing");
        }
        std::fs::remove_file(path).unwrap();
    }
}
