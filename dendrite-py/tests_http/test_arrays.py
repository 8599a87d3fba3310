"""``arrays=``: named fields of nested numbers read in Rust straight into numpy arrays, against
our axon (``--serve-paths``) and a price-path miner on the real 10.5.0 Axon (``paths_miner.py``), each next to the
same call without it (what a validator does today: ``numpy.asarray`` of the validated lists)."""

from __future__ import annotations

import asyncio
from typing import Any, List, Optional

import numpy as np
import pytest
from conftest import Served, bt

from dendrite_rs.http import Dendrite


class Paths(bt.Synapse):  # type: ignore[misc]
    """The validator's side of a price-path synapse (Synth's shape)."""

    n_paths: int
    n_steps: int
    mode: str = "ok"
    paths: Optional[List[List[float]]] = None


def call(axons: Any, synapse: Any, **options: Any) -> Any:
    async def go() -> Any:
        async with Dendrite("//Alice") as dendrite:
            return await dendrite(axons, synapse, timeout=12.0, deserialize=False, **options)

    return asyncio.run(go())


@pytest.mark.parametrize("axon", ["our_paths_axon", "paths_miner"])
def test_arrays_are_the_arrays_numpy_makes_of_the_lists(axon: str, request: pytest.FixtureRequest) -> None:
    served: Served = request.getfixturevalue(axon)
    sent = Paths(n_paths=7, n_steps=289)
    plain = call(served.axon_info, sent)
    read = call(served.axon_info, sent, arrays={"paths": "float64"})
    assert plain.dendrite.status_code == read.dendrite.status_code == 200, read.dendrite
    assert isinstance(plain.paths, list) and isinstance(read.paths, np.ndarray)
    assert read.paths.dtype == np.float64 and read.paths.shape == (7, 289)
    assert np.array_equal(read.paths, np.asarray(plain.paths))  # every float exactly
    assert "paths" in read.model_fields_set
    # The rest of the answer is the class's, validated as usual; the caller's synapse untouched.
    assert (read.n_paths, read.n_steps, read.axon.hotkey) == (7, 289, plain.axon.hotkey)
    assert sent.paths is None
    narrow = call(served.axon_info, sent, arrays={"paths": np.float32})
    assert narrow.paths.dtype == np.float32
    assert np.array_equal(narrow.paths, np.asarray(plain.paths, dtype=np.float32))


def test_a_field_that_is_no_array_is_that_axon_s_422_and_null_stays_none(
    paths_miner: Served, our_paths_axon: Served
) -> None:
    our_axon = our_paths_axon
    axons = [paths_miner.axon_info, our_axon.axon_info]
    for mode, words in [
        ("ragged", "ragged: item [2] has 288 items where 289 were expected"),
        ("text", 'item [0][1] is the string "104523.4", not a number the dtype holds'),
    ]:
        broken, good = call(axons, Paths(n_paths=3, n_steps=289, mode=mode), arrays={"paths": "float64"})
        assert broken.dendrite.status_code == 422, broken.dendrite
        message = broken.dendrite.status_message
        assert message.startswith("Failed to parse response: field 'paths' as a float64 array: "), message
        assert words in message, message
        assert broken.paths is None  # the sent synapse, as for any answer the class rejects
        assert good.dendrite.status_code == 200 and good.paths.shape == (3, 289)
    # Ints asked for, floats sent: refused, not truncated.
    (floats,) = call([our_axon.axon_info], Paths(n_paths=1, n_steps=3), arrays={"paths": "int64"})
    assert floats.dendrite.status_code == 422
    assert "item [0][0] is the float" in floats.dendrite.status_message
    (none,) = call([paths_miner.axon_info], Paths(n_paths=2, n_steps=5, mode="none"), arrays={"paths": "float64"})
    assert none.dendrite.status_code == 200 and none.paths is None
    with pytest.raises(ValueError, match="dtype"):
        call(our_axon.axon_info, Paths(n_paths=1, n_steps=1), arrays={"paths": "complex128"})
