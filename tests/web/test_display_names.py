"""T&D queues and the review page name people by display name, family name first."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.applications import services
from tests.conftest import advance

pytestmark = pytest.mark.django_db(databases=["default", "vault"])


@pytest.fixture
def named(clerk, supervisor2):
    clerk.last_name, clerk.first_name = "受付", "花子"
    clerk.save(update_fields=["last_name", "first_name"])
    supervisor2.last_name, supervisor2.first_name = "上長", "一郎"
    supervisor2.save(update_fields=["last_name", "first_name"])
    return clerk


def test_the_approval_queue_and_review_page_name_the_clerk_family_name_first(
    client, named, supervisor, new_application
):
    app = advance(new_application(), "encoded", clerk=named, supervisor=supervisor)
    client.force_login(supervisor)

    queue = client.get(reverse("review-queue")).content.decode()
    review = client.get(reverse("review-page", args=[app.pk])).content.decode()

    for html in (queue, review):
        assert "受付 花子" in html
        assert "花子 受付" not in html
        assert named.username not in html.split("<main>")[1]


def test_the_returned_list_and_application_page_name_who_returned_it(
    client, named, supervisor2, new_application
):
    app = advance(new_application(), "encoded", clerk=named, supervisor=supervisor2)
    services.application_record_review_opened(acting_user=supervisor2, application_id=app.pk)
    services.application_return(
        acting_user=supervisor2,
        application_id=app.pk,
        reason="容量を確認",
        expected_version=app.version,
    )
    client.force_login(named)

    for url in (reverse("clerk-returned"), reverse("application-detail", args=[app.pk])):
        main = client.get(url).content.decode().split("<main>")[1]
        assert "上長 一郎" in main, url
        assert supervisor2.username not in main, url
