"""The 10.x wire's encodings the Python face needs, each the Rust wire's one rule called from
here (``dendrite_http``): the body hash, the ``bt_header_input_obj_*`` headers, the terminal
infos an answer's headers carry, and what a call hands to Rust of a synapse (its dump, once per
call). Python keeps only what needs the user's objects: their ``str()`` and
``type(value)()``."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Sequence, Tuple

from . import _native

#: The fields of ``bittensor.Synapse`` itself; a subclass's own fields follow them (the Rust
#: wire's list).
BASE_FIELDS: Tuple[str, ...] = _native.BASE_FIELDS

#: What Rust takes of a synapse for one call: its name, the timeout, its own fields (its
#: ``model_dump()`` less the base class's; Rust writes them as ``json.dumps`` does), the
#: ``bt_header_input_obj_*`` headers, the body hash and the total size.
Parts = Tuple[str, float, Dict[str, Any], List[Tuple[str, str]], str, int]

_required_fields: Dict[type, Tuple[str, ...]] = {}


def body_hash(texts: Sequence[str]) -> str:
    """``computed_body_hash`` of the ``str()`` texts of a synapse's ``required_hash_fields``, in
    order (sha3-256 over their sha3-256 hex digests)."""
    return _native.body_hash(list(texts))


def input_header(field: str, value: Any) -> Tuple[str, str]:
    """10.5.0's ``bt_header_input_obj_{field}`` header of a required field: base64 of the JSON
    of its type's empty value (``type(value)()``), never the value (``TypeError`` when that is
    no JSON)."""
    return _native.input_header(field, json.dumps(type(value)()))


def terminal_headers(headers: Mapping[str, str]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """The dendrite's and the axon's terminal infos (their set fields) that an answer's
    ``bt_header_dendrite_*`` and ``bt_header_axon_*`` headers carry, read as the wire reads
    them (``ValueError`` for a value that does not read)."""
    return _native.terminal_headers([(str(k), str(v)) for k, v in headers.items()])


def required(cls: type) -> Tuple[str, ...]:
    """``cls.get_required_fields()``, once per class (it builds the JSON schema)."""
    fields = _required_fields.get(cls)
    if fields is None:
        schema: Dict[str, Any] = cls.model_json_schema()  # type: ignore[attr-defined]
        fields = tuple(schema.get("required", []))
        _required_fields[cls] = fields
    return fields


def parts(synapse: Any, timeout: float) -> Parts:
    """What Rust needs of the synapse, dumped once per call: its name, the timeout, its own
    fields (written in Rust byte for byte as ``json.dumps`` writes them: Python's encoder took
    2.9 ms for a 1 MiB tensor), the ``bt_header_input_obj_*`` headers, the body hash and the
    total size. The synapse's ``timeout`` is not set (10.5.0 sets it on a copy;
    it is a base field, sent as the call's, never among the synapse's own)."""
    dump = synapse.model_dump()
    own = {k: v for k, v in dump.items() if k not in BASE_FIELDS}
    needed = required(type(synapse))
    input_headers = [
        input_header(field, value)
        for field, value in dump.items()
        if field in needed and value is not None and field not in ("name", "timeout")
    ]
    return (
        type(synapse).__name__,
        float(timeout),
        own,
        input_headers,
        synapse.body_hash,
        int(synapse.get_total_size()),
    )
