"""What the caller gives, in the native forms: endpoints (ours, bittensor's, ``[250]`` tensors),
synapses (ours, bittensor's) and keys (a ``bittensor.wallet``, a wallet path, a dev URI).

Bittensor objects are read, never imported: this module works without bittensor installed.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

from . import _native

_ENDPOINT_FIELDS = ("version", "uid", "hotkey", "ip", "ip_type", "port", "protocol", "coldkey", "modality")


def is_endpoint(value: Any) -> bool:
    """Whether `value` is an endpoint object (ours or one with bittensor's endpoint fields)."""
    return isinstance(value, _native.Endpoint) or all(
        hasattr(value, f) for f in ("hotkey", "ip", "port", "version", "uid")
    )


def endpoint(value: Any) -> _native.Endpoint:
    """An endpoint object (ours or bittensor's) as ours."""
    if isinstance(value, _native.Endpoint):
        return value
    fields = {f: getattr(value, f) for f in _ENDPOINT_FIELDS if hasattr(value, f)}
    try:
        return _native.Endpoint(**fields)
    except TypeError as e:
        raise ValueError(f"not an endpoint: a {type(value).__name__} ({e})") from None


def endpoints_from_tensor(tensor: Any) -> List[_native.Endpoint]:
    """The endpoints of a ``[250]`` or ``[n, 250]`` tensor or array."""
    array = tensor.detach().cpu().numpy() if hasattr(tensor, "detach") else tensor
    return _native.endpoints_from_tensor(array)


def synapse(value: Any) -> _native.Synapse:
    """A synapse object (ours or bittensor's) as ours, through its wire form."""
    if isinstance(value, _native.Synapse):
        return value
    to_wire = getattr(value, "serialize_to_wire_proto", None)
    if to_wire is None:
        hint = "use dendrite_rs.synapse.TextCausalLM(...) or bittensor's synapses"
        raise ValueError(f"not a synapse: a {type(value).__name__} ({hint})")
    wire = to_wire()
    return _native.Synapse.from_wire(int(wire.synapse_type), bytes(wire.synapse_data))


def synapses(values: Sequence[Any]) -> List[_native.Synapse]:
    """Every synapse in a list, converted."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ValueError(f"synapses must be a list of synapses, got {type(values).__name__}")
    return [synapse(v) for v in values]


def _hotkey_in_memory(wallet: Any) -> Optional[Tuple[bytes, bytes]]:
    """The (secret, public) key of the hotkey a wallet holds in memory, if it holds one.

    bittensor 3.7.0's ``Wallet`` keeps it in ``_hotkey`` once set (``create_hotkey_from_uri``,
    ``set_hotkey``) or loaded; read there, never through the ``hotkey`` property, which would
    load (and for an encrypted file, prompt for) the key file."""
    keypair = getattr(wallet, "_hotkey", None)
    secret = getattr(keypair, "private_key", None)
    public = getattr(keypair, "public_key", None)
    if isinstance(secret, (bytes, bytearray)) and len(secret) == 64 and isinstance(public, (bytes, bytearray)):
        return bytes(secret), bytes(public)
    return None


def key_arguments(wallet: Any = None, uri: Any = None, wallet_config: Any = None) -> Dict[str, Any]:
    """Where the signing key comes from: a dev URI or mnemonic (`uri`), a ``bittensor.wallet``
    (the hotkey it holds in memory, as bittensor signs with it, checked against its hotkey
    file; else that file), a path to a hotkey file, or the config's wallet name/hotkey/path."""
    if uri is not None:
        if wallet is not None:
            raise ValueError("give a wallet or a uri, not both")
        return {"uri": str(uri)}
    if isinstance(wallet, (str, os.PathLike)):
        return {"keyfile": os.path.expanduser(os.fspath(wallet))}
    if wallet is not None:
        hotkey_file = getattr(wallet, "hotkey_file", None)
        hotkey_path = getattr(hotkey_file, "path", None)
        in_memory = _hotkey_in_memory(wallet)
        if in_memory is not None:
            secret, public = in_memory
            keyfile = {"keyfile": os.path.expanduser(hotkey_path)} if isinstance(hotkey_path, str) else {}
            return {"secret_key": secret, "public_key": public, **keyfile}
        if not isinstance(hotkey_path, str):
            raise ValueError(f"not a wallet (no hotkey_file.path): {wallet!r}")
        return {"keyfile": os.path.expanduser(hotkey_path)}
    name, hotkey, root = "default", "default", "~/.bittensor/wallets/"
    if wallet_config is not None:
        name = str(getattr(wallet_config, "name", name))
        hotkey = str(getattr(wallet_config, "hotkey", hotkey))
        root = str(getattr(wallet_config, "path", root))
    return {"keyfile": os.path.join(os.path.expanduser(root), name, "hotkeys", hotkey)}
