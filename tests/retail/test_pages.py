"""The retail site's pages: verified applications only, masked, searchable, paged; 404 for
the rest; every application shown is written to the retail view log."""

from __future__ import annotations

import re
from unittest import mock

import pytest
from django.db import connections
from django.db.models.sql.compiler import SQLCompiler
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.applications import services
from apps.publication import selectors
from apps.publication.models import (
    PublishedApplication,
    RetailAccount,
    RetailView,
    RetailViewLog,
)
from tests.conftest import PASSWORD, advance, replicate
from tests.retail.site import LIST, AllQueries, RetailSiteClient, account_of, detail

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])

CANARY = {
    "customer_name": "見本 遮断太郎",
    "customer_name_kana": "ミホン シャダンタロウ",
    "customer_phone": "098-555-0199",
    "customer_email": "canary.pii@example.invalid",
    "street_address": "見本町9丁目99番地",
}


def _detail(application) -> str:
    return detail(application.reference)


def _assert_no_canary(text: str) -> None:
    for value in CANARY.values():
        assert value not in text
    assert "5550199" not in text.replace("-", "")


# --- the list -------------------------------------------------------------------------


def test_retail_list_shows_verified_applications_masked_in_every_column(
    retail_client, verified, new_application, clerk, supervisor
):
    shown = verified(**CANARY)
    hidden = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)

    response = retail_client.get(LIST)

    assert response.status_code == 200
    html = response.content.decode()
    row = html.split(f'data-reference="{shown.reference}"')[1].split("</tr>")[0]
    assert _detail(shown) in row
    assert shown.pseudonym in row
    assert shown.supply_point_id in row
    assert shown.retailer.name in row
    assert "低圧" in row or "Low voltage" in row
    assert "6.0" in row
    assert shown.requested_start_date.strftime("%Y/%m/%d") in row
    assert 'data-testid="state"' in row
    assert 'class="badge masking-verified"' in row
    assert hidden.reference not in html
    _assert_no_canary(html)


def test_retail_list_says_so_when_nothing_is_visible(retail_client, new_application):
    new_application()

    html = retail_client.get(LIST).content.decode()

    assert 'data-testid="retail-list"' not in html
    assert 'class="callout"' in html


@pytest.mark.parametrize(
    "typed",
    [
        lambda a: a.reference,
        lambda a: a.reference.lower().replace("-", ""),
        lambda a: a.reference.translate(str.maketrans("0123456789-", "０１２３４５６７８９－")),
        lambda a: a.supply_point_id,
        lambda a: a.supply_point_id.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
    ],
    ids=["reference", "lowercase-no-hyphen", "full-width-reference", "spid", "full-width-spid"],
)
def test_retail_search_finds_by_reference_or_supply_point_id(retail_client, verified, typed):
    wanted, other = verified(), verified()

    html = retail_client.get(LIST, {"q": typed(wanted)}).content.decode()

    assert f'data-reference="{wanted.reference}"' in html
    assert f'data-reference="{other.reference}"' not in html


def test_retail_search_keeps_what_was_typed_and_says_when_nothing_matches(retail_client, verified):
    verified()

    html = retail_client.get(LIST, {"q": "SD1999-9999999"}).content.decode()

    assert 'value="SD1999-9999999"' in html
    assert 'data-testid="retail-list"' not in html
    assert 'class="callout"' in html


def test_retail_search_cannot_find_an_application_that_is_not_verified(
    retail_client, new_application, clerk, supervisor
):
    encoded = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)

    html = retail_client.get(LIST, {"q": encoded.supply_point_id}).content.decode()

    assert encoded.reference not in html


def _next_link(html: str) -> str:
    found = re.search(r'href="([^"]*)" rel="next"', html)
    assert found, "no next link"
    return found.group(1).replace("&amp;", "&")


def _shown(html: str) -> set[str]:
    return set(re.findall(r'data-reference="([^"]+)"', html))


def test_retail_list_pages_by_25_in_the_database(retail_client, verified):
    apps = [verified() for _ in range(26)]

    with CaptureQueriesContext(connections["retail"]) as queries:
        first = retail_client.get(LIST)
    # read now: the next request clears the connection's query log
    sql = [q["sql"] for q in queries.captured_queries]
    first_html = first.content.decode()
    second_html = retail_client.get(LIST + _next_link(first_html)).content.decode()
    by_number = retail_client.get(LIST, {"page": 2}).content.decode()

    assert first_html.count("data-reference=") == 25
    assert second_html.count("data-reference=") == 1
    # newest verification first: the oldest one is alone on page 2, by cursor or number
    assert _shown(second_html) == _shown(by_number) == {apps[0].reference}
    # one row more than the page tells whether there is a next page
    assert any("supply_point_id" in q and q.endswith("LIMIT 26") for q in sql)


