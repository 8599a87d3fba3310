//! `dendrite replay DIR`: a record's table, statistics and timeline, with no network.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use dendrite::core::Direction;

use crate::record::{self, Row, TABLE_HEADER};
use crate::{table, timeline, CliError};

/// Options of `dendrite replay`.
#[derive(Args)]
pub struct ReplayArgs {
    /// A directory written by `--record`.
    dir: PathBuf,
    /// Draw this round's waterfall (default: the last round recorded).
    #[arg(long, value_name = "FILE.svg")]
    timeline: Option<PathBuf>,
    /// The round of --timeline.
    #[arg(long)]
    round: Option<u32>,
    /// The direction of --timeline.
    #[arg(long, default_value = "forward")]
    direction: Direction,
    /// Statistics only, without the table of every row.
    #[arg(long)]
    summary: bool,
}

pub fn run(args: ReplayArgs) -> Result<(), CliError> {
    let rows = record::read(&args.dir)?;
    if !args.summary {
        let cells: Vec<Vec<String>> = rows.iter().map(Row::table_cells).collect();
        table::print(&TABLE_HEADER, &cells);
        println!();
    }
    print_statistics(&rows);
    if let Some(path) = &args.timeline {
        let round = args
            .round
            .or_else(|| rows.iter().map(|r| r.round).max())
            .unwrap_or(0);
        let chosen: Vec<&Row> = rows
            .iter()
            .filter(|r| r.round == round && r.direction == args.direction)
            .collect();
        let deadline = chosen.first().map_or(0.0, |r| r.timeout_s);
        let title = format!(
            "round {round} {} (replayed from {})",
            args.direction,
            args.dir.display()
        );
        timeline::render_rows(path, &title, chosen, deadline)?;
        println!("timeline: {}", path.display());
    }
    Ok(())
}

fn print_statistics(rows: &[Row]) {
    let rounds: std::collections::BTreeSet<u32> = rows.iter().map(|r| r.round).collect();
    println!(
        "{} rows, {} rounds, {} endpoints",
        rows.len(),
        rounds.len(),
        rows.iter()
            .map(|r| (r.uid, r.hotkey.as_str()))
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    );
    let mut codes: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for row in rows {
        *codes
            .entry((row.direction.as_str(), row.code.as_str()))
            .or_default() += 1;
    }
    for ((direction, code), n) in codes {
        println!("  {direction} {code}: {n}");
    }
    for direction in Direction::ALL {
        let chosen: Vec<&Row> = rows.iter().filter(|r| r.direction == direction).collect();
        if chosen.is_empty() {
            continue;
        }
        let mut times: Vec<Duration> = chosen
            .iter()
            .filter(|r| r.succeeded())
            .filter_map(|r| Duration::try_from_secs_f64(r.time_s).ok())
            .collect();
        println!(
            "{direction} time of successes: {}",
            table::latency_summary(&mut times)
        );
        for phase in dendrite::core::Phase::ALL {
            let mut times: Vec<Duration> = chosen
                .iter()
                .filter(|r| r.reused_connection.is_some())
                .filter_map(|r| Duration::try_from_secs_f64(r.phases.get(phase)).ok())
                .collect();
            let name = phase.name();
            println!("  {name:<8} {}", table::latency_summary(&mut times));
        }
    }
}
