"""bittensor 10.5.0's ``Synapse``, ``StreamingSynapse`` and ``TerminalInfo``, field for field and
JSON for JSON, for code on bittensor 11 (which removed them) or without bittensor: a 10.x axon
accepts what these dump. Pydantic v2; no numpy, no torch.

What they keep of 10.5.0: the fields, their defaults and order, the string-to-number coercion
of terminal infos (headers carry strings), ``name`` set to the class name, ``computed_body_hash``
frozen, ``required_hash_fields`` as a class variable, ``body_hash`` (sha3-256 over the sha3-256
of ``str()`` of each hash field), ``get_total_size`` (CPython's recursive ``getsizeof``),
``get_required_fields``, ``is_success``/``is_failure``/``is_timeout``/``is_blacklist``/
``failed_verification``, ``deserialize``, and the headers for code that sends synapses by
other means (``Dendrite.preprocess_synapse_for_request``, then any HTTP client): ``to_headers``,
``from_headers``, ``parse_headers_to_inputs``. Not here: ``bt.Tensor``.
"""

from __future__ import annotations

import base64
import json
import logging
import sys
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Dict, List, Mapping, Optional, Set, Tuple

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ._wire import body_hash, input_header


def get_size(obj: Any, seen: Optional[Set[int]] = None) -> int:
    """The recursive ``sys.getsizeof`` 10.5.0 writes as ``total_size``."""
    size = sys.getsizeof(obj)
    if seen is None:
        seen = set()
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, dict):
        size += sum(get_size(v, seen) for v in obj.values())
        size += sum(get_size(k, seen) for k in obj.keys())
    elif hasattr(obj, "__dict__"):
        size += get_size(obj.__dict__, seen)
    elif hasattr(obj, "__iter__") and not isinstance(obj, (str, bytes, bytearray)):
        size += sum(get_size(i, seen) for i in obj)
    return size


def cast_int(raw: Any) -> Any:
    """Header strings to ints, as 10.5.0's validators do."""
    return int(raw) if raw is not None else raw


def cast_float(raw: Any) -> Any:
    """Header strings to floats, as 10.5.0's validators do."""
    return float(raw) if raw is not None else raw


class TerminalInfo(BaseModel):
    """One end of a call: status, time, address, version, nonce, uuid, hotkey, signature."""

    model_config = ConfigDict(validate_assignment=True)

    status_code: Optional[int] = Field(default=None, title="status_code")
    status_message: Optional[str] = Field(default=None, title="status_message")
    process_time: Optional[float] = Field(default=None, title="process_time")
    ip: Optional[str] = Field(default=None, title="ip")
    port: Optional[int] = Field(default=None, title="port")
    version: Optional[int] = Field(default=None, title="version")
    nonce: Optional[int] = Field(default=None, title="nonce")
    uuid: Optional[str] = Field(default=None, title="uuid")
    hotkey: Optional[str] = Field(default=None, title="hotkey")
    signature: Optional[str] = Field(default=None, title="signature")

    _extract_process_time = field_validator("process_time", mode="before")(cast_float)
    _extract_port = field_validator("port", mode="before")(cast_int)
    _extract_version = field_validator("version", mode="before")(cast_int)
    _extract_nonce = field_validator("nonce", mode="before")(cast_int)
    _extract_status_code = field_validator("status_code", mode="before")(cast_int)


