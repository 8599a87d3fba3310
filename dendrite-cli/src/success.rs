//! `dendrite query --min-success`: the share of a query's calls that must succeed, on either
//! wire, so that a script or a benchmark can tell a fleet that answered from one that did not
//! (without it a query exits 0 whatever the peers answered).

use crate::CliError;

/// A fraction in [0, 1] (`--min-success`).
pub(crate) fn fraction(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if (0.0..=1.0).contains(&value) => Ok(value),
        _ => Err(format!("{text:?} is no fraction between 0 and 1")),
    }
}

/// Fails when `succeeded` of `calls` is below `min` (`--min-success`); says the rate on stderr
/// whenever a minimum is asked for.
pub(crate) fn check_success(succeeded: u64, calls: u64, min: Option<f64>) -> Result<(), CliError> {
    let Some(min) = min else { return Ok(()) };
    let rate = if calls == 0 {
        0.0
    } else {
        succeeded as f64 / calls as f64
    };
    eprintln!("success: {succeeded}/{calls} calls ({:.2}%)", rate * 100.0);
    if rate < min {
        return Err(CliError::Failure(format!(
            "success rate {:.4} is below --min-success {min}",
            rate
        )));
    }
    Ok(())
}
