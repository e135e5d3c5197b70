"""The inbox page's rows: the reader's own entries (apps.notifications.selectors), each with
where it leads.

A link goes to the page of the application the reader may open *now* with the roles of
their current division: the review page for a supervisor while it waits for the check,
the application page for the T&D desk, the construction page for released work, the
audit timeline for an auditor. Retail people read on the retail site (its own inbox); the
T&D site links nothing for them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

from django.core.paginator import Page, Paginator
from django.urls import reverse

from apps.accounts.models import RoleCode, User
from apps.applications.models import Application
from apps.core.counting import COUNT_CAP, CappedPaginator
from apps.notifications.models import InboxEntry
from apps.notifications.selectors import entries
from apps.vocabulary.states import POST_RELEASE_STATES
from apps.vocabulary.states import ApplicationState as S
from apps.vocabulary.states import MaskingState as M

INBOX_PAGE_SIZE = 25


@dataclass(frozen=True)
class Reader:
    """Who reads the inbox: the user, their current division and the roles it allows."""

    user: User
    roles: frozenset[str]
    is_retail: bool
    division: str | None


@dataclass(frozen=True)
class InboxItem:
    entry: InboxEntry
    link: str | None


def _td_link(reader: Reader, row: dict[str, object]) -> str | None:
    pk = row["id"]
    roles = reader.roles
    waiting_check = row["masking_state"] == M.ENCODED and row["encoded_version"] == row["version"]
    if RoleCode.SUPERVISOR in roles and waiting_check:
        return reverse("review-page", args=[pk])
    if roles & {RoleCode.CLERK, RoleCode.SUPERVISOR}:
        return reverse("application-detail", args=[pk])
    released_work = row["state"] in POST_RELEASE_STATES or (
        row["state"] == S.CANCELLED and row["released_at"] is not None
    )
    if RoleCode.CONSTRUCTION in roles and released_work:
        return reverse("construction-detail", args=[pk])
    if RoleCode.AUDITOR in roles:
        return reverse("audit-application", args=[pk])
    return None


def links_for(reader: Reader, application_ids: Iterable[int | None]) -> dict[int, str]:
    """At most one query for the whole page of entries."""
    ids = {pk for pk in application_ids if pk is not None}
    if not ids:
        return {}
    if reader.is_retail:
        # Retail people read on the retail site (its own inbox); the T&D site links
        # nothing for them.
        return {}
    if not reader.roles & {
        RoleCode.CLERK,
        RoleCode.SUPERVISOR,
        RoleCode.CONSTRUCTION,
        RoleCode.AUDITOR,
    }:
        return {}
    rows = Application.objects.filter(pk__in=ids).values(
        "id", "state", "masking_state", "version", "encoded_version", "released_at"
    )
    links = {}
    for row in rows:
        link = _td_link(reader, row)
        if link is not None:
            links[row["id"]] = link
    return links


def inbox_page(
    *, reader: Reader, page_number: int | str | None = 1, per_page: int = INBOX_PAGE_SIZE
) -> Page[InboxItem]:
    """One page of the reader's own entries, newest first, each with its link."""
    page = CappedPaginator(entries(reader.user, reader.division), per_page, COUNT_CAP).get_page(
        page_number
    )
    shown = list(page.object_list)
    links = links_for(reader, (e.message.application_id for e in shown))
    items = [InboxItem(entry=e, link=links.get(e.message.application_id or 0)) for e in shown]
    # The same page numbers and counts, with the links alongside the entries.
    return Page(items, page.number, cast("Paginator[InboxItem]", page.paginator))
