"""The clerk's list reads a page without a search through a statement built once per
filter and page (apps.web.applications.views.clerk_list._page_read, issue 17), and the
approval queue one per set of filters in use and page (supervisor._queue_page): the same
rows and capped count as the ORM's queryset, for every filter, value and person; the
clerk's search keeps the ORM's way."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from apps.applications import services
from apps.applications.models import Application
from apps.core.counting import COUNT_CAP, capped_count
from apps.vocabulary.states import ContractClass
from apps.web.applications.forms_review import QueueFilter
from apps.web.applications.views import clerk_list
from apps.web.applications.views import supervisor as queue_views
from tests.conftest import advance
from tests.factories import application_input, make_retailer

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def _orm_page(person, key: str, bottom: int, size: int) -> list[dict]:
    queryset = clerk_list._listed(person, clerk_list._FILTERS.get(key))
    found = capped_count(queryset, COUNT_CAP)
    return list(queryset.annotate(capped_found=found)[bottom : bottom + size])


def test_every_filters_page_is_the_querysets_page(
    new_application, clerk, clerk2, supervisor, retailer
):
    # given: drafts of two people, and applications further along
    new_application()
    new_application()
    theirs = services.application_create(acting_user=clerk2, data=application_input(retailer))
    advance(new_application(), "entered", clerk=clerk, supervisor=supervisor)
    advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)

    for person in (clerk, clerk2):
        counts = clerk_list.state_counts(person)
        for key in ("", *clerk_list._FILTERS):
            for bottom in (0, 2):
                built = clerk_list._page_read("default", key, bottom, 2)
                rows, alike = built.read(connection, person=person.pk)
                orm = _orm_page(person, key, bottom, 2)
                # the same rows, and every filter's count beside them, the page's own among them
                assert rows == [
                    {name: value for name, value in row.items() if name != "capped_found"}
                    for row in orm
                ], (person, key, bottom)
                if orm:
                    assert clerk_list._counts_of(alike) == counts
                    assert counts[key or "all"] == orm[0]["capped_found"]
                else:
                    assert alike == {}
    drafts = clerk_list._page_read("default", "draft", 0, 50)
    assert [r["id"] for r in drafts.rows(connection, person=clerk2.pk)] == [theirs.pk]
    assert len(drafts.rows(connection, person=clerk.pk)) == 2


def test_the_list_reads_its_page_by_the_built_statement_and_a_search_does_not(
    client, clerk, new_application
):
    app = new_application()
    client.force_login(clerk)
    url = reverse("clerk-list")
    client.get(url, {"state": "draft"})
    before = clerk_list._page_read.cache_info()

    html = client.get(url, {"state": "draft"}).content.decode()
    searched = client.get(url, {"reference": app.reference}).content.decode()

    after = clerk_list._page_read.cache_info()
    assert (after.hits, after.misses) == (before.hits + 1, before.misses)
    assert f'data-application="{app.pk}"' in html and f'data-application="{app.pk}"' in searched


def test_every_set_of_queue_filters_reads_the_querysets_page(
    new_application, clerk, supervisor, retailer
):
    # given: encoded applications of two retailers and two classes, of different ages
    other = make_retailer(code="B0077")
    apps = [
        advance(new_application(**data), "encoded", clerk=clerk, supervisor=supervisor)
        for data in (
            {},
            {"retailer": other.pk},
            {"contract_class": ContractClass.HIGH, "contract_capacity_kw": "100"},
            {
                "retailer": other.pk,
                "contract_class": ContractClass.HIGH,
                "contract_capacity_kw": "200",
            },
        )
    ]
    for days, app in enumerate(apps):
        Application.objects.filter(pk=app.pk).update(
            encoded_at=timezone.now() - dt.timedelta(days=days * 2)
        )
    values = {
        "retailer_id": [retailer.pk, other.pk],
        "contract_class": [ContractClass.LOW, ContractClass.HIGH],
        "encoded_by": [timezone.now() - dt.timedelta(days=3), timezone.now()],
    }

    for shape in itertools.product((False, True), repeat=3):
        named = [name for name, used in zip(values, shape, strict=True) if used]
        for chosen_values in itertools.product(*(values[name] for name in named)):
            chosen = QueueFilter(**dict(zip(named, chosen_values, strict=True)))
            assert chosen.shape == shape
            for bottom in (0, 1):
                built = queue_views._queue_page("default", shape, bottom, 2)
                slots = {
                    "retailer": chosen.retailer_id,
                    "contract_class": chosen.contract_class,
                    "encoded_by": chosen.encoded_by,
                }
                rows = built.rows(connection, **{k: v for k, v in slots.items() if v is not None})
                queryset = chosen.filter(queue_views._queued())
                orm = list(
                    queryset.annotate(capped_found=capped_count(queryset, COUNT_CAP))[
                        bottom : bottom + 2
                    ]
                )
                assert rows == orm, (chosen, bottom)
    everything = queue_views._queue_page("default", (False, False, False), 0, 50)
    assert [row["id"] for row in everything.rows(connection)] == [a.pk for a in reversed(apps)]


def test_the_queue_reads_its_page_by_the_built_statement(client, supervisor, encoded_app):
    client.force_login(supervisor)
    url = reverse("review-queue")
    client.get(url, {"contract_class": encoded_app.contract_class})
    before = queue_views._queue_page.cache_info()

    html = client.get(url, {"contract_class": encoded_app.contract_class}).content.decode()

    after = queue_views._queue_page.cache_info()
    assert (after.hits, after.misses) == (before.hits + 1, before.misses)
    assert f'data-application="{encoded_app.pk}"' in html


@pytest.fixture
def encoded_app(new_application, clerk, supervisor):
    return advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)


def test_a_page_with_rows_brings_the_filters_counts_and_an_empty_page_reads_them(
    client, clerk, new_application, monkeypatch
):
    new_application()
    new_application()
    client.force_login(clerk)
    url = reverse("clerk-list")
    read_apart = []
    counts = clerk_list.state_counts

    def state_counts(user):
        read_apart.append(user)
        return counts(user)

    monkeypatch.setattr(clerk_list, "state_counts", state_counts)

    with_rows = client.get(url, {"state": "draft"}).content.decode()
    assert read_apart == []
    empty = client.get(url, {"state": "cancelled"}).content.decode()
    assert read_apart == [clerk]

    for html in (with_rows, empty):
        assert 'data-testid="count-draft">2<' in html
        assert 'data-testid="count-all">2<' in html
        assert 'data-testid="count-cancelled">0<' in html


def test_the_lists_build_no_queryset_for_a_page_their_statement_reads(
    client, clerk, supervisor, new_application, monkeypatch
):
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    for person, page in ((clerk, "clerk-list"), (supervisor, "review-queue")):
        client.force_login(person)
        client.get(reverse(page))  # the statements built once, before the spies
    built = []
    listed, queued = clerk_list._listed, queue_views._queued

    def spy_listed(*args):
        built.append("list")
        return listed(*args)

    def spy_queued():
        built.append("queue")
        return queued()

    monkeypatch.setattr(clerk_list, "_listed", spy_listed)
    monkeypatch.setattr(queue_views, "_queued", spy_queued)

    client.force_login(clerk)
    shown = client.get(reverse("clerk-list")).content.decode()
    assert built == []
    searched = client.get(reverse("clerk-list"), {"reference": app.reference}).content.decode()
    assert built == ["list"]
    client.force_login(supervisor)
    queue = client.get(reverse("review-queue")).content.decode()
    assert built == ["list"]

    for html in (shown, searched, queue):
        assert f'data-application="{app.pk}"' in html


def test_the_queues_count_reads_the_queue_without_the_rows_joins():
    """The capped count walks the queue's own index: no retailer or encoder joined (at
    large, joined, PostgreSQL scanned the table instead)."""
    for shape in itertools.product((False, True), repeat=3):
        sql = queue_views._queue_page("default", shape, 0, 25).statement.sql
        count = sql[sql.index("(SELECT COUNT(*) FROM") : sql.index("AS capped)")]
        assert "retailers_retailer" not in count and "accounts_user" not in count, shape
        assert "retailers_retailer" in sql  # the rows still show the retailer
