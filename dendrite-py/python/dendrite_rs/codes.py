"""Return codes of the 3.x protocol (``bittensor.proto.ReturnCode``), by value and by name."""

from __future__ import annotations

from typing import Dict

#: Every code name, indexed by its value.
NAMES = (
    "NoReturn",
    "Success",
    "Timeout",
    "Backoff",
    "Unavailable",
    "NotImplemented",
    "EmptyRequest",
    "EmptyResponse",
    "InvalidResponse",
    "InvalidRequest",
    "RequestShapeException",
    "ResponseShapeException",
    "RequestSerializationException",
    "ResponseSerializationException",
    "RequestDeserializationException",
    "ResponseDeserializationException",
    "NotServingNucleus",
    "NucleusTimeout",
    "NucleusFull",
    "RequestIncompatibleVersion",
    "ResponseIncompatibleVersion",
    "SenderUnknown",
    "UnknownException",
    "Unauthenticated",
    "BadEndpoint",
)

#: Code values by name (``bittensor.proto.ReturnCode.Value``).
VALUES: Dict[str, int] = {name: value for value, name in enumerate(NAMES)}

SUCCESS = VALUES["Success"]


def code_to_string(code: object) -> str:
    """The name of a code, as ``bittensor.utils.codes.code_to_string`` gives it."""
    try:
        value = int(code)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return "UnknownCode"
    return NAMES[value] if 0 <= value < len(NAMES) else "UnknownCode"
