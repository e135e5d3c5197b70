"""The supervisor's pages: approval queue, side-by-side review, verify, return, release, cancel."""

from __future__ import annotations

import datetime
import re
from contextlib import ExitStack

import pytest
from django.db import connection, connections
from django.template.loader import render_to_string
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from apps.applications import services
from apps.applications.models import Application, ReviewOpening
from apps.audit.models import AuditAction, AuditEvent
from apps.vault.services import vault_read
from apps.vocabulary.states import Contribution
from apps.web.access import Persona
from apps.web.applications.views.supervisor import PAGE_SIZE
from apps.web.templatetags.shadan import age
from tests.conftest import _person, advance
from tests.factories import make_retailer

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


@pytest.fixture
def encoded(new_application, clerk, supervisor):
    """An application waiting for the second-person check, made by the clerk."""

    def make(**overrides) -> Application:
        return advance(new_application(**overrides), "encoded", clerk=clerk, supervisor=supervisor)

    return make


@pytest.fixture
def clerk_supervisor(db):
    """A T&D member holding both roles: the person the four-eyes rule is about."""
    return _person("both_hats", "td", "clerk", "supervisor")


def _waiting_since(app: Application, *, hours: float) -> None:
    Application.objects.filter(pk=app.pk).update(
        encoded_at=timezone.now() - datetime.timedelta(hours=hours)
    )


def _queue_ids(html: str) -> list[int]:
    table = html.split('data-testid="review-queue"')[1].split("</table>")[0]
    return [int(pk) for pk in re.findall(r'data-application="(\d+)"', table)]


def _get(client: Client, user, name: str, *args, **query) -> str:
    client.force_login(user)
    response = client.get(reverse(name, args=args), query)
    assert response.status_code == 200
    return response.content.decode()


def _reload(app: Application) -> Application:
    return Application.objects.get(pk=app.pk)


def _checklist(app: Application, **extra) -> dict:
    return {
        "version": app.version,
        "check_retailer": "on",
        "check_free_text": "on",
        "check_preview": "on",
        **extra,
    }


# --- the approval queue ------------------------------------------------------------------


def test_queue_lists_applications_waiting_for_the_check_oldest_first(
    client, encoded, new_application, supervisor
):
    newest, oldest, middle = encoded(), encoded(), encoded()
    _waiting_since(newest, hours=1)
    _waiting_since(oldest, hours=30)
    _waiting_since(middle, hours=5)
    new_application()  # a draft is not waiting

    html = _get(client, supervisor, "review-queue")

    assert _queue_ids(html) == [oldest.pk, middle.pk, newest.pk]


def test_queue_shows_age_and_sla_status_as_text_and_colour(client, encoded, supervisor, settings):
    settings.SHADAN_SLA_VERIFY_HOURS = 24
    fresh, due, overdue = encoded(), encoded(), encoded()
    _waiting_since(fresh, hours=1)
    _waiting_since(due, hours=13)
    _waiting_since(overdue, hours=50)

    html = _get(client, supervisor, "review-queue")

    def cell(app: Application) -> str:
        return html.split(f'data-application="{app.pk}"')[1].split("</tr>")[0]

    assert 'class="sla-ok" data-sla="ok"' in cell(fresh)
    assert 'class="sla-due" data-sla="due"' in cell(due)
    assert 'class="sla-overdue" data-sla="overdue"' in cell(overdue)
    assert re.search(r'data-sla="overdue">\W*\w', cell(overdue)), "status needs text, not colour"
    with translation.override("ja"):
        assert f'<td class="nowrap">{age(datetime.timedelta(hours=50))}</td>' in cell(overdue)


def test_queue_filters_by_retailer(client, encoded, supervisor):
    other = make_retailer(code="B0001", name="きた電力")
    mine = encoded()
    theirs = encoded(retailer=other.pk)

    html = _get(client, supervisor, "review-queue", retailer=other.pk)

    assert _queue_ids(html) == [theirs.pk]
    assert mine.pk not in _queue_ids(html)


def test_queue_filters_by_contract_class(client, encoded, supervisor):
    low = encoded()
    high = encoded(contract_class="high", contract_capacity_kw="100.0")

    assert _queue_ids(_get(client, supervisor, "review-queue", contract_class="high")) == [high.pk]
    assert _queue_ids(_get(client, supervisor, "review-queue", contract_class="low")) == [low.pk]


