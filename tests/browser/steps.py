"""The workflow steps as people do them in the pages: click, type, submit, wait.

Every step goes through the browser only (no service call), waits on conditions (never
sleeps) and leaves the page on the result of the step, so a test can look at it and take
its screenshot. Selectors use names, ids and data-testid attributes, never translated
text, so the same steps drive the pages in Japanese and in English.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from playwright.sync_api import expect

from apps.applications.models import Application

# Typed the way people in Japan type them: full-width digits, ideographic spaces and a
# box-drawing "hyphen" (罫線, what the IME offers for ー), which the page's script does not
# touch, so the server's normalisation is what the detail pages show.
FULLWIDTH = str.maketrans("0123456789-", "０１２３４５６７８９─")


def fullwidth(text: str) -> str:
    return text.translate(FULLWIDTH)


@dataclass
class Customer:
    """Canary personal data: none of these strings may ever reach a retail page."""

    name: str
    name_kana: str
    phone: str  # as stored: ASCII digits and hyphens
    email: str

    def canaries(self) -> list[str]:
        digits = self.phone.replace("-", "")
        return [
            self.name,
            self.name.replace(" ", ""),
            self.name_kana,
            self.name_kana.replace(" ", ""),
            self.phone,
            digits,
            fullwidth(self.phone),
            self.phone.split("-", 1)[1],  # the local number without the area code
            self.email,
            self.email.split("@")[0],
        ]


@dataclass
class ApplicationData:
    supply_point_id: str  # 22 ASCII digits as stored
    customer: Customer
    retailer_id: int
    street_address: str = "見本町9丁目87番地"
    remarks: str = "新築戸建て。引込柱の位置は現地で確認。"
    capacity: str = "6"
    start: datetime.date = field(
        default_factory=lambda: timezone.localdate() + datetime.timedelta(days=30)
    )

    def typed_supply_point_id(self) -> str:
        """Full-width digits in groups of four separated by ideographic spaces."""
        spid = self.supply_point_id
        return "\u3000".join(fullwidth(spid[i : i + 4]) for i in range(0, len(spid), 4))


def assert_absent(html: str, secrets: list[str], where: str) -> None:
    found = [s for s in secrets if s and s in html]
    assert not found, f"personal data on {where}: {found}"


def click_and_wait(page: Any, selector: str) -> None:
    """Click something that loads a page (a link or a form) and wait until it has loaded."""
    with page.expect_navigation():
        page.click(selector)


def accept_next_dialog(page: Any) -> None:
    """The release and cancel forms ask for confirmation (shadan.js, window.confirm)."""
    page.once("dialog", lambda dialog: dialog.accept())


def application_id(page: Any) -> int:
    match = re.search(r"/applications/(\d+)/", page.url)
    assert match, f"not on an application page: {page.url}"
    return int(match.group(1))


def reference_of(pk: int) -> str:
    return str(Application.objects.values_list("reference", flat=True).get(pk=pk))


# --- clerk ----------------------------------------------------------------------------


def open_new_application_form(page: Any) -> None:
    page.goto("/")
    click_and_wait(page, "header a[href$='/applications/new/']")
    expect(page.locator("[data-testid=application-form]")).to_be_visible()


def fill_application_form(page: Any, data: ApplicationData, *, supply_point_id: str = "") -> None:
    c = data.customer
    page.fill("#id_supply_point_id", supply_point_id or data.typed_supply_point_id())
    page.fill("#id_requested_start_date", data.start.isoformat())
    page.fill("#id_postal_code", fullwidth("9000012"))
    page.select_option("#id_prefecture", "47")
    page.fill("#id_municipality", "那覇市")
    page.fill("#id_street_address", data.street_address)
    page.select_option("#id_contract_class", "low")
    page.fill("#id_contract_capacity_kw", fullwidth(data.capacity))
    page.fill("#id_contractor_name", "南星電設株式会社")
    page.fill("#id_contractor_registration", "沖縄県知事登録 第09876号")
    page.select_option("#id_retailer", str(data.retailer_id))
    page.fill("#id_remarks", data.remarks)
    page.fill("#id_customer_name", c.name)
    page.fill("#id_customer_name_kana", c.name_kana)
    page.fill("#id_customer_phone", fullwidth(c.phone))
    page.fill("#id_customer_email", c.email)
    page.locator("#id_customer_email").blur()  # the page's script normalises on "change"


def save_application_form(page: Any) -> None:
    click_and_wait(page, "[data-testid=application-form] button[type=submit]")


def create_application(page: Any, data: ApplicationData) -> int:
    """New application form → saved draft; returns its id (from the page's URL)."""
    open_new_application_form(page)
    fill_application_form(page, data)
    save_application_form(page)
    expect(page.locator("[data-testid=state]")).to_have_class(re.compile(r"state-draft"))
    return application_id(page)


def submit_application(page: Any, pk: int) -> None:
    page.goto(f"/applications/{pk}/")
    click_and_wait(page, "[data-testid=submit-form] button")
    expect(page.locator("[data-testid=state]")).to_have_class(re.compile(r"state-entered"))


def open_encode_page(page: Any, pk: int) -> None:
    page.goto(f"/applications/{pk}/")
    click_and_wait(page, "[data-testid=encode]")
    expect(page.locator("[data-testid=encode-form]")).to_be_visible()


def press_encode(page: Any) -> None:
    click_and_wait(page, "[data-testid=encode-form] button[type=submit]")


def encode_application(page: Any, pk: int) -> None:
    open_encode_page(page, pk)
    press_encode(page)
    expect(page.locator("[data-testid=masking]")).to_have_class(re.compile(r"masking-encoded"))


def enter_submit_encode(page: Any, data: ApplicationData) -> int:
    pk = create_application(page, data)
    submit_application(page, pk)
    encode_application(page, pk)
    return pk


# --- supervisor -----------------------------------------------------------------------


def open_approval_queue(page: Any) -> None:
    page.goto("/")
    click_and_wait(page, "header a[href$='/review/']")
    expect(page.locator("[data-testid=review-queue]")).to_be_visible()


def open_review_from_queue(page: Any, pk: int) -> None:
    click_and_wait(page, f"[data-testid=review-queue] tr[data-application='{pk}'] a")
    expect(page.locator("[data-testid=retail-preview]")).to_be_visible()


def tick_checklist_and_verify(page: Any) -> None:
    form = page.locator("[data-testid=verify-form]")
    for name in ("check_retailer", "check_free_text", "check_preview"):
        form.locator(f"input[name={name}]").check()
    click_and_wait(page, "[data-testid=verify-button]")
    expect(page.locator("[data-testid=review-queue]")).to_be_visible()


def return_with_reason(page: Any, reason: str) -> None:
    page.fill("[data-testid=return-form] textarea[name=reason]", reason)
    click_and_wait(page, "[data-testid=return-form] button[type=submit]")
    expect(page.locator("[data-testid=review-queue]")).to_be_visible()


def release_from_application_page(page: Any, pk: int) -> None:
    page.goto(f"/applications/{pk}/")
    accept_next_dialog(page)
    click_and_wait(page, "[data-testid=release-form] button[type=submit]")
    expect(page.locator("[data-testid=state]")).to_have_class(re.compile(r"state-released"))


# --- construction ---------------------------------------------------------------------


def open_released_work(page: Any, pk: int) -> None:
    page.goto("/")
    click_and_wait(page, "header a[href$='/construction/']")
    click_and_wait(page, f"[data-testid=construction-list] tr[data-application='{pk}'] a")
    expect(page.locator("[data-testid=work-data]")).to_be_visible()


def reveal_contact(page: Any, purpose: str) -> None:
    page.check(f"[data-testid=reveal-form] input[name=purpose][value={purpose}]")
    click_and_wait(page, "[data-testid=reveal-form] button[type=submit]")
    expect(page.locator("[data-testid=contact-details]")).to_be_visible()


def record_completion_and_energization(page: Any, on: datetime.date) -> None:
    page.fill("[data-testid=complete-form] input[name=completed_on]", on.isoformat())
    page.check("[data-testid=complete-form] input[name=confirm]")
    click_and_wait(page, "[data-testid=complete-form] button[type=submit]")
    expect(page.locator("[data-testid=state]")).to_have_class(re.compile(r"state-constructed"))
    page.fill("[data-testid=energize-form] input[name=energized_on]", on.isoformat())
    page.check("[data-testid=energize-form] input[name=confirm]")
    click_and_wait(page, "[data-testid=energize-form] button[type=submit]")
    expect(page.locator("[data-testid=state]")).to_have_class(re.compile(r"state-energized"))


# --- retail ---------------------------------------------------------------------------


def open_retail_list(page: Any, site: str) -> None:
    """The retail site's home is its list (`site`: the retail site's address)."""
    page.goto(f"{site}/")
    expect(page.locator("[data-testid=retail-search]")).to_be_visible()
