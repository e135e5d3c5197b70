"""The report as an auditor reads it: the source by its label, actions in Japanese, times in
the common format, people by name; and a timeline chart with a labelled date axis and hover
text on every bar and dot."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from apps.accounts.models import User
from apps.exposure.models import TRAIL, ExposureRun
from apps.exposure.presentation import present
from apps.exposure.timeline import GAP, timeline

from .helpers import request_report
from .test_legacy_scenarios import EXAMPLE

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])

ISO_MOMENT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")


def _report(accesses: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "period_from": "2022-04-01",
        "period_to": "2024-03-31",
        "exposure_first": "2021-06-01T00:00:00+09:00",
        "exposure_last": "2024-03-01T00:00:00+09:00",
        "details": {
            "exposed_records": [
                {
                    "record_id": "101",
                    "windows": [["2021-06-01T00:00:00+09:00", "2024-03-01T00:00:00+09:00"]],
                }
            ],
            "customers_viewed": [
                {
                    "record_id": "101",
                    "first_access": accesses[0]["at"],
                    "viewers": sorted({a["user_id"] for a in accesses}),
                }
            ],
            "viewers": sorted({a["user_id"] for a in accesses}),
            "switched_after_view": [],
            "accesses": accesses,
        },
    }


@pytest.fixture
def auditor_client(auditor) -> Client:
    client = Client()
    client.force_login(auditor)
    return client


@pytest.fixture
def named_retail_user(retail_user) -> User:
    User.objects.filter(pk=retail_user.pk).update(last_name="小売", first_name="陽子")
    return User.objects.get(pk=retail_user.pk)


def _views(user: User) -> list[dict[str, Any]]:
    return [
        {
            "at": "2023-05-10T09:24:00+09:00",
            "user_id": user.username,
            "record_id": "101",
            "action": "retail.viewed",
        },
        {
            "at": "2023-05-11T10:00:00+09:00",
            "user_id": user.username,
            "record_id": "101",
            "action": "pii.read",
        },
    ]


def test_trail_actions_read_in_japanese_and_people_by_name(named_retail_user):
    shown = present(_report(_views(named_retail_user)), source=TRAIL)
    access = shown["details"]["accesses"][0]
    assert access["action_label"] == "小売部門による閲覧"
    assert shown["details"]["accesses"][1]["action_label"] == "個人情報の参照"
    assert access["user"] == f"小売 陽子（{named_retail_user.username}）"
    assert shown["details"]["viewers"] == [access["user"]]


def test_legacy_user_ids_are_not_looked_up_as_shadan_users(named_retail_user):
    shown = present(_report(_views(named_retail_user)), source="example")
    assert shown["details"]["accesses"][0]["user"] == named_retail_user.username


def test_the_chart_names_every_year_and_the_first_and_last_date(named_retail_user):
    chart = timeline(_report(_views(named_retail_user)))
    assert chart is not None
    assert [tick.label for tick in chart.ticks] == ["2021", "2022", "2023", "2024"]
    assert (chart.first_date, chart.last_date) == ("2021/06/01", "2024/03/01")
    assert chart.font >= 12


def test_bars_and_dots_carry_hover_text_with_record_window_time_and_user(named_retail_user):
    people = {named_retail_user.username: "小売 陽子"}
    chart = timeline(_report(_views(named_retail_user)), people=people)
    assert chart is not None
    (row,) = chart.rows
    assert row.bars[0].title == "101: 閲覧可能 2021/06/01 00:00 ～ 2024/03/01 00:00"
    assert "101" in row.views[0].title and "2023/05/10 09:24 小売 陽子" in row.views[0].title


def test_views_on_consecutive_days_are_distinct_dots(named_retail_user):
    # Two days apart by one day are far less than a dot's width on a three-year axis.
    chart = timeline(_report(_views(named_retail_user)))
    assert chart is not None
    first, second = chart.rows[0].views
    assert second.x - first.x >= GAP


def test_two_views_on_one_day_are_one_dot_counting_both(named_retail_user):
    views = _views(named_retail_user)
    views[1]["at"] = "2023-05-10T17:00:00+09:00"
    chart = timeline(_report(views))
    assert chart is not None
    (dot,) = chart.rows[0].views
    assert "閲覧 2回" in dot.title


def test_the_pages_show_the_source_by_label_people_by_name_and_common_times(
    auditor_client,
    auditor,
    django_capture_on_commit_callbacks,
    settings,
):
    settings.SHADAN_EXPOSURE_LEGACY_DIRS = {"example": str(EXAMPLE)}
    User.objects.filter(pk=auditor.pk).update(last_name="監査", first_name="三郎")
    request_report(
        auditor_client,
        django_capture_on_commit_callbacks,
        period_from="2022-04-01",
        period_to="2023-01-11",
        source="example",
    )
    run = ExposureRun.objects.get()
    home = auditor_client.get(reverse("exposure-home")).content.decode()
    page = auditor_client.get(reverse("exposure-run", kwargs={"run_id": run.pk})).content.decode()
    for html in (home, page):
        assert "旧システムのログ：example" in html
        assert "監査 三郎" in html and auditor.username not in html
    assert "2022/04/01 ～ 2023/01/11" in home and "2022/04/01 ～ 2023/01/11" in page
    visible = re.sub(r"<title>.*?</title>", "", page, flags=re.S)
    assert not ISO_MOMENT.search(visible)
    assert "<title>" in page and "閲覧可能" in page
