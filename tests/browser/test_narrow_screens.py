"""Tables that fit: the most used pages of each role, on the T&D site and on the retail
site, open at 768 px without sideways scrolling of the page (a wide table scrolls in its
own box), and references, pseudonyms and dates do not wrap mid-token. Four of the pages
are photographed at that width for docs/screenshots/.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from apps.accounts.models import User
from apps.applications.models import Application
from tests.browser.conftest import screenshot, sign_in, sign_out
from tests.conftest import PASSWORD, advance, replicate
from tests.retail.site import account_of

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "vault"])

WIDTH = 768
LONG_REMARKS = "工事日程は電気工事店と調整済み。" * 12


def _name(user: User, last: str, first: str) -> None:
    user.last_name, user.first_name = last, first
    user.save(update_fields=["last_name", "first_name"])


def _fits(page: Any, path: str) -> tuple[int, int]:
    page.goto(path)
    return page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")


def _no_page_scroll(page: Any, paths: list[str]) -> None:
    too_wide = {}
    for path in paths:
        scroll_width, inner_width = _fits(page, path)
        if scroll_width > inner_width:
            too_wide[path] = scroll_width
    assert not too_wide, f"wider than {WIDTH} px: {too_wide}"


def _unwrapped(page: Any, selector: str) -> None:
    """Each cell's text lies on one line: its pieces share one top edge."""
    lines = page.locator(selector).evaluate_all(
        """cells => cells.map(cell => {
            const range = document.createRange();
            range.selectNodeContents(cell);
            const tops = Array.from(range.getClientRects()).map(r => Math.round(r.top));
            return [cell.textContent.trim(), new Set(tops).size];
        })"""
    )
    assert lines and all(count == 1 for _, count in lines), lines


@pytest.fixture
def work(
    clerk: User, supervisor: User, supervisor2: User, construction: User, new_application: Any
) -> dict[str, Application]:
    _name(clerk, "受付", "花子")
    _name(supervisor, "上長", "一郎")
    _name(supervisor2, "上長", "次郎")
    _name(construction, "工事", "三郎")
    draft = new_application(remarks=LONG_REMARKS)
    entered = advance(new_application(), "entered", clerk=clerk, supervisor=supervisor)
    encoded = advance(
        new_application(remarks=LONG_REMARKS), "encoded", clerk=clerk, supervisor=supervisor
    )
    released = advance(new_application(), "released", clerk=clerk, supervisor=supervisor2)
    return {"draft": draft, "entered": entered, "encoded": encoded, "released": released}


def test_the_most_used_pages_of_each_role_fit_768_px(
    page: Any,
    work: dict[str, Application],
    clerk: User,
    supervisor2: User,
    construction: User,
    auditor: User,
    administrator: User,
) -> None:
    page.set_viewport_size({"width": WIDTH, "height": 1024})

    sign_in(page, clerk.username, PASSWORD)
    _no_page_scroll(
        page,
        [
            reverse("home"),
            reverse("clerk-list"),
            reverse("application-detail", args=[work["encoded"].pk]),
            reverse("clerk-create"),
            reverse("clerk-encode", args=[work["entered"].pk]),
        ],
    )
    page.goto(reverse("clerk-list"))
    _unwrapped(page, "[data-testid=applications] td.nowrap")
    expect(page.locator("[data-testid=state-filters] [aria-current=page]")).to_have_count(1)
    screenshot(page, "50-768-clerk-list")
    sign_out(page)

    sign_in(page, supervisor2.username, PASSWORD)
    _no_page_scroll(
        page,
        [
            reverse("home"),
            reverse("review-queue"),
            reverse("review-page", args=[work["encoded"].pk]),
        ],
    )
    page.goto(reverse("review-queue"))
    _unwrapped(page, "[data-testid=review-queue] td.nowrap")
    page.goto(reverse("review-page", args=[work["encoded"].pk]))
    screenshot(page, "51-768-review-page")
    sign_out(page)

    sign_in(page, construction.username, PASSWORD)
    _no_page_scroll(
        page,
        [
            reverse("home"),
            reverse("construction-list"),
            reverse("construction-detail", args=[work["released"].pk]),
        ],
    )
    sign_out(page)

    sign_in(page, auditor.username, PASSWORD)
    _no_page_scroll(
        page,
        [
            reverse("home"),
            reverse("audit-search"),
            reverse("audit-application", args=[work["released"].pk]),
        ],
    )
    page.goto(reverse("audit-search"))
    screenshot(page, "52-768-audit-search")
    sign_out(page)

    sign_in(page, administrator.username, PASSWORD)
    _no_page_scroll(
        page,
        [
            reverse("admin-users"),
            reverse("admin-user", args=[clerk.pk]),
            reverse("admin-retailers"),
        ],
    )


@pytest.mark.django_db(transaction=True, databases=["default", "vault", "retail"])
def test_the_retail_sites_pages_fit_768_px(
    page: Any,
    retail_live_server: str,
    clerk: User,
    supervisor: User,
    retail_user: User,
    new_application: Any,
) -> None:
    shown = [
        advance(
            new_application(remarks=LONG_REMARKS), "verified", clerk=clerk, supervisor=supervisor
        )
        for _ in range(3)
    ]
    replicate()
    account_of(retail_user)
    site = retail_live_server
    page.set_viewport_size({"width": WIDTH, "height": 1024})

    sign_in(page, retail_user.username, PASSWORD, site=site)
    reference = shown[0].reference
    _no_page_scroll(
        page,
        [
            f"{site}/",
            f"{site}/?q={reference}",
            f"{site}/applications/{reference}/",
            f"{site}/inbox/",
        ],
    )
    page.goto(f"{site}/")
    expect(page.locator("[data-testid=retail-list] tbody tr")).to_have_count(len(shown))
    _unwrapped(page, "[data-testid=retail-list] td.nowrap")
    screenshot(page, "53-768-retail-list")
