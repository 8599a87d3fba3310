"""``dendrite_rs.http`` and bittensor: which ``Synapse``, ``StreamingSynapse`` and
``TerminalInfo`` classes are in use (bittensor 10.x's where it is installed, else ours), and
``install``/``uninstall``, which put a ``Dendrite`` class in place of bittensor 10.x's."""

from __future__ import annotations

from typing import Any, Dict


def bittensor() -> Any:
    """bittensor 10.x (for ``install``)."""
    import bittensor

    if not hasattr(bittensor, "Dendrite"):
        raise ImportError(f"bittensor {bittensor.__version__} has no Dendrite to replace (10.x has)")
    return bittensor


def classes() -> Any:
    """Where ``Synapse``, ``StreamingSynapse`` and ``TerminalInfo`` come from: bittensor 10.x
    when it is installed (users' classes subclass its own), else ours (``_synapse``)."""
    try:
        import bittensor

        if hasattr(bittensor, "Synapse"):
            return bittensor
    except ImportError:
        pass
    from . import _synapse

    return _synapse


def terminal_class(synapse: Any) -> Any:
    """The ``TerminalInfo`` class of a synapse's own ``dendrite`` field."""
    current = getattr(synapse, "dendrite", None)
    return type(current) if current is not None else classes().TerminalInfo


_replaced: Dict[str, Any] = {}


def install(dendrite_class: type) -> None:
    """Makes ``bittensor.Dendrite`` (and ``bittensor.dendrite``) ``dendrite_class`` on bittensor
    10.x. Idempotent; :func:`uninstall` puts the originals back."""
    bt = bittensor()
    for name in ("Dendrite", "dendrite"):
        current = getattr(bt, name, None)
        if current is not dendrite_class and name not in _replaced:
            _replaced[name] = current
            setattr(bt, name, dendrite_class)


def uninstall() -> None:
    """Undoes :func:`install`."""
    bt = bittensor()
    for name, original in list(_replaced.items()):
        setattr(bt, name, original)
        del _replaced[name]
