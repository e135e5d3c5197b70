"""The administrators' daily work in a real browser: the affiliation change by two
administrators (the proposer gets no approve button; the second one sees what the change
withdrew), creating a user, and a transfer with its confirmation.

People, a retailer and one verified application are set up through the services; every
administrator's step is done in the pages. The ORM is only read.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from apps.accounts.models import User
from apps.applications.models import Application
from apps.retailers.models import AffiliationProposal, Retailer
from tests.browser.conftest import screenshot, sign_in, sign_out
from tests.browser.steps import accept_next_dialog, click_and_wait
from tests.conftest import PASSWORD, advance

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "vault", "retail"])


def test_two_administrators_change_a_retailers_affiliation_and_see_what_it_withdrew(
    page, administrator, administrator2, retailer, new_application, clerk, supervisor
):
    visible = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)

    # given: the first administrator proposes on the retailer's page, with a reason
    sign_in(page, administrator.username, PASSWORD)
    click_and_wait(page, "header a[href$='/administration/retailers/']")
    click_and_wait(page, f"[data-testid=retailers] tr[data-retailer='{retailer.code}'] a")
    page.fill("[data-testid=propose-affiliation-form] textarea[name=reason]", "資本提携契約の締結")
    screenshot(page, "40-admin-retailer-propose")
    click_and_wait(page, "[data-testid=propose-affiliation-form] button[type=submit]")

    # then: the proposer may not decide
    expect(page.locator("[data-testid=own-proposal]")).to_be_visible()
    expect(page.locator("[data-testid=approve-affiliation-form]")).to_have_count(0)
    sign_out(page)

    # when: a different administrator approves from the pending list
    sign_in(page, administrator2.username, PASSWORD)
    click_and_wait(page, "header a[href$='/administration/affiliation/']")
    proposal = AffiliationProposal.objects.get()
    click_and_wait(page, f"[data-testid=pending-affiliations] tr[data-proposal='{proposal.pk}'] a")
    screenshot(page, "41-admin-affiliation-decide")
    accept_next_dialog(page)
    click_and_wait(page, "[data-testid=approve-affiliation-form] button[type=submit]")

    # then: the result names the application whose retail visibility was withdrawn
    expect(page.locator("[data-testid=withdrawn]")).to_contain_text(visible.reference)
    screenshot(page, "42-admin-affiliation-effect")
    assert Retailer.objects.get(pk=retailer.pk).is_affiliated is True
    assert Application.objects.get(pk=visible.pk).masking_state == "unmasked"


def test_an_administrator_creates_a_user(page, administrator):
    sign_in(page, administrator.username, PASSWORD)
    click_and_wait(page, "header a[href$='/administration/users/']")
    click_and_wait(page, "nav.tabs a[href$='/administration/users/new/']")
    page.fill("#id_username", "uketsuke_hanako")
    page.fill("#id_last_name", "受付")
    page.fill("#id_first_name", "花子")
    page.fill("#id_email", "hanako@example.invalid")
    page.select_option("#id_division", "td")
    page.check("input[name=roles][value=clerk]")
    screenshot(page, "43-admin-user-create")
    click_and_wait(page, "[data-testid=create-user-form] button[type=submit]")

    expect(page.locator("h1")).to_have_text("受付 花子")
    expect(page.locator("[data-testid=user-roles]")).to_have_text("受付担当")
    user = User.objects.get(username="uketsuke_hanako")
    assert (user.division_at(), user.has_usable_password()) == ("td", False)


def test_an_administrator_transfers_a_user_after_seeing_what_is_removed(
    page, administrator, supervisor
):
    sign_in(page, administrator.username, PASSWORD)
    page.goto(f"/administration/users/{supervisor.pk}/")
    click_and_wait(page, "[data-testid=transfer-link]")
    page.select_option("#id_to_division", "audit")
    page.check("input[name=roles][value=auditor]")
    click_and_wait(page, "[data-testid=transfer-form] button[type=submit]")

    # the confirmation: nothing has happened yet
    expect(page.locator("[data-testid=transfer-confirm]")).to_be_visible()
    expect(page.locator("[data-testid=transfer-removes]")).to_contain_text("上長")
    screenshot(page, "44-admin-transfer-confirm")
    assert supervisor.division_at() == "td"

    click_and_wait(page, "[data-testid=confirm-transfer-form] button[type=submit]")

    expect(page.locator("[data-testid=transfer-done]")).to_be_visible()
    expect(page.locator("[data-testid=roles-after]")).to_have_text("監査")
    screenshot(page, "45-admin-transfer-done")
    moved = User.objects.get(pk=supervisor.pk)
    assert (moved.division_at(), moved.role_codes()) == ("audit", ["auditor"])
