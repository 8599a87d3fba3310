"""The reference's config helpers: ``config()``, ``add_args``, ``add_defaults``, ``check_config``,
``help``, with the same argument names and the same ``BT_DENDRITE_*``/``BT_WALLET_*`` environment
defaults, working with or without bittensor installed.

Without bittensor a config is a :class:`Config` (nested attributes, ``'key' in config``, deep
copies), built from ``argparse`` the way ``bittensor.config(parser)`` builds one: each dotted
argument name becomes a path of attributes. A ``bittensor.Config`` given by the caller is read by
attribute, never converted.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Dict, Iterator, List, Optional, Tuple

from . import _native

LEVELS = ("OFF", "INFO", "DEBUG")


class Config(Dict[str, Any]):
    """A nested namespace: ``config.dendrite.timeout``, ``'timeout' in config.dendrite``."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __deepcopy__(self, memo: Dict[int, Any]) -> Config:
        import copy

        return Config({k: copy.deepcopy(v, memo) for k, v in self.items()})

    def walk(self, prefix: str = "") -> Iterator[Tuple[str, Any]]:
        """Every leaf as ``("a.b.c", value)``."""
        for key, value in self.items():
            if isinstance(value, Config):
                yield from value.walk(f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}", value


def _env(name: str, default: Any, parse: Any = str) -> Any:
    value = os.getenv(name)
    if value is None:
        return default
    try:
        return parse(value)
    except ValueError as e:
        raise ValueError(f"{name}={value!r}: {e}") from None


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes"):
        return True
    if lowered in ("0", "false", "no"):
        return False
    raise ValueError("expected true or false")


def defaults() -> Config:
    """The reference's defaults, with ``BT_DENDRITE_*`` and ``BT_WALLET_*`` applied (values are
    parsed, where the reference kept them as strings)."""
    return Config(
        dendrite=Config(
            max_active_receptors=_env("BT_DENDRITE_MAX_ACTIVE_RECEPTORS", _native.DEFAULT_MAX_ACTIVE_RECEPTORS, int),
            timeout=_env("BT_DENDRITE_TIMEOUT", _native.DEFAULT_TIMEOUT, float),
            requires_grad=_env("BT_DENDRITE_REQUIRES_GRAD", True, _bool),
            compression=_env("BT_DENDRITE_COMPRESSION", "NoCompression"),
            _mock=False,
            prometheus=Config(level=_env("BT_DENDRITE_PROMETHEUS_LEVEL", "DEBUG").upper()),
        ),
        wallet=Config(
            name=_env("BT_WALLET_NAME", "default"),
            hotkey=_env("BT_WALLET_HOTKEY", "default"),
            path=_env("BT_WALLET_PATH", "~/.bittensor/wallets/"),
        ),
    )


def add_args(parser: argparse.ArgumentParser, prefix: Optional[str] = None) -> None:
    """The reference's ``--dendrite.*`` and ``--wallet.*`` arguments (again: ignored)."""
    p = "" if prefix is None else prefix + "."
    d = defaults()
    arguments: List[Tuple[Any, ...]] = [
        (
            f"--{p}dendrite.max_active_receptors",
            dict(
                type=int,
                default=d.dendrite.max_active_receptors,
                help="Max number of concurrently active receptors / tcp-connections",
            ),
        ),
        (f"--{p}dendrite.timeout", dict(type=float, default=d.dendrite.timeout, help="Default request timeout.")),
        (
            f"--{p}dendrite.requires_grad",
            dict(
                action="store_true",
                default=d.dendrite.requires_grad,
                help="If true, the dendrite passes gradients on the wire.",
            ),
        ),
        (
            f"--{p}dendrite.no_requires_grad",
            dict(
                dest=f"{p}dendrite.requires_grad",
                action="store_false",
                help="If set, the dendrite will not pass gradients on the wire.",
            ),
        ),
        (
            f"--{p}dendrite.compression",
            dict(
                type=str,
                default=d.dendrite.compression,
                help="Compression of requests (gzip, zstd, NoCompression; deflate means gzip here).",
            ),
        ),
        (
            f"--{p}dendrite._mock",
            dict(
                action="store_true",
                default=False,
                help="Refused: dendrite_rs has no mock mode (use its toy axon, `dendrite axon`).",
            ),
        ),
        (
            f"--{p}dendrite.prometheus.level",
            dict(
                type=str,
                choices=list(LEVELS),
                default=d.dendrite.prometheus.level,
                help="Prometheus level for the dendrite: OFF | INFO | DEBUG",
            ),
        ),
        (f"--{p}wallet.name", dict(default=d.wallet.name, help="The name of the wallet to sign with.")),
        (f"--{p}wallet.hotkey", dict(default=d.wallet.hotkey, help="The name of the wallet's hotkey.")),
        (f"--{p}wallet.path", dict(default=d.wallet.path, help="The path to your bittensor wallets.")),
    ]
    for flag, options in arguments:
        try:
            parser.add_argument(flag, **options)
        except argparse.ArgumentError:
            pass  # re-parsing, as the reference tolerates


def config(args: Optional[List[str]] = None) -> Config:
    """A config from the command line (``sys.argv[1:]``; unknown arguments are ignored)."""
    parser = argparse.ArgumentParser()
    add_args(parser)
    params, _ = parser.parse_known_args(sys.argv[1:] if args is None else args)
    result = Config()
    for key, value in vars(params).items():
        head = result
        *path, leaf = key.split(".")
        for part in path:
            head = head.setdefault(part, Config())
        head[leaf] = value
    return result


def help() -> None:  # noqa: A001 - the reference's name
    """Prints the arguments."""
    parser = argparse.ArgumentParser()
    add_args(parser)
    parser.print_help()


def check_config(config: Any) -> None:
    """The reference's checks, as ``ValueError`` instead of ``assert``."""
    dendrite = getattr(config, "dendrite", None)
    if dendrite is None:
        raise ValueError("config has no dendrite section")
    for key in ("timeout", "requires_grad"):
        if key not in dendrite:
            raise ValueError(f"config.dendrite has no {key}")
    if int(dendrite.max_active_receptors) <= 0:
        raise ValueError("max_active_receptors must be > 0 (0 would allow no connection at all)")
    level = str(dendrite.prometheus.level).upper()
    if level not in LEVELS:
        raise ValueError(f"dendrite.prometheus.level must be in: {list(LEVELS)}")
    if float(dendrite.timeout) <= 0:
        raise ValueError(f"dendrite.timeout must be > 0, got {dendrite.timeout}")
