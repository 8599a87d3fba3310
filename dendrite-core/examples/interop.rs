//! Our dendrite's side of `cargo xtask interop`. Prints JSON lines in the format of
//! `../shared/peer/dendrite.py query` so the two dendrites can be compared call by call.
//!
//! `interop query --endpoints FILE`: the peer script's calls (every synapse alone, all four in one
//! request, a string input, generate) plus a Backward; each line carries `sane` (log-probs
//! normalised, next-token probabilities in [0, 1], hidden states finite). A `check` line compares
//! hidden states fetched with CMPPACK responses and gzip requests against plain ones.
//! `interop mixed --endpoints FILE [--timeout S]`: one forward to every endpoint; prints the
//! code per endpoint.

use std::time::{Duration, Instant};

use dendrite_core::{Client, ClientConfig, Compression, Keypair};
use dendrite_format::{
    format_text_inputs, load_endpoints, BittensorTokenizer, Endpoint, Endpoints, Inputs,
};
use dendrite_wire::proto::Serializer;
use dendrite_wire::synapse::{
    SerializerTypes, TextCausalLM, TextCausalLMNext, TextLastHiddenState, TextSeq2Seq, VOCAB_SIZE,
};
use dendrite_wire::{DType, ReturnCode, Synapse, Tensor};
use serde_json::{json, Value};

type Error = Box<dyn std::error::Error>;

fn dtype_name(dtype: DType) -> &'static str {
    match dtype {
        DType::Float16 => "torch.float16",
        DType::Float32 => "torch.float32",
        DType::Float64 => "torch.float64",
        DType::Int32 => "torch.int32",
        DType::Int64 => "torch.int64",
        DType::UInt8 => "torch.uint8",
        DType::Bool => "torch.bool",
    }
}

fn describe(t: &Tensor) -> Value {
    json!({"shape": t.shape(), "dtype": dtype_name(t.dtype())})
}

/// Whether an output's values are plausible for its synapse.
fn sane(synapse: &Synapse, output: &Tensor) -> bool {
    match synapse {
        Synapse::TextLastHiddenState(_) => output.to_vec::<f32>().iter().all(|v| v.is_finite()),
        Synapse::TextCausalLM(_) => output.to_vec::<f32>().chunks(VOCAB_SIZE).all(|row| {
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
            let lse = max
                + row
                    .iter()
                    .map(|&v| (v as f64 - max).exp())
                    .sum::<f64>()
                    .ln();
            lse.abs() < 1e-3
        }),
        Synapse::TextCausalLMNext(_) => {
            let width = *output.shape().last().unwrap_or(&1);
            output
                .to_vec::<f32>()
                .chunks(width.max(1))
                .all(|row| (0.0..=1.0).contains(&row[0]))
        }
        Synapse::TextSeq2Seq(_) => output.dtype() == DType::Int64,
    }
}

struct Runner {
    client: Client,
    timeout: Duration,
}

impl Runner {
    /// One call; prints the peer script's line for it. `first_only` mirrors the reference's
    /// single-synapse helpers, which return the first endpoint's output only.
    async fn call(
        &self,
        name: &str,
        endpoints: &[Endpoint],
        inputs: &[Tensor],
        synapses: &[Synapse],
        first_only: bool,
    ) -> Result<Vec<Tensor>, Error> {
        let start = Instant::now();
        let results = self
            .client
            .forward(endpoints, synapses, inputs, self.timeout)
            .await?;
        let mut outputs = Vec::new();
        let mut described = Vec::new();
        let mut codes = Vec::new();
        let mut all_sane = true;
        for result in &results {
            let mut per_endpoint = Vec::new();
            for (synapse, outcome) in synapses.iter().zip(&result.synapses) {
                codes.push(outcome.code.as_str_name().to_string());
                all_sane &= outcome.code != ReturnCode::Success || sane(synapse, &outcome.output);
                per_endpoint.push(describe(&outcome.output));
                outputs.push(outcome.output.clone());
            }
            described.push(Value::Array(per_endpoint));
        }
        // The reference's single-synapse helpers return the first endpoint's outputs only.
        let shown = if first_only {
            described[0].clone()
        } else {
            Value::Array(described)
        };
        if first_only {
            codes.truncate(synapses.len());
        }
        println!(
            "{}",
            json!({"call": name, "outputs": shown, "codes": codes, "sane": all_sane,
                   "wall_s": start.elapsed().as_secs_f64()})
        );
        Ok(outputs)
    }
}

