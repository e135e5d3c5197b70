"""Making a report from either source. Both go through the same engine."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from .engine import exposure_report
from .legacy import report_from_legacy
from .trail import TrailSource

Progress = Callable[[int], None]


def report_from_trail(
    *, period_from: date, period_to: date, progress: Progress | None = None
) -> dict[str, Any]:
    source = TrailSource(period_from, period_to).load()
    return exposure_report(
        period_from=period_from, period_to=period_to, progress=progress, **source.inputs()
    )


__all__ = ["report_from_legacy", "report_from_trail"]
