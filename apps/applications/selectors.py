"""Reads that shape T&D pages: queues with counts and ages, application lists.

No personal data here: these read the shared tables only. Each queue is one query
(its oldest item with a count capped at COUNT_CAP riding along); list pages select the
retailer with the row.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import User
from apps.core.counting import COUNT_CAP, capped_count
from apps.core.expressions import Literal
from apps.vocabulary.states import ApplicationState as S
from apps.vocabulary.states import MaskingState as M

from .models import Application, Waiting


@dataclass(frozen=True)
class Queue:
    key: str
    label: str | Promise
    count: int  # at most COUNT_CAP; `count_capped` says there are more
    oldest: datetime.datetime | None
    url_name: str
    url_query: str = ""
    count_capped: bool = False

    @property
    def oldest_age(self) -> datetime.timedelta | None:
        return timezone.now() - self.oldest if self.oldest else None


def _queue(
    key: str,
    label: str | Promise,
    queryset: QuerySet[Application],
    since: str,
    url_name: str,
    url_query: str = "",
) -> Queue:
    # The oldest item (NULLs last, as MIN ignores them) with the capped count riding
    # along: one query whose cost stops at COUNT_CAP rows, however long the queue grows.
    found = (
        queryset.order_by(F(since).asc(nulls_last=True))
        .annotate(queue_count=capped_count(queryset, COUNT_CAP))
        .values(since, "queue_count")
        .first()
    )
    count = found["queue_count"] if found else 0
    oldest = found[since] if found else None
    return Queue(
        key,
        label,
        min(count, COUNT_CAP),
        oldest,
        url_name,
        url_query,
        count_capped=count > COUNT_CAP,
    )


def drafts_of(user: User) -> QuerySet[Application]:
    return Application.objects.filter(state=S.DRAFT, created_by=user)


def is_awaiting_encoding() -> Q:
    """Submitted but not masked — including released work whose masking was withdrawn
    (a retailer switch). One definition for the queue, its count and the encode button:
    the stored `waiting_for` column (models.AWAITING_ENCODING)."""
    return Q(waiting_for=Literal(Waiting.ENCODING))


def awaiting_encoding() -> QuerySet[Application]:
    """Non-affiliated retailers first where it is listed: that is the original failure."""
    return Application.objects.awaiting_encoding()


def returned() -> QuerySet[Application]:
    return Application.objects.filter(state=S.ENTERED, returned_at__isnull=False)


def awaiting_verification() -> QuerySet[Application]:
    """Encoded for the current version, not cancelled (models.AWAITING_CHECK)."""
    return Application.objects.awaiting_verification()


def awaiting_release() -> QuerySet[Application]:
    return Application.objects.filter(state=S.VERIFIED)


def released_work() -> QuerySet[Application]:
    return Application.objects.filter(state=S.RELEASED)


def awaiting_energization() -> QuerySet[Application]:
    return Application.objects.filter(state=S.CONSTRUCTED)


def clerk_queues(user: User) -> list[Queue]:
    return [
        _queue(
            "drafts", _("My drafts"), drafts_of(user), "created_at", "clerk-list", "state=draft"
        ),
        _queue(
            "returned", _("Returned for correction"), returned(), "returned_at", "clerk-returned"
        ),
        _queue(
            "to_encode",
            _("Waiting to be encoded"),
            awaiting_encoding(),
            "updated_at",
            "clerk-list",
            "state=to_encode",
        ),
    ]


def supervisor_queues() -> list[Queue]:
    return [
        _queue(
            "to_verify",
            _("Waiting for the second-person check"),
            awaiting_verification(),
            "encoded_at",
            "review-queue",
        ),
        _queue(
            "to_release",
            _("Verified, waiting for release"),
            awaiting_release(),
            "verified_at",
            "clerk-list",
            "state=verified",
        ),
    ]


def construction_queues() -> list[Queue]:
    return [
        _queue("released", _("Released work"), released_work(), "released_at", "construction-list"),
        _queue(
            "to_energize",
            _("Completed, waiting for energization"),
            awaiting_energization(),
            "updated_at",
            "construction-list",
            "state=constructed",
        ),
    ]


def sla_status(since: datetime.datetime | None, *, hours: int) -> str:
    """ "ok", "due" (past half the limit) or "overdue" for an item waiting since `since`."""
    if since is None:
        return "ok"
    waited = timezone.now() - since
    limit = datetime.timedelta(hours=hours)
    if waited > limit:
        return "overdue"
    if waited > limit / 2:
        return "due"
    return "ok"


def verify_sla_hours() -> int:
    return int(settings.SHADAN_SLA_VERIFY_HOURS)


def encode_sla_hours() -> int:
    return int(settings.SHADAN_SLA_ENCODE_HOURS)


@dataclass(frozen=True)
class RetailerExposure:
    """What an approved change of a retailer would withdraw now: its applications visible
    to retail (verified) and those encoded but not yet checked."""

    visible: int
    encoded: int


def retailer_exposure(retailer_id: int) -> RetailerExposure:
    counts = dict(
        Application.objects.filter(
            retailer_id=retailer_id, masking_state__in=(M.VERIFIED, M.ENCODED)
        )
        .values_list("masking_state")
        .annotate(n=Count("id"))
        .values_list("masking_state", "n")
    )
    return RetailerExposure(visible=counts.get(M.VERIFIED, 0), encoded=counts.get(M.ENCODED, 0))
