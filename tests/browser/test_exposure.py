"""The investigation report in a real browser: an auditor opens it from the header, asks
for a period of the legacy example's logs, reads the regulator's table with its Japanese
headings and the timeline, and downloads the JSON with exactly the issue's keys.

Tasks run eagerly in the test settings, so the run is finished when its page opens (the
progress polling of a long run is tested without a browser in tests/exposure)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from apps.exposure.engine import REPORT_KEYS
from tests.browser.conftest import screenshot, sign_in
from tests.browser.steps import click_and_wait
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "vault", "retail"])

HEADINGS = (
    "調査期間",
    "お客さま数",
    "閲覧可能となっていた期間",
    "閲覧者数",
    "小売電気事業者数",
    "契約変更のあったお客さま数",
)


def test_an_auditor_makes_the_report_of_the_legacy_example(page, auditor):
    sign_in(page, auditor.username, PASSWORD)
    click_and_wait(page, "nav a[href$='/audit/exposure/']")

    page.fill("#id_period_from", "2022-04-01")
    page.fill("#id_period_to", "2023-01-11")
    page.select_option("#id_source", "example")
    click_and_wait(page, "form.exposure-form button[type=submit]")

    expect(page.locator(".exposure-run")).to_have_attribute("data-status", "done")
    table = page.locator(".exposure-table")
    for heading in HEADINGS:
        expect(table).to_contain_text(heading)
    expect(table).to_contain_text("2022/04/01 ～ 2023/01/11")  # the common date format
    expect(table).to_contain_text("3件")  # customers whose data retail could read
    expect(table).to_contain_text("3名")  # retail users who looked
    expect(table).to_contain_text("2事業者")
    expect(page.locator(".exposure-timeline svg")).to_be_visible()
    # Every year on the axis is named, and each bar and dot has hover text.
    years = page.locator(".exposure-timeline text.tl-year").all_text_contents()
    assert years == [str(year) for year in range(int(years[0]), int(years[-1]) + 1)]
    for mark in ("rect.tl-window", "circle.tl-view"):
        marks = page.locator(f".exposure-timeline {mark}")
        assert marks.count() == marks.locator("title").count() > 0
    screenshot(page, "19-exposure-report")

    with page.expect_download() as download_info:
        page.click(".exposure-downloads a[href$='report.json']")
    report = json.loads(Path(download_info.value.path()).read_text(encoding="utf-8"))
    assert tuple(report) == REPORT_KEYS
    assert (report["exposed_customers"], report["viewers"], report["switched_after_view"]) == (
        3,
        3,
        1,
    )
