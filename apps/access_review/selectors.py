"""Reads for the review pages. Nothing here holds personal data: items point at audit
events, which hold none, and applications appear by reference number and pseudonym."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from apps.applications.models import Application
from apps.core.counting import COUNT_CAP, CappedCount, count_up_to

from .models import Outcome, ReviewItem, SampleRun
from .sampling import japan_day
from .services import APPLICATION_TYPE


def review_queue() -> QuerySet[ReviewItem]:
    """Waiting items, oldest access first."""
    return (
        ReviewItem.objects.pending()
        .select_related("event", "event__actor")
        .order_by("event__occurred_at", "event_id")
    )


def next_pending(*, reviewer_id: int) -> ReviewItem | None:
    """The item the reviewer goes to after a verdict: the oldest one still waiting that is
    not their own access (another auditor must review that)."""
    return review_queue().exclude(event__actor_id=reviewer_id).first()


def reviewed_items(*, outcome: str = "") -> QuerySet[ReviewItem]:
    """Reviewed items, latest review first; optionally only one outcome."""
    items = ReviewItem.objects.reviewed().select_related("event", "event__actor", "reviewed_by")
    if outcome in Outcome.values:
        items = items.filter(outcome=outcome)
    return items.order_by("-reviewed_at", "-id")


def review_item(item_id: int) -> ReviewItem | None:
    return (
        ReviewItem.objects.select_related("event", "event__actor", "reviewed_by", "run")
        .filter(pk=item_id)
        .first()
    )


@dataclass(frozen=True)
class ApplicationLabel:
    id: int
    reference: str
    pseudonym: str


def application_of(item: ReviewItem) -> ApplicationLabel | None:
    """The application the access was about, by reference and pseudonym only."""
    event = item.event
    if event.object_type != APPLICATION_TYPE or not event.object_id.isdigit():
        return None
    row = (
        Application.objects.filter(pk=int(event.object_id))
        .values_list("id", "reference", "pseudonym")
        .first()
    )
    return ApplicationLabel(*row) if row else None


@dataclass
class PeriodShare:
    """One day or month: how many accesses were drawn and how many have been reviewed."""

    label: str
    start: dt.date
    accesses: int = 0
    sampled: int = 0
    reviewed: int = 0
    suspicious: int = 0

    @property
    def share(self) -> float | None:
        """Per cent of the drawn items reviewed; None when nothing was drawn."""
        if not self.sampled:
            return None
        return round(100.0 * self.reviewed / self.sampled, 1)


@dataclass(frozen=True)
class ReviewShares:
    days: list[PeriodShare]
    months: list[PeriodShare]


def review_shares(
    *, days: int = 14, months: int = 12, today: dt.date | None = None
) -> ReviewShares:
    """Per day for the last `days` days and per month for the last `months` months (Japan
    time), newest first: accesses that day, drawn, reviewed, suspicious, share reviewed.
    One grouped query over the sample runs of the range."""
    today = today or japan_day(timezone.now())
    first_month = _add_months(today.replace(day=1), -(months - 1))
    first_day = min(today - dt.timedelta(days=days - 1), first_month)
    rows = (
        SampleRun.objects.filter(day__gte=first_day, day__lte=today)
        .annotate(
            n_reviewed=Count("items", filter=~Q(items__outcome="")),
            n_suspicious=Count("items", filter=Q(items__outcome=Outcome.SUSPICIOUS)),
        )
        .values_list("day", "population", "sampled", "n_reviewed", "n_suspicious")
    )
    by_day = {row[0]: row[1:] for row in rows}

    day_rows = []
    for back in range(days):
        day = today - dt.timedelta(days=back)
        share = PeriodShare(label=day.isoformat(), start=day)
        _add(share, by_day.get(day))
        day_rows.append(share)

    month_rows = []
    for back in range(months):
        start = _add_months(today.replace(day=1), -back)
        share = PeriodShare(label=start.strftime("%Y-%m"), start=start)
        for day, counts in by_day.items():
            if (day.year, day.month) == (start.year, start.month):
                _add(share, counts)
        month_rows.append(share)
    return ReviewShares(days=day_rows, months=month_rows)


def _add(share: PeriodShare, counts: tuple[int, int, int, int] | None) -> None:
    if counts is None:
        return
    accesses, sampled, reviewed, suspicious = counts
    share.accesses += accesses
    share.sampled += sampled
    share.reviewed += reviewed
    share.suspicious += suspicious


def _add_months(first_of_month: dt.date, months: int) -> dt.date:
    index = first_of_month.year * 12 + first_of_month.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def pending_count() -> CappedCount:
    """How many items wait, counted up to COUNT_CAP (the auditors' home page)."""
    return count_up_to(ReviewItem.objects.pending(), COUNT_CAP)
