"""The reference dendrite's ``stats``: rolling averages per dendrite and per hotkey.

Same fields, same update rule and the same ``to_dataframe``/``to_wandb`` columns as
``bittensor.dendrite`` 3.7.0 (``dendrite_impl._init_stats``/``update_stats``), so validator code that
reads them keeps working. The Rust core keeps its own bounded per-endpoint statistics as well
(``Dendrite.endpoint_stats()``).
"""

from __future__ import annotations

import sys
import time
from types import SimpleNamespace
from typing import Any, Dict, Optional

from .codes import NAMES, code_to_string


class AmountPerSecondRollingAverage:
    """An exponential moving average of an amount per second (``bittensor.utils.stats``)."""

    def __init__(self, initial_value: float = 0, alpha: float = 0.1) -> None:
        self.value = initial_value
        self.alpha = alpha
        self.last_update: Optional[float] = None

    def event(self, amount: float) -> None:
        """Counts `amount` now."""
        now = time.time()
        if self.last_update is None:
            self.last_update = now
            return
        delta = max(now - self.last_update, 1e-9)
        self.last_update = now
        self.value = (1 - self.alpha) * self.value + self.alpha * (amount / delta)

    def get(self) -> float:
        """The current average."""
        return float(self.value)


class EventsPerSecondRollingAverage(AmountPerSecondRollingAverage):
    """An exponential moving average of events per second (``bittensor.utils.stats``)."""

    def event(self) -> None:  # type: ignore[override]
        """Counts one event now."""
        super().event(1.0)


def init_stats() -> SimpleNamespace:
    """The reference's empty statistics."""
    return SimpleNamespace(
        total_requests=0,
        qps=EventsPerSecondRollingAverage(0, 0.01),
        avg_in_bytes_per_second=AmountPerSecondRollingAverage(0, 0.01),
        avg_out_bytes_per_second=AmountPerSecondRollingAverage(0, 0.01),
        codes_per_pubkey={},
        requests_per_pubkey={},
        successes_per_pubkey={},
        query_times_per_pubkey={},
        avg_in_bytes_per_pubkey={},
        avg_out_bytes_per_pubkey={},
        qps_per_pubkey={},
    )


def update_stats(
    stats: SimpleNamespace,
    endpoints: Any,
    synapses: Any,
    inputs: Any,
    outputs: Any,
    codes: Any,
    times: Any,
) -> None:
    """The reference's ``update_stats``: one event per call and per endpoint (``codes[i]`` and
    ``times[i]`` hold endpoint i's per-synapse values). Successes are counted as ``int`` (the
    reference accumulates 0-d tensors)."""
    stats.qps.event()
    stats.total_requests += 1
    total_in = 0
    stats.avg_out_bytes_per_second.event(float(sys.getsizeof(inputs)))
    for end_i, _syn_i, inps_i, outs_i, codes_i, times_i in zip(endpoints, synapses, inputs, outputs, codes, times):
        pubkey = end_i.hotkey
        if pubkey not in stats.requests_per_pubkey:
            stats.requests_per_pubkey[pubkey] = 0
            stats.successes_per_pubkey[pubkey] = 0
            stats.codes_per_pubkey[pubkey] = {name: 0 for name in NAMES}
            stats.query_times_per_pubkey[pubkey] = AmountPerSecondRollingAverage(0, 0.01)
            stats.avg_in_bytes_per_pubkey[pubkey] = AmountPerSecondRollingAverage(0, 0.01)
            stats.avg_out_bytes_per_pubkey[pubkey] = AmountPerSecondRollingAverage(0, 0.01)
            stats.qps_per_pubkey[pubkey] = EventsPerSecondRollingAverage(0, 0.01)
        # Plain Python numbers: one conversion per endpoint instead of a torch op per statistic.
        code_values = codes_i.tolist()
        successes = code_values.count(1)
        stats.requests_per_pubkey[pubkey] += 1
        stats.successes_per_pubkey[pubkey] += successes
        stats.query_times_per_pubkey[pubkey].event(max(times_i.tolist()))
        stats.avg_in_bytes_per_pubkey[pubkey].event(float(sys.getsizeof(outs_i)))
        stats.avg_out_bytes_per_pubkey[pubkey].event(float(sys.getsizeof(inps_i)))
        stats.qps_per_pubkey[pubkey].event()
        total_in += sys.getsizeof(outs_i) if successes == len(synapses) else 0
        per_code = stats.codes_per_pubkey[pubkey]
        for code in code_values:
            name = code_to_string(code)
            if name in per_code:
                per_code[name] += 1
    stats.avg_in_bytes_per_second.event(float(total_in))


DATAFRAME_COLUMNS = [
    "dendrite_n_requested",
    "dendrite_n_success",
    "dendrite_query_time",
    "dendrite_avg_inbytes",
    "dendrite_avg_outbytes",
    "dendrite_qps",
]


def to_dataframe(stats: SimpleNamespace, metagraph: Any) -> Any:
    """The statistics as a pandas DataFrame indexed by metagraph uid (hotkeys not in the
    metagraph are left out), as the reference builds it."""
    import pandas

    hotkeys = list(metagraph.hotkeys)
    known = [pubkey for pubkey in stats.requests_per_pubkey if pubkey in hotkeys]
    frame = pandas.DataFrame(columns=DATAFRAME_COLUMNS, index=[hotkeys.index(p) for p in known])
    for pubkey in known:
        frame.loc[hotkeys.index(pubkey)] = pandas.Series(
            {
                "dendrite_n_requested": int(stats.requests_per_pubkey[pubkey]),
                "dendrite_n_success": int(stats.successes_per_pubkey[pubkey]),
                "dendrite_query_time": float(stats.query_times_per_pubkey[pubkey].get()),
                "dendrite_avg_inbytes": float(stats.avg_in_bytes_per_pubkey[pubkey].get()),
                "dendrite_avg_outbytes": float(stats.avg_out_bytes_per_pubkey[pubkey].get()),
                "dendrite_qps": float(stats.qps_per_pubkey[pubkey].get()),
            }
        )
    return frame


def to_wandb(stats: SimpleNamespace) -> Dict[str, Any]:
    """The reference's wandb dictionary."""
    return {
        "dendrite/qps": stats.qps.get(),
        "dendrite/total_requests": stats.total_requests,
        "dendrite/avg_in_bytes_per_second": stats.avg_in_bytes_per_second.get(),
        "dendrite/avg_out_bytes_per_second": stats.avg_out_bytes_per_second.get(),
        "dendrite/Total unique queries": len(stats.requests_per_pubkey.keys()),
    }
