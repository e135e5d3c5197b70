"""Signing in and the header, in a real browser."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot, sign_in, sign_out
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "vault", "retail"])


def test_a_clerk_signs_in_sees_who_they_are_and_signs_out(page, clerk):
    page.goto("/")
    assert "/accounts/login/" in page.url
    screenshot(page, "01-sign-in")

    sign_in(page, clerk.username, PASSWORD)

    header = page.locator("header").inner_text()
    assert clerk.username in header
    assert "送配電部門" in header and "受付担当" in header
    screenshot(page, "02-clerk-home")
    sign_out(page)


def test_the_language_switch_changes_the_page_to_english(page, supervisor):
    sign_in(page, supervisor.username, PASSWORD)

    page.click("button[name=language][value=en]")

    assert page.locator("html").get_attribute("lang") == "en"
    assert "Transmission & distribution" in page.locator("header").inner_text()
