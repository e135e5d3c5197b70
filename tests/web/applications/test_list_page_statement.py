"""The clerk's list reads a page without a search through a statement built once per
filter and page (apps.web.applications.views.clerk_list._page_read, issue 17): the same
rows and capped count as the ORM's queryset, for every filter and person; a search
keeps the ORM's way."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from apps.applications import services
from apps.core.counting import COUNT_CAP, capped_count
from apps.web.applications.views import clerk_list
from tests.conftest import advance
from tests.factories import application_input

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
        for key in ("", *clerk_list._FILTERS):
            for bottom in (0, 2):
                built = clerk_list._page_read("default", key, bottom, 2)
                rows = built.rows(connection, person=person.pk)
                assert rows == _orm_page(person, key, bottom, 2), (person, key, bottom)
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
