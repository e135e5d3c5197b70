"""Which of a day's accesses are drawn: a pure function of the day, the configuration and
the day's events, so anyone holding the key can draw the same sample again.

Each candidate event is ranked by HMAC-SHA256(key, "<day>:<event id>"), lowest first, and
the first n are drawn. The rank depends on nothing but the day, the key and the event's
id: not on the order rows come back in, not on which other events exist. A different key
gives an unrelated ranking, and without the key nobody can tell in advance whether a
given access will be drawn.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import hmac
import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings

from apps.audit.models import AuditAction

METHOD = "hmac-sha256-v1"
# The accesses a day's sample is drawn from: every read of a customer's personal data
# (reveal on a work page or by construction, one event per read), every retail view
# (detail pages, and one event per application a list page showed) and every retail
# request for an application retail cannot see (probing, or a reference learnt elsewhere).
SAMPLED_ACTIONS = (AuditAction.PII_READ, AuditAction.RETAIL_VIEWED, AuditAction.RETAIL_NOT_FOUND)
# The legal day is the Japanese one, whatever TIME_ZONE a deployment runs with.
JAPAN = ZoneInfo("Asia/Tokyo")


@dataclass(frozen=True)
class SampleConfig:
    size: int
    rate: Decimal
    key: bytes

    @classmethod
    def from_settings(cls, *, size: int | None = None, rate: Decimal | None = None) -> SampleConfig:
        key = settings.SHADAN_ACCESS_SAMPLE_KEY or settings.SECRET_KEY
        return cls(
            size=settings.SHADAN_ACCESS_SAMPLE_SIZE if size is None else size,
            rate=Decimal(settings.SHADAN_ACCESS_SAMPLE_RATE if rate is None else rate),
            key=key.encode(),
        )

    @property
    def fingerprint(self) -> str:
        """Names the key without revealing it: two runs with the same fingerprint used the
        same key."""
        return hmac.new(self.key, b"shadan.access_review.fingerprint", hashlib.sha256).hexdigest()[
            :16
        ]

    def count(self, population: int) -> int:
        """How many of `population` events to draw: the rate rounded up when a rate is set
        (so any access at all gives at least one item), otherwise the size."""
        if population <= 0:
            return 0
        if self.rate > 0:
            return min(population, math.ceil(self.rate * population))
        return min(population, self.size)


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a Japan-time day as aware datetimes."""
    start = dt.datetime.combine(day, dt.time.min, tzinfo=JAPAN)
    return start, start + dt.timedelta(days=1)


def japan_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(JAPAN).date()


def rank(config: SampleConfig, day: dt.date, event_id: int) -> bytes:
    """HMAC-SHA256(key, "<day>:<event id>"): an event's place in its day's draw."""
    message = f"{day.isoformat()}:{event_id}".encode()
    return hmac.new(config.key, message, hashlib.sha256).digest()


def draw(config: SampleConfig, day: dt.date, event_ids: Iterable[int]) -> list[int]:
    """The drawn event ids, in rank order (lowest HMAC first, the id breaking a tie)."""
    ids = set(event_ids)
    # The same HMAC as rank(), with the key schedule computed once instead of per event.
    keyed = hmac.new(config.key, digestmod=hashlib.sha256)
    prefix = f"{day.isoformat()}:".encode()

    def position(event_id: int) -> tuple[bytes, int]:
        mac = keyed.copy()
        mac.update(prefix + str(event_id).encode())
        return mac.digest(), event_id

    return heapq.nsmallest(config.count(len(ids)), ids, key=position)
