"""The access review in a real browser: an auditor opens the review queue from the home
page, opens a sampled personal-data read, marks it suspicious with a note, and finds it
among the reviewed accesses; the compliance contact gets an outbox message. No customer
data on any page.

The read is a real one (a clerk revealing the contact details through the service); the
day's draw runs as the periodic task would, for a day that is over.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.access_review.models import ReviewItem
from apps.access_review.services import access_sample
from apps.accounts.models import Division, DivisionCode
from apps.applications import services as app_services
from apps.applications.reveal import application_reveal_customer
from apps.notifications.models import OutboxMessage
from apps.vocabulary.states import RevealPurpose
from tests.browser.conftest import screenshot, sign_in
from tests.browser.steps import Customer, assert_absent, click_and_wait
from tests.conftest import PASSWORD, _person
from tests.factories import application_input

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "vault", "retail"])

SAMPLED = Customer(
    name="見本 抽出四郎",
    name_kana="ミホン チュウシュツシロウ",
    phone="098-135-2468",
    email="shiro.canary@example.invalid",
)


def test_an_auditor_marks_a_sampled_access_suspicious(page, clerk, auditor, retailer):
    compliance = _person("compliance_kato", "td", "supervisor")
    Division.objects.filter(code=DivisionCode.TD).update(compliance_contact=compliance)
    application = app_services.application_create(
        acting_user=clerk,
        data=application_input(
            retailer,
            customer_name=SAMPLED.name,
            customer_name_kana=SAMPLED.name_kana,
            customer_phone=SAMPLED.phone,
            customer_email=SAMPLED.email,
        ),
    )
    application_reveal_customer(
        acting_user=clerk, application_id=application.pk, purpose=RevealPurpose.ENTRY
    )
    access_sample(day=timezone.localdate(), size=5, now=timezone.now() + dt.timedelta(days=2))
    item = ReviewItem.objects.get()
    canaries = SAMPLED.canaries()

    # --- 監査 auditor: home → the review queue → the item ---
    sign_in(page, auditor.username, PASSWORD)
    click_and_wait(page, "main a[href$='/audit/reviews/']")
    rows = page.locator("[data-testid=review-items] tbody tr[data-item]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(clerk.username)
    assert_absent(page.content(), canaries, "the review queue")
    screenshot(page, "20-access-review-queue")

    click_and_wait(page, f"a[href$='/audit/reviews/{item.pk}/']")
    event = page.locator("[data-testid=sampled-event]")
    expect(event).to_contain_text(clerk.username)
    expect(event).to_contain_text(str(application.reference))
    expect(event).to_contain_text(application.pseudonym)
    assert_absent(page.content(), canaries, "the sampled access")

    # A suspicious verdict without a note is refused; then with one.
    page.check("input[name=outcome][value=suspicious]")
    click_and_wait(page, "[data-testid=review-form] button[type=submit]")
    expect(page.locator("[data-field=note] .error")).to_be_visible()
    expect(page.locator("input[name=outcome][value=suspicious]")).to_be_checked()
    page.fill("#id_note", "業務時間外の閲覧。本人に確認する。")
    screenshot(page, "21-access-review-item")
    click_and_wait(page, "[data-testid=review-form] button[type=submit]")

    # --- back on the queue: empty; the item is among the suspicious ones ---
    assert page.url.endswith("/audit/reviews/")
    expect(page.locator(".message.success")).to_be_visible()
    expect(rows).to_have_count(0)
    click_and_wait(page, "a[href$='/audit/reviews/reviewed/']")
    page.select_option("#id_outcome", "suspicious")
    click_and_wait(page, "form[role=search] button[type=submit]")
    reviewed = page.locator("[data-testid=review-items] tbody tr[data-item]")
    expect(reviewed).to_have_count(1)
    expect(reviewed.locator(".review-suspicious")).to_be_visible()
    assert_absent(page.content(), canaries, "the reviewed accesses")

    click_and_wait(page, "a[href$='/audit/reviews/shares/']")
    today = page.locator(f"[data-testid=shares-days] tr[data-period='{timezone.localdate()}']")
    expect(today.locator("td").nth(5)).to_have_text("100.0%")

    item.refresh_from_db()
    assert (item.outcome, item.reviewed_by) == ("suspicious", auditor)
    message = OutboxMessage.objects.get(kind="access_review.suspicious")
    assert message.recipient_id == compliance.pk
    assert_absent(message.subject + message.body, canaries, "the notification")
