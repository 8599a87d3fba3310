//! `Dendrite`: the reference's calls by the same names, on wire tensors (no libtorch).

#[cfg(feature = "metrics")]
use std::sync::Arc;
use std::time::Duration;

use dendrite_core::{Client, EndpointResult, Keypair};
use dendrite_format::{format_text_inputs, BittensorTokenizer, Endpoint, Endpoints, Inputs};
#[cfg(feature = "metrics")]
use dendrite_metrics::{DendriteMetrics, Level, MetricsConfig};
use dendrite_wire::synapse::{TextCausalLM, TextCausalLMNext, TextLastHiddenState, TextSeq2Seq};
use dendrite_wire::{ReturnCode, Synapse, Tensor};

use crate::config::DendriteConfig;
use crate::error::DendriteError;

/// The outcome of a call: for every endpoint × synapse an output, a code, a message and a time.
#[derive(Clone, Debug)]
pub struct Response {
    /// The endpoints, in the order of the results.
    pub endpoints: Vec<Endpoint>,
    /// The synapses, in the order of each endpoint's results.
    pub synapses: Vec<Synapse>,
    /// One result per endpoint.
    pub results: Vec<EndpointResult>,
}

impl Response {
    /// Outputs per endpoint × synapse (zeros of the expected shape where a call failed).
    pub fn outputs(&self) -> Vec<Vec<&Tensor>> {
        self.per(|s| &s.output)
    }

    /// Return codes per endpoint × synapse.
    pub fn codes(&self) -> Vec<Vec<ReturnCode>> {
        self.per(|s| s.code)
    }

    /// Times per endpoint × synapse.
    pub fn times(&self) -> Vec<Vec<Duration>> {
        self.per(|s| s.elapsed)
    }

    fn per<'a, T>(&'a self, f: impl Fn(&'a dendrite_core::SynapseResult) -> T) -> Vec<Vec<T>> {
        self.results
            .iter()
            .map(|r| r.synapses.iter().map(&f).collect())
            .collect()
    }
}

/// One endpoint's answer to [`Dendrite::generate`].
#[derive(Clone, Debug, PartialEq)]
pub struct Generation {
    /// The endpoint's code.
    pub code: ReturnCode,
    /// Its time.
    pub time: Duration,
    /// The decoded tokens of the first batch item (empty unless `code` is `Success`).
    pub text: String,
}

/// Options of [`Dendrite::generate`], the reference's defaults.
pub type GenerateOptions = TextSeq2Seq;

/// The dendrite: formats inputs, fans them out through the RPC core and returns per endpoint ×
/// synapse results, counted in Prometheus metrics unless the level is OFF (feature `metrics`).
/// Cheap to clone.
#[derive(Clone, Debug)]
pub struct Dendrite {
    client: Client,
    config: DendriteConfig,
    #[cfg(feature = "metrics")]
    metrics: Option<Arc<DendriteMetrics>>,
}

impl Dendrite {
    /// A dendrite signing with `key`, with the reference's defaults and any `BT_DENDRITE_*`
    /// variables applied.
    pub fn new(key: Keypair) -> Result<Self, DendriteError> {
        Ok(Self::with_config(key, DendriteConfig::from_env()?))
    }

    /// A dendrite with explicit settings (no environment is read).
    #[cfg(feature = "metrics")]
    pub fn with_config(key: Keypair, config: DendriteConfig) -> Self {
        let metrics = (config.prometheus_level != Level::Off)
            .then(|| {
                let identifier = uuid::Uuid::new_v4().to_string();
                let metrics_config = MetricsConfig {
                    level: config.prometheus_level,
                    ..MetricsConfig::new(key.ss58_address(), identifier)
                };
                DendriteMetrics::new(metrics_config)
                    .inspect_err(|e| tracing::warn!("metrics disabled: {e}"))
                    .ok()
            })
            .flatten()
            .map(Arc::new);
        let client = match metrics.as_ref().and_then(|m| m.observer()) {
            Some(observer) => Client::with_observer(key, config.client.clone(), observer),
            None => Client::new(key, config.client.clone()),
        };
        Dendrite {
            client,
            config,
            metrics,
        }
    }

    /// A dendrite with explicit settings (no environment is read).
    #[cfg(not(feature = "metrics"))]
    pub fn with_config(key: Keypair, config: DendriteConfig) -> Self {
        let client = Client::new(key, config.client.clone());
        Dendrite { client, config }
    }

    /// The metrics and per-endpoint statistics (`None` at level OFF). Serve them with
    /// [`dendrite_metrics::serve_metrics`].
    #[cfg(feature = "metrics")]
    pub fn metrics(&self) -> Option<&Arc<DendriteMetrics>> {
        self.metrics.as_ref()
    }

    /// The RPC core (pool, limits, backward counters).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The settings.
    pub fn config(&self) -> &DendriteConfig {
        &self.config
    }