def test_queue_filters_by_age(client, encoded, supervisor):
    today, four_days, ten_days = encoded(), encoded(), encoded()
    _waiting_since(today, hours=2)
    _waiting_since(four_days, hours=24 * 4)
    _waiting_since(ten_days, hours=24 * 10)

    assert _queue_ids(_get(client, supervisor, "review-queue", age="3")) == [
        ten_days.pk,
        four_days.pk,
    ]
    assert _queue_ids(_get(client, supervisor, "review-queue", age="7")) == [ten_days.pk]


def test_queue_is_paginated_and_page_links_keep_the_filters(client, encoded, supervisor):
    apps = [encoded() for _ in range(PAGE_SIZE + 2)]
    for hours, app in enumerate(reversed(apps)):
        _waiting_since(app, hours=hours + 1)

    first = _get(client, supervisor, "review-queue", contract_class="low")
    second = _get(client, supervisor, "review-queue", contract_class="low", page=2)

    assert _queue_ids(first) == [a.pk for a in apps[:PAGE_SIZE]]
    assert _queue_ids(second) == [a.pk for a in apps[PAGE_SIZE:]]
    assert 'href="?contract_class=low&amp;page=2"' in first


def test_queue_query_count_does_not_grow_with_the_number_of_rows(
    client, encoded, supervisor, retailer
):
    other = make_retailer(code="B0002", name="ひがし電力")
    client.force_login(supervisor)
    for i in range(5):
        encoded(retailer=(retailer if i % 2 else other).pk)
    client.get(reverse("review-queue"))  # warm-up: session, content types

    with CaptureQueriesContext(connection) as five:
        assert client.get(reverse("review-queue")).status_code == 200
    for i in range(25):
        encoded(retailer=(retailer if i % 2 else other).pk)
    with CaptureQueriesContext(connection) as thirty:
        html = client.get(reverse("review-queue")).content.decode()

    assert len(_queue_ids(html)) == PAGE_SIZE
    assert len(thirty.captured_queries) == len(five.captured_queries)


def test_queue_query_count_is_the_same_at_page_sizes_10_and_50_and_at_most_10(
    client, encoded, supervisor, retailer, monkeypatch, django_assert_max_num_queries
):
    from apps.web.applications.views import supervisor as supervisor_views

    other = make_retailer(code="B0002", name="ひがし電力")
    for i in range(15):
        encoded(retailer=(retailer if i % 2 else other).pk)
    client.force_login(supervisor)
    client.get(reverse("review-queue"))  # warm-up: session, content types
    counts = {}
    for size in (10, 50):
        monkeypatch.setattr(supervisor_views, "PAGE_SIZE", size)
        with django_assert_max_num_queries(10) as queries:
            html = client.get(reverse("review-queue")).content.decode()
        assert len(_queue_ids(html)) == min(size, 15)
        counts[size] = len(queries.captured_queries)

    assert counts[10] == counts[50]


def test_queue_offers_no_bulk_verification(client, encoded, supervisor):
    encoded()
    encoded()

    html = _get(client, supervisor, "review-queue")

    assert 'type="checkbox"' not in html
    assert "/verify/" not in html
    assert 'method="post"' not in html.split("<main>")[1]


# --- the review page -----------------------------------------------------------------------


def test_opening_the_review_page_records_the_opening_and_the_pii_read(client, encoded, supervisor2):
    app = encoded()

    _get(client, supervisor2, "review-page", app.pk)

    assert ReviewOpening.objects.filter(
        application=app, version=app.version, user=supervisor2
    ).exists()
    events = AuditEvent.objects.for_object(app)
    assert events.filter(action=AuditAction.APPLICATION_REVIEW_OPENED, actor=supervisor2).exists()
    read = events.filter(action=AuditAction.PII_READ, actor=supervisor2).get()
    assert read.details["purpose"] == "review"


def test_review_page_shows_the_customer_data_beside_exactly_what_retail_will_see(
    client, encoded, supervisor
):
    app = encoded(remarks="引込柱は北側")
    pii = vault_read(app.customer_ref)

    html = _get(client, supervisor, "review-page", app.pk)

    td = html.split('data-testid="td-data"')[1].split("</section>")[0]
    customer = td.split('data-testid="customer-pii"')[1]
    for value in (pii.name, pii.name_kana, pii.phone, pii.email):
        assert value in customer
    assert 'class="pii"' in td
    retail = html.split('data-testid="retail-preview"')[1].split("</dl>")[0]
    expected = {
        "reference": app.reference,
        "pseudonym": app.pseudonym,
        "supply_point_id": app.supply_point_id,
        "prefecture": "沖縄県",
        "municipality": app.municipality,
        "contract_class": "低圧",
        "contract_capacity_kw": "6.0 kW",
        "contractor_name": app.contractor_name,
        "retailer_code": app.retailer.code,
        "retailer_name": app.retailer.name,
        "remarks": "引込柱は北側",
    }
    for field, value in expected.items():
        assert re.search(rf'data-field="{field}">(<code>)?{re.escape(value)}', retail), field
    assert 'data-field="requested_start_date"' in retail
    for value in (pii.name, pii.name_kana, pii.phone, pii.email, app.street_address):
        assert value not in retail
    assert 'data-affiliated="no"' in html
    assert 'data-testid="masking"' in html


