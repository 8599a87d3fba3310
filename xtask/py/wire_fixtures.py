"""Golden fixtures for dendrite-wire, written by the real Python bittensor 3.7.0.

Run by `cargo xtask fixtures` with the peer's python (../shared/peer/setup.sh); writes one JSON file.
Tensor values are given as the hex of their raw little-endian bytes so that every value is exact.
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.environ["DENDRITE_SHARED"], "peer"))
import netguard  # noqa: E402,F401  (loopback only; must come before bittensor)

import torch  # noqa: E402
import bittensor  # noqa: E402
from bittensor._synapse import (  # noqa: E402
    TextCausalLM,
    TextCausalLMNext,
    TextLastHiddenState,
    TextSeq2Seq,
)
from bittensor.utils.tokenizer_utils import compact_topk_token_phrases, unravel_topk_token_phrases  # noqa: E402

P = bittensor.proto
DTYPES = {
    "float16": torch.float16,
    "float32": torch.float32,
    "float64": torch.float64,
    "int32": torch.int32,
    "int64": torch.int64,
    "uint8": torch.uint8,
    "bool": torch.bool,
}
DTYPE_NAMES = {v: k for k, v in DTYPES.items()}


def raw(t):
    return t.detach().contiguous().cpu().numpy().tobytes().hex()


def tensor_json(t):
    return {"dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape), "data": raw(t)}


def sample(dtype, shape):
    n = 1
    for d in shape:
        n *= d
    base = torch.arange(n, dtype=torch.float64)
    if dtype == torch.bool:
        return (base.remainder(3) == 1).reshape(shape)
    if dtype.is_floating_point:
        vals = (base * 0.731 - 3.25).sin() * 40.0  # mixed signs and fractions
        return vals.to(dtype).reshape(shape)
    if dtype == torch.uint8:
        return (base * 37).remainder(256).to(dtype).reshape(shape)
    vals = (base * 7919 - 50000) * (1 if dtype == torch.int32 else 1_000_003)
    return vals.to(dtype).reshape(shape)


def tensor_cases():
    cases = []
    shapes = [[], [0], [5], [2, 3], [2, 0, 3], [1, 1], [3, 4, 5], [100]]
    for name, dtype in DTYPES.items():
        for shape in shapes:
            for ser_name, ser in (("MSGPACK", P.Serializer.MSGPACK), ("CMPPACK", P.Serializer.CMPPACK)):
                t = sample(dtype, shape)
                serializer = bittensor.serializer(ser)
                proto = serializer.serialize(t, from_type=P.TensorType.TORCH)
                case = {
                    "name": f"{name}{shape}-{ser_name}",
                    "serializer": ser_name,
                    "tensor": tensor_json(t),
                    "buffer": proto.buffer.hex(),
                    "proto": proto.SerializeToString().hex(),
                }
                try:
                    case["decoded"] = tensor_json(serializer.deserialize(proto, to_type=P.TensorType.TORCH))
                except Exception as e:  # uint8/bool have no proto dtype: the reference cannot decode them
                    case["decode_error"] = type(e).__name__
                cases.append(case)
    # bin16 and bin32 data lengths.
    for shape in ([20000], [70000]):
        t = sample(torch.uint8, shape)
        proto = bittensor.serializer(P.Serializer.MSGPACK).serialize(t, from_type=P.TensorType.TORCH)
        data = t.numpy().tobytes()
        assert proto.buffer.endswith(data)
        cases.append({"name": f"uint8{shape}-MSGPACK", "serializer": "MSGPACK", "tensor": tensor_json(t),
                      "buffer_header": proto.buffer[: len(proto.buffer) - len(data)].hex(),
                      "decode_error": "DeserializationException"})
    return cases


def synapse_cases():
    C = P.Serializer.CMPPACK
    made = [
        ("TextLastHiddenState", {}, TextLastHiddenState()),
        ("TextLastHiddenState", {"mask": [0, -1, 3]}, TextLastHiddenState(mask=[0, -1, 3])),
        ("TextLastHiddenState", {"serializers": "CMPPACK"}, TextLastHiddenState(
            forward_request_serializer_type=C, forward_response_serializer_type=C,
            backward_request_serializer_type=C, backward_response_serializer_type=C)),
        ("TextCausalLM", {}, TextCausalLM()),
        ("TextCausalLM", {"topk": 4}, TextCausalLM(topk=4)),
        ("TextCausalLM", {"topk": 0}, TextCausalLM(topk=0)),
        ("TextCausalLM", {"topk": 4096, "forward_response": "CMPPACK"}, TextCausalLM(
            topk=4096, forward_response_serializer_type=C)),
        ("TextCausalLMNext", {}, TextCausalLMNext()),
        ("TextCausalLMNext", {"topk": 4}, TextCausalLMNext(topk=4)),
        ("TextSeq2Seq", {}, TextSeq2Seq()),
        ("TextSeq2Seq", {"topk": 10, "num_to_generate": 20, "num_beams": 1, "no_repeat_ngram_size": 3,
                         "early_stopping": True, "num_return_sequences": 2, "do_sample": True, "top_p": 0.5,
                         "temperature": 0.7, "repetition_penalty": 1.3, "length_penalty": 0.0,
                         "max_time": 3.5, "num_beam_groups": 2},
         TextSeq2Seq(topk=10, num_to_generate=20, num_beams=1, no_repeat_ngram_size=3, early_stopping=True,
                     num_return_sequences=2, do_sample=True, top_p=0.5, temperature=0.7, repetition_penalty=1.3,
                     length_penalty=0.0, max_time=3.5, num_beam_groups=2)),
    ]
    out = []
    for kind, params, syn in made:
        wire = syn.serialize_to_wire_proto(code=P.ReturnCode.Timeout, message="délai dépassé ⏱")
        out.append({"kind": kind, "params": params, "synapse_data": syn.serialize_to_instance_proto().SerializeToString().hex(),
                    "wire": wire.SerializeToString().hex(), "code": int(P.ReturnCode.Timeout),
                    "message": "délai dépassé ⏱"})
    return out


def formula_logits(b, s, v, mult):
    idx = torch.arange(b * s * v, dtype=torch.int64).reshape(b, s, v)
    vv = idx.remainder(v)
    row = idx.div(v, rounding_mode="floor")
    return ((vv * mult + row * 13).remainder(v).to(torch.float32) / 1000.0)


def synapse_tensor_cases():
    V = bittensor.__vocab_size__
    out = {}
    request = torch.tensor([[1, 2, 3], [4, 5, 6]], dtype=torch.int64)
    # Causal LM: axon encode (softmax + top-k), dendrite decode (top-k -> log-probs), gradient top-k.
    lm = TextCausalLM(topk=8)
    logits = formula_logits(2, 3, V, 7919)
    encoded = lm.encode_forward_response_tensor(logits)
    decoded = lm.decode_forward_response_tensor(request, encoded)
    ids = encoded[..., 8:].long()
    floor_probe = [int(x) for x in range(V) if x not in set(ids.flatten().tolist())][:1][0]
    grad = (formula_logits(2, 3, V, 104729) - 25.0)
    out["causal_lm"] = {
        "topk": 8, "request": tensor_json(request), "logits_mult": 7919, "grad_mult": 104729, "grad_offset": 25.0,
        "encoded": tensor_json(encoded),
        "decoded_at_topk": tensor_json(torch.gather(decoded, -1, ids)),
        "floor_probe": floor_probe,
        "decoded_floor": tensor_json(decoded[..., floor_probe]),
        "decoded_shape": list(decoded.shape),
        "grad_encoded": tensor_json(lm.encode_backward_request_gradient(grad)),
        "nill": list(lm.nill_forward_response_tensor(request).shape),
    }
    # Causal LM next: compact (axon) and unravel (dendrite) of phrases of different lengths.
    k = 3
    nxt = TextCausalLMNext(topk=k)
    phrases = torch.full((2, k + 1, 4), -100.0)
    lens = [[3, 1, 2], [1, 3, 2]]
    probs = [[0.5, 0.25, 0.125, 0.125], [0.375, 0.25, 0.25, 0.125]]
    tok = 100
    for b in range(2):
        for j in range(k + 1):
            phrases[b, j, 0] = probs[b][j]
            if j < k:
                for p in range(lens[b][j]):
                    phrases[b, j, 1 + p] = tok
                    tok += 17
    compact = nxt.encode_forward_response_tensor(phrases)
    unravelled = nxt.decode_forward_response_tensor(request, compact)
    ngrad = torch.arange(2 * (k + 1) * 4, dtype=torch.float32).reshape(2, k + 1, 4) / 8.0
    out["causal_lm_next"] = {
        "topk": k, "request": tensor_json(request), "phrases": tensor_json(phrases),
        "compact": tensor_json(compact), "unravelled": tensor_json(unravelled),
        "grad": tensor_json(ngrad), "grad_encoded": tensor_json(nxt.encode_backward_request_gradient(ngrad)),
        "grad_decoded": tensor_json(nxt.decode_backward_request_gradient(nxt.encode_backward_request_gradient(ngrad))),
        "nill": tensor_json(nxt.nill_forward_response_tensor(request)),
        "nill_backward": tensor_json(nxt.nill_backward_response_tensor(request)),
    }
    # Last hidden state with a mask: axon packs rows, dendrite expands them back.
    lhs = TextLastHiddenState(mask=[0, -1])
    hidden = torch.arange(2 * 3 * 1024, dtype=torch.float32).reshape(2, 3, 1024).remainder(97) / 8.0
    packed = lhs.encode_forward_response_tensor(hidden)
    out["last_hidden_state_mask"] = {
        "mask": [0, -1], "request": tensor_json(request), "hidden": tensor_json(hidden),
        "packed": tensor_json(packed), "expanded": tensor_json(lhs.decode_forward_response_tensor(request, packed)),
        "nill": list(lhs.nill_forward_response_tensor(request).shape),
    }
    s2s = TextSeq2Seq(num_to_generate=7)
    out["seq2seq"] = {"num_to_generate": 7, "nill": list(s2s.nill_forward_response_tensor(request).shape)}
    return out


def main():
    out_path = sys.argv[1]
    fixtures = {
        "generated_by": f"bittensor {bittensor.__version__}, torch {torch.__version__}",
        "enums": {name: dict(enum.items()) for name, enum in (
            ("ReturnCode", P.ReturnCode), ("SynapseType", P.Synapse.SynapseType), ("Serializer", P.Serializer),
            ("DataType", P.DataType), ("TensorType", P.TensorType), ("Modality", P.Modality),
            ("RequestType", P.RequestType))},
        "tensors": tensor_cases(),
        "synapses": synapse_cases(),
        "synapse_tensors": synapse_tensor_cases(),
    }
    with open(out_path, "w") as f:
        json.dump(fixtures, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {out_path}: {len(fixtures['tensors'])} tensors, {len(fixtures['synapses'])} synapses")


if __name__ == "__main__":
    main()
