"""``dendrite_rs.http`` where bittensor 11 removed the networking classes: our ``Synapse``,
``StreamingSynapse`` and ``TerminalInfo`` dump what 10.5.0's dump, and a 10.5.0 axon (and ours)
answers them."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any, List, Optional

import bittensor
import pytest
from conftest import SHARED, Served, peer10_python

from dendrite_rs.http import Dendrite, StreamingSynapse, Synapse, TerminalInfo


class Dummy(Synapse):
    dummy_input: int
    dummy_output: Optional[int] = None

    def deserialize(self) -> Optional[int]:
        return self.dummy_output


class Hashed(Synapse):
    text: str
    out: Optional[str] = None
    required_hash_fields = ("text",)

    def deserialize(self) -> Optional[str]:
        return self.out


class Unknown(Synapse):
    """Not served: 404."""


class Stream(StreamingSynapse):
    n: int
    toks: list = []

    async def process_streaming_response(self, response: Any) -> Any:
        self.toks = []
        async for chunk in response.content.iter_any():
            tok = chunk.decode()
            self.toks.append(tok)
            yield tok

    def extract_response_json(self, response: Any) -> dict:
        return {"name": self.name, "timeout": self.timeout, "n": self.n, "toks": self.toks}

    def deserialize(self) -> str:
        return "".join(self.toks)


def test_the_classes_are_ours_on_bittensor_11() -> None:
    assert not hasattr(bittensor, "Synapse") and not hasattr(bittensor, "Dendrite")
    assert Synapse.__module__ == TerminalInfo.__module__ == "dendrite_rs._synapse"
    for module in ("torch", "numpy"):
        assert module not in sys.modules


def in_10_5_0(code: str) -> Any:
    """What ``code`` prints as its last line (JSON), run in 10.5.0's venv with the peer's
    synapses imported as ``s`` (``json`` imported too)."""
    script = "import sys, json; sys.path.insert(0, sys.argv[1]); import synapses as s; " + code
    out = subprocess.run(
        [peer10_python(), "-c", script, str(SHARED / "peer10")], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_json_for_json_what_10_5_0_dumps() -> None:
    """The same synapses dumped by 10.5.0's classes (in its venv) and ours."""
    theirs = in_10_5_0(
        "d = s.Dummy(dummy_input=21); h = s.Hashed(text='naïve \"x\"'); "
        "print(json.dumps({'dummy': d.model_dump(), 'hashed': h.model_dump(), 'hash': h.body_hash, "
        "'required': d.get_required_fields(), 'terminal': s.bt.TerminalInfo(port='8091', nonce='7').model_dump()}))"
    )
    hashed = Hashed(text='naïve "x"')
    assert json.dumps(Dummy(dummy_input=21).model_dump()) == json.dumps(theirs["dummy"])
    assert json.dumps(hashed.model_dump()) == json.dumps(theirs["hashed"])
    assert hashed.body_hash == theirs["hash"]
    assert Dummy(dummy_input=21).get_required_fields() == theirs["required"]
    assert TerminalInfo(port="8091", nonce="7").model_dump() == theirs["terminal"]


def call(target: Any, synapse: Any, timeout: float = 12.0, deserialize: bool = True) -> Any:
    async def run() -> Any:
        async with Dendrite("//Alice") as d:
            return await d(target, synapse, timeout=timeout, deserialize=deserialize)

    return asyncio.run(run())


@pytest.mark.parametrize("axon", ["real_axon", "our_axon"])
def test_10_5_0_axons_answer_our_synapses(axon: str, request: Any) -> None:
    served: Served = request.getfixturevalue(axon)
    assert call(served.target, Dummy(dummy_input=21)) == 42
    assert call(served.target, Hashed(text="naïve")) == "NAÏVE"
    unknown = call(served.target, Unknown(), deserialize=False)
    assert unknown.dendrite.status_code == 404 and unknown.is_failure
    assert unknown.dendrite.status_message.startswith("Synapse name 'Unknown' not found.")
    dummy = call(served.target, Dummy(dummy_input=1), deserialize=False)
    assert dummy.is_success and isinstance(dummy.axon, TerminalInfo)
    assert dummy.axon.hotkey == served.target.hotkey

    async def stream() -> List[Any]:
        d = Dendrite("//Alice")
        return [item async for item in await d(served.target, Stream(n=4), streaming=True)]

    items = asyncio.run(stream())
    assert items == ["tok0 ", "tok1 ", "tok2 ", "tok3 ", "tok0 tok1 tok2 tok3 "]


