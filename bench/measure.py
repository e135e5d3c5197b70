"""The measurements. Each returns Figures: median and p95 over repeated runs, with its
comparison measured in the same run over the same data."""

from __future__ import annotations

import hashlib
import math
import multiprocessing
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any
from unittest import mock

from django.contrib.contenttypes.models import ContentType
from django.core.paginator import Paginator
from django.db import connection, connections, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.test import Client, RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from guardian.models import GroupObjectPermission
from guardian.shortcuts import get_objects_for_user

from apps.applications import services
from apps.applications.models import (
    Application,
    ApplicationGroupObjectPermission,
    ApplicationUserObjectPermission,
)
from apps.audit.chain import canonical_of
from apps.audit.mac import MAC_VALUES, authenticate, mac_problem
from apps.audit.models import AuditAction, AuditEvent, AuditSeal
from apps.audit.sealing import audit_seal, payloads
from apps.audit.services import audit_record
from apps.audit.verification import audit_verify
from apps.core.prepared import prepared_cursor
from apps.core.templatetags.badges import url_prefix
from apps.notifications import services as notification_services
from apps.publication.models import PublishedApplication, RetailAccount
from apps.publication.selectors import ORDER as RETAIL_ORDER
from apps.publication.selectors import RETAIL_PAGE_SIZE, retail_application_page, visible_to
from apps.publication.selectors import cursor_of as retail_cursor_of
from apps.replication import services as replication_services
from apps.replication.services import relay_until_done
from apps.retail.forms import RetailSearchForm
from apps.vocabulary.projection import RETAIL_COLUMNS, projection_from_row
from apps.vocabulary.states import MaskingState as M
from apps.web.applications.views import supervisor as supervisor_views
from config.settings import retail_site
from tests.factories import application_input

from . import cpu
from .data import Cast, analyze, first_awaiting_review, log
from .exposure import exposure
from .http import http_pages
from .replication import replication_lag
from .stats import Figure, ms, rates, timed
from .verification import verification

# Which page figures are which (issue 17 goal 6): these rows time Django's test Client in
# this process; row 7 (bench/http.py) times the same pages over HTTP through gunicorn.
CLIENT_FIGURE = "test Client figure (in process: no WSGI server, one connection kept open)"
HASH_SAMPLE_CAP = 200_000  # events hashed in memory for the plain SHA-256 comparison


@dataclass(frozen=True)
class Repeats:
    workflow: int
    pages: int
    audit_rounds: int
    verify: int


class QueryCounter:
    """Queries on every database alias (the review page reads the vault too)."""

    def __init__(self) -> None:
        self._stack = ExitStack()
        self._contexts: list[CaptureQueriesContext] = []

    def __enter__(self) -> QueryCounter:
        for alias in connections:
            self._contexts.append(
                self._stack.enter_context(CaptureQueriesContext(connections[alias]))
            )
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    @property
    def count(self) -> int:
        return sum(len(context) for context in self._contexts)


def _get(client: Client, url: str) -> None:
    response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}")


def _queries(client: Client, url: str) -> int:
    """The statements of one request in the steady state: a request first renews the
    session's idle clock when its last renewal is a minute old (apps.web.middleware),
    which a user's next click within the minute does not pay again."""
    _get(client, url)
    with QueryCounter() as counter:
        _get(client, url)
    return counter.count


# --- 1. the full workflow against plain saves ---------------------------------------------


