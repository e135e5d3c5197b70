"""Making a report from either source. Both go through the same engine."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from .engine import UnresolvedDivision, exposure_report
from .legacy import LegacySource
from .trail import TrailSource

Progress = Callable[[int], None]


def report_from_trail(
    *, period_from: date, period_to: date, progress: Progress | None = None
) -> dict[str, Any]:
    source = TrailSource(period_from, period_to).load()
    return exposure_report(
        period_from=period_from, period_to=period_to, progress=progress, **source.inputs()
    )


def report_from_legacy(
    *, directory: Path | str, period_from: date, period_to: date, progress: Progress | None = None
) -> dict[str, Any]:
    """Raises LegacyDataError listing every bad row (file, line, reason) instead of a
    report when the files hold any."""
    from django.utils.translation import gettext as _

    source = LegacySource(directory).load()

    def unresolved(problem: UnresolvedDivision) -> None:
        source.bad_access(_("No roster row says which division the user was in at that time."))

    report = exposure_report(
        period_from=period_from,
        period_to=period_to,
        records=source.records.values(),
        windows=source.windows,
        roster=source.roster,
        switches=source.switches,
        accesses=source.accesses(),
        progress=progress,
        on_unresolved=unresolved,
    )
    source.raise_if_bad()
    return report
