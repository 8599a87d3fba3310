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


def test_json_for_json_what_10_5_0_dumps() -> None:
    """The same synapses dumped by 10.5.0's classes (in its venv) and ours."""
    script = (
        "import sys, json; sys.path.insert(0, sys.argv[1]); import synapses as s; "
        "d = s.Dummy(dummy_input=21); h = s.Hashed(text='naïve \"x\"'); "
        "print(json.dumps({'dummy': d.model_dump(), 'hashed': h.model_dump(), 'hash': h.body_hash, "
        "'required': d.get_required_fields(), 'terminal': s.bt.TerminalInfo(port='8091', nonce='7').model_dump()}))"
    )
    out = subprocess.run(
        [peer10_python(), "-c", script, str(SHARED / "peer10")], capture_output=True, text=True, check=True
    )
    theirs = json.loads(out.stdout.strip().splitlines()[-1])
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
