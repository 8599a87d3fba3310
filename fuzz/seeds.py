"""Writes fuzz/corpus/<target>/ seeds from the golden fixtures the real Python bittensor 3.7.0
made (dendrite-wire and dendrite-format tests). Run from the repository root: python3 fuzz/seeds.py"""
import hashlib
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def put(target, data):
    folder = os.path.join(ROOT, "fuzz", "corpus", target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(tag, payload):
    return varint(tag << 3 | 2) + varint(len(payload)) + payload


wire = json.load(open(os.path.join(ROOT, "dendrite-wire/tests/fixtures/wire.json")))
tensors = [c for c in wire["tensors"] if "proto" in c]
for case in wire["tensors"]:
    put("tensor_buffer", bytes.fromhex(case.get("buffer") or case["buffer_header"]))
    if "proto" in case:
        put("tensor_buffer", bytes.fromhex(case["proto"]))
synapses = [bytes.fromhex(s["wire"]) for s in wire["synapses"]]
for s in wire["synapses"]:
    put("synapse_data", bytes.fromhex(s["wire"]))
    kind = {"TextLastHiddenState": 1, "TextCausalLM": 2, "TextSeq2Seq": 3, "TextCausalLMNext": 4}
    put("synapse_data", bytes([kind[s["kind"]]]) + bytes.fromhex(s["synapse_data"]))
# Responses: TensorMessage {version 370 (field 1), hotkey (2), return_code Success (4, varint),
# tensors (6), synapses (8)} around each float tensor proto of the fixtures.
for case in tensors[:24]:
    tensor = bytes.fromhex(case["proto"])
    for synapse in synapses[:3]:
        message = (b"\x08\xf2\x02" + field(2, b"5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY")
                   + b"\x20\x01" + field(6, tensor) + field(8, synapse))
        put("tensor_message_response", b"\x05" + message)

fmt = json.load(open(os.path.join(ROOT, "dendrite-format/tests/fixtures/format.json")))
for case in (c for c in fmt["endpoints"] if "tensor" in c):
    values = case["tensor"]
    put("endpoint_tensor", bytes(b for v in values for b in (v & 0xFF, 1 if v < 0 else 0)))

for header in [
    "1700000000000000000.5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY.0x" + "ab" * 64
    + ".6f9619ff-8b86-d011-b42d-00c04fc964ff.1",
    "1700000000000000000.5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY.0x" + "cd" * 64
    + ".6f9619ff-8b86-d011-b42d-00c04fc964ff",
    "0x10.5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY.0x00.u.1",
]:
    put("signature_header", header.encode())

# 10.x answers: the real 10.5.0 axon's raw answers (dendrite-http's capture), as http_answer
# reads them: 2 bytes status - 100, "name:value" lines, a blank line, the body.
# (btauth_headers/signed-by-11.3.0 is a request signed by 11.3.0's http_auth.sign, by hand:
# shared/peer10/btauth_client.py --sign-only.)
import base64  # noqa: E402
import struct  # noqa: E402

captured = json.load(open(os.path.join(ROOT, "dendrite-http/tests/fixtures/captured-10.5.0.json")))
for exchange in captured["exchanges"]:
    head, body = base64.b64decode(exchange["response"]["raw_b64"]).split(b"\r\n\r\n", 1)
    start, *lines = head.split(b"\r\n")
    status = int(start.split()[1])
    headers = b"\n".join(line.replace(b": ", b":", 1) for line in lines)
    put("http_answer", struct.pack("<H", status - 100) + headers + b"\n\n" + body)

# Event streams as the Epistula miner (shared/peer10/epistula_server.py) and OpenAI-style servers
# send them, and the WHATWG spec's examples; the first byte is where the fuzz target splits.
streams = [
    b'data: {"choices": [{"delta": {"content": "tok0 "}}]}\n\ndata: [DONE]\n\n',
    b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n",
    b"data: YHOO\r\ndata: +2\r\ndata: 10\r\n\r\n",
    b"\xef\xbb\xbfevent: add\rdata: 73857293\r\rretry: 250\r\r",
]
for i, stream in enumerate(streams):
    put("sse_stream", bytes([7 * i + 3]) + stream)
