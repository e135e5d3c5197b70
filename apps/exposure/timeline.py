"""The timeline chart: each exposed record a row, its windows as bars and the counted
views as dots, drawn by the template as SVG (numbers and text only: no script, no style).

Every bar and dot carries hover text (an SVG <title>): the record, the window or the
view time and who viewed. Views are drawn one dot per day, and dots of consecutive days
are pushed apart so that each day stays visible. The axis names every year: the first
at the left edge, the others at their 1 January."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils.formats import date_format

from .types import TOKYO

WIDTH = 760.0
LABEL = 150.0
ROW = 20.0
TOP = 30.0
BOTTOM = 22.0
MAX_ROWS = 60
DOT = 4.0  # radius of a view dot
GAP = DOT * 2 + 1  # least distance between the centres of two days' dots
FONT = 12


@dataclass
class Bar:
    x: float
    width: float
    title: str


@dataclass
class Dot:
    x: float
    title: str


@dataclass
class Row:
    label: str
    y: float
    bars: list[Bar] = field(default_factory=list)
    views: list[Dot] = field(default_factory=list)


@dataclass
class Tick:
    x: float
    label: str
    anchor: str = "start"


@dataclass
class Chart:
    width: float
    height: float
    label_width: float
    rows: list[Row]
    ticks: list[Tick]
    period: tuple[float, float] | None
    hidden_rows: int
    font: int = FONT
    dot: float = DOT
    first_date: str = ""
    last_date: str = ""
    axis_y: float = 0.0


def _seconds(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def _when(seconds: float, fmt: str = "DATETIME_FORMAT") -> str:
    return date_format(datetime.fromtimestamp(seconds, tz=TOKYO), fmt)


def _dots(record_id: str, views: list[tuple[float, str]], x: Any) -> list[Dot]:
    """One dot per Tokyo day, its hover text every view of that day; a day's dot at
    least GAP right of the previous day's, so consecutive days do not melt into one."""
    days: dict[str, list[tuple[float, str]]] = {}
    for at, user in sorted(views):
        days.setdefault(_when(at, "SHORT_DATE_FORMAT"), []).append((at, user))
    dots: list[Dot] = []
    for seen in days.values():
        left = x(seen[0][0])
        if dots and left < dots[-1].x + GAP:
            left = round(dots[-1].x + GAP, 1)
        lines = [f"{_when(at)} {user}" for at, user in seen]
        dots.append(Dot(left, f"{record_id}: 閲覧 {len(seen)}回\n" + "\n".join(lines)))
    return dots


def timeline(
    report: dict[str, Any], *, max_rows: int = MAX_ROWS, people: dict[str, str] | None = None
) -> Chart | None:
    """The chart of `report`; `people` names viewers (login id -> shown name)."""
    records = report["details"]["exposed_records"]
    if not records:
        return None
    people = people or {}
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

    views: dict[str, list[tuple[float, str]]] = {}
    for access in report["details"]["accesses"]:
        user = people.get(access["user_id"], access["user_id"])
        views.setdefault(access["record_id"], []).append((_seconds(access["at"]), user))
    rows = [_row(i, record, views, x) for i, record in enumerate(shown)]
    ticks = _year_ticks(first, last, x)
    p_from = _seconds(report["period_from"] + "T00:00:00+09:00")
    p_to = _seconds(report["period_to"] + "T23:59:59+09:00")
    period = None
    if p_to > first and p_from < last:
        period = (x(p_from), round(x(p_to) - x(p_from), 1))
    axis_y = TOP + len(rows) * ROW + 4
    return Chart(
        width=WIDTH,
        height=axis_y + BOTTOM,
        label_width=LABEL,
        rows=rows,
        ticks=ticks,
        period=period,
        hidden_rows=len(records) - len(shown),
        first_date=_when(first, "SHORT_DATE_FORMAT"),
        last_date=_when(last, "SHORT_DATE_FORMAT"),
        axis_y=axis_y,
    )


def _row(
    i: int,
    record: dict[str, Any],
    views: dict[str, list[tuple[float, str]]],
    x: Callable[[float], float],
) -> Row:
    """One record's line: a bar per window of exposure, a dot per counted access."""
    record_id = record["record_id"]
    row = Row(label=record_id, y=TOP + i * ROW)
    for start, end in record["windows"]:
        left = x(_seconds(start))
        title = f"{record_id}: 閲覧可能 {_when(_seconds(start))} ～ {_when(_seconds(end))}"
        row.bars.append(Bar(left, max(round(x(_seconds(end)) - left, 1), 1.0), title))
    row.views = _dots(record_id, views.get(record_id, []), x)
    return row


def _year_ticks(first: float, last: float, x: Callable[[float], float]) -> list[Tick]:
    """Every year is named: the first at the left edge (unless its 1 January is there),
    each later one at its 1 January, right-aligned when near the right edge."""
    first_year = datetime.fromtimestamp(first, tz=TOKYO).year
    last_year = datetime.fromtimestamp(last, tz=TOKYO).year
    ticks = [Tick(LABEL, str(first_year))]
    for year in range(first_year + 1, last_year + 1):
        at = x(datetime(year, 1, 1, tzinfo=TOKYO).timestamp())
        if ticks and at - ticks[-1].x < 36 and ticks[-1].x == LABEL:
            ticks.pop()  # the start year lasts too little to name it apart
        ticks.append(Tick(at, str(year), "end" if at > WIDTH - 40 else "start"))
    return ticks
