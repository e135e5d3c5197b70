"""What the retail site reads: the published rows of the retail database, and the reader's
own inbox. Nothing else exists for it (this package imports nothing of the T&D side; the
import-linter contracts in pyproject.toml enforce it).

A person may read while their RetailAccount exists and is active: provisioning creates it
for a person in the retail division with the retail role and deletes it (with their
sessions) when they leave, so the barrier's reader check happens on the T&D side, before
anything reaches this database. The published rows are the other lock: only verified,
retail-permitted applications are ever written here.

The paging helpers (ORDER, COLUMNS, `published_page`, `searched`) are shared with the T&D
side's reader (apps.applications.retail_reads), which answers the same question from the
T&D truth for the barrier's tests and the demo.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack

from django.db import connections
from django.db.models import F, OuterRef, Q, QuerySet, Subquery

from apps.core.counting import COUNT_CAP, CappedCount, capped_count, count_up_to
from apps.core.errors import NotFound
from apps.core.statements import Slots, ValuesRead
from apps.publication.models import PublishedApplication, RetailAccount, RetailInboxEntry
from apps.vocabulary.normalize import to_halfwidth
from apps.vocabulary.projection import FIELD_NAMES, RetailApplication, projection_from_values

RETAIL_PAGE_SIZE = 25
INBOX_PAGE_SIZE = 50
# The list counts its rows up to COUNT_CAP and then says "more than": an exact count walks
# every visible row on every page, and past a thousand nobody pages through the list.
ORDER = ("-verified_at", "-application_id")
# What a retail query loads: the projection, the cursor's key, the id as "id".
COLUMNS = (*FIELD_NAMES, "verified_at")
ID = {"id": F("application_id")}
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_MICROSECOND = datetime.timedelta(microseconds=1)


def visible_to(account: RetailAccount | None) -> QuerySet[PublishedApplication]:
    """Every published row for an active account; nothing for anyone else. The retail
    list's pages read through statements built once assume exactly this for an active
    account (`retail_application_page`, `_page_read`): narrowing it means narrowing them."""
    if account is None or not account.is_active:
        return PublishedApplication.objects.none()
    return PublishedApplication.objects.all()


def searched(
    queryset: QuerySet[PublishedApplication], search: str
) -> QuerySet[PublishedApplication]:
    """Search by reference (any case, hyphen optional, full-width digits folded) or by
    supply point ID (spaces and hyphens dropped)."""
    term = to_halfwidth(search).strip().upper().replace(" ", "").replace("-", "")
    if term:
        queryset = queryset.filter(Q(reference__iexact=_reference(term)) | Q(supply_point_id=term))
    return queryset


def _reference(term: str) -> str:
    # References look like SD2026-0000123; users often drop or mistype the hyphen.
    if term.startswith("SD") and len(term) == 13:
        return f"{term[:6]}-{term[6:]}"
    return term


@dataclass(frozen=True)
class RetailPage:
    """One page of the list. `number` is for display; the links carry a cursor (the last
    or first row's verification time and id), so the next page starts where this one ended
    in the index however deep it is. `count` stops at COUNT_CAP (`count_capped`).
    `rows` are the page's published columns (the id as "id"), for the view log."""

    object_list: list[RetailApplication]
    rows: list[dict[str, Any]]
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


class PageRequest(TypedDict, total=False):
    """What a caller asks of `published_page`: a search, and a page by number or cursor."""

    search: str
    page_number: int | str | None
    per_page: int | None
    after: str | None
    before: str | None


def retail_application_page(
    *, account: RetailAccount | None, **request: Unpack[PageRequest]
) -> RetailPage:
    """One page of the list for `account` (see published_page). For an active account
    (who sees every published row) the list's first page and every page after a cursor,
    unsearched, are read through statements built once per process (`_page_read`)."""
    queryset = visible_to(account)
    return published_page(queryset, prebuilt=account is not None and account.is_active, **request)


def published_page(
    queryset: QuerySet[PublishedApplication],
    *,
    search: str = "",
    page_number: int | str | None = 1,
    per_page: int | None = None,
    after: str | None = None,
    before: str | None = None,
    prebuilt: bool = False,
) -> RetailPage:
    """One page of `queryset` searched for `search`, sliced in the database, only that page
    mapped to projections. With `after` (or `before`), the page follows (precedes) that
    cursor; without, page `page_number` is reached by offset. One query: the page's rows
    with the capped count riding along (a count and the last page again only for a number
    past the end). Both readers page through it: the retail site's
    (`retail_application_page`) and the T&D side's (apps.applications.retail_reads).
    `prebuilt`: `queryset` is every published row, so the pages a statement built once
    reads (`_page_read`) are read through it."""
    queryset = searched(queryset, search)
    per_page = per_page or RETAIL_PAGE_SIZE
    number = _page_number(page_number)
    count: int | None = None
    after_key, before_key = _cursor(after), _cursor(before)
    if prebuilt and not search and before_key is None and (after_key or number == 1):
        alias = queryset.db
        read = _page_read(alias, per_page, after=after_key is not None)
        values = {"at": after_key[0], "pk": after_key[1]} if after_key else {}
        rows = read.rows(connections[alias], **values)
        has_next = len(rows) > per_page
        rows = rows[:per_page]
        has_previous = number > 1
    elif before_key is not None:
        rows = list(
            _rows_of(queryset)
            .filter(_beyond(before_key, newer=True))
            .order_by("verified_at", "application_id")[: per_page + 1]
        )
        has_previous = len(rows) > per_page
        rows = rows[:per_page][::-1]
        has_next = True
    else:
        rows_query = _rows_of(queryset)
        if after_key is not None:
            rows = _slice(queryset, rows_query.filter(_beyond(after_key, newer=False)), 0, per_page)
        else:
            rows = _slice(queryset, rows_query, (number - 1) * per_page, per_page)
            if not rows and number > 1:
                # Past the end: clamp to the last page (like Django's get_page), counted
                # only now, so a page that exists costs one query.
                count = queryset.order_by()[: COUNT_CAP + 1].count()
                if count <= COUNT_CAP:
                    number = min(number, max(1, -(-count // per_page)))
                    rows = _slice(queryset, rows_query, (number - 1) * per_page, per_page)
        has_next = len(rows) > per_page
        rows = rows[:per_page]
        has_previous = number > 1
    if rows:
        count = rows[0]["visible_count"]
    elif count is None:
        count = queryset.order_by()[: COUNT_CAP + 1].count()
    capped = count > COUNT_CAP
    count = min(count, COUNT_CAP)
    return RetailPage(
        object_list=[projection_from_values(row) for row in rows],
        rows=rows,
        number=number,
        count=count,
        count_capped=capped,
        has_next=has_next,
        has_previous=has_previous,
        next_cursor=cursor_of(rows[-1]) if rows and has_next else None,
        previous_cursor=cursor_of(rows[0]) if rows and has_previous else None,
        per_page=per_page,
    )


def _rows_of(queryset: QuerySet[PublishedApplication]) -> QuerySet[Any]:
    """The list's columns of `queryset`, each row with the capped count of all of it."""
    return queryset.annotate(visible_count=capped_count(queryset, COUNT_CAP)).values(
        *COLUMNS, "visible_count", **ID
    )


@functools.lru_cache(maxsize=16)
def _page_read(alias: str, per_page: int, *, after: bool) -> ValuesRead:
    """Every published row's first page, or (`after`) the page after a cursor (slots
    "at" and "pk"), as `published_page` reads them, built once per process: the ORM's
    building of the page's query with its count cost a tenth of the retail list (issue
    17). Two shapes per page size (the list asks one size; a caller's own is kept among
    the sixteen most recent)."""

    def build(slots: Slots) -> QuerySet[Any]:
        rows = _rows_of(PublishedApplication.objects.using(alias).all())
        if after:
            rows = rows.filter(_beyond((slots.moment("at"), slots.id("pk")), newer=False))
        return rows.order_by(*ORDER)[: per_page + 1]

    return ValuesRead(build, alias)


def _slice(
    queryset: QuerySet[PublishedApplication],
    rows_query: QuerySet[Any],
    offset: int,
    per_page: int,
) -> list[dict[str, Any]]:
    """The page at `offset` in the list's order (one row more, to tell if a next exists).
    Past the first page the offset is walked over the keys alone, which the list's index
    holds, and only the page's own rows are read in full (a deferred join): the offset
    no longer reads every skipped row's columns."""
    if offset == 0:
        return list(rows_query.order_by(*ORDER)[: per_page + 1])
    keys = queryset.order_by(*ORDER).values("application_id")[offset : offset + per_page + 1]
    return list(rows_query.filter(application_id__in=Subquery(keys)).order_by(*ORDER))


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
    its number). It only positions the scan: what is visible is decided before."""
    if not value:
        return None
    micros, _, pk = value.partition(".")
    try:
        return _EPOCH + datetime.timedelta(microseconds=int(micros)), int(pk)
    except (ValueError, OverflowError):
        return None


def _beyond(key: tuple[datetime.datetime, int], *, newer: bool) -> Q:
    """The rows after (or, `newer`, before) the cursor in the list's order. The leading
    bound on verified_at alone is implied by the rest; it is there for the planner, which
    starts the index scan at the cursor with it (without, PostgreSQL filtered its way
    from the top of the index: 12,475 rows read for page 500)."""
    at, pk = key
    if newer:
        return Q(verified_at__gte=at) & (
            Q(verified_at__gt=at) | Q(verified_at=at, application_id__gt=pk)
        )
    return Q(verified_at__lte=at) & (
        Q(verified_at__lt=at) | Q(verified_at=at, application_id__lt=pk)
    )


def published_row(queryset: QuerySet[PublishedApplication], reference: str) -> dict[str, Any]:
    """The published columns of one reference in `queryset`; NotFound if there is none."""
    row = queryset.filter(reference=reference).values(*COLUMNS, **ID).first()
    if row is None:
        raise NotFound()
    return row


def retail_application_row(*, account: RetailAccount | None, reference: str) -> dict[str, Any]:
    """Not visible and not existing look the same: NotFound (the view answers 404)."""
    return published_row(visible_to(account), reference)


def retail_application_detail(
    *, account: RetailAccount | None, reference: str
) -> RetailApplication:
    return projection_from_values(retail_application_row(account=account, reference=reference))


def inbox_entries(*, account: RetailAccount) -> QuerySet[RetailInboxEntry]:
    """The reader's own messages, newest first (at most INBOX_PAGE_SIZE shown)."""
    return RetailInboxEntry.objects.filter(account_id=account.pk).order_by("-created_at", "-id")


# The header's badge counts unread messages up to this and then says "99+", as the T&D
# site's does: a backlog is not walked on every page.
UNREAD_SHOWN = 99


def inbox_unread_count(*, account: RetailAccount) -> CappedCount:
    unread = RetailInboxEntry.objects.filter(account_id=account.pk, read_at__isnull=True)
    return count_up_to(unread, UNREAD_SHOWN)


def _with_unread() -> QuerySet[RetailAccount]:
    unread = RetailInboxEntry.objects.filter(account_id=OuterRef("pk"), read_at__isnull=True)
    # `inbox_unread`: at most UNREAD_SHOWN + 1 (CappedCount's `found`).
    return RetailAccount.objects.annotate(inbox_unread=capped_count(unread, UNREAD_SHOWN))


# Built once: resolving the subquery cost as much CPU as the query's round trip, on
# every page. Never evaluated itself; each use filters a clone.
_ACCOUNTS_WITH_UNREAD = _with_unread()


def signed_in_account(account_id: Any) -> RetailAccount | None:
    """The account a session names, or None, with its unread inbox count as `inbox_unread`
    (the header's badge, apps.retail.context_processors) read in the same query: every
    page loads the account anyway, and the badge is then no round trip of its own."""
    return _ACCOUNTS_WITH_UNREAD.filter(pk=account_id).first()