    /// The reference's `format_text_inputs`: endpoints in any accepted form and text or token
    /// inputs, checked and broadcast to one `[B, S]` int64 tensor per endpoint.
    pub fn format_text_inputs(
        &self,
        endpoints: impl Into<Endpoints>,
        inputs: impl Into<Inputs>,
    ) -> Result<(Vec<Endpoint>, Vec<Tensor>), DendriteError> {
        Ok(format_text_inputs(endpoints, inputs)?)
    }

    /// Sends `inputs[i]` to `endpoints[i]` for every synapse (the core call).
    pub async fn forward(
        &self,
        endpoints: &[Endpoint],
        synapses: &[Synapse],
        inputs: &[Tensor],
        timeout: Option<Duration>,
    ) -> Result<Vec<EndpointResult>, DendriteError> {
        let timeout = timeout.unwrap_or(self.config.timeout);
        Ok(self
            .client
            .forward(endpoints, synapses, inputs, timeout)
            .await?)
    }

    /// Sends each endpoint the gradients of its outputs (`grads[i]`, one per synapse) and waits
    /// for the answers. Nothing is sent when `requires_grad` is off: every result is then
    /// `Success` with the message "requires_grad is off".
    pub async fn backward(
        &self,
        endpoints: &[Endpoint],
        synapses: &[Synapse],
        inputs: &[Tensor],
        grads: &[Vec<Tensor>],
        timeout: Option<Duration>,
    ) -> Result<Vec<EndpointResult>, DendriteError> {
        if !self.config.requires_grad {
            return Ok(not_sent(endpoints.len(), synapses.len()));
        }
        let timeout = timeout.unwrap_or(self.config.timeout);
        Ok(self
            .client
            .backward(endpoints, synapses, inputs, grads, timeout)
            .await?)
    }

    /// The reference's `text`: text or token inputs to every endpoint, every synapse.
    pub async fn text(
        &self,
        endpoints: impl Into<Endpoints>,
        synapses: &[Synapse],
        inputs: impl Into<Inputs>,
        timeout: Option<Duration>,
    ) -> Result<Response, DendriteError> {
        let (endpoints, inputs) = format_text_inputs(endpoints, inputs)?;
        let results = self.forward(&endpoints, synapses, &inputs, timeout).await?;
        Ok(Response {
            endpoints,
            synapses: synapses.to_vec(),
            results,
        })
    }

    /// Last hidden states `[B, S, 1024]` from every endpoint (the reference documents every
    /// endpoint but returns the first; we return every endpoint).
    pub async fn text_last_hidden_state(
        &self,
        endpoints: impl Into<Endpoints>,
        inputs: impl Into<Inputs>,
        synapse: TextLastHiddenState,
        timeout: Option<Duration>,
    ) -> Result<Response, DendriteError> {
        self.text(endpoints, &[synapse.into()], inputs, timeout)
            .await
    }

    /// Causal LM log-probabilities `[B, S, 50258]` from every endpoint.
    pub async fn text_causal_lm(
        &self,
        endpoints: impl Into<Endpoints>,
        inputs: impl Into<Inputs>,
        synapse: TextCausalLM,
        timeout: Option<Duration>,
    ) -> Result<Response, DendriteError> {
        self.text(endpoints, &[synapse.into()], inputs, timeout)
            .await
    }

    /// Next-token phrases `[B, topk + 1, max_len]` from every endpoint.
    pub async fn text_causal_lm_next(
        &self,
        endpoints: impl Into<Endpoints>,
        inputs: impl Into<Inputs>,
        synapse: TextCausalLMNext,
        timeout: Option<Duration>,
    ) -> Result<Response, DendriteError> {
        self.text(endpoints, &[synapse.into()], inputs, timeout)
            .await
    }

    /// The reference's `generate`: seq2seq on every endpoint, the first batch item's tokens
    /// decoded with the GPT-2 tokenizer.
    pub async fn generate(
        &self,
        endpoints: impl Into<Endpoints>,
        prompt: impl Into<Inputs>,
        options: GenerateOptions,
        timeout: Option<Duration>,
    ) -> Result<Vec<Generation>, DendriteError> {
        let response = self
            .text(endpoints, &[options.into()], prompt, timeout)
            .await?;
        let tokenizer = BittensorTokenizer::shared()?;
        response
            .results
            .iter()
            .map(|r| {
                let s = &r.synapses[0];
                let text = match s.output.shape() {
                    [_, n] if s.code == ReturnCode::Success => {
                        tokenizer.decode(&s.output.to_vec::<i64>()[..*n])?
                    }
                    _ => String::new(),
                };
                Ok(Generation {
                    code: s.code,
                    time: s.elapsed,
                    text,
                })
            })
            .collect()
    }
}

/// Results for a backward that was not sent.
fn not_sent(endpoints: usize, synapses: usize) -> Vec<EndpointResult> {
    let result = EndpointResult {
        synapses: (0..synapses)
            .map(|_| dendrite_core::SynapseResult {
                output: Tensor::empty(),
                code: ReturnCode::Success,
                message: "requires_grad is off".into(),
                elapsed: Duration::ZERO,
            })
            .collect(),
        ..EndpointResult::default()
    };
    vec![result; endpoints]
}
