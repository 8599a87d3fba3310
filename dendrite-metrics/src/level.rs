//! The reference's prometheus levels.

use std::str::FromStr;

/// How much is recorded: OFF nothing, INFO the aggregate series, DEBUG also per uid.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Nothing is recorded (and the client needs no observer at all).
    Off,
    /// Aggregate counters, latency histogram, codes, bytes and statistics.
    #[default]
    Info,
    /// INFO plus the per-uid series (capped).
    Debug,
}

/// A level name that is not OFF, INFO or DEBUG.
#[derive(Debug, thiserror::Error)]
#[error("unknown prometheus level {0:?} (OFF, INFO or DEBUG)")]
pub struct ParseLevelError(pub String);

impl FromStr for Level {
    type Err = ParseLevelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "OFF" => Ok(Level::Off),
            "INFO" => Ok(Level::Info),
            "DEBUG" => Ok(Level::Debug),
            _ => Err(ParseLevelError(s.to_string())),
        }
    }
}
