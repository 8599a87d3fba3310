//! The dendrite's settings: the reference's defaults, overridable in code and by the
//! `BT_DENDRITE_*` environment variables the reference reads.

use std::time::Duration;

use dendrite_core::ClientConfig;
#[cfg(feature = "metrics")]
use dendrite_metrics::Level;

/// Settings of a [`Dendrite`](crate::Dendrite).
#[derive(Clone, Debug)]
pub struct DendriteConfig {
    /// Default call timeout: the reference's `bittensor.__blocktime__ + 2` = 14 s
    /// (`BT_DENDRITE_TIMEOUT`, seconds, fractions allowed).
    pub timeout: Duration,
    /// Whether outputs take part in backpropagation, so that Backward RPCs carry gradients
    /// (`BT_DENDRITE_REQUIRES_GRAD`: true/false/1/0). Reference default: true.
    pub requires_grad: bool,
    /// The RPC core's settings; `max_active_receptors` defaults to the reference's 4096
    /// (`BT_DENDRITE_MAX_ACTIVE_RECEPTORS`).
    pub client: ClientConfig,
    /// Prometheus level (`BT_DENDRITE_PROMETHEUS_LEVEL`: OFF, INFO, DEBUG). The reference's
    /// default is DEBUG; our per-uid series are capped (see `dendrite-metrics`). Feature
    /// `metrics` (default); without it nothing is counted and the variable is not read.
    #[cfg(feature = "metrics")]
    pub prometheus_level: Level,
}

impl Default for DendriteConfig {
    fn default() -> Self {
        DendriteConfig {
            timeout: dendrite_core::DEFAULT_TIMEOUT,
            requires_grad: true,
            client: ClientConfig::default(),
            #[cfg(feature = "metrics")]
            prometheus_level: Level::Debug,
        }
    }
}

/// A `BT_DENDRITE_*` variable that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("{name}={value:?}: {reason}")]
pub struct ConfigError {
    /// The variable.
    pub name: &'static str,
    /// Its value.
    pub value: String,
    /// What was expected.
    pub reason: &'static str,
}

impl DendriteConfig {
    /// The defaults, with every `BT_DENDRITE_*` variable that is set applied.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::default().with_vars(|name| std::env::var(name).ok())
    }

    /// Applies variables read through `var` (the environment, or a map in tests).
    pub fn with_vars(
        mut self,
        var: impl Fn(&'static str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let bad = |name, value: String, reason| ConfigError {
            name,
            value,
            reason,
        };
        if let Some(v) = var("BT_DENDRITE_TIMEOUT") {
            self.timeout = dendrite_core::parse_seconds(
                "BT_DENDRITE_TIMEOUT",
                &v,
                dendrite_core::SecondsRange::Positive,
            )
            .map_err(|_| bad("BT_DENDRITE_TIMEOUT", v.clone(), "seconds > 0 and <= 1e9"))?;
        }
        if let Some(v) = var("BT_DENDRITE_REQUIRES_GRAD") {
            self.requires_grad = match v.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" => true,
                "0" | "false" | "no" => false,
                _ => return Err(bad("BT_DENDRITE_REQUIRES_GRAD", v, "true or false")),
            };
        }
        #[cfg(feature = "metrics")]
        if let Some(v) = var("BT_DENDRITE_PROMETHEUS_LEVEL") {
            self.prometheus_level = v.parse().map_err(|_| {
                bad(
                    "BT_DENDRITE_PROMETHEUS_LEVEL",
                    v.clone(),
                    "OFF, INFO or DEBUG",
                )
            })?;
        }
        if let Some(v) = var("BT_DENDRITE_MAX_ACTIVE_RECEPTORS") {
            let n: usize = v.trim().parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                bad(
                    "BT_DENDRITE_MAX_ACTIVE_RECEPTORS",
                    v.clone(),
                    "an integer > 0",
                )
            })?;
            self.client.max_active_receptors = n;
            self.client.max_in_flight = self.client.max_in_flight.min(n);
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(vars: &[(&'static str, &str)]) -> Result<DendriteConfig, ConfigError> {
        DendriteConfig::default().with_vars(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn defaults_are_the_references() {
        let c = DendriteConfig::default();
        assert_eq!(c.timeout, Duration::from_secs(14));
        assert!(c.requires_grad);
        assert_eq!(c.client.max_active_receptors, 4096);
    }

    #[test]
    fn variables_override_and_bad_values_are_errors() {
        let c = with(&[
            ("BT_DENDRITE_TIMEOUT", "0.5"),
            ("BT_DENDRITE_REQUIRES_GRAD", "False"),
            ("BT_DENDRITE_MAX_ACTIVE_RECEPTORS", "64"),
            ("BT_DENDRITE_PROMETHEUS_LEVEL", "off"),
        ])
        .unwrap();
        #[cfg(feature = "metrics")]
        assert_eq!(c.prometheus_level, Level::Off);
        assert_eq!(c.timeout, Duration::from_millis(500));
        assert!(!c.requires_grad);
        assert_eq!(
            (c.client.max_active_receptors, c.client.max_in_flight),
            (64, 64)
        );
        let mut bad = vec![
            ("BT_DENDRITE_TIMEOUT", "-1"),
            ("BT_DENDRITE_TIMEOUT", "soon"),
            ("BT_DENDRITE_REQUIRES_GRAD", "maybe"),
            ("BT_DENDRITE_MAX_ACTIVE_RECEPTORS", "0"),
        ];
        if cfg!(feature = "metrics") {
            bad.push(("BT_DENDRITE_PROMETHEUS_LEVEL", "LOUD"));
        }
        for (name, value) in bad {
            let err = with(&[(name, value)]).unwrap_err();
            assert_eq!(err.name, name);
        }
    }
}