def test_the_next_link_continues_after_the_last_row_shown(retail_client, verified):
    apps = [verified() for _ in range(30)]

    first_html = retail_client.get(LIST).content.decode()
    link = _next_link(first_html)
    # A newer verification arrives between the pages: offset paging would repeat a row.
    newer = verified()
    second_html = retail_client.get(LIST + link).content.decode()

    assert "page=2" in link and "after=" in link
    first, second = _shown(first_html), _shown(second_html)
    assert not first & second
    assert first | second == {a.reference for a in apps}
    assert newer.reference not in second
    previous = re.search(r'href="([^"]*)" rel="prev"', second_html)
    assert previous and "before=" in previous.group(1)
    back_html = retail_client.get(LIST + previous.group(1).replace("&amp;", "&")).content.decode()
    assert _shown(back_html) == first


def test_pages_split_rows_verified_at_the_same_instant_by_id(retail_client, verified):
    # given 30 rows with one verification time (a batch, or a coarse clock): only the id
    # orders them, on the cursor's side and the offset's
    apps = [verified() for _ in range(30)]
    PublishedApplication.objects.update(verified_at=timezone.now())

    first_html = retail_client.get(LIST).content.decode()
    second_html = retail_client.get(LIST + _next_link(first_html)).content.decode()
    by_number = retail_client.get(LIST, {"page": 2}).content.decode()

    first, second = _shown(first_html), _shown(second_html)
    assert len(first) == 25 and not first & second
    assert first | second == {a.reference for a in apps}
    # newest id first: the five oldest on page 2, by cursor and by number alike
    assert second == _shown(by_number) == {a.reference for a in apps[:5]}


def test_a_cursor_only_positions_the_list_both_locks_still_apply(
    retail_client, verified, new_application, clerk, supervisor
):
    visible = verified()
    hidden = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)

    far = retail_client.get(LIST, {"after": "99999999999999999.999999", "page": "7"})
    garbage = retail_client.get(LIST, {"after": "not-a-cursor"})

    assert _shown(far.content.decode()) == {visible.reference}
    assert hidden.reference not in far.content.decode()
    assert garbage.status_code == 200
    assert _shown(garbage.content.decode()) == {visible.reference}


def test_the_count_stops_at_the_cap(retail_account, verified, monkeypatch):
    from apps.publication import selectors

    monkeypatch.setattr(selectors, "COUNT_CAP", 3)
    for _ in range(5):
        verified()

    page = selectors.retail_application_page(account=retail_account, per_page=2)

    assert (page.count, page.count_capped, page.num_pages, page.has_next) == (3, True, None, True)


def test_retail_list_page_links_keep_the_search(retail_client, verified):
    from tests.factories import supply_point_id

    shared = supply_point_id(990001)  # several applications for one supply point
    for _ in range(26):
        verified(supply_point_id=shared)
    verified()

    page_one = retail_client.get(LIST, {"q": shared}).content.decode()
    link = _next_link(page_one)
    page_two = retail_client.get(LIST + link).content.decode()

    assert link.startswith(f"?q={shared}&page=2&after=")
    assert page_one.count("data-reference=") == 25
    assert page_two.count("data-reference=") == 1
    assert f'href="?q={shared}&amp;page=1&amp;before=' in page_two


def test_retail_list_query_count_is_the_same_at_page_sizes_10_and_50(
    retail_client, verified, monkeypatch
):
    from apps.publication import selectors

    for _ in range(15):
        verified()
    retail_client.get(LIST)  # warm-up: session, content types
    counts = {}
    for size in (10, 50):
        monkeypatch.setattr(selectors, "RETAIL_PAGE_SIZE", size)
        # At most 10 (issue 7); four: the session, its account with the header's
        # unread count, the page with its capped count, the view log of the rows shown
        # in one INSERT.
        with AllQueries() as queries:
            html = retail_client.get(LIST).content.decode()
        assert html.count("data-reference=") == min(size, 15)
        assert len(queries) == 4, queries.sql
        assert sum(sql.startswith("INSERT") for sql in queries.sql) == 1
        counts[size] = len(queries)

    assert counts[10] == counts[50]


def test_a_deep_page_by_number_costs_no_more_queries_than_the_first(retail_client, verified):
    for _ in range(27):
        verified()
    retail_client.get(LIST)  # warm-up

    with AllQueries() as queries:
        html = retail_client.get(LIST, {"page": "2"}).content.decode()

    assert html.count("data-reference=") == 2
    assert len(queries) == 4, queries.sql