async fn query(runner: &Runner, endpoints: Vec<Endpoint>) -> Result<(), Error> {
    let tokenizer = BittensorTokenizer::shared()?;
    let batch = tokenizer.encode_batch(&[
        "hello world, this is bittensor speaking",
        "the quick brown fox jumps over the lazy dog",
    ])?;
    let inputs = vec![batch.clone(); endpoints.len()];
    let lhs: Synapse = TextLastHiddenState::default().into();
    let lm: Synapse = TextCausalLM::with_topk(4).into();
    let next: Synapse = TextCausalLMNext::with_topk(4).into();
    let seq: Synapse = TextSeq2Seq {
        num_to_generate: 8,
        num_beams: 1,
        topk: 4,
        ..TextSeq2Seq::default()
    }
    .into();
    runner
        .call(
            "text_last_hidden_state",
            &endpoints,
            &inputs,
            std::slice::from_ref(&lhs),
            true,
        )
        .await?;
    runner
        .call(
            "text_causal_lm(topk=4)",
            &endpoints,
            &inputs,
            std::slice::from_ref(&lm),
            true,
        )
        .await?;
    runner
        .call(
            "text_causal_lm_next(topk=4)",
            &endpoints,
            &inputs,
            std::slice::from_ref(&next),
            true,
        )
        .await?;
    let all = [lhs.clone(), lm.clone(), next, seq.clone()];
    runner
        .call("text(4 synapses)", &endpoints, &inputs, &all, false)
        .await?;
    let (str_endpoints, str_inputs) = format_text_inputs(
        Endpoints::List(endpoints.clone()),
        Inputs::Text("hello world".into()),
    )?;
    runner
        .call(
            "text_last_hidden_state(str)",
            &str_endpoints,
            &str_inputs,
            std::slice::from_ref(&lhs),
            true,
        )
        .await?;

    // The same hidden states again, CMPPACK responses and gzip requests: within f16 of plain.
    let plain = runner
        .client
        .forward(
            &endpoints,
            std::slice::from_ref(&lhs),
            &inputs,
            runner.timeout,
        )
        .await?;
    let packed_lhs = lhs.clone().with_serializers(SerializerTypes {
        forward_response: Serializer::Cmppack,
        ..SerializerTypes::default()
    });
    let mut config = ClientConfig::default();
    config.receptor.compression = Some(Compression::Gzip);
    let packed_client = Client::new(runner.client.key().clone(), config);
    let packed = packed_client
        .forward(&endpoints, &[packed_lhs], &inputs, runner.timeout)
        .await?;
    let (mut max_abs, mut max_diff) = (0f32, 0f32);
    for (p, q) in plain.iter().zip(&packed) {
        let (p, q) = (&p.synapses[0].output, &q.synapses[0].output);
        for (a, b) in p.as_slice::<f32>()?.iter().zip(q.as_slice::<f32>()?) {
            max_abs = max_abs.max(a.abs());
            max_diff = max_diff.max((a - b).abs());
        }
    }
    let codes: Vec<&str> = packed
        .iter()
        .chain(&plain)
        .map(|r| r.synapses[0].code.as_str_name())
        .collect();
    println!(
        "{}",
        json!({"check": "cmppack+gzip", "codes": codes, "max_abs": max_abs, "max_diff": max_diff,
               "wire_received": packed_client.pool().wire_bytes().1})
    );

    // generate: seq2seq on the first endpoint, decoded with our tokenizer.
    let start = Instant::now();
    let first = &endpoints[..1];
    let results = runner
        .client
        .forward(
            first,
            std::slice::from_ref(&seq),
            &inputs[..1],
            runner.timeout,
        )
        .await?;
    let outcome = &results[0].synapses[0];
    let generations: Vec<String> = match outcome.output.shape() {
        [_, n] if outcome.code == ReturnCode::Success => {
            let ids = outcome.output.to_vec::<i64>();
            vec![tokenizer.decode(&ids[..*n])?]
        }
        _ => vec![],
    };
    println!(
        "{}",
        json!({"call": "generate", "codes": [outcome.code.as_str_name()], "generations": generations,
               "wall_s": start.elapsed().as_secs_f64()})
    );

    // Backward: the gradient of sum(outputs) (ones) for the hidden states and the causal LM.
    let start = Instant::now();
    let synapses = [lhs, lm];
    let forward = runner
        .client
        .forward(&endpoints, &synapses, &inputs, runner.timeout)
        .await?;
    let grads: Vec<Vec<Tensor>> = forward
        .iter()
        .map(|r| {
            r.synapses
                .iter()
                .map(|s| Tensor::from_vec(vec![1f32; s.output.numel()], s.output.shape().to_vec()))
                .collect::<Result<Vec<_>, _>>()
        })
        .collect::<Result<_, _>>()?;
    let results = runner
        .client
        .backward(&endpoints, &synapses, &inputs, &grads, runner.timeout)
        .await?;
    let codes: Vec<&str> = results
        .iter()
        .flat_map(|r| r.synapses.iter().map(|s| s.code.as_str_name()))
        .collect();
    let messages: Vec<&str> = results
        .iter()
        .flat_map(|r| r.synapses.iter().map(|s| s.message.as_str()))
        .collect();
    println!(
        "{}",
        json!({"call": "backward(last_hidden, causal_lm)", "codes": codes, "messages": messages,
               "wall_s": start.elapsed().as_secs_f64()})
    );
    Ok(())
}

