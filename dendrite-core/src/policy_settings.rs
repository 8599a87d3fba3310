//! The call policies as front ends are given them (counts and numbers of seconds), checked by
//! one rule and turned into [`ClientConfig`]'s policies here: the command line and the Python
//! module only read their flags or keywords into [`PolicySettings`].
//!
//! **Invariants:** seconds follow [`crate::seconds`] (a backoff's base > 0; its cap and a
//! quorum's grace ≥ 0; all ≤ 1e9); a grace without a quorum is refused; a setting left `None`
//! leaves that policy off (the reference's behaviour).

use std::time::Duration;

use crate::config::{BackoffConfig, ClientConfig, Quorum, RetryConfig};
use crate::neutral::seconds::{seconds, SecondsError, SecondsRange};

/// One policy setting, for naming it in messages as its front end spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicySetting {
    /// The quorum's count (`--k-min`, `k_min`).
    KMin,
    /// The quorum's grace (`--timeout-after-k-min`, `timeout_after_k_min`).
    TimeoutAfterKMin,
    /// The backoff (`--backoff`, `backoff`).
    Backoff,
}

/// A policy setting that cannot be used.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PolicyError {
    /// A number of seconds out of its range (the message names the setting).
    #[error(transparent)]
    Seconds(#[from] SecondsError),
    /// A grace period was given without a quorum count.
    #[error("{grace} needs {k_min}")]
    GraceWithoutQuorum {
        /// The grace setting's name.
        grace: &'static str,
        /// The count's name.
        k_min: &'static str,
    },
}

/// The call policies, as numbers: `None` leaves a policy off.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PolicySettings {
    /// Return once this many endpoints succeeded ([`Quorum`]).
    pub k_min: Option<usize>,
    /// Seconds to wait for more endpoints once `k_min` succeeded (0 when not given).
    pub timeout_after_k_min: Option<f64>,
    /// The backoff's first period, seconds ([`BackoffConfig::base`]).
    pub backoff_base: Option<f64>,
    /// The backoff's longest period, seconds (the default's when not given).
    pub backoff_cap: Option<f64>,
    /// Retries of unavailable endpoints ([`RetryConfig::max_retries`]).
    pub retries: Option<u32>,
}

impl PolicySettings {
    /// Sets `config`'s quorum, backoff and retries from these settings, or says which one
    /// cannot be used, by the name `name` gives it.
    pub fn apply(
        &self,
        config: &mut ClientConfig,
        name: impl Fn(PolicySetting) -> &'static str,
    ) -> Result<(), PolicyError> {
        let grace = self
            .timeout_after_k_min
            .map(|grace| {
                let setting = name(PolicySetting::TimeoutAfterKMin);
                seconds(setting, grace, SecondsRange::NonNegative)
            })
            .transpose()?;
        let quorum = match (self.k_min, grace) {
            (Some(k_min), grace) => Some(Quorum {
                k_min,
                timeout_after_k_min: grace.unwrap_or(Duration::ZERO),
            }),
            (None, Some(_)) => {
                return Err(PolicyError::GraceWithoutQuorum {
                    grace: name(PolicySetting::TimeoutAfterKMin),
                    k_min: name(PolicySetting::KMin),
                })
            }
            (None, None) => None,
        };
        let backoff = self
            .backoff_base
            .map(|base| -> Result<BackoffConfig, SecondsError> {
                let setting = name(PolicySetting::Backoff);
                let defaults = BackoffConfig::default();
                Ok(BackoffConfig {
                    base: seconds(setting, base, SecondsRange::Positive)?,
                    cap: self.backoff_cap.map_or(Ok(defaults.cap), |cap| {
                        seconds(setting, cap, SecondsRange::NonNegative)
                    })?,
                    ..defaults
                })
            })
            .transpose()?;
        config.quorum = quorum;
        config.backoff = backoff;
        config.retry = self.retries.map(|max_retries| RetryConfig {
            max_retries,
            ..RetryConfig::default()
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn python_name(setting: PolicySetting) -> &'static str {
        match setting {
            PolicySetting::KMin => "k_min",
            PolicySetting::TimeoutAfterKMin => "timeout_after_k_min",
            PolicySetting::Backoff => "backoff",
        }
    }

    #[test]
    fn settings_become_policies_and_none_leaves_them_off() {
        let mut config = ClientConfig::default();
        PolicySettings::default()
            .apply(&mut config, python_name)
            .unwrap();
        assert_eq!(
            (config.quorum, config.backoff, config.retry),
            (None, None, None)
        );
        let settings = PolicySettings {
            k_min: Some(3),
            timeout_after_k_min: Some(0.5),
            backoff_base: Some(2.0),
            backoff_cap: Some(30.0),
            retries: Some(1),
        };
        settings.apply(&mut config, python_name).unwrap();
        assert_eq!(
            config.quorum,
            Some(Quorum {
                k_min: 3,
                timeout_after_k_min: Duration::from_millis(500)
            })
        );
        let backoff = config.backoff.unwrap();
        assert_eq!(
            (backoff.base, backoff.cap),
            (Duration::from_secs(2), Duration::from_secs(30))
        );
        assert_eq!(config.retry.unwrap().max_retries, 1);
    }

    #[test]
    fn bad_settings_are_named_as_the_front_end_names_them() {
        let mut config = ClientConfig::default();
        let refuse = |settings: PolicySettings| {
            settings
                .apply(&mut ClientConfig::default(), python_name)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            refuse(PolicySettings {
                timeout_after_k_min: Some(1.0),
                ..PolicySettings::default()
            }),
            "timeout_after_k_min needs k_min"
        );
        let zero_backoff = refuse(PolicySettings {
            backoff_base: Some(0.0),
            ..PolicySettings::default()
        });
        assert!(
            zero_backoff.starts_with("backoff must be a number of seconds > 0"),
            "{zero_backoff}"
        );
        let negative_grace = refuse(PolicySettings {
            k_min: Some(1),
            timeout_after_k_min: Some(-1.0),
            ..PolicySettings::default()
        });
        assert!(
            negative_grace.starts_with("timeout_after_k_min must be"),
            "{negative_grace}"
        );
        // A refused setting changes nothing.
        assert!(PolicySettings {
            retries: Some(1),
            backoff_base: Some(f64::NAN),
            ..PolicySettings::default()
        }
        .apply(&mut config, python_name)
        .is_err());
        assert_eq!(config.retry, None);
    }
}
