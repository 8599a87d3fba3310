//! Durations given as numbers of seconds (flags, keyword arguments, environment variables): one
//! rule for every front end. A value is finite, within its [`SecondsRange`], and at most
//! [`MAX_SECONDS`], so that `Duration::from_secs_f64` and deadline arithmetic never overflow
//! (a front end that passed `1e30` on used to panic).

use std::time::Duration;

/// The longest duration any setting takes (~31.7 years: "never", in practice).
pub const MAX_SECONDS: f64 = 1e9;

/// Which values a setting takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecondsRange {
    /// Greater than 0: timeouts, the backoff's base.
    Positive,
    /// 0 or more: intervals, grace periods, caps.
    NonNegative,
}

impl SecondsRange {
    fn admits(self, value: f64) -> bool {
        let lower = match self {
            SecondsRange::Positive => value > 0.0,
            SecondsRange::NonNegative => value >= 0.0,
        };
        lower && value <= MAX_SECONDS
    }

    fn rule(self) -> &'static str {
        match self {
            SecondsRange::Positive => "> 0",
            SecondsRange::NonNegative => ">= 0",
        }
    }
}

/// A setting that is not a number of seconds in its range; the message names the setting.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{name} must be a number of seconds {rule} and <= 1e9, got {value}")]
pub struct SecondsError {
    /// The setting as its front end names it (`--timeout`, `timeout`, `BT_DENDRITE_TIMEOUT`).
    pub name: String,
    /// What was given.
    pub value: String,
    rule: &'static str,
}

/// `value` seconds as a duration, if `range` admits it.
pub fn seconds(name: &str, value: f64, range: SecondsRange) -> Result<Duration, SecondsError> {
    if value.is_finite() && range.admits(value) {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(SecondsError {
            name: name.to_owned(),
            value: value.to_string(),
            rule: range.rule(),
        })
    }
}

/// `text` (a decimal number of seconds, surrounding spaces allowed) as a duration, if `range`
/// admits it.
pub fn parse_seconds(
    name: &str,
    text: &str,
    range: SecondsRange,
) -> Result<Duration, SecondsError> {
    seconds(name, parse_number(name, text, range)?, range)
}

/// `text` as a number, or the error [`parse_seconds`] gives for it (the range is only named
/// in the message; [`seconds`] checks it).
pub fn parse_number(name: &str, text: &str, range: SecondsRange) -> Result<f64, SecondsError> {
    text.trim().parse::<f64>().map_err(|_| SecondsError {
        name: name.to_owned(),
        value: format!("{text:?}"),
        rule: range.rule(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn each_range_takes_its_values_and_names_the_setting_otherwise() {
        use SecondsRange::*;
        assert_eq!(seconds("t", 1.5, Positive), Ok(Duration::from_millis(1500)));
        assert_eq!(seconds("t", 0.0, NonNegative), Ok(Duration::ZERO));
        assert_eq!(
            seconds("t", MAX_SECONDS, Positive),
            Ok(Duration::from_secs(1_000_000_000))
        );
        for (value, range) in [
            (0.0, Positive),
            (-1.0, NonNegative),
            (1e30, Positive),
            (f64::NAN, NonNegative),
            (f64::INFINITY, Positive),
        ] {
            let err = seconds("--timeout", value, range).unwrap_err();
            assert!(
                err.to_string()
                    .starts_with("--timeout must be a number of seconds"),
                "{err}"
            );
        }
        assert_eq!(
            parse_seconds("x", " 2 ", Positive),
            Ok(Duration::from_secs(2))
        );
        let err = parse_seconds("--backoff", "soon", Positive).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--backoff must be a number of seconds > 0 and <= 1e9, got \"soon\""
        );
    }

    proptest! {
        #[test]
        fn no_number_panics(value in any::<f64>(), positive in any::<bool>()) {
            let range = if positive { SecondsRange::Positive } else { SecondsRange::NonNegative };
            let _ = seconds("x", value, range);
            let _ = parse_seconds("x", &value.to_string(), range);
        }
    }
}
