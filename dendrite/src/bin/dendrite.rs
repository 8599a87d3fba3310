//! The `dendrite` command line. `dendrite demo` is the project's main job; until the RPC core and
//! the local axons exist it shows the wire layer at work and says what is coming.

use dendrite::wire::proto::{ReturnCode, Serializer};
use dendrite::wire::synapse::{
    Synapse, TextCausalLM, TextCausalLMNext, TextLastHiddenState, TextSeq2Seq,
};
use dendrite::wire::{serializer, Tensor};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("demo") => demo(),
        Some("--help" | "-h") | None => {
            println!("usage: dendrite demo\n\n  demo   show the Bittensor 3.x wire encodings of every synapse");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("dendrite: unknown command `{other}` (try --help)");
            ExitCode::from(2)
        }
    }
}

fn demo() -> ExitCode {
    println!("dendrite demo: the wire layer (local axons and fan-out arrive with the RPC core)\n");
    let request = match Tensor::from_vec(vec![15496i64, 995, 318, 257, 1332, 13], [2, 3]) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("dendrite: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "{:<22} {:>12} {:>14} {:>22}",
        "synapse", "params", "request bytes", "zero response shape"
    );
    let synapses = [
        Synapse::from(TextLastHiddenState::default()),
        Synapse::from(TextCausalLM::with_topk(4)),
        Synapse::from(TextCausalLMNext::with_topk(4)),
        Synapse::from(TextSeq2Seq::default()),
    ];
    for synapse in &synapses {
        let wire = synapse.to_wire(ReturnCode::Success, "");
        let size = serializer::serialize(&request, Serializer::Msgpack)
            .map(|t| t.buffer.len())
            .unwrap_or(0);
        println!(
            "{:<22} {:>12} {:>14} {:>22}",
            synapse.name(),
            format!("{} B", wire.synapse_data.len()),
            size,
            format!("{:?}", synapse.nill_forward_response(&request).shape()),
        );
    }
    ExitCode::SUCCESS
}