class Synapse(BaseModel):
    """bittensor 10.5.0's ``Synapse``: subclass it with your own fields."""

    model_config = ConfigDict(validate_assignment=True)

    name: Optional[str] = Field(default=None, title="name", repr=False)
    timeout: Optional[float] = Field(default=12.0, title="timeout", repr=False)
    total_size: Optional[int] = Field(default=0, title="total_size", repr=False)
    header_size: Optional[int] = Field(default=0, title="header_size", repr=False)
    dendrite: Optional[TerminalInfo] = Field(default=TerminalInfo(), title="dendrite", repr=False)
    axon: Optional[TerminalInfo] = Field(default=TerminalInfo(), title="axon", repr=False)
    computed_body_hash: Optional[str] = Field(default="", title="computed_body_hash", frozen=True, repr=False)

    required_hash_fields: ClassVar[Tuple[str, ...]] = ()

    _extract_total_size = field_validator("total_size", mode="before")(cast_int)
    _extract_header_size = field_validator("header_size", mode="before")(cast_int)
    _extract_timeout = field_validator("timeout", mode="before")(cast_float)

    @model_validator(mode="before")
    @classmethod
    def set_name_type(cls, values: Any) -> Any:
        """``name`` is always the class name (the route)."""
        if isinstance(values, dict):
            values["name"] = cls.__name__
        return values

    def deserialize(self) -> Any:
        """What a call returns with ``deserialize=True``: the synapse itself unless overridden."""
        return self

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "body_hash":
            raise AttributeError("body_hash property is read-only and cannot be overridden.")
        super().__setattr__(name, value)

    def get_total_size(self) -> int:
        """Sets and returns ``total_size``: the recursive size of this object."""
        self.total_size = get_size(self)
        return self.total_size

    @property
    def is_success(self) -> bool:
        """Whether the call was answered 200."""
        return self.dendrite is not None and self.dendrite.status_code == 200

    @property
    def is_failure(self) -> bool:
        """Whether the call ended with any other status than 200."""
        return self.dendrite is not None and self.dendrite.status_code != 200

    @property
    def is_timeout(self) -> bool:
        """Whether the call timed out (408)."""
        return self.dendrite is not None and self.dendrite.status_code == 408

    @property
    def is_blacklist(self) -> bool:
        """Whether the axon refused the caller as blacklisted (403)."""
        return self.dendrite is not None and self.dendrite.status_code == 403

    @property
    def failed_verification(self) -> bool:
        """Whether the axon refused the caller's signature or nonce (401)."""
        return self.dendrite is not None and self.dendrite.status_code == 401

    def get_required_fields(self) -> List[str]:
        """The fields without a default (from the JSON schema, as 10.5.0)."""
        return list(self.__class__.model_json_schema().get("required", []))

    def to_headers(self) -> Dict[str, Any]:
        """10.5.0's request headers of this synapse: ``name``, ``timeout``, the terminal infos'
        set fields as ``bt_header_axon_*``/``bt_header_dendrite_*``, each required field's type
        as ``bt_header_input_obj_*`` (base64 JSON of its empty value), ``header_size``,
        ``total_size`` and ``computed_body_hash``."""
        headers: Dict[str, Any] = {"name": self.name, "timeout": str(self.timeout)}
        for prefix, info in (("bt_header_axon_", self.axon), ("bt_header_dendrite_", self.dendrite)):
            if info:
                headers.update({prefix + k: str(v) for k, v in info.model_dump().items() if v is not None})
        required = self.get_required_fields()
        for field, value in self.model_dump().items():
            if field in headers or value is None or field not in required:
                continue
            try:
                name, encoded = input_header(field, value)
            except TypeError as e:
                raise ValueError(
                    f"Error serializing {field} with value {value}. Objects must be json serializable."
                ) from e
            headers[name] = encoded
        headers["header_size"] = str(sys.getsizeof(headers))
        headers["total_size"] = str(self.get_total_size())
        headers["computed_body_hash"] = self.body_hash
        return headers

    @classmethod
    def parse_headers_to_inputs(cls, headers: Mapping[str, str]) -> Dict[str, Any]:
        """The constructor's arguments that ``headers`` carry (10.5.0's reading: terminal infos
        from ``bt_header_axon_*``/``bt_header_dendrite_*``, fields from
        ``bt_header_input_obj_*``, then ``timeout``, ``name`` and the sizes and hash; an
        undecodable input header is logged and skipped)."""
        axon: Dict[str, Any] = {}
        dendrite: Dict[str, Any] = {}
        inputs: Dict[str, Any] = {"axon": axon, "dendrite": dendrite}
        for key, value in headers.items():
            if "bt_header_axon_" in key:
                axon[key.split("bt_header_axon_")[1]] = value
            elif "bt_header_dendrite_" in key:
                dendrite[key.split("bt_header_dendrite_")[1]] = value
            elif "bt_header_input_obj" in key:
                try:
                    field = key.split("bt_header_input_obj_")[1]
                    if field not in inputs:
                        inputs[field] = json.loads(base64.b64decode(value.encode()).decode("utf-8"))
                except Exception as e:  # 10.5.0 logs a bad input header and goes on
                    logging.getLogger("dendrite_rs.http").error("input header %s: %s", key, e)
        for field in ("timeout", "name", "header_size", "total_size", "computed_body_hash"):
            inputs[field] = headers.get(field, None)
        return inputs

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> Synapse:
        """A synapse of this class made from request or answer headers (see
        :meth:`parse_headers_to_inputs`)."""
        return cls(**cls.parse_headers_to_inputs(headers))

    @property
    def body_hash(self) -> str:
        """sha3-256 hex of the concatenated sha3-256 hex digests of ``str()`` of each
        ``required_hash_fields`` value in ``model_dump()``."""
        texts = []
        fields = self.__class__.required_hash_fields
        if fields:
            dump = self.model_dump()
            texts = [str(dump[field]) for field in fields]
        return body_hash(texts)


class StreamingSynapse(Synapse, ABC):
    """bittensor 10.5.0's ``StreamingSynapse``: a synapse whose answer is a stream of chunks."""

    model_config = ConfigDict(validate_assignment=True)

    @abstractmethod
    async def process_streaming_response(self, response: Any) -> Any:
        """Yields what the chunks of ``response.content`` mean."""

    @abstractmethod
    def extract_response_json(self, response: Any) -> Dict[str, Any]:
        """The fields of the final synapse once the stream ended."""


__all__ = ["StreamingSynapse", "Synapse", "TerminalInfo", "get_size"]