def test_review_page_shows_an_affiliated_retailer_as_affiliated(
    client, encoded, supervisor, retailer
):
    app = encoded()
    type(retailer).objects.filter(pk=retailer.pk).update(is_affiliated=True)

    html = _get(client, supervisor, "review-page", app.pk)

    assert 'data-affiliated="yes"' in html


def test_review_page_answers_no_store_so_the_personal_data_is_not_cached(
    client, encoded, supervisor
):
    app = encoded()
    client.force_login(supervisor)

    response = client.get(reverse("review-page", args=[app.pk]))

    assert "no-store" in response["Cache-Control"]


def test_review_page_of_an_application_not_waiting_shows_a_message_and_no_forms(
    client, new_application, clerk, supervisor
):
    app = advance(new_application(), "entered", clerk=clerk, supervisor=supervisor)
    pii = vault_read(app.customer_ref)

    html = _get(client, supervisor, "review-page", app.pk)

    assert 'data-testid="not-waiting"' in html
    assert 'data-testid="verify-form"' not in html
    assert 'data-testid="return-form"' not in html
    assert pii.name not in html and pii.phone not in html
    assert not ReviewOpening.objects.filter(application=app).exists()
    assert not AuditEvent.objects.for_object(app).filter(action=AuditAction.PII_READ).exists()


# The review page's statements on every database, pinned (the SAVEPOINT pairs that stand
# in for BEGIN/COMMIT inside a test's transaction left out): the session, the user, who
# the person is with their permissions (one statement, apps.web.access.who), the row lock
# (with their division now and whether they shaped this version), the opening, its audit
# event and the read's (one INSERT, which on PostgreSQL also writes the opening), the
# vault read. Before the page's one service call it was 13: the application read again,
# and again with the division for the read, the read's audit event apart, and the
# contributions for the four-eyes answer; then 9, with the user's and the groups'
# permissions read apart; then 8 and 7, the permissions in a statement of their own.
REVIEW_PAGE_STATEMENTS = 7
REVIEW_PAGE_STATEMENTS_ON_POSTGRESQL = 6


