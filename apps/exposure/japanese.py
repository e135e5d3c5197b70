"""How a regulator's table writes a length: 2年7か月, 22日, 平均316日."""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from typing import Any


def japanese_span(days: int, *, anchor: date | None = None) -> str:
    """`days` counted from `anchor` in calendar years, months and days: 2年7か月2日.
    Without an anchor the days alone (平均316日 is written that way)."""
    if anchor is None or days < 28:
        return f"{days}日"
    years, months, rest = calendar_difference(anchor, anchor + timedelta(days=days))
    parts = []
    if years:
        parts.append(f"{years}年")
    if months:
        parts.append(f"{months}か月")
    if rest or not parts:
        parts.append(f"{rest}日")
    return "".join(parts)


def calendar_difference(start: date, end: date) -> tuple[int, int, int]:
    """Whole years, then whole months, then days from `start` to `end` (end >= start).
    A month from the 31st ends on the last day of a shorter month."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if _add_months(start, months) > end:
        months -= 1
    return months // 12, months % 12, (end - _add_months(start, months)).days


def _add_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def extreme_spans(report: dict[str, Any]) -> tuple[str, str, str] | None:
    """(shortest, longest, mean) as the table writes them, the shortest and longest
    counted in the calendar from their own record's first window."""
    rows = report["details"]["exposed_records"]
    if not rows:
        return None
    shortest = min(rows, key=lambda r: r["days"])
    longest = max(rows, key=lambda r: r["days"])
    return (
        japanese_span(report["exposure_days_min"], anchor=_first_day(shortest)),
        japanese_span(report["exposure_days_max"], anchor=_first_day(longest)),
        f"{report['exposure_days_mean']}日",
    )


def _first_day(row: dict[str, Any]) -> date:
    return datetime.fromisoformat(row["windows"][0][0]).date()
