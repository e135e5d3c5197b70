"""Writing a legacy directory for a scenario, and running the report on it."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from django.urls import reverse

from apps.exposure.legacy import COLUMNS
from apps.exposure.reports import report_from_legacy


def write_legacy(
    directory: Path,
    *,
    records: list[str],
    roster: list[str],
    access_log: list[str],
    switches: list[str] = (),  # type: ignore[assignment]
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, rows in (
        ("records.csv", records),
        ("roster.csv", roster),
        ("access_log.csv", access_log),
        ("switches.csv", list(switches)),
    ):
        lines = [",".join(COLUMNS[name]), *rows]
        (directory / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return directory


def legacy_report(directory: Path, period_from: str, period_to: str) -> dict[str, Any]:
    return report_from_legacy(
        directory=directory,
        period_from=date.fromisoformat(period_from),
        period_to=date.fromisoformat(period_to),
    )


def headline(report: dict[str, Any]) -> dict[str, Any]:
    """Every top-level number, to compare whole."""
    return {
        k: report[k]
        for k in (
            "exposed_customers",
            "exposed_customers_in_period",
            "exposure_first",
            "exposure_last",
            "exposure_days_min",
            "exposure_days_max",
            "exposure_days_mean",
            "viewers",
            "customers_viewed",
            "retailers_viewed",
            "switched_after_view",
        )
    }


def request_report(client: Any, django_capture_on_commit_callbacks: Any, **data: Any) -> Any:
    """Ask for a report on the auditors' page, running its task as the commit would."""
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(reverse("exposure-home"), data)
