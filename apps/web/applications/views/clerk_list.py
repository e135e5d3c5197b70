"""The T&D list of applications: filters by state with their counts, and the search.

Reference numbers and supply point IDs are searched from the query string, as the state
filter is. A customer's name is posted to its own view and answered in that response,
never redirected: the name stays out of URLs, the browser history and the access logs
(docs/decisions.md). The name search itself is the service's: blind index, audit event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlencode

from django.db import connections
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from apps.accounts.models import RoleCode, User
from apps.applications import search, selectors
from apps.applications.models import Application
from apps.core.counting import CappedCount, CappedPaginator, capped_count
from apps.core.expressions import Literal
from apps.core.prepared import prepared_cursor
from apps.core.statements import Slots, Statement, ValuesRead, compile_statement
from apps.vocabulary.states import ApplicationState as S
from apps.web.access import acting_user, personal_data, role_required
from apps.web.applications.forms_search import ApplicationSearchForm, SearchKey
from apps.web.templatetags.shadan import url_prefix

PAGE_SIZE = 50
# What a row shows (apps/web/templatetags/td_rows.py: clerk_rows), read as dicts: not
# the application's forty columns, and no model instance per row (issue 17: building the
# fifty full rows cost as much as the rest of the view).
ROW_COLUMNS = (
    "id",
    "reference",
    "pseudonym",
    "supply_point_id",
    "state",
    "masking_state",
    "created_by_id",
    "created_at",
    "retailer_id",
    "retailer__code",
    "retailer__name",
    "retailer__is_affiliated",
)
# Searches from the query string: neither is personal data.
GET_SEARCHES: dict[str, Callable[..., Any]] = {
    SearchKey.REFERENCE: search.matching_reference,
    SearchKey.SUPPLY_POINT: search.matching_supply_point,
}


@dataclass(frozen=True)
class StateFilter:
    key: str
    label: str | Promise
    # Within the desk's applications; a condition, so every count is one column of one query.
    condition: Callable[[User], Q]


def _in_state(state: S) -> Callable[[User], Q]:
    # The state in the statement's text (apps.core.expressions): one plan of the
    # prepared counts for every page view, not a new plan at each.
    return lambda user: Q(state=Literal(state))


STATE_FILTERS = (
    StateFilter("draft", _("My drafts"), lambda user: Q(state=Literal(S.DRAFT), created_by=user)),
    StateFilter("entered", S.ENTERED.label, _in_state(S.ENTERED)),
    StateFilter(
        "to_encode", _("Waiting to be encoded"), lambda user: selectors.is_awaiting_encoding()
    ),
    StateFilter("encoded", S.ENCODED.label, _in_state(S.ENCODED)),
    StateFilter("verified", S.VERIFIED.label, _in_state(S.VERIFIED)),
    StateFilter("released", S.RELEASED.label, _in_state(S.RELEASED)),
    StateFilter("constructed", S.CONSTRUCTED.label, _in_state(S.CONSTRUCTED)),
    StateFilter("energized", S.ENERGIZED.label, _in_state(S.ENERGIZED)),
    StateFilter("cancelled", S.CANCELLED.label, _in_state(S.CANCELLED)),
)
_FILTERS = {f.key: f for f in STATE_FILTERS}
_COUNT_NAMES = (*(f"n_{f.key}" for f in STATE_FILTERS), "n_all")


def _count_columns(person: User) -> dict[str, Any]:
    """The capped count of every filter and of the whole desk ("all") as columns named
    `n_<key>`, for `person`'s desk."""
    # Every filter's rows are on the desk already (a draft filter names its author; the
    # others exclude drafts), so each count reads its own index without the desk's OR.
    columns = {
        f"n_{f.key}": capped_count(Application.objects.filter(f.condition(person)))
        for f in STATE_FILTERS
    }
    columns["n_all"] = capped_count(search.desk_applications(person))
    return columns


def _counts_of(columns: dict[str, Any]) -> dict[str, int]:
    """The counts of `_count_columns` by filter key and "all"."""
    return {name.removeprefix("n_"): columns[name] for name in _COUNT_NAMES}


@cache
def _state_counts_statement(alias: str) -> tuple[Statement, tuple[str, ...]]:
    """The capped counts of every filter as one statement, built once per process
    (apps.core.statements): the statement and the column names.

    The statement is the same for everyone but the person's id (their drafts, their
    desk), and building its ten subqueries through the ORM on every page view cost more
    than running it (issue 17: about a tenth of the list's time)."""
    slots = Slots()
    columns = _count_columns(User(pk=slots.id("person")))
    query = Application.objects.using(alias).order_by().annotate(**columns).values(*columns)
    statement, _compiler = compile_statement(query[:1], slots, alias)
    if not statement.places:
        raise RuntimeError("the counts statement does not depend on the person")
    return statement, tuple(name.removeprefix("n_") for name in columns)


def state_counts(user: User) -> dict[str, int]:
    """How many of the desk's applications each filter shows, and "all": one query of
    capped counts, each stopping at COUNT_CAP + 1 rows (a value above COUNT_CAP means
    "more"), so a page view never counts the whole table. Prepared on PostgreSQL: the
    connection plans it once too. A page of the list without a search reads them with
    its rows instead (`_page_read`)."""
    alias = Application.objects.db
    statement, names = _state_counts_statement(alias)
    connection = connections[alias]
    with prepared_cursor(connection) as cursor:
        cursor.execute(statement.sql, statement.params(connection, {"person": user.pk}))
        found = cursor.fetchone()
    return dict(zip(names, found or (0,) * len(names), strict=True))