def test_review_page_costs_its_pinned_statements_on_every_database(client, encoded, supervisor2):
    app = encoded()
    client.force_login(supervisor2)
    client.get(reverse("review-page", args=[app.pk]))  # warm-up: content types

    with ExitStack() as stack:
        captured = [
            stack.enter_context(CaptureQueriesContext(connections[alias])) for alias in connections
        ]
        response = client.get(reverse("review-page", args=[app.pk]))

    assert response.status_code == 200
    assert 'data-testid="customer-pii"' in response.content.decode()
    statements = [
        query["sql"]
        for context in captured
        for query in context.captured_queries
        if not query["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    ]
    pinned = (
        REVIEW_PAGE_STATEMENTS_ON_POSTGRESQL
        if connections["default"].vendor == "postgresql"
        else REVIEW_PAGE_STATEMENTS
    )
    assert len(statements) == pinned, statements


def test_review_page_of_a_missing_application_is_404(client, supervisor):
    client.force_login(supervisor)

    assert client.get(reverse("review-page", args=[999999])).status_code == 404


# --- verify ---------------------------------------------------------------------------


def test_a_different_supervisor_verifies_through_the_page(client, encoded, supervisor2):
    app = encoded()
    pii = vault_read(app.customer_ref)
    html = _get(client, supervisor2, "review-page", app.pk)
    assert 'data-testid="verify-button"' in html

    response = client.post(reverse("review-verify", args=[app.pk]), _checklist(app))

    assert response.status_code == 302
    assert response["Location"] == reverse("review-queue")
    for value in (pii.name, pii.phone, pii.email):
        assert value not in response["Location"]
    app = _reload(app)
    assert app.masking_state == "verified"
    assert app.verified_by == supervisor2
    assert app.is_retail_visible


def test_supervisor_who_encoded_sees_no_verify_button_and_a_forged_post_is_refused(
    client, new_application, clerk, clerk_supervisor
):
    # given an application the supervisor encoded wearing their clerk hat
    app = advance(new_application(), "entered", clerk=clerk, supervisor=clerk_supervisor)
    app = services.application_encode(acting_user=clerk_supervisor, application_id=app.pk)

    # when they open the review page
    html = _get(client, clerk_supervisor, "review-page", app.pk)

    # then there is no verify button, and the page says why
    assert 'data-testid="verify-button"' not in html
    assert 'data-testid="verify-form"' not in html
    assert 'data-testid="cannot-verify"' in html
    assert str(services.FOUR_EYES_MESSAGES[Contribution.ENCODED]) in html
    # and a forged POST is refused by the service
    response = client.post(reverse("review-verify", args=[app.pk]), _checklist(app))
    assert response.status_code == 200
    assert 'data-testid="cannot-verify"' in response.content.decode()
    app = _reload(app)
    assert app.masking_state == "encoded"
    assert app.verified_by is None
    assert not app.is_retail_visible


def test_verify_without_opening_the_page_first_is_refused(client, encoded, supervisor2):
    app = encoded()
    client.force_login(supervisor2)

    response = client.post(reverse("review-verify", args=[app.pk]), _checklist(app))

    assert response.status_code == 200
    assert 'data-testid="verify-error"' in response.content.decode()
    assert _reload(app).masking_state == "encoded"


def test_verify_without_ticking_the_checklist_is_refused_and_keeps_the_ticks(
    client, encoded, supervisor
):
    app = encoded()
    _get(client, supervisor, "review-page", app.pk)

    response = client.post(
        reverse("review-verify", args=[app.pk]),
        {"version": app.version, "check_retailer": "on", "check_preview": "on"},
    )

    assert response.status_code == 200
    html = response.content.decode()
    form = html.split('data-testid="verify-form"')[1].split("</form>")[0]
    missing = form.split('data-field="check_free_text"')[1].split("</div>")[0]
    assert 'class="error"' in missing
    ticked = form.split('data-field="check_retailer"')[1].split("</div>")[0]
    assert "checked" in ticked
    assert "checked" not in missing
    assert _reload(app).masking_state == "encoded"


def test_verify_of_a_version_that_changed_since_is_refused(client, encoded, clerk, supervisor):
    app = encoded()
    _get(client, supervisor, "review-page", app.pk)
    seen_version = app.version
    changed = services.application_update(
        acting_user=clerk,
        application_id=app.pk,
        expected_version=app.version,
        changes={"remarks": "変更あり"},
    )
    services.application_encode(acting_user=clerk, application_id=changed.pk)

    response = client.post(
        reverse("review-verify", args=[app.pk]), _checklist(app, version=seen_version)
    )

    assert response.status_code == 200
    assert 'data-testid="verify-error"' in response.content.decode()
    assert _reload(app).masking_state == "encoded"


# --- return -------------------------------------------------------------------------------


def test_return_with_an_empty_reason_keeps_the_page_with_an_error(client, encoded, supervisor):
    app = encoded()
    _get(client, supervisor, "review-page", app.pk)

    response = client.post(
        reverse("review-return", args=[app.pk]), {"version": app.version, "reason": "   "}
    )

    assert response.status_code == 200
    form = response.content.decode().split('data-testid="return-form"')[1].split("</form>")[0]
    assert 'class="error"' in form.split('data-field="reason"')[1]
    app = _reload(app)
    assert app.state == "encoded" and app.masking_state == "encoded"


def test_return_with_personal_data_in_the_reason_is_refused_and_the_text_kept(
    client, encoded, supervisor
):
    app = encoded()
    _get(client, supervisor, "review-page", app.pk)
    typed = "電話 090-1234-5678 に確認してください"

    response = client.post(
        reverse("review-return", args=[app.pk]), {"version": app.version, "reason": typed}
    )

    assert response.status_code == 200
    form = response.content.decode().split('data-testid="return-form"')[1].split("</form>")[0]
    assert typed in form
    assert 'class="error"' in form
    assert _reload(app).masking_state == "encoded"


def test_return_with_a_reason_sends_it_back_to_the_clerk(client, encoded, supervisor):
    app = encoded()
    _get(client, supervisor, "review-page", app.pk)

    response = client.post(
        reverse("review-return", args=[app.pk]),
        {"version": app.version, "reason": "契約容量を確認してください"},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("review-queue")
    app = _reload(app)
    assert app.state == "entered"
    assert app.masking_state == "unmasked"
    assert app.return_reason == "契約容量を確認してください"
    assert app.returned_by == supervisor


# --- release and cancel -------------------------------------------------------------------


def test_release_of_a_verified_application(client, new_application, clerk, supervisor):
    app = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)
    client.force_login(supervisor)

    response = client.post(reverse("review-release", args=[app.pk]), {"version": app.version})

    assert response.status_code == 302
    assert response["Location"] == reverse("application-detail", args=[app.pk])
    app = _reload(app)
    assert app.state == "released"
    assert app.released_at is not None


def test_release_of_an_unverified_application_is_refused_with_a_message(
    client, encoded, supervisor
):
    app = encoded()
    client.force_login(supervisor)

    response = client.post(reverse("review-release", args=[app.pk]), {"version": app.version})

    assert response.status_code == 302
    assert _reload(app).state == "encoded"
    stored = [m.level_tag for m in response.wsgi_request._messages]
    assert stored == ["error"]


def test_cancel_page_asks_for_a_reason(client, encoded, supervisor):
    app = encoded()

    html = _get(client, supervisor, "review-cancel", app.pk)

    assert 'data-testid="cancel-form"' in html
    assert 'name="reason"' in html
    assert 'data-testid="masking"' in html


def test_cancel_without_a_reason_is_refused(client, encoded, supervisor):
    app = encoded()
    client.force_login(supervisor)

    response = client.post(
        reverse("review-cancel", args=[app.pk]), {"version": app.version, "reason": ""}
    )

    assert response.status_code == 200
    assert 'class="error"' in response.content.decode().split('data-field="reason"')[1]
    assert _reload(app).state == "encoded"


def test_cancel_with_a_reason_cancels_and_withdraws_the_masking(client, encoded, supervisor):
    app = encoded()
    client.force_login(supervisor)

    response = client.post(
        reverse("review-cancel", args=[app.pk]),
        {"version": app.version, "reason": "申込者から取り下げの連絡"},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("application-detail", args=[app.pk])
    app = _reload(app)
    assert app.state == "cancelled"
    assert app.masking_state == "unmasked"
    assert app.cancel_reason == "申込者から取り下げの連絡"


def test_cancel_page_of_an_energized_application_offers_no_form(
    client, new_application, clerk, supervisor, construction
):
    app = advance(
        new_application(),
        "energized",
        clerk=clerk,
        supervisor=supervisor,
        construction=construction,
    )

    html = _get(client, supervisor, "review-cancel", app.pk)

    assert 'data-testid="not-cancellable"' in html
    assert 'data-testid="cancel-form"' not in html


# --- the supervisor's part of the application page ----------------------------------------


def _actions(app: Application, user, roles: set[str]) -> str:
    me = Persona(user, "td", frozenset(roles))
    return render_to_string(
        "applications/_supervisor_actions.html", {"application": _reload(app), "me": me}
    )


def test_application_page_actions_follow_the_state(
    encoded, new_application, clerk, supervisor, construction
):
    waiting = encoded()
    verified = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)
    energized = advance(
        new_application(),
        "energized",
        clerk=clerk,
        supervisor=supervisor,
        construction=construction,
    )

    html = _actions(waiting, supervisor, {"supervisor"})
    assert 'data-testid="open-review"' in html
    assert 'data-testid="release-form"' not in html
    assert 'data-testid="open-cancel"' in html

    html = _actions(verified, supervisor, {"supervisor"})
    assert 'data-testid="open-review"' not in html
    assert 'data-testid="release-form"' in html
    assert f'name="version" value="{verified.version}"' in html

    html = _actions(energized, supervisor, {"supervisor"})
    assert 'data-testid="open-cancel"' not in html
    assert 'data-testid="release-form"' not in html


def test_application_page_actions_are_only_for_supervisors(encoded, clerk):
    assert "supervisor-actions" not in _actions(encoded(), clerk, {"clerk"})


# --- who may open these pages ---------------------------------------------------------


SUPERVISOR_URLS = [
    ("get", "review-queue", False),
    ("get", "review-page", True),
    ("post", "review-verify", True),
    ("post", "review-return", True),
    ("post", "review-release", True),
    ("get", "review-cancel", True),
    ("post", "review-cancel", True),
]


@pytest.mark.parametrize(("method", "name", "with_pk"), SUPERVISOR_URLS)
@pytest.mark.parametrize(
    ("persona", "status"),
    [("retail_user", 404), ("clerk", 403), ("auditor", 403), ("construction", 403)],
)
def test_other_roles_are_refused(request, client, encoded, method, name, with_pk, persona, status):
    app = encoded()
    client.force_login(request.getfixturevalue(persona))
    url = reverse(name, args=[app.pk] if with_pk else [])

    response = getattr(client, method)(
        url, _checklist(app, reason="理由") if method == "post" else {}
    )

    assert response.status_code == status
    app = _reload(app)
    assert app.masking_state == "encoded" and app.state == "encoded"
    assert not ReviewOpening.objects.filter(application=app).exists()
