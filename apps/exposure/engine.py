"""The investigation (exposure) report: one engine for every source.

Definitions (issue 6, the exposed customers as issue 13 reads the regulator's table):
- a record is non-public when its retailer is not affiliated;
- its exposure is the union of its windows, as stretches (overlapping windows are one);
- a record counts as exposed when one of those stretches begins before the end of the
  investigation period, whatever its relation to the period's start: the period is how
  far the access logs were analysed, while the exposure describes the data itself, so a
  customer readable only in an earlier year is still affected (and is still notified).
  Each such stretch is counted whole (not clipped to the period); a stretch that begins
  after the period is not counted. Of those records, the ones whose counted exposure
  overlaps the period are also given apart (`exposed_customers_in_period`);
- a viewer is a user whose division at the moment of an access was retail and who
  accessed a non-public record inside one of its windows, the access inside the period;
- a viewed customer switched when a switch after the first such access leaves the
  retailer the record had at that access.

Records, windows, roster and switches are small and held in memory; the access events
are a stream read once, in constant memory apart from the appendix of counted accesses
(capped: the totals stay exact).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from .figures import Exposure, Tally, Viewed, report_figures
from .types import (
    RETAIL,
    TOKYO,
    Access,
    Record,
    RosterEntry,
    Switch,
    Window,
    iso,
)

DEFAULT_DETAIL_CAP = 100_000
PROGRESS_EVERY = 100_000

REPORT_KEYS = (
    "period_from",
    "period_to",
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
    "by_contract_class",
    "by_retailer",
    "details",
)

Spans = tuple[list[float], list[float | None]]  # merged windows: starts, ends (None: open)


class UnresolvedDivision(Exception):
    """An access that would count if its user was in retail, and no roster row says
    where the user was at that moment: the engine never guesses."""

    def __init__(self, access: Access) -> None:
        self.access = access
        super().__init__(f"no division known for user {access.user_id} at {iso(access.at)}")


def period_bounds(period_from: date, period_to: date) -> tuple[float, float]:
    """Both dates inclusive, in Tokyo time: [from 00:00, the day after `to` 00:00)."""
    start = datetime.combine(period_from, time(), tzinfo=TOKYO)
    end = datetime.combine(period_to + timedelta(days=1), time(), tzinfo=TOKYO)
    return start.timestamp(), end.timestamp()


def merge_windows(windows: Iterable[Window]) -> dict[str, Spans]:
    """The union of each record's windows, as sorted, disjoint spans."""
    by_record: dict[str, list[tuple[float, float]]] = {}
    for window in windows:
        end = math.inf if window.end is None else window.end
        if end > window.start:
            by_record.setdefault(window.record_id, []).append((window.start, end))
    merged: dict[str, Spans] = {}
    for record_id, spans in by_record.items():
        spans.sort()
        starts: list[float] = []
        ends: list[float] = []
        for start, end in spans:
            if ends and start <= ends[-1]:
                ends[-1] = max(ends[-1], end)
            else:
                starts.append(start)
                ends.append(end)
        merged[record_id] = (starts, [None if e == math.inf else e for e in ends])
    return merged


def exposed_record_ids(records: Iterable[Record], windows: Iterable[Window]) -> frozenset[str]:
    """The records an access to which could count: non-public, with a window."""
    non_public = {record.record_id for record in records if record.non_public}
    return frozenset(
        w.record_id
        for w in windows
        if w.record_id in non_public and (w.end is None or w.end > w.start)
    )


class Roster:
    """Each user's division over time; rows of one user must not overlap."""

    def __init__(self, entries: Iterable[RosterEntry]) -> None:
        rows: dict[str, list[RosterEntry]] = {}
        for entry in entries:
            rows.setdefault(entry.user_id, []).append(entry)
        self._froms: dict[str, list[float]] = {}
        self._rows: dict[str, list[RosterEntry]] = {}
        for user_id, user_rows in rows.items():
            user_rows.sort(key=lambda e: e.valid_from)
            self._rows[user_id] = user_rows
            self._froms[user_id] = [e.valid_from for e in user_rows]

    def division_at(self, user_id: str, at: float) -> str | None:
        froms = self._froms.get(user_id)
        if froms is None:
            return None
        i = bisect_right(froms, at) - 1
        if i < 0:
            return None
        entry = self._rows[user_id][i]
        if entry.valid_until is not None and at >= entry.valid_until:
            return None
        return entry.division


