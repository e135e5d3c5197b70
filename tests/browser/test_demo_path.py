"""The demo path through the pages, in a real browser: entry to energization, the barrier
as retail sees it, a return with its reason, the leak scanner's refusal and the
second-person rule. Only the people and the retailer are set up in Python; everything
else is done in the pages. The ORM is read (never written) to confirm what the pages say.
"""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.applications.models import Application
from tests.browser.conftest import screenshot, sign_in, sign_out
from tests.browser.steps import (
    ApplicationData,
    Customer,
    assert_absent,
    click_and_wait,
    create_application,
    encode_application,
    enter_submit_encode,
    fill_application_form,
    fullwidth,
    open_approval_queue,
    open_encode_page,
    open_new_application_form,
    open_released_work,
    open_retail_list,
    open_review_from_queue,
    press_encode,
    record_completion_and_energization,
    reference_of,
    release_from_application_page,
    return_with_reason,
    reveal_contact,
    save_application_form,
    submit_application,
    tick_checklist_and_verify,
)
from tests.conftest import PASSWORD, _person
from tests.retail.site import account_of

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "vault", "retail"])

HANAKO = Customer(
    name="見本 遮断花子",
    name_kana="ミホン シャダンハナコ",
    phone="098-765-4321",
    email="hanako.canary@example.invalid",
)
JIRO = Customer(
    name="例示 差戻次郎",
    name_kana="レイジ サシモドシジロウ",
    phone="098-111-2468",
    email="jiro.canary@example.invalid",
)
RETURN_REASON = "契約容量が申込書の記載と異なります。確認して修正してください。"