def test_a_page_number_out_of_range_shows_the_last_page(retail_client, verified):
    app = verified()

    response = retail_client.get(LIST, {"page": "99"})

    assert response.status_code == 200
    assert f'data-reference="{app.reference}"' in response.content.decode()


def test_retail_list_records_which_applications_were_shown(retail_client, verified, retail_user):
    a, b = verified(), verified()

    response = retail_client.get(LIST, HTTP_USER_AGENT="test-agent/1", REMOTE_ADDR="10.0.0.7")

    rows = list(RetailViewLog.objects.order_by("application_id"))
    assert [r.application_id for r in rows] == sorted([a.pk, b.pk])
    assert {r.reference for r in rows} == {a.reference, b.reference}
    for row in rows:
        assert (row.account_id, row.username, row.view) == (
            retail_user.pk,
            retail_user.username,
            RetailView.LIST,
        )
        assert row.request_id == response["X-Request-ID"]
        assert (row.client_ip, row.user_agent) == ("10.0.0.7", "test-agent/1")


# --- the detail page ------------------------------------------------------------------


def test_retail_detail_shows_the_masked_record(retail_client, verified):
    app = verified(**CANARY)

    response = retail_client.get(_detail(app))

    assert response.status_code == 200
    html = response.content.decode()
    assert app.pseudonym in html
    assert app.supply_point_id in html
    assert app.contractor_name in html
    assert "那覇市" in html
    assert 'class="badge masking-verified"' in html
    _assert_no_canary(html)


def test_retail_detail_view_is_recorded_against_the_application(
    retail_client, verified, retail_user
):
    app = verified()

    retail_client.get(_detail(app))

    row = RetailViewLog.objects.get(view=RetailView.DETAIL)
    assert (row.application_id, row.reference, row.pseudonym) == (
        app.pk,
        app.reference,
        app.pseudonym,
    )
    assert row.account_id == retail_user.pk


def _page_without_tokens(response) -> str:
    html = response.content.decode()
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)
    return re.sub(r'name="next" value="[^"]*"', "", html)


@pytest.mark.parametrize("state", ["draft", "entered", "encoded"])
def test_retail_detail_of_an_unverified_application_is_the_same_404_as_a_missing_one(
    retail_client, new_application, clerk, supervisor, state
):
    app = advance(new_application(**CANARY), state, clerk=clerk, supervisor=supervisor)
    reference = app.reference or app.pseudonym

    hidden = retail_client.get(detail(reference))
    missing = retail_client.get(detail("SD2099-9999999"))

    assert hidden.status_code == missing.status_code == 404
    assert _page_without_tokens(hidden) == _page_without_tokens(missing)
    _assert_no_canary(hidden.content.decode())
    assert not RetailViewLog.objects.exclude(view=RetailView.NOT_FOUND).exists()


def test_retail_detail_answers_404_once_the_application_is_cancelled(
    retail_client, verified, supervisor
):
    app = verified()
    assert retail_client.get(_detail(app)).status_code == 200

    services.application_cancel(
        acting_user=supervisor, application_id=app.pk, reason="申込者の都合による取消"
    )
    replicate()

    assert retail_client.get(_detail(app)).status_code == 404


def test_retail_detail_answers_404_after_the_retailer_changes(retail_client, verified, clerk):
    from tests.factories import make_retailer

    app = verified()
    other = make_retailer(code="A0099", name="きた新電力")

    services.application_change_retailer(
        acting_user=clerk, application_id=app.pk, expected_version=app.version, retailer_id=other.pk
    )
    replicate()

    assert retail_client.get(_detail(app)).status_code == 404
    assert app.reference not in retail_client.get(LIST).content.decode()


# --- who may open them ----------------------------------------------------------------


@pytest.mark.parametrize(
    "persona", ["clerk", "supervisor", "construction", "auditor", "administrator"]
)
def test_people_outside_retail_cannot_sign_in_to_the_retail_site(request, persona):
    # Provisioning gives only retail people an account in the retail database.
    person = request.getfixturevalue(persona)
    client = RetailSiteClient()

    response = client.post("/accounts/login/", {"username": person.username, "password": PASSWORD})

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_a_retail_person_signs_in_with_the_password_of_their_account(retail_user, verified):
    app = verified()
    account_of(retail_user)
    client = RetailSiteClient()

    response = client.post(
        "/accounts/login/", {"username": retail_user.username, "password": PASSWORD}
    )

    assert response.status_code == 302 and response["Location"] == LIST
    assert f'data-reference="{app.reference}"' in client.get(LIST).content.decode()
    assert client.cookies.get("shadan_retail_session")
    assert "sessionid" not in client.cookies


def test_an_inactive_account_cannot_sign_in(retail_user):
    account = account_of(retail_user)
    account.is_active = False
    account.save()

    response = RetailSiteClient().post(
        "/accounts/login/", {"username": retail_user.username, "password": PASSWORD}
    )

    assert response.status_code == 200