def exposure_report(
    *,
    period_from: date,
    period_to: date,
    records: Iterable[Record],
    windows: Iterable[Window],
    roster: Iterable[RosterEntry],
    switches: Iterable[Switch],
    accesses: Iterable[Access],
    data_end: float | None = None,
    progress: Callable[[int], None] | None = None,
    on_unresolved: Callable[[UnresolvedDivision], None] | None = None,
    detail_cap: int = DEFAULT_DETAIL_CAP,
    latest_elsewhere: Callable[[], float] | None = None,
) -> dict[str, Any]:
    """The report as a JSON-ready dict with exactly REPORT_KEYS. `data_end` closes the
    open windows (default: the latest moment anywhere in the data). `on_unresolved`
    receives each access whose division cannot be known; without it the first one
    raises UnresolvedDivision. A source that only passes on the accesses that could
    count (see exposed_record_ids) tells the latest moment it read through
    `latest_elsewhere`, asked once the stream is consumed."""
    p_from, p_to = period_bounds(period_from, period_to)
    by_id = {record.record_id: record for record in records}
    merged = merge_windows(windows)
    # Only non-public records with a window can make an access count.
    exposed = {
        rid: spans for rid, spans in merged.items() if rid in by_id and by_id[rid].non_public
    }
    tally = _read_accesses(
        accesses,
        exposed=exposed,
        people=Roster(roster),
        p_from=p_from,
        p_to=p_to,
        latest=max(
            [s for starts, _ in merged.values() for s in starts]
            + [e for _, ends in merged.values() for e in ends if e is not None],
            default=-math.inf,
        ),
        progress=progress,
        on_unresolved=on_unresolved,
        detail_cap=detail_cap,
    )

    latest = tally.latest
    switch_rows: dict[str, list[Switch]] = {}
    for switch in switches:
        latest = max(latest, switch.at)
        switch_rows.setdefault(switch.record_id, []).append(switch)
    if latest_elsewhere is not None:
        latest = max(latest, latest_elsewhere())
    end_of_data = data_end if data_end is not None else latest

    exposures = _exposures(exposed, end_of_data, p_from, p_to)
    switched = _switched(by_id, tally.viewed, switch_rows)
    return report_figures(
        period_from=period_from,
        period_to=period_to,
        by_id=by_id,
        tally=tally,
        exposures=exposures,
        switched=switched,
        end_of_data=end_of_data,
    )


def _read_accesses(
    accesses: Iterable[Access],
    *,
    exposed: dict[str, Spans],
    people: Roster,
    p_from: float,
    p_to: float,
    latest: float,
    progress: Callable[[int], None] | None,
    on_unresolved: Callable[[UnresolvedDivision], None] | None,
    detail_cap: int,
) -> Tally:
    """One pass over the stream: the counted accesses, and the latest moment read. The
    hot loop of the report, kept as one piece on local names (it runs per access)."""
    viewed: dict[str, Viewed] = {}
    viewers: set[str] = set()
    listed: list[tuple[float, str, str, str]] = []
    counted = 0
    seen = 0
    for access in accesses:
        seen += 1
        if progress is not None and seen % PROGRESS_EVERY == 0:
            progress(seen)
        at = access[0]
        if at > latest:
            latest = at
        if at < p_from or at >= p_to:
            continue
        record_id = access[2]
        spans = exposed.get(record_id)
        if spans is None:
            continue
        starts, ends = spans
        i = bisect_right(starts, at) - 1
        if i < 0:
            continue
        end = ends[i]
        if end is not None and at >= end:
            continue
        user_id = access[1]
        division = access[4] if access[4] is not None else people.division_at(user_id, at)
        if division is None:
            problem = UnresolvedDivision(access)
            if on_unresolved is None:
                raise problem
            on_unresolved(problem)
            continue
        if division != RETAIL:
            continue
        counted += 1
        viewers.add(user_id)
        seen_record = viewed.get(record_id)
        if seen_record is None:
            seen_record = viewed[record_id] = Viewed(first_access=at)
        elif at < seen_record.first_access:
            seen_record.first_access = at
        seen_record.viewers.add(user_id)
        seen_record.accesses += 1
        if len(listed) < detail_cap:
            listed.append((at, user_id, record_id, access[3]))
    if progress is not None:
        progress(seen)
    return Tally(latest, viewed, viewers, listed, counted, seen)


def _exposures(
    exposed: dict[str, Spans], end_of_data: float, p_from: float, p_to: float
) -> dict[str, Exposure]:
    """The counted records: those with a stretch of exposure that began before the end of
    the period, however long before its start (the period bounds the access logs read,
    not the data: a customer readable only in an earlier year is still affected)."""
    found: dict[str, Exposure] = {}
    for record_id, (starts, ends) in exposed.items():
        closed = ((s, end_of_data if e is None else e) for s, e in zip(starts, ends, strict=True))
        # An open stretch that begins at or after the end of the data lasted no time.
        spans = [(s, e) for s, e in closed if s < p_to and e > s]
        if spans:
            found[record_id] = Exposure(spans, any(e > p_from for _, e in spans))
    return found


def _switched(
    by_id: dict[str, Record], viewed: dict[str, Viewed], switches: dict[str, list[Switch]]
) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for record_id, seen in viewed.items():
        after = sorted(
            (s for s in switches.get(record_id, []) if s.at > seen.first_access),
            key=lambda s: s.at,
        )
        if not after:
            continue
        # The retailer at the access: the one the next switch left, else the record's own.
        at_access = after[0].from_code or by_id[record_id].retailer_code
        for switch in after:
            if switch.to_code is None or switch.to_code != at_access:
                found[record_id] = {
                    "first_access": iso(seen.first_access),
                    "retailer_at_access": at_access,
                    "switched_at": iso(switch.at),
                    "to_retailer_code": switch.to_code,
                }
                break
    return found