def test_the_demo_path_from_entry_to_energization(
    page, clerk, supervisor, retail_user, construction, retailer, retail_live_server
):
    first = ApplicationData("1024681357913579246800", HANAKO, retailer.pk)
    second = ApplicationData(
        "1000000000000000000777", JIRO, retailer.pk, street_address="例示町1丁目2番地"
    )

    # --- 受付担当 clerk: the form keeps what was typed and says what is wrong, where ---
    sign_in(page, clerk.username, PASSWORD)
    open_new_application_form(page)
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    fill_application_form(page, first, supply_point_id=fullwidth("102468135791357924680"))
    # The page's script folds full-width digits as the clerk leaves the field.
    expect(page.locator("#id_postal_code")).to_have_value("900-0012")
    save_application_form(page)
    error = page.locator("[data-field=supply_point_id] .error")
    expect(error).to_be_visible()
    # Errors in sight: the summary at the top has the focus and its link leads to the field.
    summary = page.locator("[data-testid=error-summary]")
    expect(summary).to_be_focused()
    summary.locator("a[href='#id_supply_point_id']").click()
    expect(page.locator("#id_supply_point_id")).to_be_focused()
    expect(page.locator("#id_customer_name")).to_have_value(HANAKO.name)
    expect(page.locator("#id_street_address")).to_have_value(first.street_address)
    assert Application.objects.count() == 0
    screenshot(page, "03-application-form-error")

    # Full-width digits, ideographic spaces and a box-drawing hyphen: stored normalised.
    page.fill("#id_supply_point_id", first.typed_supply_point_id())
    page.fill("#id_customer_phone", fullwidth(HANAKO.phone))
    page.locator("#id_customer_phone").blur()
    expect(page.locator("#id_customer_phone")).to_have_value("098─765─4321")
    save_application_form(page)
    expect(page.locator("[data-testid=state]")).to_have_class(re.compile("state-draft"))
    first_pk = int(re.findall(r"/applications/(\d+)/", page.url)[0])
    expect(page.locator("main")).to_contain_text(first.supply_point_id)
    expect(page.locator("[data-testid=masking]")).to_have_class(re.compile("masking-unmasked"))
    submit_application(page, first_pk)
    open_encode_page(page, first_pk)
    expect(page.locator("[data-testid=td-data] [data-field=customer_phone]")).to_have_text(
        HANAKO.phone
    )
    expect(page.locator("[data-testid=td-data] [data-field=supply_point_id]")).to_have_text(
        first.supply_point_id
    )
    assert_absent(
        page.locator("[data-testid=retail-preview]").inner_html(),
        HANAKO.canaries(),
        "the encode page's retail preview",
    )
    press_encode(page)
    expect(page.locator("[data-testid=masking]")).to_have_class(re.compile("masking-encoded"))
    screenshot(page, "04-application-encoded")

    # A second application, submitted and encoded only: it stays invisible to retail.
    second_pk = enter_submit_encode(page, second)
    first_ref, second_ref = reference_of(first_pk), reference_of(second_pk)
    sign_out(page)

    # --- 上長 supervisor: the approval queue, the side-by-side review, verify ---
    sign_in(page, supervisor.username, PASSWORD)
    open_approval_queue(page)
    queue = page.locator("[data-testid=review-queue]")
    expect(queue.locator(f"tr[data-application='{first_pk}']")).to_be_visible()
    expect(queue.locator(f"tr[data-application='{second_pk}']")).to_be_visible()
    # Oldest first.
    expect(queue.locator("tbody tr").first).to_have_attribute("data-application", str(first_pk))
    screenshot(page, "06-approval-queue")

    open_review_from_queue(page, first_pk)
    expect(page.locator("[data-testid=customer-pii]")).to_contain_text(HANAKO.name)
    expect(page.locator("[data-testid=customer-pii]")).to_contain_text(HANAKO.phone)
    assert_absent(
        page.locator("[data-testid=retail-preview]").inner_html(),
        HANAKO.canaries(),
        "the review page's retail preview",
    )
    expect(
        page.locator("[data-testid=retailer-classification] [data-affiliated=no]")
    ).to_be_visible()
    expect(page.locator("[data-testid=cannot-verify]")).to_have_count(0)
    screenshot(page, "07-review-page")
    tick_checklist_and_verify(page)
    expect(queue.locator(f"tr[data-application='{first_pk}']")).to_have_count(0)
    assert Application.objects.get(pk=first_pk).verified_by_id == supervisor.pk
    sign_out(page)

    # --- 小売 retail: on the retail site, the masked record only; the unverified one
    # does not exist, and nothing of the T&D site does either ---
    account_of(retail_user)
    retail = retail_live_server
    sign_in(page, retail_user.username, PASSWORD, site=retail)
    open_retail_list(page, retail)
    rows = page.locator("[data-testid=retail-list] tbody tr")
    expect(rows).to_have_count(1)
    expect(page.locator(f"tr[data-reference='{first_ref}']")).to_contain_text(first.supply_point_id)
    expect(page.locator(f"tr[data-reference='{first_ref}'] [data-testid=masking]")).to_have_class(
        re.compile("masking-verified")
    )
    html = page.content()
    assert second_ref not in html
    assert_absent(html, HANAKO.canaries() + JIRO.canaries(), "the retail list")
    assert_absent(html, [first.street_address], "the retail list (T&D-only address)")
    screenshot(page, "08-retail-list")

    # Search by supply point ID, typed in full-width digits.
    page.fill("[data-testid=retail-search] input[name=q]", fullwidth(first.supply_point_id))
    click_and_wait(page, "[data-testid=retail-search] button[type=submit]")
    expect(rows).to_have_count(1)

    click_and_wait(page, f"tr[data-reference='{first_ref}'] a")
    expect(page.locator("[data-testid=retail-detail]")).to_contain_text(first_ref)
    html = page.content()
    assert_absent(html, HANAKO.canaries(), "the retail detail page")
    assert_absent(html, [first.street_address], "the retail detail page (T&D-only address)")
    screenshot(page, "09-retail-detail")

    not_verified = page.goto(f"{retail}/applications/{second_ref}/")
    assert not_verified is not None and not_verified.status == 404
    assert_absent(page.content(), JIRO.canaries(), "the retail 404 page")
    t_and_d_page = page.goto(f"{retail}/review/{first_pk}/")
    assert t_and_d_page is not None and t_and_d_page.status == 404
    page.goto(f"{retail}/")
    sign_out(page)

    # --- 上長 supervisor: release from the application page ---
    sign_in(page, supervisor.username, PASSWORD)
    release_from_application_page(page, first_pk)
    sign_out(page)

    # --- 工事担当 construction: released work, reveal with a reason, dates ---
    sign_in(page, construction.username, PASSWORD)
    open_released_work(page, first_pk)
    assert_absent(page.content(), HANAKO.canaries(), "the work page before the reveal")
    reveal_contact(page, "scheduling")
    contact = page.locator("[data-testid=contact-details]")
    expect(contact).to_contain_text(HANAKO.phone)
    expect(contact).to_contain_text(HANAKO.name)
    screenshot(page, "10-construction-reveal")
    today = timezone.localdate()
    record_completion_and_energization(page, today)
    done = Application.objects.get(pk=first_pk)
    assert (done.state, done.completed_on, done.energized_on) == ("energized", today, today)
    sign_out(page)

    # --- 上長 supervisor returns the second application with a reason ---
    sign_in(page, supervisor.username, PASSWORD)
    open_approval_queue(page)
    open_review_from_queue(page, second_pk)
    return_with_reason(page, RETURN_REASON)
    assert Application.objects.get(pk=second_pk).state == "entered"
    sign_out(page)

    # --- 受付担当 clerk sees the reason at the top of the returned list and the page ---
    sign_in(page, clerk.username, PASSWORD)
    expect(page.locator("[data-queue=returned] .num")).to_have_text("1")
    click_and_wait(page, "[data-queue=returned] a")
    returned = page.locator(f"article[data-application='{second_pk}']")
    expect(returned.locator("[data-testid=return-reason]")).to_contain_text(RETURN_REASON)
    expect(returned.locator("[data-testid=return-reason]")).to_contain_text(supervisor.username)
    screenshot(page, "11-returned-list")
    click_and_wait(page, f"article[data-application='{second_pk}'] a[href$='/{second_pk}/']")
    reason = page.locator("[data-testid=return-reason]")
    expect(reason).to_contain_text(RETURN_REASON)
    # At the top: the first thing under the heading, before the status and the actions.
    first_block = page.locator("main > h1 + *")
    expect(first_block).to_have_attribute("data-testid", "return-reason")
    screenshot(page, "12-returned-application")


