"""The auditors' pages: search, timelines, chain status and the CSV export."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.applications import services
from apps.audit.models import AuditAction, AuditEvent
from apps.vault.services import vault_read
from apps.web.auditors.trail import search
from apps.web.auditors.trail.export import COLUMNS
from tests.conftest import advance

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


@pytest.fixture
def auditing(client, auditor):
    client.force_login(auditor)
    return client


def _text(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def test_search_filters_by_action_and_application(auditing, new_application, clerk, supervisor):
    a = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)
    b = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)

    html = _text(
        auditing.get(reverse("audit-search"), {"action": AuditAction.APPLICATION_VERIFIED})
    )
    assert str(a) in html and str(b) not in html

    html = _text(auditing.get(reverse("audit-search"), {"application": b.supply_point_id}))
    assert str(b) in html and str(a) not in html


def test_search_pages_by_event_id_without_counting_the_table(auditing, new_application):
    for _ in range(50):
        new_application()  # 50 creations, plus the personas' events
    total = AuditEvent.objects.count()
    assert total > search.PAGE_SIZE

    with CaptureQueriesContext(connection) as queries:
        first = _text(auditing.get(reverse("audit-search")))
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert not [sql for sql in counts if "audit_auditevent" in sql]
    older = first.split("before=")[1].split('"')[0]
    second = _text(auditing.get(reverse("audit-search"), {"before": older}))

    assert f">{older}<" not in second  # the page starts below the cursor
    assert second.count("<tr data-event=") == total - search.PAGE_SIZE


def test_a_bad_date_range_is_refused_with_the_input_kept(auditing):
    html = _text(
        auditing.get(reverse("audit-search"), {"date_from": "2026-05-02", "date_to": "2026-05-01"})
    )
    assert 'value="2026-05-02"' in html
    assert 'class="error"' in html


def test_a_search_to_the_end_of_the_calendar_is_refused_not_a_server_error(auditing):
    response = auditing.get(
        reverse("audit-search"), {"date_from": "0001-01-01", "date_to": "9999-12-31"}
    )

    form = response.context["form"]
    assert set(form.errors) == {"date_from", "date_to"}
    assert "2099-12-31" in str(form.errors["date_to"])
    assert form.data["date_to"] == "9999-12-31"


def test_an_export_to_the_end_of_the_calendar_exports_nothing(auditing):
    response = auditing.get(
        reverse("audit-export"), {"date_from": "0001-01-01", "date_to": "9999-12-31"}
    )

    assert response.status_code == 404  # an invalid filter exports nothing
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


def test_the_application_timeline_shows_its_events_and_no_personal_data(
    auditing, new_application, clerk, supervisor
):
    app = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)
    pii = vault_read(app.customer_ref)

    html = _text(auditing.get(reverse("audit-application", args=[app.pk])))

    assert app.pseudonym in html
    for action in (AuditAction.APPLICATION_CREATED, AuditAction.APPLICATION_VERIFIED):
        assert str(action.label) in html or str(AuditAction(action).label) in html
    for value in (pii.name, pii.name_kana, pii.phone, pii.email):
        assert value not in html


def test_the_user_history_lists_what_the_person_did(auditing, new_application, clerk):
    new_application()

    html = _text(auditing.get(reverse("audit-user", kwargs={"user_id": clerk.pk})))

    assert "clerk_sato" in html
    assert str(AuditAction.APPLICATION_CREATED.label) in html or "created" in html.lower()


def test_chain_status_page_answers(auditing):
    html = _text(auditing.get(reverse("audit-chain")))
    assert 'data-testid="chain-status"' in html


def test_the_export_is_utf8_with_bom_neutralised_and_itself_audited(
    auditing, auditor, new_application, supervisor
):
    app = new_application()
    services.application_cancel(
        acting_user=supervisor, application_id=app.pk, reason='=HYPERLINK("http://x")'
    )

    response = auditing.get(reverse("audit-export"), {"action": AuditAction.APPLICATION_CANCELLED})
    body = b"".join(response.streaming_content).decode("utf-8")

    assert response["Content-Type"].startswith("text/csv")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    reason = rows[1][COLUMNS.index("reason")]
    assert reason.startswith("'=")
    export = AuditEvent.objects.filter(action=AuditAction.EXPORT).get()
    assert export.actor == auditor
    assert export.details["filters"] == {"action": AuditAction.APPLICATION_CANCELLED}


def test_neutralise_covers_every_formula_start():
    from apps.web.auditors.trail.export import neutralise

    for bad in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert neutralise(bad).startswith("'")
    assert neutralise("普通の文") == "普通の文"


def test_search_by_actor_finds_the_users_events_and_failed_sign_ins_under_a_name(
    new_application, clerk, supervisor
):
    from apps.audit.services import audit_record
    from apps.web.auditors.trail.search import EventFilter, search_events

    advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    audit_record(actor=None, action=AuditAction.LOGIN_FAILED, actor_username="no_such_user")

    by_clerk = search_events(EventFilter(actor=f" {clerk.username} "))
    assert by_clerk.exists()
    assert set(by_clerk.values_list("actor_id", flat=True)) == {clerk.pk}
    unknown = search_events(EventFilter(actor="no_such_user"))
    assert list(unknown.values_list("action", flat=True)) == [AuditAction.LOGIN_FAILED]
