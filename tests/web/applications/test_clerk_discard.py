"""The clerk's list and application page offer to discard their own draft; the discard
page asks for confirmation and a POST deletes it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.applications.models import Application
from apps.audit.models import AuditAction, AuditEvent
from tests.conftest import _person, advance

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def test_my_draft_in_the_list_links_to_its_discard_page(client, clerk, new_application):
    app = new_application()
    client.force_login(clerk)

    html = client.get(reverse("clerk-list"), {"state": "draft"}).content.decode()

    row = html.split(f'data-application="{app.pk}"')[1].split("</tr>")[0]
    assert reverse("clerk-discard", args=[app.pk]) in row


def test_the_discard_page_asks_first_and_discards_nothing(client, clerk, new_application):
    app = new_application()
    client.force_login(clerk)

    response = client.get(reverse("clerk-discard", args=[app.pk]))

    assert response.status_code == 200
    assert 'data-testid="discard-form"' in response.content.decode()
    assert Application.objects.filter(pk=app.pk).exists()


def test_confirming_discards_the_draft_and_returns_to_my_drafts(client, clerk, new_application):
    app = new_application()
    client.force_login(clerk)

    response = client.post(reverse("clerk-discard", args=[app.pk]), {"version": app.version})

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('clerk-list')}?state=draft"
    assert not Application.objects.filter(pk=app.pk).exists()
    assert AuditEvent.objects.filter(action=AuditAction.APPLICATION_DISCARDED).count() == 1
    page = client.get(response["Location"]).content.decode()
    assert app.reference in page  # the message names the discarded draft


def test_a_submitted_application_offers_no_discard_and_refuses_it(
    client, clerk, supervisor, new_application
):
    app = advance(new_application(), "entered", clerk=clerk, supervisor=supervisor)
    client.force_login(clerk)

    detail = client.get(reverse("application-detail", args=[app.pk])).content.decode()
    page = client.get(reverse("clerk-discard", args=[app.pk])).content.decode()
    response = client.post(reverse("clerk-discard", args=[app.pk]), {"version": app.version})

    assert 'data-testid="discard"' not in detail
    assert 'data-testid="not-discardable"' in page and 'data-testid="discard-form"' not in page
    assert response.status_code == 302
    assert 'class="message error"' in client.get(response["Location"]).content.decode()
    assert Application.objects.filter(pk=app.pk).exists()


def test_another_clerk_cannot_discard_my_draft(client, new_application):
    app = new_application()
    other = _person("clerk_other", "td", "clerk")
    client.force_login(other)

    response = client.post(reverse("clerk-discard", args=[app.pk]), {"version": app.version})

    assert response.status_code == 302
    assert Application.objects.filter(pk=app.pk).exists()