def test_the_leak_scanner_refusal_is_shown_next_to_the_remarks(page, clerk, retailer):
    leaky = ApplicationData(
        "1000000000000000000555",
        HANAKO,
        retailer.pk,
        # The customer's own number, typed another way, where retail would read it.
        remarks="至急。お客さま携帯 ０９８ー７６５ー４３２１ に連絡のこと。",
    )
    sign_in(page, clerk.username, PASSWORD)
    pk = create_application(page, leaky)
    submit_application(page, pk)
    open_encode_page(page, pk)
    press_encode(page)

    summary = page.locator("[data-testid=error-summary]")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    # Only the remarks leak, named once: the customer's own number (the same text is also
    # "a phone number", which is not named a second time).
    expect(summary.locator("li[data-error-field]:not([data-error-field=remarks])")).to_have_count(0)
    expect(summary.locator("li[data-error-field=remarks]")).to_have_count(1)
    expect(summary.locator("li[data-error-field=remarks]")).to_contain_text("お客さまの電話番号")
    marks = page.locator("[data-testid=retail-preview] [data-field=remarks] mark")
    expect(marks).to_have_count(1)
    expect(marks).to_have_text("０９８ー７６５ー４３２１")
    expect(page.locator("[data-leak=customer_phone], [data-leak=supply_point_id]")).to_have_count(0)
    expect(page.locator("[data-testid=masking]")).to_have_class(re.compile("masking-unmasked"))
    expect(page.locator("[data-testid=fix-leak]")).to_have_attribute(
        "href", re.compile(rf"/applications/{pk}/edit/#id_remarks$")
    )
    screenshot(page, "05-encode-leak")

    refused = Application.objects.get(pk=pk)
    assert (refused.state, refused.masking_state) == ("entered", "unmasked")
    assert refused.encoded_by_id is None


