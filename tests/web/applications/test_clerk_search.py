"""The clerk list's search (reference, supply point ID, customer name through the blind
index) and its counts per state."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.db import connections
from django.urls import reverse

from apps.audit.models import AuditAction, AuditEvent
from tests.conftest import advance

pytestmark = pytest.mark.django_db(databases=["default", "vault"])

# Nobody's name but this test's; it must appear nowhere but the clerk's own page.
CANARY_NAME = "鵜飼 乃々華"


def _html(response: Any) -> str:
    return response.content.decode()


def _rows(html: str) -> set[str]:
    table = (
        html.split('data-testid="applications"')[1].split("</table>")[0]
        if ('data-testid="applications"' in html)
        else ""
    )
    return {part.split('"')[0] for part in table.split('data-application="')[1:]}


def test_a_clerk_finds_an_application_by_part_of_its_reference(client, clerk, new_application):
    wanted, other = new_application(), new_application()
    client.force_login(clerk)

    html = _html(client.get(reverse("clerk-list"), {"reference": wanted.reference[-7:]}))

    assert _rows(html) == {str(wanted.pk)}
    assert str(other.pk) not in _rows(html)


def test_a_clerk_finds_an_application_by_supply_point_id_typed_in_full_width_groups(
    client, clerk, new_application
):
    wanted = new_application(supply_point_id="1012345678901234567890")
    new_application(supply_point_id="1099999999999999999999")
    client.force_login(clerk)

    html = _html(client.get(reverse("clerk-list"), {"supply_point": "１０１２ ３４５６ ７８９０"}))

    assert _rows(html) == {str(wanted.pk)}


def test_the_search_box_sends_a_reference_search_to_the_list_as_a_query(client, clerk):
    client.force_login(clerk)

    response = client.post(reverse("clerk-search"), {"key": "reference", "text": "SD2026"})

    assert response.status_code == 302
    assert response["Location"] == reverse("clerk-list") + "?reference=SD2026"


def test_a_customer_name_search_finds_by_the_blind_index_and_keeps_the_name_out_of_records(
    client, clerk, new_application, caplog
):
    # given: one application of the canary customer, one of someone else
    wanted = new_application(customer_name=CANARY_NAME, customer_name_kana="ウカイ ノノカ")
    other = new_application()
    client.force_login(clerk)
    caplog.set_level(logging.DEBUG)

    # when: the name is typed without its space, as a clerk on the phone would
    response = client.post(
        reverse("clerk-search"), {"key": "customer_name", "text": CANARY_NAME.replace(" ", "")}
    )

    # then: found, answered in the POST response (no redirect carrying the name)
    assert response.status_code == 200
    html = _html(response)
    assert _rows(html) == {str(wanted.pk)}
    assert str(other.pk) not in _rows(html)
    assert 'data-testid="name-search-result"' in html
    # recorded: who searched and how many were found, never the name
    event = AuditEvent.objects.get(action=AuditAction.APPLICATION_CUSTOMER_SEARCHED)
    assert event.actor_id == clerk.pk
    assert event.details == {"results": 1}
    # the canary is in no URL, no log line and no column of the audit table
    assert "鵜飼" not in response.request["PATH_INFO"] + response.request.get("QUERY_STRING", "")
    assert "鵜飼" not in html.split('<form method="post" action="' + reverse("clerk-search"))[0]
    assert "鵜飼" not in caplog.text and "ウカイ" not in caplog.text
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT * FROM audit_auditevent")
        dump = repr(cursor.fetchall())
    assert "鵜飼" not in dump and "ウカイ" not in dump and "乃々華" not in dump


def test_a_name_search_in_kana_finds_the_customer_too(client, clerk, new_application):
    wanted = new_application(customer_name=CANARY_NAME, customer_name_kana="ウカイ ノノカ")
    client.force_login(clerk)

    html = _html(
        client.post(reverse("clerk-search"), {"key": "customer_name", "text": "うかい ののか"})
    )

    assert _rows(html) == {str(wanted.pk)}


def test_a_name_search_that_finds_nothing_is_recorded_too(client, supervisor, new_application):
    new_application()
    client.force_login(supervisor)

    html = _html(
        client.post(reverse("clerk-search"), {"key": "customer_name", "text": "該当 なし"})
    )

    assert _rows(html) == set()
    event = AuditEvent.objects.get(action=AuditAction.APPLICATION_CUSTOMER_SEARCHED)
    assert (event.actor_id, event.details) == (supervisor.pk, {"results": 0})


def test_a_name_search_never_matches_a_part_of_a_name(client, clerk, new_application):
    new_application(customer_name=CANARY_NAME)
    client.force_login(clerk)

    html = _html(client.post(reverse("clerk-search"), {"key": "customer_name", "text": "鵜飼"}))

    assert _rows(html) == set()


def test_a_name_search_by_get_is_refused(client, clerk):
    client.force_login(clerk)

    assert client.get(reverse("clerk-search"), {"key": "customer_name"}).status_code == 405


@pytest.mark.parametrize("persona", ["construction", "retail_user", "auditor"])
def test_other_roles_cannot_search(client, persona, request):
    client.force_login(request.getfixturevalue(persona))

    response = client.post(reverse("clerk-search"), {"key": "customer_name", "text": "x y"})

    assert response.status_code in (403, 404)
    assert not AuditEvent.objects.filter(action=AuditAction.APPLICATION_CUSTOMER_SEARCHED).exists()


def test_an_empty_search_shows_the_error_summary_and_records_nothing(client, clerk):
    client.force_login(clerk)

    html = _html(client.post(reverse("clerk-search"), {"key": "customer_name", "text": ""}))

    assert 'data-testid="error-summary"' in html
    assert 'href="#id_text"' in html
    assert not AuditEvent.objects.filter(action=AuditAction.APPLICATION_CUSTOMER_SEARCHED).exists()


# --- counts per state, the current filter -------------------------------------------------


def test_the_list_counts_each_state_in_one_query_and_marks_the_current_filter(
    client, clerk, clerk2, supervisor, new_application, django_assert_num_queries
):
    new_application()  # a draft of mine
    advance(new_application(), "entered", clerk=clerk, supervisor=supervisor)
    advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    from apps.web.applications.views.clerk_list import state_counts

    with django_assert_num_queries(1):
        counts = state_counts(clerk)

    assert counts["all"] == 3
    assert (counts["draft"], counts["entered"], counts["to_encode"], counts["encoded"]) == (
        1,
        1,
        1,
        1,
    )
    assert state_counts(clerk2)["draft"] == 0  # someone else's draft is not on their desk
    client.force_login(clerk)
    html = _html(client.get(reverse("clerk-list"), {"state": "entered"}))
    assert 'data-testid="count-entered">1<' in html
    assert 'data-testid="count-all">3<' in html
    current = [
        part.split(">")[0]
        for part in html.split("<a ")[1:]
        if 'aria-current="page"' in part.split(">")[0]
    ]
    assert len(current) == 1 and 'data-filter="entered"' in current[0]
