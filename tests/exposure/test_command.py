"""python manage.py exposure_report: the formats, the exact JSON keys, bad rows."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from apps.audit.models import AuditAction, AuditEvent

from .helpers import write_legacy
from .test_legacy_scenarios import (
    EXAMPLE,
    LAST_THREE,
    exposed_before_during_across_and_after,
    rec,
)

JSON_KEYS = [
    "period_from",
    "period_to",
    "exposed_customers",
    "exposed_customers_in_period",
    "exposure_first",
    "exposure_last",
    "exposure_days_min",
    "exposure_days_max",
    "exposure_days_mean",
    "viewers",
    "customers_viewed",
    "retailers_viewed",
    "switched_after_view",
    "by_contract_class",
    "by_retailer",
    "details",
]
REGULATOR_HEADINGS = [
    "調査期間",
    "お客さま数",
    "うち調査期間中に閲覧可能であったお客さま数",
    "閲覧可能となっていた期間",
    "閲覧者数",
    "小売電気事業者数",
    "契約変更のあったお客さま数",
]


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("exposure_report", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_json_has_exactly_the_keys_of_the_issue_in_order(db):
    report = json.loads(run("--from", "2022-04-01", "--to", "2023-01-11", "--legacy", str(EXAMPLE)))
    assert list(report) == JSON_KEYS
    assert report["period_from"] == "2022-04-01"
    assert report["exposed_customers"] == 3
    assert isinstance(report["exposure_days_mean"], int)
    assert report["viewers"] == 3


def test_csv_is_one_long_table(db):
    text = run(
        "--from", "2022-04-01", "--to", "2023-01-11", "--legacy", str(EXAMPLE), "--format", "csv"
    )
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["table", "group", "measure", "value"]
    summary = {r[2]: r[3] for r in rows if r[0] == "summary"}
    assert summary["exposed_customers"] == "3"
    assert summary["exposed_customers_in_period"] == "3"
    assert summary["exposure_days_mean"] == "360"
    assert summary["switched_after_view"] == "1"
    assert ["by_contract_class", "high", "exposed_customers", "1"] in rows
    assert ["by_contract_class", "high", "exposed_customers_in_period", "1"] in rows
    assert ["by_retailer", "A0002", "exposed_customers_in_period", "2"] in rows
    assert ["exposed_record", "R001", "in_period", "true"] in rows
    assert ["exposed_record", "R001", "days", "22.0"] in rows
    assert ["by_retailer", "A0003", "retailer_name", "ひがし電力"] in rows
    assert ["viewer", "u02", "", ""] in rows
    assert ["access", "R003", "u02", "2022-11-16T09:30:00+09:00"] in rows
    assert sum(1 for r in rows if r[0] == "access") == 4


def test_html_is_the_regulators_table_with_a_timeline_and_no_script(db, tmp_path):
    target = tmp_path / "report.html"
    run(
        "--from",
        "2022-04-01",
        "--to",
        "2023-01-11",
        "--legacy",
        str(EXAMPLE),
        "--format",
        "html",
        "--output",
        str(target),
    )
    html = target.read_text(encoding="utf-8")
    for heading in REGULATOR_HEADINGS:
        assert heading in html
    assert "2年7か月2日" in html  # R002: 2020-06-10 to 2023-01-12
    assert "<svg" in html
    assert html.count('class="tl-view"') == 4
    assert html.count('class="tl-window"') == 3
    assert "<script" not in html and "style=" not in html


def test_bad_rows_are_printed_and_the_command_fails_without_a_report(db, tmp_path: Path):
    directory = write_legacy(
        tmp_path,
        records=[rec("R1", "2023-01-01", "2023-02-01"), rec("R2", "2023-01-01", "x")],
        roster=["u1,retail,2022-01-01,"],
        access_log=["2023-01-15T10:00:00+09:00,u1,R1,view", "yesterday,u1,R1,view"],
    )
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError):
        call_command(
            "exposure_report",
            "--from",
            "2023-01-01",
            "--to",
            "2023-01-31",
            "--legacy",
            str(directory),
            stdout=out,
            stderr=err,
        )
    assert out.getvalue() == ""
    lines = err.getvalue().splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == ["records.csv:3", "access_log.csv:3"]


def test_every_run_is_an_audit_event(db):
    run("--from", "2023-01-01", "--to", "2023-01-31")  # shadan's own trail
    event = AuditEvent.objects.filter(action=AuditAction.EXPORT).get()
    assert event.details["export"] == "exposure_report"
    assert event.details["source"] == "trail"
    assert (event.details["period_from"], event.details["period_to"]) == (
        "2023-01-01",
        "2023-01-31",
    )


def test_dates_must_be_iso_and_in_order(db):
    with pytest.raises(CommandError):
        run("--from", "2023-01-31", "--to", "2023-01-01")
    with pytest.raises(CommandError):
        run("--from", "31/01/2023", "--to", "2023-02-01")


def test_every_exposed_customer_is_in_the_table_the_csv_and_the_appendix(db, tmp_path):
    # given: the last three months of logs, customers exposed before them too
    directory = exposed_before_during_across_and_after(tmp_path / "legacy")
    period = ("--from", LAST_THREE[0], "--to", LAST_THREE[1], "--legacy", str(directory))
    # when
    html = run(*period, "--format", "html")
    rows = list(csv.reader(io.StringIO(run(*period, "--format", "csv"))))
    # then: the table gives all of them, and of them those readable during the period
    assert "<th>お客さま数</th><td>8件</td>" in html
    assert re.search(r"<th>うち調査期間中に閲覧可能であったお客さま数</th><td[^>]*>3件</td>", html)
    appendix = html.split('data-testid="exposed-records"', 1)[1].split("</table>", 1)[0]
    listed = re.findall(r"<tr><td>(R\d+)</td>.*?<td>(○|—)</td></tr>", appendix, re.S)
    assert listed == [
        ("R01", "—"),
        ("R02", "—"),
        ("R03", "—"),
        ("R04", "—"),
        ("R05", "○"),
        ("R06", "○"),
        ("R07", "○"),
        ("R08", "—"),
    ]
    assert html.count('class="tl-window"') == 8  # one window each: not R08's later one
    summary = {r[2]: r[3] for r in rows if r[0] == "summary"}
    assert (summary["exposed_customers"], summary["exposed_customers_in_period"]) == ("8", "3")
    assert [r[1] for r in rows if r[0] == "exposed_record" and r[2] == "in_period"] == [
        f"R0{n}" for n in range(1, 9)
    ]
