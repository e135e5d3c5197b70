"""Timing helpers and the result rows (median and p95 of repeated runs)."""

from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile of a non-empty list: the smallest value with at least
    `share` of the values at or below it (rank ⌈share × n⌉)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered) - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def timed(action: Callable[[], Any], repeat: int, *, warmup: int = 1) -> list[float]:
    """Seconds per call, `repeat` times, after `warmup` calls that are not counted."""
    for _ in range(warmup):
        action()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return samples


@dataclass
class Figure:
    """One row of the table. `unit` is "ms" (lower is better) or a rate like "events/s"
    (higher is better); `ratio` is measured / comparison in that unit's sense."""

    measurement: str
    unit: str
    median: float | None
    p95: float | None
    comparison: str = ""
    comparison_median: float | None = None
    ratio: float | None = None
    queries: int | None = None
    goal: str = ""
    met: bool | None = None
    note: str = ""
    samples: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    # The machine's 1, 5 and 15 minute load averages when the row was measured (made
    # right after its measurement): a row is only as quiet as the machine was.
    load_average: tuple[float, float, float] = field(default_factory=os.getloadavg)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ms(samples: list[float]) -> tuple[float, float]:
    return statistics.median(samples) * 1000, percentile(samples, 0.95) * 1000


def rates(count_per_sample: float, samples: list[float]) -> tuple[float, float]:
    """Median rate and the 95th-percentile *slow* rate (the rate of the p95 time)."""
    return count_per_sample / statistics.median(samples), count_per_sample / percentile(
        samples, 0.95
    )
