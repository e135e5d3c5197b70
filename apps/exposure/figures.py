"""The report's figures from what the engine counted: the totals, the breakdowns by
contract class and by retailer, and the appendix (see engine.py for the definitions)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .types import CONTRACT_CLASSES, Record, iso

DAY = 86400.0


@dataclass(frozen=True, slots=True)
class Exposure:
    """A counted record's exposure: its stretches that began before the end of the
    period, each closed (an open one ends with the data) and whole."""

    spans: list[tuple[float, float]]
    in_period: bool

    @property
    def first(self) -> float:
        return self.spans[0][0]

    @property
    def last(self) -> float:
        return self.spans[-1][1]

    @property
    def seconds(self) -> float:
        return sum(end - start for start, end in self.spans)


@dataclass
class Viewed:
    """A viewed record: its first counted access, who viewed it and how often."""

    first_access: float
    viewers: set[str] = field(default_factory=set)
    accesses: int = 0


@dataclass
class Tally:
    """What one pass over the access stream found."""

    latest: float
    viewed: dict[str, Viewed] = field(default_factory=dict)
    viewers: set[str] = field(default_factory=set)
    listed: list[tuple[float, str, str, str]] = field(default_factory=list)
    counted: int = 0
    seen: int = 0


def report_figures(
    *,
    period_from: date,
    period_to: date,
    by_id: dict[str, Record],
    tally: Tally,
    exposures: dict[str, Exposure],
    switched: dict[str, dict[str, Any]],
    end_of_data: float,
) -> dict[str, Any]:
    """The figures, the two breakdowns and the details, in REPORT_KEYS' order."""
    viewed = tally.viewed
    by_class = _groups(lambda r: r.contract_class, by_id, exposures, viewed, switched)
    by_retailer = _groups(lambda r: r.retailer_code, by_id, exposures, viewed, switched)
    lengths = [exposure.seconds for exposure in exposures.values()]
    firsts = [exposure.first for exposure in exposures.values()]
    lasts = [exposure.last for exposure in exposures.values()]
    return {
        "period_from": period_from.isoformat(),
        "period_to": period_to.isoformat(),
        "exposed_customers": len(exposures),
        "exposed_customers_in_period": sum(e.in_period for e in exposures.values()),
        "exposure_first": iso(min(firsts)) if firsts else None,
        "exposure_last": iso(max(lasts)) if lasts else None,
        **_day_figures(lengths),
        "viewers": len(tally.viewers),
        "customers_viewed": len(viewed),
        "retailers_viewed": len({by_id[rid].retailer_code for rid in viewed}),
        "switched_after_view": len(switched),
        "by_contract_class": [
            {"contract_class": cls, **_counts(by_class[cls])}
            for cls in CONTRACT_CLASSES
            if cls in by_class
        ],
        "by_retailer": [
            {
                "retailer_code": code,
                "retailer_name": by_retailer[code]["record"].retailer_name,
                **_counts(by_retailer[code]),
            }
            for code in sorted(by_retailer)
        ],
        "details": _details(by_id, tally, exposures, switched, end_of_data),
    }


def _groups(
    key: Callable[[Record], str],
    by_id: dict[str, Record],
    exposures: dict[str, Exposure],
    viewed: dict[str, Viewed],
    switched: dict[str, dict[str, Any]],
) -> dict[str, dict[str, Any]]:
    """The exposed, viewed and switched records gathered by `key` (a contract class, a
    retailer), each group keeping one of its records for its name."""
    groups: dict[str, dict[str, Any]] = {}

    def bucket(record: Record) -> dict[str, Any]:
        return groups.setdefault(
            key(record),
            {
                "lengths": [],
                "in_period": 0,
                "viewers": set(),
                "viewed": 0,
                "switched": 0,
                "record": record,
            },
        )

    for record_id, exposure in exposures.items():
        group = bucket(by_id[record_id])
        group["lengths"].append(exposure.seconds)
        group["in_period"] += exposure.in_period
    for record_id, seen_record in viewed.items():
        group = bucket(by_id[record_id])
        group["viewers"] |= seen_record.viewers
        group["viewed"] += 1
    for record_id in switched:
        bucket(by_id[record_id])["switched"] += 1
    return groups


def _counts(group: dict[str, Any]) -> dict[str, Any]:
    return {
        "exposed_customers": len(group["lengths"]),
        "exposed_customers_in_period": group["in_period"],
        **_day_figures(group["lengths"]),
        "viewers": len(group["viewers"]),
        "customers_viewed": group["viewed"],
        "switched_after_view": group["switched"],
    }


def _details(
    by_id: dict[str, Record],
    tally: Tally,
    exposures: dict[str, Exposure],
    switched: dict[str, dict[str, Any]],
    end_of_data: float,
) -> dict[str, Any]:
    """The appendix: every counted record, viewer, viewed customer, switch and access."""
    viewed = tally.viewed
    return {
        "data_end": iso(end_of_data) if math.isfinite(end_of_data) else None,
        "access_events_read": tally.seen,
        "accesses_counted": tally.counted,
        "accesses_listed": len(tally.listed),
        "exposed_records": [
            {
                "record_id": rid,
                "supply_point_id": by_id[rid].supply_point_id,
                "contract_class": by_id[rid].contract_class,
                "retailer_code": by_id[rid].retailer_code,
                "windows": [[iso(start), iso(end)] for start, end in exposure.spans],
                "days": round(exposure.seconds / DAY, 3),
                "in_period": exposure.in_period,
            }
            for rid, exposure in sorted(exposures.items(), key=_record_order)
        ],
        "viewers": sorted(tally.viewers),
        "customers_viewed": [
            {
                "record_id": rid,
                "retailer_code": by_id[rid].retailer_code,
                "first_access": iso(seen_record.first_access),
                "accesses": seen_record.accesses,
                "viewers": sorted(seen_record.viewers),
            }
            for rid, seen_record in sorted(viewed.items(), key=_record_order)
        ],
        "retailers_viewed": sorted({by_id[rid].retailer_code for rid in viewed}),
        "switched_after_view": [
            {"record_id": rid, **row} for rid, row in sorted(switched.items(), key=_record_order)
        ],
        "accesses": [
            {"at": iso(at), "user_id": user, "record_id": rid, "action": action}
            for at, user, rid, action in sorted(tally.listed)
        ],
    }


def _record_order(item: tuple[str, Any]) -> tuple[int, str]:
    """Numeric ids in numeric order, then the rest."""
    record_id = item[0]
    return (int(record_id), "") if record_id.isdigit() else (2**63, record_id)


def _day_figures(lengths: list[float]) -> dict[str, int | None]:
    """Whole days: min and max to the nearest day, the mean to the nearest day (halves
    up, as a reader expects, not Python's banker's rounding)."""
    if not lengths:
        return {"exposure_days_min": None, "exposure_days_max": None, "exposure_days_mean": None}
    return {
        "exposure_days_min": _nearest(min(lengths) / DAY),
        "exposure_days_max": _nearest(max(lengths) / DAY),
        "exposure_days_mean": _nearest(sum(lengths) / len(lengths) / DAY),
    }


def _nearest(days: float) -> int:
    return math.floor(days + 0.5)
