"""The home page: each role's queues with counts and the age of the oldest item."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.urls import reverse

from apps.applications.selectors import supervisor_queues
from apps.web.templatetags.shadan import age
from tests.conftest import advance

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def _home(client: Client, user) -> str:
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    return response.content.decode()


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_header_says_who_is_signed_in_with_division_and_role(client, supervisor):
    html = _home(client, supervisor)

    assert 'data-testid="who">super_takahashi<' in html
    assert "送配電部門" in html
    assert "上長" in html


def test_supervisor_sees_the_verification_queue_with_its_count(
    client, new_application, clerk, supervisor
):
    for _ in range(2):
        advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)

    html = _home(client, supervisor)

    row = html.split('data-queue="to_verify"')[1].split("</tr>")[0]
    assert '<td class="num">2</td>' in row


def test_clerk_sees_their_own_drafts_only(client, new_application, clerk, clerk2):
    new_application()

    mine = _home(client, clerk).split('data-queue="drafts"')[1].split("</tr>")[0]
    theirs = _home(Client(), clerk2).split('data-queue="drafts"')[1].split("</tr>")[0]

    assert '<td class="num">1</td>' in mine
    assert '<td class="num">0</td>' in theirs


def test_the_t_and_d_home_has_no_retail_section(
    client, new_application, clerk, supervisor, retail_user
):
    # Retail reads on the retail site (tests/retail); the T&D site shows it nothing.
    advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)

    html = _home(client, retail_user)

    assert "小売部門に表示" not in html and "visible to retail" not in html
    assert 'data-queue="to_verify"' not in html


def test_age_reads_in_days_and_hours():
    assert age(datetime.timedelta(days=3, hours=4, minutes=5)) in {"3日4時間", "3 d 4 h"}
    assert age(datetime.timedelta(hours=2, minutes=7)) in {"2時間7分", "2 h 7 min"}
    assert age(None) == "—"


def test_the_header_names_people_family_name_first(client):
    from tests.conftest import _person

    person = _person("named", "td", "clerk", last_name="受付", first_name="花子")

    assert 'data-testid="who">受付 花子<' in _home(client, person)


def test_lists_read_as_prose_in_each_language():
    from django.utils import translation

    from apps.web.templatetags.shadan import enumerate_words

    with translation.override("ja"):
        assert enumerate_words(["市区町村", "備考"]) == "市区町村、備考"
    with translation.override("en"):
        assert enumerate_words(["town", "remarks"]) == "town, remarks"


def test_auditors_header_links_their_three_pages_and_nobody_elses_does(
    client, auditor, supervisor, retail_user
):
    auditor_pages = [reverse(n) for n in ("audit-search", "access-review-queue", "exposure-home")]

    html = _home(client, auditor)
    assert all(f'href="{url}"' in html for url in auditor_pages)
    for other in (supervisor, retail_user):
        html = _home(Client(), other)
        assert not any(f'href="{url}"' in html for url in auditor_pages)


def test_a_long_queue_shows_the_cap_and_a_plus_and_its_query_stops_there(
    client, new_application, clerk, supervisor, monkeypatch
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.applications import selectors

    monkeypatch.setattr(selectors, "COUNT_CAP", 2)
    for _ in range(3):
        advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    client.force_login(supervisor)

    with CaptureQueriesContext(connection) as queries:
        html = client.get(reverse("home")).content.decode()

    row = html.split('data-queue="to_verify"')[1].split("</tr>")[0]
    assert '<td class="num">2+</td>' in row
    # The header's unread count has its own cap (tests/web/test_persona.py).
    counts = [
        q["sql"]
        for q in queries.captured_queries
        if "COUNT(" in q["sql"].upper() and "notifications_inboxentry" not in q["sql"]
    ]
    assert counts
    # Every count on the page reads at most the cap and one more row.
    assert all("LIMIT 3" in sql for sql in counts)


def test_a_queue_exactly_at_the_cap_shows_no_plus(
    client, new_application, clerk, supervisor, monkeypatch
):
    from apps.applications import selectors

    monkeypatch.setattr(selectors, "COUNT_CAP", 2)
    for _ in range(2):
        advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)

    row = _home(client, supervisor).split('data-queue="to_verify"')[1].split("</tr>")[0]

    assert '<td class="num">2</td>' in row


def test_the_queues_age_is_its_oldest_item(client, new_application, clerk, supervisor):
    older = new_application()
    advance(older, "encoded", clerk=clerk, supervisor=supervisor)
    advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    older.refresh_from_db()

    (to_verify,) = [q for q in supervisor_queues() if q.key == "to_verify"]

    assert (to_verify.count, to_verify.count_capped) == (2, False)
    assert to_verify.oldest == older.encoded_at