async fn mixed(runner: &Runner, endpoints: Vec<Endpoint>) -> Result<(), Error> {
    let tokenizer = BittensorTokenizer::shared()?;
    let batch = tokenizer.encode_batch(&["hello world"])?;
    let inputs = vec![batch; endpoints.len()];
    let start = Instant::now();
    let synapse: Synapse = TextLastHiddenState::default().into();
    let results = runner
        .client
        .forward(
            &endpoints,
            std::slice::from_ref(&synapse),
            &inputs,
            runner.timeout,
        )
        .await?;
    let wall = start.elapsed().as_secs_f64();
    let per_endpoint: Vec<Value> = endpoints
        .iter()
        .zip(&results)
        .map(|(e, r)| {
            let s = &r.synapses[0];
            json!({"port": e.port, "code": s.code.as_str_name(), "elapsed_s": s.elapsed.as_secs_f64(), "message": s.message})
        })
        .collect();
    println!(
        "{}",
        json!({"call": "mixed", "wall_s": wall, "endpoints": per_endpoint})
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let mode = args.first().cloned().unwrap_or_default();
    let path = value("--endpoints").ok_or("--endpoints FILE is required")?;
    let timeout = Duration::from_secs_f64(value("--timeout").map_or(Ok(30.0), |t| t.parse())?);
    let endpoints = load_endpoints(&std::fs::read_to_string(path)?)?;
    let runner = Runner {
        client: Client::new(Keypair::from_uri("//Alice")?, ClientConfig::default()),
        timeout,
    };
    match mode.as_str() {
        "query" => query(&runner, endpoints).await?,
        "mixed" => mixed(&runner, endpoints).await?,
        _ => return Err("usage: interop query|mixed --endpoints FILE [--timeout S]".into()),
    }
    println!("CLIENT DONE");
    Ok(())
}
