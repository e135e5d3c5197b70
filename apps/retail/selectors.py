"""Everything retail can ever receive about an application comes from here.

Retail reads only the published table (apps.publication): rows a supervisor verified,
frozen as they were shown, written and withdrawn by the T&D services in the transaction
that verifies or invalidates (both locks of the barrier, guardian's object permission and
the verified masking, are checked there and by `barrier_check`). Here only the reader's
own standing is applied: in the retail division now, with the retail role. This package
never imports the vault (an import-linter contract enforces it) and reads no T&D table
except to label its audit events (the retail site's own view log is a later step).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser, Group
from django.db import transaction
from django.db.models import Exists, F, Q, QuerySet
from django.utils import timezone

from apps.accounts.models import DivisionCode, DivisionMembership, RoleCode, User
from apps.accounts.selectors import is_in_division
from apps.applications.models import Application
from apps.applications.normalize import to_halfwidth
from apps.applications.projection import FIELD_NAMES, RetailApplication, projection_from_values
from apps.audit.models import AuditAction
from apps.audit.services import audit_record, audit_record_each
from apps.core.counting import COUNT_CAP, capped_count
from apps.core.errors import NotFound
from apps.publication.models import PublishedApplication

RETAIL_PAGE_SIZE = 25
# The list counts its rows up to COUNT_CAP and then says "more than": an exact count walks
# every visible row on every page, and past a thousand nobody pages through the list.
ORDER = ("-verified_at", "-application_id")
# What a retail query loads: the projection, the cursor's key, the id as "id".
COLUMNS = (*FIELD_NAMES, "verified_at")
_ID = {"id": F("application_id")}
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_MICROSECOND = datetime.timedelta(microseconds=1)


def is_retail_user(user: User | AnonymousUser) -> bool:
    return (
        is_in_division(user, DivisionCode.RETAIL)
        and user.groups.filter(role__code=RoleCode.RETAIL).exists()
    )


def _visible(user: User | AnonymousUser) -> QuerySet[PublishedApplication]:
    """The published rows, if the reader stands in retail now (read on every call, so a
    transfer takes effect at once). The published rows are in the retail database, the
    reader's standing in the shared one: two queries, never one across both."""
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
    verification first, still unevaluated: callers page it in the database and map only
    the page (projection_from_values)."""
    return _searched(user, search).order_by(*ORDER).values(*COLUMNS, **_ID)


def _searched(user: User | AnonymousUser, search: str) -> QuerySet[PublishedApplication]:
    queryset = _visible(user)
    term = to_halfwidth(search).strip().upper().replace(" ", "").replace("-", "")
    if term:
        queryset = queryset.filter(Q(reference__iexact=_reference(term)) | Q(supply_point_id=term))
    return queryset


@dataclass(frozen=True)
class RetailPage:
    """One page of the list. `number` is for display; the links carry a cursor (the last
    or first row's verification time and id), so the next page starts where this one ended
    in the index however deep it is. `count` stops at COUNT_CAP (`count_capped`)."""

    object_list: list[RetailApplication]
    number: int
    count: int
    count_capped: bool
    has_next: bool
    has_previous: bool
    next_cursor: str | None
    previous_cursor: str | None
    per_page: int

    @property
    def num_pages(self) -> int | None:
        if self.count_capped:
            return None
        return max(1, -(-self.count // self.per_page))

    @property
    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return max(1, self.number - 1)


def retail_application_page(
    *,
    user: User | AnonymousUser,
    search: str = "",
    page_number: int | str | None = 1,
    per_page: int | None = None,
    after: str | None = None,
    before: str | None = None,
) -> RetailPage:
    """One page of the list, sliced in the database, only that page mapped to projections.
    With `after` (or `before`), the page follows (precedes) that cursor; without, page
    `page_number` is reached by offset. What retail was shown is recorded (the ids on the
    page), because the regulator's question is who could see what and who actually looked."""
    per_page = per_page or RETAIL_PAGE_SIZE
    searched = _searched(user, search)
    number = _page_number(page_number)
    # The capped count rides along with the page's rows: one query, not two.
    rows_query = searched.annotate(visible_count=capped_count(searched, COUNT_CAP)).values(
        *COLUMNS, "visible_count", **_ID
    )
    count: int | None = None
    if after is None and before is None and number > 1:
        # A page by number: clamp it to the last page (like Django's get_page).
        count = searched.order_by()[: COUNT_CAP + 1].count()
    after_key, before_key = _cursor(after), _cursor(before)
    if before_key is not None:
        rows = list(
            rows_query.filter(_beyond(before_key, newer=True)).order_by(
                "verified_at", "application_id"
            )[: per_page + 1]
        )
        has_previous = len(rows) > per_page
        rows = rows[:per_page][::-1]
        has_next = True
    else:
        if after_key is not None:
            rows_query = rows_query.filter(_beyond(after_key, newer=False))
            offset = 0
        else:
            if count is not None and count <= COUNT_CAP:
                number = min(number, max(1, -(-count // per_page)))
            offset = (number - 1) * per_page
        rows = list(rows_query.order_by(*ORDER)[offset : offset + per_page + 1])
        has_next = len(rows) > per_page
        rows = rows[:per_page]
        has_previous = number > 1
    if rows:
        count = rows[0]["visible_count"]
    elif count is None:
        count = searched.order_by()[: COUNT_CAP + 1].count()
    capped = count > COUNT_CAP
    count = min(count, COUNT_CAP)
    if rows and isinstance(user, User):
        # One event per application shown, so each application's timeline and the
        # exposure report see list views exactly like detail views.
        with transaction.atomic():
            audit_record_each(
                actor=user,
                action=AuditAction.RETAIL_VIEWED,
                objects=[_viewed(row) for row in rows],
                details={"view": "list"},
            )
    return RetailPage(
        object_list=[projection_from_values(row) for row in rows],
        number=number,
        count=count,
        count_capped=capped,
        has_next=has_next,
        has_previous=has_previous,
        next_cursor=cursor_of(rows[-1]) if rows and has_next else None,
        previous_cursor=cursor_of(rows[0]) if rows and has_previous else None,
        per_page=per_page,
    )


def _page_number(value: int | str | None) -> int:
    try:
        return max(1, int(value or 1))
    except (TypeError, ValueError):
        return 1


def cursor_of(row: Mapping[str, Any]) -> str | None:
    at = row["verified_at"]
    if at is None:
        return None
    return f"{(at - _EPOCH) // _MICROSECOND}.{row['id']}"


def _cursor(value: str | None) -> tuple[datetime.datetime, int] | None:
    """A cursor from the query string, or None if it is not one (the page falls back to
    its number). It only positions the scan: both locks still apply to every row."""
    if not value:
        return None
    micros, _, pk = value.partition(".")
    try:
        return _EPOCH + datetime.timedelta(microseconds=int(micros)), int(pk)
    except (ValueError, OverflowError):
        return None


def _beyond(key: tuple[datetime.datetime, int], *, newer: bool) -> Q:
    at, pk = key
    if newer:
        return Q(verified_at__gt=at) | Q(verified_at=at, application_id__gt=pk)
    return Q(verified_at__lt=at) | Q(verified_at=at, application_id__lt=pk)


def retail_application_detail(*, user: User | AnonymousUser, reference: str) -> RetailApplication:
    """Not visible and not existing look the same: NotFound (the views answer 404)."""
    return projection_from_values(_detail_row(user, reference))


def retail_application_open(*, user: User | AnonymousUser, reference: str) -> RetailApplication:
    """The detail page's read: like retail_application_detail, and recorded as a retail view
    of that application. Refusals (NotFound) are not recorded: nothing was shown."""
    row = _detail_row(user, reference)
    if isinstance(user, User):
        with transaction.atomic():
            audit_record(
                actor=user,
                action=AuditAction.RETAIL_VIEWED,
                obj=_viewed(row),
                details={"view": "detail"},
            )
    return projection_from_values(row)


def _viewed(row: dict[str, Any]) -> Application:
    # The event names the application (its id and labels); an unsaved stand-in, nothing
    # of the T&D row is read.
    return Application(id=row["id"], reference=row["reference"], pseudonym=row["pseudonym"])


def _detail_row(user: User | AnonymousUser, reference: str) -> dict[str, Any]:
    row = _visible(user).filter(reference=reference).values(*COLUMNS, **_ID).first()
    if row is None:
        raise NotFound()
    return row


def _reference(term: str) -> str:
    # References look like SD2026-0000123; users often drop or mistype the hyphen.
    if term.startswith("SD") and len(term) == 13:
        return f"{term[:6]}-{term[6:]}"
    return term


def retail_application_count(*, user: User | AnonymousUser) -> int:
    """The exact number of applications visible to `user` (walks every visible row)."""
    return _visible(user).count()


@dataclass(frozen=True)
class CappedCount:
    count: int  # at most COUNT_CAP
    capped: bool  # there are more than COUNT_CAP


def retail_application_count_capped(*, user: User | AnonymousUser) -> CappedCount:
    """How many applications `user` sees, counted up to COUNT_CAP: what the home page
    shows on every view, so it stops after COUNT_CAP + 1 rows."""
    count = _visible(user).order_by()[: COUNT_CAP + 1].count()
    return CappedCount(count=min(count, COUNT_CAP), capped=count > COUNT_CAP)
