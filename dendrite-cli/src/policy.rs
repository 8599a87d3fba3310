//! Options beyond the reference, shared by `query` and `bench`: quorum, backoff, retries,
//! CMPPACK responses, gRPC compression and NaN/inf rejection. All off by default.

use clap::{Args, ValueEnum};
use dendrite::core::{parse_number, Compression, PolicySetting, PolicySettings, SecondsRange};
use dendrite::wire::proto::Serializer;
use dendrite::wire::synapse::SerializerTypes;
use dendrite::{ClientConfig, Synapse};

use crate::CliError;

/// Serializer of response tensors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SerializerChoice {
    /// The reference default: each tensor in its own dtype.
    Msgpack,
    /// Hidden-state responses as float16 (half the bytes). CMPPACK casts every dtype to f16,
    /// which rounds integers above 2048: requests (token ids) and the other synapses'
    /// responses (which carry token ids) stay MSGPACK.
    Cmppack,
}

/// gRPC message compression.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CompressionChoice {
    /// gzip (every gRPC peer reads it).
    Gzip,
    /// zstd (peers that accept it).
    Zstd,
}

impl From<CompressionChoice> for Compression {
    fn from(choice: CompressionChoice) -> Self {
        match choice {
            CompressionChoice::Gzip => Compression::Gzip,
            CompressionChoice::Zstd => Compression::Zstd,
        }
    }
}

/// Call policies.
#[derive(Args, Clone, Debug)]
pub struct PolicyArgs {
    /// Return once this many endpoints succeeded (and --timeout-after-k-min passed); the rest
    /// are cut with Timeout.
    #[arg(long)]
    k_min: Option<usize>,
    /// Seconds to wait for more endpoints once --k-min succeeded.
    #[arg(long, default_value_t = 0.0, requires = "k_min")]
    timeout_after_k_min: f64,
    /// Skip failing endpoints (code Backoff, no traffic) for BASE seconds, doubling per
    /// failure up to CAP (default 60): BASE or BASE:CAP.
    #[arg(long, value_name = "BASE[:CAP]")]
    backoff: Option<String>,
    /// Retry a forward answered Unavailable up to N times within its deadline (at most 10% of
    /// calls are retried).
    #[arg(long, value_name = "N")]
    retries: Option<u32>,
    /// Serializer of response tensors.
    #[arg(long, value_enum, default_value = "msgpack")]
    serializer: SerializerChoice,
    /// Compress requests (compressed responses are always accepted).
    #[arg(long, value_enum)]
    compression: Option<CompressionChoice>,
    /// Answer InvalidResponse for endpoints whose responses hold NaN or infinities (instead of
    /// replacing them as the reference does).
    #[arg(long)]
    reject_nonfinite: bool,
}

impl PolicyArgs {
    /// Applies the chosen policies to the client's settings (checked by
    /// [`PolicySettings::apply`]).
    pub fn apply(&self, config: &mut ClientConfig) -> Result<(), CliError> {
        let (backoff_base, backoff_cap) = match &self.backoff {
            None => (None, None),
            Some(spec) => {
                let number = |text| {
                    parse_number("--backoff", text, SecondsRange::Positive).map_err(CliError::input)
                };
                let (base, cap) = spec
                    .split_once(':')
                    .map_or((spec.as_str(), None), |(b, c)| (b, Some(c)));
                (Some(number(base)?), cap.map(number).transpose()?)
            }
        };
        let settings = PolicySettings {
            k_min: self.k_min,
            timeout_after_k_min: self.k_min.map(|_| self.timeout_after_k_min),
            backoff_base,
            backoff_cap,
            retries: self.retries,
        };
        settings
            .apply(config, |setting| match setting {
                PolicySetting::KMin => "--k-min",
                PolicySetting::TimeoutAfterKMin => "--timeout-after-k-min",
                PolicySetting::Backoff => "--backoff",
            })
            .map_err(CliError::input)?;
        config.receptor.compression = self.compression.map(Into::into);
        config.reject_non_finite = self.reject_nonfinite;
        Ok(())
    }

    /// `synapses` with the chosen response serializer (hidden states only, see
    /// [`SerializerChoice::Cmppack`]).
    pub fn synapses(&self, synapses: Vec<Synapse>) -> Vec<Synapse> {
        let serializers = SerializerTypes {
            forward_response: match self.serializer {
                SerializerChoice::Msgpack => Serializer::Msgpack,
                SerializerChoice::Cmppack => Serializer::Cmppack,
            },
            ..SerializerTypes::default()
        };
        synapses
            .into_iter()
            .map(|s| match s {
                Synapse::TextLastHiddenState(_) => s.with_serializers(serializers),
                other => other,
            })
            .collect()
    }
}