def test_headers_as_10_5_0_writes_and_reads_them() -> None:
    """``to_headers`` and ``from_headers`` of our classes and of 10.5.0's (in its venv), for a
    synapse with both terminal infos set."""
    theirs = in_10_5_0(
        "h = s.Hashed(text='naïve', dendrite=s.bt.TerminalInfo(ip='10.0.0.1', nonce=7, hotkey='5A'), "
        "axon=s.bt.TerminalInfo(ip='10.0.0.2', port=8091, hotkey='5B')); headers = h.to_headers(); "
        "print(json.dumps({'headers': headers, 'back': s.Hashed.from_headers(headers).model_dump(), "
        "'inputs': s.Hashed.parse_headers_to_inputs(headers)}))"
    )
    hashed = Hashed(
        text="naïve",
        dendrite=TerminalInfo(ip="10.0.0.1", nonce=7, hotkey="5A"),
        axon=TerminalInfo(ip="10.0.0.2", port=8091, hotkey="5B"),
    )
    headers = hashed.to_headers()
    assert headers == theirs["headers"]
    assert Hashed.parse_headers_to_inputs(headers) == theirs["inputs"]
    assert Hashed.from_headers(headers).model_dump() == theirs["back"]


class _Answer:
    """What ``process_server_response`` reads of an HTTP answer: its status and headers."""

    def __init__(self, status: int, headers: Any) -> None:
        self.status, self.headers = status, headers


def test_requests_sent_by_other_means_are_answered(real_axon: Served) -> None:
    """Without aiohttp or bittensor's classes: ``preprocess_synapse_for_request``, then the
    headers and body sent with the standard library, then ``process_server_response``."""
    import http.client

    dendrite = Dendrite("//Alice", external_ip="192.0.2.1")
    target = real_axon.target

    def deliver(synapse: Any) -> Any:
        """``synapse``, prepared, sent as subnet code sends it; ``process_server_response`` after."""
        connection = http.client.HTTPConnection(target.ip, target.port, timeout=30)
        headers = {**synapse.to_headers(), "Content-Type": "application/json"}
        connection.request("POST", f"/{synapse.name}", body=synapse.model_dump_json().encode(), headers=headers)
        answer = connection.getresponse()
        body = json.loads(answer.read())
        connection.close()
        dendrite.process_server_response(_Answer(answer.status, dict(answer.getheaders())), body, synapse)
        return synapse

    def send(synapse: Any) -> Any:
        synapse = dendrite.preprocess_synapse_for_request(target, synapse, 12.0)
        url = dendrite._get_endpoint_url(target, synapse.name)
        assert url == f"http://{target.ip}:{target.port}/{synapse.name}"
        return deliver(synapse)

    hashed = send(Hashed(text="naïve"))
    assert hashed.out == "NAÏVE" and hashed.is_success
    assert hashed.axon.hotkey == target.hotkey and hashed.dendrite.status_message == "Success"
    # On purpose unlike 10.5.0: a prepared request names a uuid of this dendrite's own, the same
    # every time, but not ``dendrite.uuid``, which the dendrite's own calls name. So a request
    # prepared before a call and sent after it is not refused as older than the call's nonce.
    assert hashed.dendrite.uuid != dendrite.uuid
    prepared = dendrite.preprocess_synapse_for_request(target, Hashed(text="prepared first"), 12.0)
    assert asyncio.run(dendrite.forward(target, Dummy(dummy_input=4), deserialize=True)) == 8
    assert prepared.dendrite.uuid == hashed.dendrite.uuid
    deliver(prepared)
    assert prepared.dendrite.status_code == 200 and prepared.out == "PREPARED FIRST", prepared.dendrite
    # Tampered after signing: the axon's verification refuses it, and its message is kept.
    tampered = dendrite.preprocess_synapse_for_request(target, Dummy(dummy_input=3))
    tampered.dendrite.nonce = tampered.dendrite.nonce + 1
    deliver(tampered)
    assert tampered.dendrite.status_code == 401 and tampered.failed_verification
    assert "Signature mismatch" in tampered.dendrite.status_message

    async def session() -> Any:
        return await dendrite.session

    with pytest.raises(ImportError, match="aiohttp"):
        asyncio.run(session())
