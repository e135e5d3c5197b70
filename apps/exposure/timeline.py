"""The timeline chart: each exposed record a row, its windows as bars and the counted
views as marks, drawn by the template as SVG (numbers only: no script, no style)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .types import TOKYO

WIDTH = 720.0
LABEL = 150.0
ROW = 16.0
TOP = 24.0
MAX_ROWS = 60


@dataclass
class Row:
    label: str
    y: float
    bars: list[tuple[float, float]] = field(default_factory=list)  # x, width
    views: list[float] = field(default_factory=list)


@dataclass
class Chart:
    width: float
    height: float
    label_width: float
    rows: list[Row]
    ticks: list[tuple[float, str]]
    period: tuple[float, float] | None
    hidden_rows: int


def _seconds(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def timeline(report: dict[str, Any], *, max_rows: int = MAX_ROWS) -> Chart | None:
    records = report["details"]["exposed_records"]
    if not records:
        return None
    # Viewed records first: they are the ones a reader looks for.
    viewed = {row["record_id"] for row in report["details"]["customers_viewed"]}
    ordered = sorted(records, key=lambda r: (r["record_id"] not in viewed, r["windows"][0][0]))
    shown = ordered[:max_rows]
    first = min(_seconds(r["windows"][0][0]) for r in shown)
    last = max(_seconds(r["windows"][-1][1]) for r in shown)
    span = max(last - first, 1.0)
    plot = WIDTH - LABEL - 8

    def x(seconds: float) -> float:
        return round(LABEL + (min(max(seconds, first), last) - first) / span * plot, 1)

    views: dict[str, list[float]] = {}
    for access in report["details"]["accesses"]:
        views.setdefault(access["record_id"], []).append(_seconds(access["at"]))
    rows = []
    for i, record in enumerate(shown):
        row = Row(label=record["record_id"], y=TOP + i * ROW)
        for start, end in record["windows"]:
            left = x(_seconds(start))
            row.bars.append((left, max(round(x(_seconds(end)) - left, 1), 1.0)))
        row.views = [x(at) for at in views.get(record["record_id"], [])]
        rows.append(row)
    years = range(
        datetime.fromtimestamp(first, tz=TOKYO).year + 1,
        datetime.fromtimestamp(last, tz=TOKYO).year + 1,
    )
    # A year label too close to the right edge would be cut off: its line alone is drawn.
    ticks = []
    for year in years:
        at = x(datetime(year, 1, 1, tzinfo=TOKYO).timestamp())
        ticks.append((at, str(year) if at <= WIDTH - 24 else ""))
    p_from = _seconds(report["period_from"] + "T00:00:00+09:00")
    p_to = _seconds(report["period_to"] + "T23:59:59+09:00")
    period = None
    if p_to > first and p_from < last:
        period = (x(p_from), round(x(p_to) - x(p_from), 1))
    return Chart(
        width=WIDTH,
        height=TOP + len(rows) * ROW + 8,
        label_width=LABEL,
        rows=rows,
        ticks=ticks,
        period=period,
        hidden_rows=len(records) - len(shown),
    )