def workflow(cast: Cast, repeat: int) -> list[Figure]:
    clerk, supervisor, retailer = cast.clerk, cast.supervisor, cast.retailer

    def full() -> None:
        app = services.application_create(acting_user=clerk, data=application_input(retailer))
        services.application_submit(acting_user=clerk, application_id=app.pk)
        app = services.application_encode(acting_user=clerk, application_id=app.pk)
        services.application_record_review_opened(acting_user=supervisor, application_id=app.pk)
        services.application_verify(
            acting_user=supervisor, application_id=app.pk, expected_version=app.version
        )
        services.application_release(acting_user=supervisor, application_id=app.pk)

    plain_ids: list[int] = []

    def plain() -> None:
        # The same state changes as plain model saves: the model's own transitions and
        # save(), each save its own autocommit statement. No vault (a random customer
        # reference), no audit, no permission check or grant, no row lock, none of the
        # contribution and review-opening rows behind the four-eyes rule.
        data = application_input(retailer)
        app = Application(
            customer_ref=uuid.uuid4(),
            created_by=clerk,
            supply_point_id=data["supply_point_id"],
            postal_code=data["postal_code"],
            prefecture=data["prefecture"],
            municipality=data["municipality"],
            street_address=data["street_address"],
            contract_class=data["contract_class"],
            contract_capacity_kw=Decimal(data["contract_capacity_kw"]),
            requested_start_date=data["requested_start_date"],
            contractor_name=data["contractor_name"],
            contractor_registration=data["contractor_registration"],
            retailer=retailer,
            remarks=data["remarks"],
        )
        app.save()
        plain_ids.append(app.pk)
        app.reference = f"SD2026-P{app.pk:07d}"
        app.save(update_fields=["reference"])
        app.submit()
        app.save(update_fields=["state", "updated_at"])
        app.mark_encoded()
        app.mask()
        app.encoded_version, app.encoded_by, app.encoded_at = 1, clerk, timezone.now()
        app.save(
            update_fields=[
                "state",
                "masking_state",
                "encoded_version",
                "encoded_by",
                "encoded_at",
                "updated_at",
            ]
        )
        app.mark_verified()
        app.confirm_mask()
        app.verified_version, app.verified_by, app.verified_at = 1, supervisor, timezone.now()
        app.save(
            update_fields=[
                "state",
                "masking_state",
                "verified_version",
                "verified_by",
                "verified_at",
                "updated_at",
            ]
        )
        app.release()
        app.released_at = timezone.now()
        app.save(update_fields=["state", "released_at", "updated_at"])

    @contextmanager
    def relays_left_to_the_worker() -> Iterator[None]:
        """What a request pays in production, where a commit only asks the broker for
        the relays and a worker runs them: the request for a relay does nothing here
        (it does not even publish to a broker, a fraction of a millisecond), and the
        messages wait until the relays run after the timing."""
        with (
            mock.patch.object(replication_services, "request_relay", new=_no_relay),
            mock.patch.object(notification_services, "request_relay", new=_no_relay),
        ):
            yield

    def deferred() -> None:
        with relays_left_to_the_worker():
            full()

    def worker() -> None:
        """The relays a worker would run after a deferred run."""
        relay_until_done()
        notification_services.relay_due()

    full()  # loads the users' permissions, and relays what earlier runs left
    with QueryCounter() as eager_count:
        full()
    with relays_left_to_the_worker(), QueryCounter() as deferred_count:
        full()
    worker()
    try:
        with QueryCounter() as plain_count:
            plain()
        # Interleaved, so all three see the same machine and database state.
        full_samples: list[float] = []
        deferred_samples: list[float] = []
        plain_samples: list[float] = []
        for _ in range(repeat):
            full_samples += timed(full, 1, warmup=0)
            deferred_samples += timed(deferred, 1, warmup=0)
            worker()  # not timed; nor left for the next in-process relay to pay
            plain_samples += timed(plain, 1, warmup=0)
        # Why the ratio is what it is: how much of a run is spent inside the database
        # calls (statements; the commits are not seen by an execute wrapper), untimed.
        full_share = _database_share(full, 5)
        deferred_share = _database_share(deferred, 5)
    finally:
        # Plain rows are verified without a permission: they must not stay (barrier).
        Application.objects.filter(pk__in=plain_ids).delete()
        worker()
    full_rate, full_p95 = rates(1, full_samples)
    deferred_rate, deferred_p95 = rates(1, deferred_samples)
    plain_rate, plain_p95 = rates(1, plain_samples)
    ratio = full_rate / plain_rate
    plain_trips = plain_count.count
    return [
        Figure(
            "1. full workflow (create→release, services)",
            "applications/s",
            full_rate,
            full_p95,
            comparison="plain model saves",
            comparison_median=plain_rate,
            ratio=ratio,
            queries=eager_count.count,
            goal="≥ 0.25 × plain",
            met=ratio >= 0.25,
            samples=len(full_samples),
            note="relays in-process after each commit (the embedded default, no broker); "
            f"queries include the relays'; {full_share:.0%} of a run inside the database "
            "calls (their statements; commits not counted), the rest Python and commits; "
            + round_trips_reason(eager_count.count, plain_trips),
            extra={
                "plain_p95": plain_p95,
                "ms_per_application": ms(full_samples),
                "database_share": full_share,
                "plain_queries": plain_trips,
            },
        ),
        Figure(
            "1. the same, relays left to the worker",
            "applications/s",
            deferred_rate,
            deferred_p95,
            comparison="plain model saves",
            comparison_median=plain_rate,
            ratio=deferred_rate / plain_rate,
            queries=deferred_count.count,
            goal="— (the request's share in production)",
            samples=len(deferred_samples),
            note="as production runs it (broker and worker): the commit's request for a "
            f"relay does nothing here; the relays run after the timing; {deferred_share:.0%} "
            "of a run inside the database calls (statements); "
            + round_trips_reason(deferred_count.count, plain_trips),
            extra={
                "ms_per_application": ms(deferred_samples),
                "database_share": deferred_share,
                "plain_queries": plain_trips,
            },
        ),
    ]


def round_trips_reason(trips: int, plain_trips: int) -> str:
    """Why the workflow's ratio is what it is: each statement, BEGIN and COMMIT is a round
    trip to the database with its Python on either side (Django's query log counts all
    three), and plain saves make a round trip of each save, in autocommit. Were every
    round trip to cost the same, the ratio would be plain's count over the services'."""
    return (
        f"{trips} round trips (statements, BEGIN and COMMIT: the queries column) against "
        f"plain saves' {plain_trips}: {plain_trips / trips:.2f} of plain's rate were each "
        "to cost the same"
    )


