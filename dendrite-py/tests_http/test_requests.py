"""``Dendrite.request`` and its shortcuts (signed REST requests, as bittensor 11's subnets send
them) against the subnet-style Epistula miner (``../shared/peer10/epistula_server.py``): signed
requests accepted, signed answers verified, streams read as events, the deadline, the refusals,
one axon → one response and a list → a list."""

from __future__ import annotations

import asyncio
import hashlib
import time

import pytest
from conftest import Served

from dendrite_rs.http import Dendrite, Response


def test_signed_requests_and_signed_answers(epistula_miner: Served) -> None:
    async def run() -> None:
        dendrite = Dendrite("//Alice", auth="epistula")
        one = await dendrite.post(epistula_miner.axon_info, "/score", json={"task": "ping"})
        assert isinstance(one, Response)
        assert one.status_code == 200, one.text
        assert one.is_success and one.outcome == "success"
        assert one.answer_signed is True
        assert one.headers["Content-Type"] == "application/json"
        body = one.json()
        assert body["signed_by"] == dendrite.keypair.ss58_address
        assert body["body_sha256"] == hashlib.sha256(b'{"task": "ping"}').hexdigest()
        assert one.elapsed.total_seconds() > 0 and one.phases["wait"] > 0
        many = await dendrite.request("POST", [epistula_miner.axon_info] * 3, "/echo/a/b", content=b"raw")
        assert [r.status_code for r in many] == [200, 200, 200]
        assert [r.json()["path"] for r in many] == ["/echo/a/b"] * 3
        unsigned = await dendrite.get(epistula_miner.axon_info, "/health", auth="none")
        assert unsigned.status_code == 400
        assert unsigned.json() == {"detail": "Missing header Epistula-Version"}
        assert unsigned.outcome == "peer_error"
        with pytest.raises(RuntimeError):
            unsigned.raise_for_status()
        await dendrite.aclose_session()

    asyncio.run(run())


def test_signed_requests_by_a_keypair_that_keeps_its_secret(epistula_miner: Served) -> None:
    """A ``bittensor_wallet.Keypair`` signs requests with its own ``sign``: the miner accepts
    them as its signer's."""
    import bittensor_wallet

    alice = bittensor_wallet.Keypair.create_from_uri("//Alice")

    async def run() -> None:
        dendrite = Dendrite(alice, auth="epistula")
        many = await dendrite.post([epistula_miner.axon_info] * 4, "/score", json={"task": "ping"})
        assert [r.status_code for r in many] == [200] * 4, [r.text for r in many]
        assert {r.json()["signed_by"] for r in many} == {alice.ss58_address}

    asyncio.run(run())


def test_streams_and_the_deadline(epistula_miner: Served) -> None:
    async def run() -> None:
        dendrite = Dendrite("//Alice", auth="epistula")
        chat = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4, "stream": True}
        answer = await dendrite.post(epistula_miner.axon_info, "/v1/chat/completions", json=chat, stream=True)
        assert answer.status_code == 200
        data = [e.data for e in answer.events]
        assert data[-1] == "[DONE]" and len(data) == 5
        assert all(e.event == "message" for e in answer.events)
        assert answer.first_event is not None and answer.first_event < answer.elapsed.total_seconds()
        started = time.perf_counter()
        late = await dendrite.post(epistula_miner.axon_info, "/slow?ms=3000", json={}, timeout=0.5)
        assert late.status_code == 408 and late.outcome == "timeout" and not late.answered
        assert time.perf_counter() - started < 1.5
        with pytest.raises(ValueError):
            await dendrite.post(epistula_miner.axon_info, "score", json={})
        with pytest.raises(ValueError):
            await dendrite.post(epistula_miner.axon_info, "/score", json={}, auth="basic")

    asyncio.run(run())


def test_live_streams_across_axons(epistula_miner: Served) -> None:
    async def run() -> None:
        dendrite = Dendrite("//Alice", auth="epistula")
        chat = {"messages": [], "max_tokens": 4, "stream": True}
        axons = [epistula_miner.axon_info, epistula_miner.axon_info]
        started = time.perf_counter()
        stream = dendrite.stream("POST", axons, "/v1/chat/completions", json=chat)
        seen = []
        first = None
        async for item in stream:
            if first is None:
                first = time.perf_counter() - started
            seen.append((item.position, item.event.data))
            assert item.axon is axons[item.position]
        ended = time.perf_counter() - started
        assert first is not None and first + 0.04 < ended, (first, ended)
        for index in (0, 1):
            data = [d for i, d in seen if i == index]
            assert len(data) == 5 and data[-1] == "[DONE]", data
        responses = await stream.responses()
        assert [r.status_code for r in responses] == [200, 200]
        assert all(len(r.events) == 5 for r in responses)

    asyncio.run(run())