def test_anonymous_visitors_are_sent_to_sign_in_from_the_retail_pages(verified):
    app = verified()
    client = RetailSiteClient()

    for url in (LIST, _detail(app), "/inbox/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/login/?next={url}"


def test_retail_pages_only_answer_reads(retail_client, verified):
    app = verified()

    assert retail_client.post(LIST).status_code == 405
    assert retail_client.post(_detail(app)).status_code == 405


def test_the_list_page_query_count_does_not_grow_with_the_rows_shown(retail_client, verified):
    verified()
    retail_client.get(LIST)
    with AllQueries() as few:
        retail_client.get(LIST)
    for _ in range(5):
        verified()
    with AllQueries() as more:
        retail_client.get(LIST)

    assert len(more) == len(few)


# --- what the supervisor checked is what retail reads -----------------------------------


def _retail_fields(html: str) -> str:
    match = re.search(r'<dl data-testid="retail-fields">.*?</dl>', html, re.DOTALL)
    assert match, "the retail fields are missing"
    return match.group(0)


def test_retail_reads_byte_for_byte_the_preview_the_supervisor_verified(
    retail_client, new_application, clerk, supervisor
):
    # given: the supervisor's review page of an encoded application
    app = advance(
        new_application(remarks="引込柱は北側\n工事は午前中"),
        "encoded",
        clerk=clerk,
        supervisor=supervisor,
    )
    reviewer = Client()
    reviewer.force_login(supervisor)
    preview = _retail_fields(reviewer.get(reverse("review-page", args=[app.pk])).content.decode())

    # when: verified, and read by retail
    services.application_verify(
        acting_user=supervisor, application_id=app.pk, expected_version=app.version
    )
    replicate()
    shown = _retail_fields(retail_client.get(_detail(app)).content.decode())

    # then
    assert 'data-field="remarks">引込柱は北側<br>工事は午前中' in preview
    assert shown == preview


def test_a_retailer_renamed_after_verification_does_not_change_what_retail_reads(
    retail_client, verified, retailer, administrator
):
    from apps.retailers.services import retailer_rename

    app = verified()
    before = _retail_fields(retail_client.get(_detail(app)).content.decode())
    assert retailer.name in before

    retailer_rename(acting_user=administrator, retailer_id=retailer.pk, name="新しい名前電力")
    replicate()

    # Withdrawn until checked again under the new name; never shown unchecked.
    assert retail_client.get(_detail(app)).status_code == 404
    assert "新しい名前電力" not in retail_client.get(LIST).content.decode()


def test_the_list_counts_up_to_the_cap_and_says_more_than(retail_client, verified, monkeypatch):
    from apps.publication import selectors

    monkeypatch.setattr(selectors, "COUNT_CAP", 1)
    for _ in range(2):
        verified()

    with AllQueries() as queries:
        html = retail_client.get(LIST).content.decode()

    said = ("1 件超", "More than 1 applications")
    assert any(words in html for words in said)
    counts = [
        sql
        for sql in queries.sql
        if "COUNT(" in sql.upper() and "publication_publishedapplication" in sql
    ]
    assert counts
    assert all("LIMIT 2" in sql for sql in counts)


def test_the_pages_read_through_built_statements_are_the_querysets_pages(verified, retail_user):
    """An active account's first page and a page after a cursor, unsearched, come from
    statements built once per process (`_page_read`): the same rows, counts and links as
    the queryset's own pages (the T&D reader's path), and no ORM compiling on a view."""
    apps = [verified() for _ in range(30)]
    PublishedApplication.objects.filter(application_id__in=[a.pk for a in apps[:10]]).update(
        verified_at=timezone.now()
    )  # ten at one instant: the cursor orders them by id
    account = RetailAccount.objects.using("retail").get(username=retail_user.username)
    everything = selectors.visible_to(account)
    # What the built statements assume: an active account sees every published row.
    assert str(everything.query) == str(PublishedApplication.objects.all().query)

    first = selectors.retail_application_page(account=account)
    assert first == selectors.published_page(everything)
    after = selectors.retail_application_page(
        account=account, page_number=2, after=first.next_cursor
    )
    assert after == selectors.published_page(everything, page_number=2, after=first.next_cursor)
    assert len(first.rows) == 25 and len(after.rows) == 5 and first.count == 30
    assert {r["id"] for r in first.rows + after.rows} == {a.pk for a in apps}

    with mock.patch.object(SQLCompiler, "as_sql", side_effect=AssertionError("compiled")):
        again = selectors.retail_application_page(
            account=account, page_number=2, after=first.next_cursor
        )
    assert again == after