def _database_share(action: Callable[[], None], runs: int) -> float:
    """The share of `runs` calls of `action` spent inside database calls, on every alias."""
    inside = [0.0]

    def wrapper(execute: Callable[..., Any], *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(*args)
        finally:
            inside[0] += time.perf_counter() - started

    with ExitStack() as stack:
        for alias in connections:
            stack.enter_context(connections[alias].execute_wrapper(wrapper))
        began = time.perf_counter()
        for _ in range(runs):
            action()
        elapsed = time.perf_counter() - began
    return inside[0] / elapsed


def _no_relay() -> None:
    """The relay request of a commit in the deferred workflow runs (see `workflow`)."""


# --- 2. retail pages (the retail site) against guardian's defaults ------------------------


@contextmanager
def generic_guardian() -> Iterator[None]:
    """guardian's *default* path: its generic UserObjectPermission/GroupObjectPermission
    tables (content type join, object_pk as text). guardian 3.5 picks a model's direct
    foreign-key tables when they exist and are `enabled`; switched off here, for the
    comparison only, it falls back to the generic ones (bench/data.py fills them with the
    same grants)."""
    direct: tuple[Any, ...] = (ApplicationUserObjectPermission, ApplicationGroupObjectPermission)
    for model in direct:
        model.enabled = False
    try:
        yield
    finally:
        for model in direct:
            del model.enabled


def _mirror_generic_grants() -> None:
    """The workflow runs grant in the direct table only: copy the retail group's grants to
    guardian's generic table (and drop withdrawn ones) so both paths see the same rows."""
    direct = {
        (group, perm, str(pk))
        for group, perm, pk in ApplicationGroupObjectPermission.objects.values_list(
            "group_id", "permission_id", "content_object_id"
        )
    }
    application_type = ContentType.objects.get_for_model(Application)
    generic = GroupObjectPermission.objects.filter(content_type=application_type)
    held = set(generic.values_list("group_id", "permission_id", "object_pk"))
    GroupObjectPermission.objects.bulk_create(
        GroupObjectPermission(
            group_id=group, permission_id=perm, content_type=application_type, object_pk=pk
        )
        for group, perm, pk in direct - held
    )
    for group, perm, pk in held - direct:
        generic.filter(group_id=group, permission_id=perm, object_pk=pk).delete()


# The same order over the T&D table (the published table's key is application_id).
GUARDIAN_ORDER = ("-verified_at", "-id")
RETAIL_URLS = "config.urls_retail"
RETAIL_BACKEND = "apps.retail.backends.RetailAccountBackend"


def _guardian_visible(user: Any) -> Any:
    return get_objects_for_user(user, "applications.view_application", klass=Application)


def _retail_account(user: Any) -> RetailAccount:
    """The bench retail user's account in the retail database, as the relay provisioned it
    (bench/data.py runs the relay after user_create)."""
    account = RetailAccount.objects.filter(username=user.username, is_active=True).first()
    if account is None:
        raise SystemExit(
            f"no active RetailAccount for {user.username}: the relay has not provisioned it "
            "(run barrier_check --repair, or delete the bench data to regenerate it)"
        )
    return account


def _queries_by_alias(client: Client, url: str) -> dict[str, int]:
    """Like _queries, per database alias (the retail site must touch `retail` only)."""
    _get(client, url)
    contexts = {alias: CaptureQueriesContext(connections[alias]) for alias in connections}
    with ExitStack() as stack:
        for context in contexts.values():
            stack.enter_context(context)
        _get(client, url)
    return {alias: len(context) for alias, context in contexts.items()}


def retail(cast: Cast, repeat: int, scale_name: str) -> list[Figure]:
    """The retail site's own pages: its URLconf, middleware, sign-in over RetailAccount,
    sessions in the retail database and its view-log writes (retail_site.in_process(), as
    tests/retail/site.py serves them), for the whole measurement so the settings switch
    (which drops the template and URL caches) is paid once, not per request."""
    with override_settings(**retail_site.in_process()):
        return _retail(cast, repeat, scale_name)


def _retail(cast: Cast, repeat: int, scale_name: str) -> list[Figure]:
    user = cast.retail[0]  # the T&D person, for guardian's comparison
    account = _retail_account(user)
    client = Client()
    # The stubs' user is AUTH_USER_MODEL; the retail site's is RetailAccount.
    client.force_login(account, backend=RETAIL_BACKEND)  # type: ignore[arg-type]
    list_url = reverse("retail-list", urlconf=RETAIL_URLS)
    visible = visible_to(account).count()
    # Page 500, or the last *full* page when there are fewer: every run shows 25 rows.
    deep = max(1, min(500, visible // RETAIL_PAGE_SIZE))
    # Retail reads the published table, in the list's order.
    ordered = PublishedApplication.objects.order_by(*RETAIL_ORDER)
    detail_ref = ordered.values_list("reference", flat=True)[visible // 2]
    large = scale_name == "large"
    # The deep page as retail reaches it: by the "Next" link, whose cursor is the last row
    # of the page before (its verification time and id).
    deep_url = list_url + f"?page={deep}"
    if deep > 1:
        before_deep = ordered.values("verified_at", id=F("application_id"))[
            (deep - 1) * RETAIL_PAGE_SIZE - 1
        ]
        deep_url += f"&after={retail_cursor_of(before_deep)}"
    _mirror_generic_grants()
    with generic_guardian():
        generic_rows = _guardian_visible(user).count()
    if generic_rows != visible:
        raise SystemExit(f"guardian's generic path sees {generic_rows}, the retail site {visible}")
    detail_prefix = url_prefix("retail-detail")

    def guardian_request() -> Any:
        request: Any = RequestFactory().get(list_url)
        request.user = account  # the same header (reader, inbox count) as the retail page
        return request

    def guardian_page(number: int) -> None:
        # The same page the naive way: guardian's queryset (generic tables, global
        # permissions accepted), Django's Paginator (COUNT + OFFSET), the same projection
        # rendered by the same template. No view log, no session, no HTTP stack.
        with generic_guardian():
            rows = _guardian_visible(user).order_by(*GUARDIAN_ORDER).values(*RETAIL_COLUMNS)
            page = Paginator(rows, RETAIL_PAGE_SIZE).get_page(number)
            shown = [projection_from_row(row) for row in page.object_list]
        render_to_string(
            "retail/application_list.html",
            {
                "form": RetailSearchForm({}),
                "search": "",
                "page": _GuardianPage(page, shown),
                "masking_state": M.VERIFIED.value,
                "detail_prefix": detail_prefix,
            },
            request=guardian_request(),
        )

    def guardian_detail() -> None:
        with generic_guardian():
            row = (
                _guardian_visible(user).filter(reference=detail_ref).values(*RETAIL_COLUMNS).first()
            )
        render_to_string(
            "retail/application_detail.html",
            {"application": projection_from_row(row), "masking_state": M.VERIFIED.value},
            request=guardian_request(),
        )

    def guardian_query(number: int) -> None:
        with generic_guardian():
            queryset = _guardian_visible(user).order_by(*GUARDIAN_ORDER)
            list(Paginator(queryset, RETAIL_PAGE_SIZE).get_page(number).object_list)

    figures = []
    cases: list[tuple[str, str, Callable[[], None]]] = [
        (
            f"2. retail list page 1 ({visible:,} visible)",
            list_url,
            lambda: guardian_page(1),
        ),
        (f"2. retail list page {deep} (Next link)", deep_url, lambda: guardian_page(deep)),
        (
            f"2. retail list page {deep} (by number)",
            list_url + f"?page={deep}",
            lambda: guardian_page(deep),
        ),
        (
            "2. retail detail page",
            reverse("retail-detail", args=[detail_ref], urlconf=RETAIL_URLS),
            guardian_detail,
        ),
    ]
    for name, url, naive in cases:
        # The ≥ 10× is the list's goal (issue 11): on one row guardian's defaults have
        # little to do, so the detail page's goal is its time and its queries.
        list_page = "detail" not in name
        by_alias = _queries_by_alias(client, url)
        queries = by_alias.get("retail", 0)
        elsewhere = {alias: n for alias, n in by_alias.items() if alias != "retail" and n}
        page_samples: list[float] = []
        naive_samples: list[float] = []
        for _ in range(repeat):  # interleaved: both see the same machine and data
            page_samples += timed(partial(_get, client, url), 1, warmup=0)
            naive_samples += timed(naive, 1, warmup=0)
        median, p95 = ms(page_samples)
        naive_median, _ = ms(naive_samples)
        speedup = naive_median / median
        met = p95 < 50 and queries <= 10 and (speedup >= 10 or not list_page) and not elsewhere
        figures.append(
            Figure(
                name,
                "ms",
                median,
                p95,
                comparison="guardian defaults (generic tables) + Paginator + same template",
                comparison_median=naive_median,
                ratio=speedup,
                queries=queries,
                goal="p95 < 50 ms (large), ≤ 10 queries"
                + (", ≥ 10× guardian" if list_page else ""),
                met=met,
                note=f"{CLIENT_FIGURE}; retail site in process (its URLs, sign-in, sessions, "
                "view log); "
                "queries on the retail database"
                + (f", and ELSEWHERE {elsewhere}" if elsewhere else "")
                + ("; " if large else "; goal stated for the large scale; ")
                + f"p95 < 50 ms: {p95 < 50}, ≤ 10 queries: {queries <= 10}, "
                + (
                    f"≥ 10× guardian: {speedup >= 10}"
                    if list_page
                    else f"{speedup:.1f}× guardian (no goal: one row, nothing for guardian's "
                    "defaults to walk)"
                ),
                samples=len(page_samples),
                extra={"queries_by_database": by_alias},
            )
        )
    # The selector alone (no HTTP, no template, no view log) against guardian's bare query.
    after = deep_url.partition("after=")[2] or None
    sel_samples: list[float] = []
    naive_samples = []
    for _ in range(repeat):
        sel_samples += timed(
            lambda: retail_application_page(account=account, page_number=deep, after=after),
            1,
            warmup=0,
        )
        naive_samples += timed(lambda: guardian_query(deep), 1, warmup=0)
    median, p95 = ms(sel_samples)
    naive_median, _ = ms(naive_samples)
    figures.append(
        Figure(
            f"2. retail selector page {deep} (no HTTP)",
            "ms",
            median,
            p95,
            comparison="guardian get_objects_for_user (defaults), paginated, bare query",
            comparison_median=naive_median,
            ratio=naive_median / median,
            note="the retail site's selector: published rows of the retail database, the "
            "count riding along",
            samples=len(sel_samples),
        )
    )
    return figures


@dataclass(frozen=True)
class _GuardianPage:
    """Django's Page with the rows mapped, in the shape the retail template reads."""

    page: Any
    object_list: list[Any]

    @property
    def count(self) -> int:
        return int(self.page.paginator.count)

    count_capped = False

    @property
    def num_pages(self) -> int:
        return int(self.page.paginator.num_pages)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.page, name)


# --- 3. supervisor queue and review page --------------------------------------------------


def supervisor(cast: Cast, repeat: int, scale_name: str) -> list[Figure]:
    client = Client()
    client.force_login(cast.supervisor)
    queue_url = reverse("review-queue")
    counts: dict[int, int] = {}
    original = supervisor_views.PAGE_SIZE
    try:
        for size in (10, 50):
            supervisor_views.PAGE_SIZE = size
            counts[size] = _queries(client, queue_url)
    finally:
        supervisor_views.PAGE_SIZE = original
    queries = _queries(client, queue_url)
    samples = timed(lambda: _get(client, queue_url), repeat)
    median, p95 = ms(samples)
    large = scale_name == "large"
    steady = counts[10] == counts[50]
    waiting = first_awaiting_review()
    figures = [
        Figure(
            f"3. supervisor queue page (size {original})",
            "ms",
            median,
            p95,
            comparison=f"queries at page size 10 / 50: {counts[10]} / {counts[50]}",
            queries=queries,
            goal="p95 < 50 ms (large), ≤ 10 queries, not growing with page size",
            met=p95 < 50 and queries <= 10 and steady,
            note=f"{CLIENT_FIGURE}; query count {'constant' if steady else 'GROWS'} with "
            "page size" + ("" if large else "; goal stated for the large scale"),
            samples=len(samples),
            extra={"queries_by_page_size": counts},
        )
    ]
    if waiting is not None:
        review_url = reverse("review-page", args=[waiting])
        queries = _queries(client, review_url)
        samples = timed(lambda: _get(client, review_url), repeat)
        median, p95 = ms(samples)
        figures.append(
            Figure(
                "3. supervisor review page",
                "ms",
                median,
                p95,
                queries=queries,
                note=f"{CLIENT_FIGURE}; records the opening and the personal-data read "
                "(vault + audit)",
                samples=len(samples),
            )
        )
    return figures


# --- 4. audit: concurrent writers, verification against plain SHA-256 ---------------------


PROBE_TABLE = "bench_commit_probe"
WRITES_GOAL = 0.8  # four writer threads against the floor's bare INSERT (issue 17 goal 2)


@dataclass
class WriterCpu:
    """CPU the writers of some rounds used while writing: their threads' own (the client
    side) and their database backends' (PostgreSQL's side, None where it could not be
    read), and how many events that was."""

    events: int = 0
    client: float = 0.0
    database: float | None = 0.0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def add(self, events: int, client: float, database: float | None) -> None:
        with self._lock:
            self.events += events
            self.client += client
            if database is None or self.database is None:
                self.database = None
            else:
                self.database += database

    def per_event_us(self) -> tuple[float, float | None]:
        events = max(self.events, 1)
        return self.client * 1e6 / events, (
            None if self.database is None else self.database * 1e6 / events
        )


def cpu_per_event(product: WriterCpu, floor: WriterCpu, goal: float | None = None) -> str:
    """Why the writers' ratio is what it is: each side's CPU an event, in the writers and
    in their backends. Both share the machine's two cores, so with the cores busy the
    ratio of rates follows the inverse ratio of these costs; a `goal` ratio of rates
    then needs at most 1 / goal times the floor's CPU."""
    (client, database), (floor_client, floor_database) = (
        product.per_event_us(),
        floor.per_event_us(),
    )
    if database is None or floor_database is None:
        return f"writers' CPU an event {client:.0f} µs against the floor's {floor_client:.0f} µs"
    cost, floor_cost = client + database, floor_client + floor_database
    return (
        f"CPU an event: writers {client:.0f} µs + PostgreSQL {database:.0f} µs = {cost:.0f} µs, "
        f"the floor's {floor_client:.0f} + {floor_database:.0f} = {floor_cost:.0f} µs: "
        f"{cost / floor_cost:.2f}× the floor's"
        + (f" (the goal needs ≤ {1 / goal:.2f}×)" if goal else "")
    )


def _writers(
    cast: Cast, threads: int, per_writer: int, *, floor: str = "", meter: WriterCpu | None = None
) -> float:
    """Events/s of `threads` writers, each on its own connection, one transaction each,
    each statement through `prepared_cursor` as `audit_record`'s INSERT is (so the floors
    have the product's connection handling). `floor`: instead of `audit_record`,
    "row" is the INSERT of the event's own row into the audit table, its values made
    beforehand (MAC and actor snapshot included), without RETURNING (the goal's floor),
    and "bare" a one-column INSERT into a table without index (the database's commit
    ceiling). `meter` adds up the CPU the writing took (each thread's own, and its
    backend's on PostgreSQL)."""
    start = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            actor = type(cast.clerk).objects.get(pk=cast.clerk.pk)
            rows = _event_rows(actor, per_writer) if floor == "row" else []
            backend = cpu.pg_backend_pid() if meter is not None else 0
            start.wait()
            database_before = cpu.process_cpu(backend) if meter is not None else None
            client_before = time.thread_time()
            for n in range(per_writer):
                if floor == "bare":
                    with transaction.atomic(), prepared_cursor(connection) as cursor:
                        cursor.execute(
                            f"INSERT INTO {PROBE_TABLE} (n) VALUES (%s)",  # noqa: S608
                            [n],
                        )
                else:
                    _write_event(actor, n, rows)
            if meter is not None:
                client = time.thread_time() - client_before
                database_after = cpu.process_cpu(backend)
                meter.add(
                    per_writer,
                    client,
                    None
                    if database_before is None or database_after is None
                    else database_after - database_before,
                )
        except BaseException as error:  # reported after the join
            errors.append(error)
        finally:
            connection.close()

    workers = [threading.Thread(target=write) for _ in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    began = time.perf_counter()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise errors[0]
    return threads * per_writer / elapsed


_EVENT_COLUMNS = [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]


def _event_row_sql() -> str:
    qn = connection.ops.quote_name
    return (
        f"INSERT INTO {qn(AuditEvent._meta.db_table)}"  # noqa: S608
        f" ({', '.join(qn(f.column) for f in _EVENT_COLUMNS)})"
        f" VALUES ({', '.join(['%s'] * len(_EVENT_COLUMNS))})"
    )


def _write_event(actor: Any, n: int, rows: list[list[Any]]) -> None:
    """A writer's `n`th event in its own transaction: with `rows` (the floor's, made
    beforehand by `_event_rows`) the bare INSERT of the event's own row, no RETURNING;
    without, `audit_record` as the product writes it."""
    with transaction.atomic():
        if rows:
            with prepared_cursor(connection) as cursor:
                cursor.execute(_event_row_sql(), rows[n])
        else:
            audit_record(
                actor=actor,
                action=AuditAction.RETAIL_VIEWED,
                object_label="bench",
                details={"bench": n},
            )


def _event_rows(actor: Any, count: int) -> list[list[Any]]:
    """The parameters of `count` events like the writers' (each with its MAC, so the
    sealer chains them like any other; the actor's division and roles read once)."""
    division, roles = actor.division_at() or "", actor.role_codes()
    rows = []
    for n in range(count):
        event = AuditEvent(
            actor=actor,
            actor_username=actor.get_username(),
            actor_division=division,
            actor_roles=roles,
            action=AuditAction.RETAIL_VIEWED,
            object_label="bench",
            details={"bench": n},
        )
        authenticate(event, vendor=connection.vendor)
        rows.append(
            [f.get_db_prep_save(getattr(event, f.attname), connection) for f in _EVENT_COLUMNS]
        )
    return rows


def _process_writer(user_id: int, per_writer: int, start: Any, done: Any, floor: bool) -> None:
    from apps.accounts.models import User

    try:
        actor = User.objects.get(pk=user_id)
        rows = _event_rows(actor, per_writer) if floor else []
        start.wait()
        for n in range(per_writer):
            _write_event(actor, n, rows)
        done.put(None)
    except BaseException as error:
        done.put(repr(error))
    finally:
        connections.close_all()


def _writer_processes(cast: Cast, processes: int, per_writer: int, *, floor: bool = False) -> float:
    """Like _writers, but separate processes (fork): no shared GIL on the client side.
    `floor`: the event's own row instead of `audit_record`, as _writers' "row"."""
    context = multiprocessing.get_context("fork")
    start = context.Barrier(processes + 1)
    done = context.Queue()
    connections.close_all()  # children must not inherit an open connection
    workers = [
        context.Process(
            target=_process_writer, args=(cast.clerk.pk, per_writer, start, done, floor)
        )
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    start.wait()
    began = time.perf_counter()
    results = [done.get() for _ in workers]
    elapsed = time.perf_counter() - began
    for worker in workers:
        worker.join()
    failures = [result for result in results if result is not None]
    if failures:
        raise SystemExit(f"audit writer process failed: {failures[0]}")
    return processes * per_writer / elapsed


def _spread(samples: list[float], floors: list[float]) -> str:
    """The ratios of interleaved rounds, each to the floor round run right after it: their
    median and quartiles (how much the verdict of the medians' ratio can swing)."""
    ratios = sorted(sample / floor for sample, floor in zip(samples, floors, strict=True))
    if len(ratios) < 4:
        return f"ratios {', '.join(f'{r:.2f}' for r in ratios)}"
    low, middle, high = statistics.quantiles(ratios, n=4)
    return f"median {middle:.2f}, quartiles {low:.2f}–{high:.2f} ({len(ratios)} rounds)"


def audit(cast: Cast, repeats: Repeats) -> list[Figure]:
    figures = []
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TABLE IF NOT EXISTS {PROBE_TABLE} (n INTEGER)")
        for threads in (1, 4):
            samples: list[float] = []
            row_samples: list[float] = []
            bare_samples: list[float] = []
            product_cpu, row_cpu = WriterCpu(), WriterCpu()
            for _ in range(repeats.audit_rounds):  # interleaved
                samples.append(_writers(cast, threads, 250, meter=product_cpu))
                row_samples.append(_writers(cast, threads, 250, floor="row", meter=row_cpu))
                bare_samples.append(_writers(cast, threads, 250, floor="bare"))
            median = statistics.median(samples)
            row = statistics.median(row_samples)
            bare = statistics.median(bare_samples)
            slow = sorted(samples)[max(0, math.ceil(0.05 * len(samples)) - 1)]
            writers = f"{threads} writer{'s' if threads > 1 else ''}"
            goal = threads == 4
            met = median / row >= WRITES_GOAL and median >= 1000
            figures.append(
                Figure(
                    f"4. audit writes, {writers}",
                    "events/s",
                    median,
                    slow,
                    comparison="floor: the event's own row, bare INSERT + COMMIT, same writers",
                    comparison_median=row,
                    ratio=median / row,
                    goal=f"≥ {WRITES_GOAL} × the row's bare INSERT, ≥ 1,000 events/s"
                    if goal
                    else "",
                    met=met if goal else None,
                    note="p95 column = 5th-percentile (slow) round; the floor inserts the "
                    "same columns into the audit table (its indexes, its triggers) with "
                    "values made beforehand (MAC and actor snapshot included), through the "
                    "same prepared cursor"
                    + f"; each round against its own floor round: {_spread(samples, row_samples)}"
                    + f"; {cpu_per_event(product_cpu, row_cpu, WRITES_GOAL if goal else None)}"
                    + (
                        f"; ≥ {WRITES_GOAL} × floor: {median / row >= WRITES_GOAL}, "
                        f"≥ 1,000/s: {median >= 1000}"
                        if goal
                        else ""
                    ),
                    samples=len(samples),
                    extra={
                        "cpu_us_per_event": product_cpu.per_event_us(),
                        "floor_cpu_us_per_event": row_cpu.per_event_us(),
                    },
                )
            )
            figures.append(
                Figure(
                    f"4. audit writes, {writers}, against the commit ceiling",
                    "events/s",
                    median,
                    slow,
                    comparison="one-column INSERT + COMMIT, same writers",
                    comparison_median=bare,
                    ratio=median / bare,
                    note="extra, no goal: the same rounds as the row above against the "
                    "database's commit ceiling (a one-column row, no index); the floor's "
                    f"own row reaches {row / bare:.2f} of it",
                    samples=len(samples),
                )
            )
        samples, row_samples = [], []
        for _ in range(repeats.audit_rounds):  # interleaved
            samples.append(_writer_processes(cast, 4, 250))
            row_samples.append(_writer_processes(cast, 4, 250, floor=True))
        median = statistics.median(samples)
        row = statistics.median(row_samples)
        figures.append(
            Figure(
                "4. audit writes, 4 writer processes",
                "events/s",
                median,
                sorted(samples)[max(0, math.ceil(0.05 * len(samples)) - 1)],
                comparison="floor: the event's own row, bare INSERT + COMMIT, same processes",
                comparison_median=row,
                ratio=median / row,
                goal="≥ 1,000 events/s",
                met=median >= 1000,
                note="extra: separate processes (as gunicorn's workers), so the writers do "
                "not share one GIL; the ratio has no goal (goal 2 is the threads'); each "
                f"round against its own floor round: {_spread(samples, row_samples)}",
                samples=len(samples),
            )
        )
    else:
        for threads in (1, 4):
            figures.append(
                Figure(
                    f"4. audit writes, {threads} writer{'s' if threads > 1 else ''}",
                    "events/s",
                    None,
                    None,
                    goal="≥ 1,000 events/s" if threads == 4 else "",
                    note="skipped: needs PostgreSQL",
                )
            )
    write_rate = figures[0].median if figures and figures[0].median else None
    figures += _mac(cast, write_rate)
    log("  sealing the chain (audit_seal)…")
    began = time.perf_counter()
    sealed = audit_seal()
    seal_seconds = time.perf_counter() - began
    log(f"  sealed {sealed.sealed:,}; head seq {sealed.head_seq:,}")
    # The seal table was empty when the data's statistics were gathered; with those the
    # planner walks it once per batch (verification at large went quadratic: 15.7 k
    # events/s against 80-86 k with statistics). Production's autovacuum would gather them.
    analyze()
    if sealed.sealed:
        figures.append(
            Figure(
                f"4. audit sealing ({sealed.sealed:,} events)",
                "events/s",
                sealed.sealed / seal_seconds,
                None,
                note="one run of audit_seal(): reads the unsealed events, checks each MAC and "
                f"looks for copies, appends the seals; refused: {len(sealed.refused)}",
                samples=1,
            )
        )
    if connection.vendor == "postgresql":
        figures += verification(cast, repeats.verify)
    else:
        figures.append(_verification_sqlite(repeats))
    return figures


def _verification_sqlite(repeats: Repeats) -> Figure:
    """SQLite has no COPY: verification against in-memory SHA-256 only."""
    reports = []

    def verify() -> None:
        reports.append(audit_verify(record=False))

    samples = timed(verify, repeats.verify, warmup=0)
    checked = reports[-1].events_checked
    verify_rate, verify_slow = rates(checked, samples)
    blobs: list[bytes] = []
    for fmt in sorted(set(AuditSeal.objects.values_list("format", flat=True).distinct())):
        in_format = AuditEvent.objects.filter(seal__format=fmt).order_by("id")
        room = HASH_SAMPLE_CAP - len(blobs)
        blobs += [canonical_of(payload) for _, payload in payloads(in_format, fmt, limit=room)]

    def plain() -> None:
        for blob in blobs:
            hashlib.sha256(blob).digest()

    hash_rate, _ = rates(len(blobs), timed(plain, max(repeats.verify, 5)))
    return Figure(
        f"4. audit verification, full ({checked:,} sealed events)",
        "events/s",
        verify_rate,
        verify_slow,
        comparison=f"plain sha256 over the canonical bytes ({len(blobs):,} in memory)",
        comparison_median=hash_rate,
        ratio=verify_rate / hash_rate,
        goal="≥ 0.5 × floor (PostgreSQL only)",
        note=f"chain {'OK' if reports[-1].ok else 'NOT OK: ' + reports[-1].summary}; "
        "the floor (COPY) needs PostgreSQL",
        samples=len(samples),
    )


MAC_SAMPLE = 5000  # events authenticated / checked per timed sample


def _mac(cast: Cast, write_rate: float | None) -> list[Figure]:
    """What the event MAC costs on each side, in process: making it for an event like the
    writers' (apps.audit.mac.authenticate, inside every audit write above) and checking
    it for a row read back (apps.audit.mac.mac_problem, per event in sealing and
    verification)."""
    events = [
        AuditEvent(
            actor=cast.clerk,
            actor_username=cast.clerk.username,
            action=AuditAction.RETAIL_VIEWED,
            object_label="bench",
            details={"bench": n},
            request_id=f"{n:032x}",
            client_ip="10.0.0.1",
            user_agent="bench",
        )
        for n in range(MAC_SAMPLE)
    ]

    def make() -> None:
        for event in events:
            authenticate(event, vendor=connection.vendor)

    make_rate, make_slow = rates(MAC_SAMPLE, timed(make, 9))
    rows = [tuple(getattr(event, name) for name in MAC_VALUES) for event in events]

    def check() -> None:
        for row in rows:
            if mac_problem(row) is not None:
                raise SystemExit("bench: a MAC the bench just made does not check")

    check_rate, check_slow = rates(MAC_SAMPLE, timed(check, 9))
    share = (
        f"{1e6 / make_rate:.1f} µs per event = {100 * write_rate / make_rate:.1f} % of one "
        "audit write (1 writer)"
        if write_rate
        else f"{1e6 / make_rate:.1f} µs per event"
    )
    return [
        Figure(
            "4. audit event MAC, made at write",
            "events/s",
            make_rate,
            make_slow,
            comparison="audit writes, 1 writer" if write_rate else "",
            comparison_median=write_rate,
            ratio=make_rate / write_rate if write_rate else None,
            note=f"in process, no database: HMAC-SHA256 + JSON round trip; {share}",
            samples=9,
        ),
        Figure(
            "4. audit event MAC, checked",
            "events/s",
            check_rate,
            check_slow,
            note=f"in process, no database: {1e6 / check_rate:.1f} µs per event, paid by the "
            "sealer and by verification for every event",
            samples=9,
        ),
    ]


def measure_all(cast: Cast, scale_name: str, repeats: Repeats) -> list[Figure]:
    figures: list[Figure] = []
    steps: list[tuple[str, Any]] = [
        ("1. workflow", lambda: workflow(cast, repeats.workflow)),
        ("2. retail pages", lambda: retail(cast, repeats.pages, scale_name)),
        ("3. supervisor pages", lambda: supervisor(cast, repeats.pages, scale_name)),
        ("4. audit", lambda: audit(cast, repeats)),
        ("5. exposure report", exposure),  # bench/exposure.py: 1M and 10M legacy events
        ("6. replication lag", lambda: replication_lag(cast, repeats.workflow)),
        ("7. HTTP pages", lambda: http_pages(cast, scale_name)),  # bench/http.py: gunicorn
    ]
    for label, step in steps:
        log(f"measuring {label}…")
        started = time.perf_counter()
        figures += step()
        log(f"  done in {time.perf_counter() - started:.1f} s")
    return figures
