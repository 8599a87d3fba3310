"""``dendrite_rs``: bittensor 3.7.0's ``bittensor.dendrite`` API on the dendrite Rust core.

Same calls, same return types, ``loss.backward()`` sending gradients::

    import dendrite_rs
    d = dendrite_rs.dendrite(wallet=wallet)            # or uri="//Alice"
    outputs, codes, times = d.text_last_hidden_state(endpoints, "hello world")

Existing code switches with one line: ``dendrite_rs.install()`` makes ``bittensor.dendrite(...)``
build ours. The network wait runs in Rust without the GIL; Ctrl-C ends a call at once.

Today's wire is ``dendrite_rs.http`` (bittensor 10.x's ``Dendrite`` API). Importing it needs no
torch: the torch-backed names here (``Dendrite``, ``dendrite``, ``DendriteFunction``, ``DUMMY``)
are loaded on first use.
"""

from __future__ import annotations

import importlib
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Optional

from . import codes
from ._config import Config
from ._native import (
    Client,
    Endpoint,
    Synapse,
    TextCausalLM,
    TextCausalLMNext,
    TextLastHiddenState,
    TextSeq2Seq,
    __version__,
    detokenize,
    tokenize,
    tokenize_batch,
)

if TYPE_CHECKING:
    from ._autograd import DUMMY, DendriteFunction
    from ._dendrite import Dendrite, dendrite

#: Names whose modules import torch: loaded on first use, so that ``dendrite_rs.http`` (and
#: anything else without torch) imports without it.
_TORCH_BACKED = {
    "DUMMY": "._autograd",
    "DendriteFunction": "._autograd",
    "Dendrite": "._dendrite",
    "dendrite": "._dendrite",
}


def __getattr__(name: str) -> Any:
    module = _TORCH_BACKED.get(name)
    if module is None:
        raise AttributeError(f"module 'dendrite_rs' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


#: The synapse constructors under the reference's names (``bittensor.synapse.TextCausalLM``...).
synapse = SimpleNamespace(
    TextLastHiddenState=TextLastHiddenState,
    TextCausalLM=TextCausalLM,
    TextCausalLMNext=TextCausalLMNext,
    TextSeq2Seq=TextSeq2Seq,
)


def endpoint(
    version: int,
    uid: int,
    hotkey: str,
    ip: str,
    ip_type: int,
    port: int,
    protocol: int = 0,
    coldkey: Optional[str] = None,
    modality: int = 0,
) -> Endpoint:
    """An endpoint, as ``bittensor.endpoint(...)`` builds one (``ValueError`` on a bad field)."""
    return Endpoint(version, uid, hotkey, ip, ip_type, port, protocol, coldkey, modality)


_replaced: Optional[Any] = None


def install() -> None:
    """Makes ``bittensor.dendrite(...)`` build a ``dendrite_rs`` dendrite (bittensor must be
    importable). Idempotent; :func:`uninstall` puts the original back."""
    global _replaced
    import bittensor

    ours = __getattr__("dendrite")
    if bittensor.dendrite is not ours:
        _replaced = bittensor.dendrite
        bittensor.dendrite = ours


def uninstall() -> None:
    """Undoes :func:`install`."""
    global _replaced
    if _replaced is not None:
        import bittensor

        bittensor.dendrite = _replaced
        _replaced = None


__all__ = [
    "Client",
    "Config",
    "DUMMY",
    "Dendrite",
    "DendriteFunction",
    "Endpoint",
    "Synapse",
    "TextCausalLM",
    "TextCausalLMNext",
    "TextLastHiddenState",
    "TextSeq2Seq",
    "__version__",
    "codes",
    "dendrite",
    "detokenize",
    "endpoint",
    "install",
    "synapse",
    "tokenize",
    "tokenize_batch",
    "uninstall",
]
