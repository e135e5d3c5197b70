"""Searching the trail for the auditors' pages and the CSV export.

Millions of rows: every filter is on an indexed column, pages are keyset pages (`before`
an event id, newest first) so no page ever counts the whole result.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.accounts.models import User
from apps.applications.models import Application
from apps.audit.models import AuditEvent

PAGE_SIZE = 50
APPLICATION_TYPE = "applications.application"


@dataclass(frozen=True)
class EventFilter:
    actor: str = ""
    division: str = ""
    action: str = ""
    application: str = ""  # reference number or supply point ID
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None

    def as_details(self) -> dict[str, Any]:
        """For the export's own audit event: what was exported (no personal data)."""
        return {
            key: value.isoformat() if isinstance(value, datetime.date) else value
            for key, value in self.__dict__.items()
            if value
        }


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def application_ids(term: str) -> list[str]:
    term = term.strip()
    if not term:
        return []
    found = Application.objects.filter(
        Q(reference__iexact=term) | Q(supply_point_id=term)
    ).values_list("id", flat=True)[:100]
    return [str(pk) for pk in found]


def search_events(criteria: EventFilter) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.all()
    if criteria.actor:
        # By the actor's id (audit_actor_idx): user names never change and users are never
        # deleted, so it finds the same events as the name snapshot, which has no index.
        # Events without an actor (a failed sign-in under an unknown name) by the name.
        name = criteria.actor.strip()
        users = User.objects.filter(username=name).values("id")
        events = events.filter(
            Q(actor_id__in=users) | Q(actor_id__isnull=True, actor_username=name)
        )
    if criteria.division:
        events = events.filter(actor_division=criteria.division)
    if criteria.action:
        events = events.filter(action=criteria.action)
    if criteria.application:
        events = events.filter(
            object_type=APPLICATION_TYPE, object_id__in=application_ids(criteria.application)
        )
    if criteria.date_from:
        events = events.filter(occurred_at__gte=_day_start(criteria.date_from))
    if criteria.date_to:
        events = events.filter(
            occurred_at__lt=_day_start(criteria.date_to + datetime.timedelta(days=1))
        )
    return events.order_by("-id")


@dataclass(frozen=True)
class EventPage:
    events: list[AuditEvent]
    next_before: int | None  # the older page starts below this id
    prev_after: int | None  # the newer page starts above this id


def page_of(
    events: QuerySet[AuditEvent], *, before: int | None, after: int | None = None
) -> EventPage:
    """Newest first, PAGE_SIZE at a time, both ways: one extra row tells whether there is
    more in the direction walked, one EXISTS whether there is anything the other way."""
    events = events.select_related(None)
    if after and not before:
        upward = list(events.filter(id__gt=after).order_by("id")[: PAGE_SIZE + 1])
        newer = len(upward) > PAGE_SIZE
        rows = list(reversed(upward[:PAGE_SIZE]))
        older = bool(rows) and events.filter(id__lt=rows[-1].pk).exists()
        return EventPage(
            rows,
            rows[-1].pk if older else None,
            rows[0].pk if newer and rows else None,
        )
    page = events.filter(id__lt=before) if before else events
    rows = list(page[: PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    newer = bool(before) and bool(rows) and events.filter(id__gt=rows[0].pk).exists()
    return EventPage(
        rows,
        rows[-1].pk if more and rows else None,
        rows[0].pk if newer else None,
    )


def cursor_for_day(events: QuerySet[AuditEvent], day: datetime.date) -> int | None:
    """Jump to a date: the `before` cursor whose page starts with the last events of that
    (Tokyo) day; None (the newest page) when nothing happened after it. By the indexed
    time of the first event after the day, so paging on from there stays on the id."""
    first_after = (
        events.filter(occurred_at__gte=_day_start(day + datetime.timedelta(days=1)))
        .order_by("occurred_at", "id")
        .values_list("id", flat=True)
        .first()
    )
    return first_after


def application_timeline(application: Application) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.for_object(application).order_by("id")


def user_history(user_id: int) -> QuerySet[AuditEvent]:
    """What the person did, and what was done to them (roles, transfers)."""
    return AuditEvent.objects.filter(
        Q(actor_id=user_id) | Q(object_type="accounts.user", object_id=str(user_id))
    ).order_by("-id")