def _context(user: User, counts: dict[str, int] | None = None, **extra: Any) -> dict[str, Any]:
    """The page's context: the filters with their counts (`counts` if the page's rows
    brought them, else read now) and what `extra` adds."""
    shown = {key: CappedCount(found) for key, found in (counts or state_counts(user)).items()}
    return {
        "filters": [(f, shown[f.key]) for f in STATE_FILTERS],
        "all_count": shown["all"],
        "detail_prefix": url_prefix("application-detail"),
        **extra,
    }


def _row_of(application: Application) -> dict[str, Any]:
    """An application the name search found, as the list reads its rows (ROW_COLUMNS)."""
    row = {}
    for name in ROW_COLUMNS:
        value: Any = application
        for step in name.split("__"):
            value = getattr(value, step)
        row[name] = value
    return row


def _rows(rows: Any) -> list[tuple[dict[str, Any], Any]]:
    now = timezone.now()
    return [(row, now - row["created_at"]) for row in rows]


def _listed(user: User, chosen: StateFilter | None) -> QuerySet[Application, dict[str, Any]]:
    """The rows of the list (ROW_COLUMNS) on `user`'s desk, of the filter `chosen`, in
    the list's order."""
    queryset = search.desk_applications(user)
    if chosen:
        queryset = queryset.filter(chosen.condition(user))
    order = ["-created_at", "-id"]
    if chosen and chosen.key == "to_encode":
        # Non-affiliated retailers first: skipping their encoding was the original failure.
        order.insert(0, "retailer_affiliated")  # the retailer's, copied (models.py)
    return queryset.values(*ROW_COLUMNS).order_by(*order)


@cache
def _page_read(alias: str, key: str, bottom: int, size: int) -> ValuesRead:
    """A page of the list without a search (filter `key`, "" for all) with every
    filter's capped count on each row (`_count_columns`: the page's own count among
    them), as one statement built once per process, filter and page
    (apps.core.statements): the ORM's building of it was a ninth of the page's time, and
    the counts read apart were one round trip more and the desk counted twice (issue 17).
    Bounded: pages start below COUNT_CAP (CappedPaginator reads no other), so at most ten
    filters of COUNT_CAP / PAGE_SIZE pages."""

    def build(slots: Slots) -> QuerySet[Application, dict[str, Any]]:
        person = User(pk=slots.id("person"))
        queryset = _listed(person, _FILTERS.get(key)).using(alias)
        return queryset.annotate(**_count_columns(person))[bottom : bottom + size]

    return ValuesRead(build, alias, alike=_COUNT_NAMES)


@role_required(RoleCode.CLERK, RoleCode.SUPERVISOR)
def application_list(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    chosen = _FILTERS.get(request.GET.get("state", ""))
    form = ApplicationSearchForm()
    searched = ""
    searches = []
    for key, matching in GET_SEARCHES.items():
        if request.GET.get(key):
            searched = request.GET[key]
            searches.append((matching, searched))
            form = ApplicationSearchForm(initial={"key": key, "text": searched})

    def listed() -> QuerySet[Application, dict[str, Any]]:
        queryset = _listed(user, chosen)
        for matching, text in searches:
            queryset = matching(queryset, text)
        return queryset

    read = None
    counts: dict[str, int] = {}
    if not searched:
        alias = Application.objects.db
        connection = connections[alias]
        key = chosen.key if chosen else ""

        def read(bottom: int, size: int) -> tuple[list[dict[str, Any]], int]:
            rows, alike = _page_read(alias, key, bottom, size).read(connection, person=user.pk)
            if not rows:
                return rows, 0
            counts.update(_counts_of(alike))
            return rows, counts[key or "all"]

    # The queryset is built only for a search or a page the statement does not read.
    page = CappedPaginator(listed, PAGE_SIZE, read=read).get_page(request.GET.get("page"))
    kept = {k: v for k, v in request.GET.items() if k in {"state", *GET_SEARCHES}}
    return render(
        request,
        "applications/list.html",
        _context(
            user,
            counts,
            chosen=chosen,
            page=page,
            rows=_rows(page.object_list),
            search_form=form,
            searched=searched,
            page_query=urlencode(kept),
        ),
    )


@personal_data
@role_required(RoleCode.CLERK, RoleCode.SUPERVISOR)
@require_POST
def application_search(request: HttpRequest) -> HttpResponse:
    """The search box. A reference or supply point ID goes back to the list as a query;
    a customer's name is answered here, in the response to the POST."""
    user = acting_user(request)
    form = ApplicationSearchForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "applications/list.html",
            _context(user, chosen=None, page=None, rows=[], search_form=form),
        )
    key, text = form.cleaned_data["key"], form.cleaned_data["text"]
    if key in GET_SEARCHES:
        return redirect(f"{reverse('clerk-list')}?{urlencode({key: text})}")
    found = search.application_search_customer_name(acting_user=user, name=text)
    return render(
        request,
        "applications/list.html",
        _context(
            user,
            chosen=None,
            page=None,
            rows=_rows(_row_of(application) for application in found[:PAGE_SIZE]),
            search_form=form,
            name_search=True,
            name_results=len(found),
            more_than_shown=len(found) > PAGE_SIZE,
        ),
    )
