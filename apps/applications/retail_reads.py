"""What a retail person sees, read from the T&D side: their standing in the shared
database (in the retail division now, with the retail role) and the published rows.

The retail site has its own reader (apps.publication.selectors), which knows only the retail
database: a person is a reader there while provisioning keeps their RetailAccount. This
module answers the same question from the truth on the T&D side, for `barrier_check`'s
tests, the barrier's stateful tests, the bench and the demo loader. The published rows are
in the retail database, the reader's standing in the shared one: two queries, never one
across both.

Nothing here records a view: this module only reads. A retail view enters the audit trail
in one way only: the retail site writes a RetailViewLog row for what it showed, and the
collector (apps.audit.collector) copies that row into the trail. A reader on the T&D
side that wrote RETAIL_VIEWED events itself would put views into the trail that no retail
person ever had.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Unpack

from django.contrib.auth.models import AnonymousUser, Group
from django.db.models import Exists, Q, QuerySet
from django.utils import timezone

from apps.accounts.models import DivisionCode, DivisionMembership, RoleCode, User
from apps.accounts.selectors import is_in_division
from apps.core.counting import COUNT_CAP
from apps.publication.models import PublishedApplication
from apps.publication.selectors import (
    COLUMNS,
    ID,
    ORDER,
    RETAIL_PAGE_SIZE,
    PageRequest,
    RetailPage,
    cursor_of,
    published_page,
    published_row,
    searched,
)
from apps.vocabulary.projection import RetailApplication, projection_from_values

__all__ = [
    "ORDER",
    "RETAIL_PAGE_SIZE",
    "RetailPage",
    "cursor_of",
    "is_retail_user",
    "retail_application_count",
    "retail_application_count_capped",
    "retail_application_detail",
    "retail_application_list",
    "retail_application_page",
    "retail_application_rows",
]


def is_retail_user(user: User | AnonymousUser) -> bool:
    return (
        is_in_division(user, DivisionCode.RETAIL)
        and user.groups.filter(role__code=RoleCode.RETAIL).exists()
    )


def _visible(user: User | AnonymousUser) -> QuerySet[PublishedApplication]:
    """The published rows, if the reader stands in retail now (read on every call, so a
    transfer takes effect at once)."""
    if not user.is_authenticated or not user.is_active:
        return PublishedApplication.objects.none()
    assert isinstance(user, User)
    now = timezone.now()
    in_retail_now = DivisionMembership.objects.filter(
        Q(valid_until__isnull=True) | Q(valid_until__gt=now),
        user=user,
        division_id=DivisionCode.RETAIL,
        valid_from__lte=now,
    )
    # Only the retail role's group counts: a per-user or model-wide permission opens
    # nothing for retail.
    in_retail_role = Group.objects.filter(role__code=RoleCode.RETAIL, user=user)
    if not User.objects.filter(Exists(in_retail_now), Exists(in_retail_role), pk=user.pk).exists():
        return PublishedApplication.objects.none()
    return PublishedApplication.objects.all()


def retail_application_list(
    *, user: User | AnonymousUser, search: str = ""
) -> list[RetailApplication]:
    """Masked projections, newest verification first; search by reference or supply point."""
    return [
        projection_from_values(row) for row in retail_application_rows(user=user, search=search)
    ]


def retail_application_rows(
    *, user: User | AnonymousUser, search: str = ""
) -> QuerySet[PublishedApplication, dict[str, Any]]:
    """The published columns of the visible rows (the application's id as "id"), newest
    verification first, still unevaluated."""
    return searched(_visible(user), search).order_by(*ORDER).values(*COLUMNS, **ID)


def retail_application_page(
    *, user: User | AnonymousUser, **request: Unpack[PageRequest]
) -> RetailPage:
    """One page of the list as the retail site pages it (the same paging), read only."""
    return published_page(_visible(user), **request)


def retail_application_detail(*, user: User | AnonymousUser, reference: str) -> RetailApplication:
    """Not visible and not existing look the same: NotFound."""
    return projection_from_values(published_row(_visible(user), reference))


def retail_application_count(*, user: User | AnonymousUser) -> int:
    """The exact number of applications visible to `user` (walks every visible row)."""
    return _visible(user).count()


@dataclass(frozen=True)
class CappedCount:
    count: int  # at most COUNT_CAP
    capped: bool  # there are more than COUNT_CAP


def retail_application_count_capped(*, user: User | AnonymousUser) -> CappedCount:
    """How many applications `user` sees, counted up to COUNT_CAP."""
    count = _visible(user).order_by()[: COUNT_CAP + 1].count()
    return CappedCount(count=min(count, COUNT_CAP), capped=count > COUNT_CAP)
