"""The engine's inputs, whatever their source (shadan's own audit trail or a legacy
system's CSV files). Times are seconds since the epoch (floats): comparing numbers is
what keeps ten million access events fast; datetimes appear only at the edges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

TOKYO = ZoneInfo("Asia/Tokyo")

LOW = "low"
HIGH = "high"
CONTRACT_CLASSES = (LOW, HIGH)

RETAIL = "retail"
DIVISIONS = ("td", "retail", "audit", "admin", "other")


@dataclass(frozen=True, slots=True)
class Record:
    record_id: str
    supply_point_id: str
    contract_class: str  # LOW or HIGH
    retailer_code: str
    retailer_name: str
    affiliated: bool

    @property
    def non_public(self) -> bool:
        """Its customer's name and contact are non-public: the retailer is not affiliated."""
        return not self.affiliated


@dataclass(frozen=True, slots=True)
class Window:
    """A period in which retail could read the record's non-public fields.
    `end` None: still open at the end of the data."""

    record_id: str
    start: float
    end: float | None


@dataclass(frozen=True, slots=True)
class RosterEntry:
    user_id: str
    division: str
    valid_from: float
    valid_until: float | None


class Access(NamedTuple):
    """One access event. A tuple rather than a dataclass: ten million of them are made."""

    at: float
    user_id: str
    record_id: str
    action: str
    # The division recorded with the event (shadan's trail snapshots it); None: look it
    # up in the roster.
    division: str | None = None


@dataclass(frozen=True, slots=True)
class Switch:
    record_id: str
    at: float
    from_code: str | None  # None: not recorded (the product refuses a change to the same
    to_code: str | None  # retailer, so a recorded change always leaves the old one)


def to_epoch(moment: datetime) -> float:
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.timestamp()


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC).astimezone(TOKYO)


def iso(seconds: float | None) -> str | None:
    return from_epoch(seconds).isoformat() if seconds is not None else None