def test_the_person_who_encoded_cannot_verify_not_even_with_a_forged_post(
    page, live_server, retailer
):
    both = _person("both", "td", "clerk", "supervisor")
    data = ApplicationData("1000000000000000000333", HANAKO, retailer.pk)
    sign_in(page, both.username, PASSWORD)
    pk = enter_submit_encode(page, data)

    # The application page offers the review to a supervisor...
    click_and_wait(page, "[data-testid=open-review]")
    expect(page.locator("[data-testid=retail-preview]")).to_be_visible()
    # ...but the review page has no verify button for the person who encoded it, and says why.
    expect(page.locator("[data-testid=verify-form]")).to_have_count(0)
    expect(page.locator("[data-testid=verify-button]")).to_have_count(0)
    expect(page.locator("[data-testid=cannot-verify]")).to_be_visible()
    screenshot(page, "13-review-same-person")

    # A forged POST with a valid CSRF token and the whole checklist, from this browser.
    token = page.locator("[data-testid=return-form] input[name=csrfmiddlewaretoken]").input_value()
    version = page.locator("[data-testid=return-form] input[name=version]").input_value()
    response = page.request.post(
        f"{live_server.url}/review/{pk}/verify/",
        form={
            "csrfmiddlewaretoken": token,
            "version": version,
            "check_retailer": "on",
            "check_free_text": "on",
            "check_preview": "on",
        },
        headers={"Referer": page.url},
        max_redirects=0,
    )
    assert response.status == 200, response.status  # refused: the page again, no redirect
    assert 'data-testid="cannot-verify"' in response.text()
    application = Application.objects.get(pk=pk)
    assert (application.state, application.masking_state) == ("encoded", "encoded")
    assert application.verified_by_id is None
    assert not application.is_retail_visible


def test_the_same_path_reads_in_english(
    page, clerk, supervisor, retail_user, retailer, retail_live_server
):
    data = ApplicationData("1000000000000000000999", HANAKO, retailer.pk)
    sign_in(page, clerk.username, PASSWORD)
    click_and_wait(page, "button[name=language][value=en]")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    header = page.locator("header")
    expect(header).to_contain_text("Transmission & distribution")
    expect(header).to_contain_text("Sign out")

    open_new_application_form(page)
    expect(page.locator("h1")).to_have_text("New application")
    expect(page.locator("label[for=id_supply_point_id]")).to_contain_text("Supply point ID")
    pk = create_application(page, data)
    submit_application(page, pk)
    encode_application(page, pk)
    expect(page.locator("[data-testid=masking]")).to_have_text(re.compile("Masked, awaiting check"))
    sign_out(page)

    # The language choice outlives the session: the next person reads English too.
    sign_in(page, supervisor.username, PASSWORD)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    open_approval_queue(page)
    expect(page.locator("h1")).to_have_text("Approval queue")
    open_review_from_queue(page, pk)
    expect(page.locator("h1")).to_contain_text("Second-person check")
    expect(page.locator("[data-testid=verify-button]")).to_have_text("Verify this version")
    screenshot(page, "14-review-page-en")
    tick_checklist_and_verify(page)
    sign_out(page)

    # The language cookie is the same on both sites (same host): English follows along.
    account_of(retail_user)
    sign_in(page, retail_user.username, PASSWORD, site=retail_live_server)
    open_retail_list(page, retail_live_server)
    expect(page.locator("h1")).to_have_text("Applications (masked)")
    row = page.locator(f"tr[data-reference='{reference_of(pk)}']")
    expect(row.locator("[data-testid=masking]")).to_have_text(re.compile("Masked \\(verified\\)"))
    assert_absent(page.content(), HANAKO.canaries(), "the retail list in English")

    click_and_wait(page, "button[name=language][value=ja]")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
