"""The inbox in a real browser: a clerk's encode (through the services, the relay
running in-process as in the embedded default) reaches the supervisors, the submit
before it does not (encoding is the clerk's own step); the
supervisor sees the unread count in the header, opens the inbox, follows the link to
the review page, and marks everything read. No customer data anywhere on the way."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from apps.applications import services as app_services
from apps.notifications.models import InboxEntry
from apps.vault.services import vault_read
from tests.browser.conftest import screenshot, sign_in
from tests.browser.steps import assert_absent, click_and_wait
from tests.conftest import PASSWORD, _person
from tests.factories import application_input, make_retailer

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "vault", "retail"])


def test_a_supervisor_follows_the_inbox_to_the_review_page(page: Any) -> None:
    clerk = _person("clerk_inbox", "td", "clerk")
    _person("super_inbox", "td", "supervisor")
    retailer = make_retailer(code="A0077", name="受信箱でんき")
    app = app_services.application_create(acting_user=clerk, data=application_input(retailer))
    app_services.application_submit(acting_user=clerk, application_id=app.pk)
    app_services.application_encode(acting_user=clerk, application_id=app.pk)
    pii = vault_read(app.customer_ref)
    secrets = [pii.name, pii.name_kana, pii.phone, pii.email]
    kinds = InboxEntry.objects.filter(user__username="super_inbox").values_list(
        "message__kind", flat=True
    )
    assert list(kinds) == ["application.encoded"]

    sign_in(page, "super_inbox", PASSWORD)
    badge = page.locator("header [data-testid=inbox-unread]")
    expect(badge).to_contain_text("1")
    click_and_wait(page, "header [data-testid=nav-inbox]")

    rows = page.locator("[data-testid=inbox-list] tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(str(app.reference))
    assert_absent(page.content(), secrets, "the inbox")
    screenshot(page, "18-inbox")

    # The message leads to the side-by-side review page.
    click_and_wait(page, "[data-testid=inbox-list] tbody tr:first-child a")
    assert page.url.endswith(f"/review/{app.pk}/")

    page.goto("/inbox/")
    click_and_wait(page, "[data-testid=inbox-read-all] button")
    expect(page.locator("header [data-testid=inbox-unread]")).to_have_count(0)
    expect(page.locator("[data-testid=inbox-list] tbody tr.inbox-unread")).to_have_count(0)
    assert not InboxEntry.objects.filter(user__username="super_inbox", read_at=None).exists()
