"""The report written out: JSON (the keys of the issue), CSV (one long table) and HTML
(the regulator's table with the timeline)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from django.template.loader import render_to_string

from .engine import REPORT_KEYS
from .japanese import extreme_spans
from .presentation import people_of, present
from .timeline import timeline

CSV_HEADER = ("table", "group", "measure", "value")
# The report's top-level figures: every key but the breakdowns and the appendix.
SUMMARY_MEASURES = tuple(
    key for key in REPORT_KEYS if key not in ("by_contract_class", "by_retailer", "details")
)
GROUP_MEASURES = (
    "exposed_customers",
    "exposed_customers_in_period",
    "exposure_days_min",
    "exposure_days_max",
    "exposure_days_mean",
    "viewers",
    "customers_viewed",
    "switched_after_view",
)


def as_json(report: dict[str, Any]) -> str:
    """The report's keys in REPORT_KEYS' order, the appendix last: PostgreSQL's jsonb,
    where a run keeps its report, gives them back in its own order (shortest first, so
    `details` would come before the figures)."""
    ordered = {key: report[key] for key in REPORT_KEYS}
    return json.dumps(ordered, ensure_ascii=False, indent=2) + "\n"


def csv_rows(report: dict[str, Any]) -> Iterator[tuple[str, str, str, str]]:
    """table,group,measure,value: the summary, both breakdowns, then the appendix
    (every exposed record with its days, whether its exposure touched the period, and
    its windows; viewers, customers viewed, switches and every listed access)."""

    def text(value: Any) -> str:
        return "" if value is None else str(value)

    yield CSV_HEADER
    for measure in SUMMARY_MEASURES:
        yield ("summary", "", measure, text(report[measure]))
    for row in report["by_contract_class"]:
        for measure in GROUP_MEASURES:
            yield ("by_contract_class", row["contract_class"], measure, text(row[measure]))
    for row in report["by_retailer"]:
        yield ("by_retailer", row["retailer_code"], "retailer_name", row["retailer_name"])
        for measure in GROUP_MEASURES:
            yield ("by_retailer", row["retailer_code"], measure, text(row[measure]))
    details = report["details"]
    for record in details["exposed_records"]:
        yield ("exposed_record", record["record_id"], "days", text(record["days"]))
        yield ("exposed_record", record["record_id"], "in_period", _flag(record["in_period"]))
        for start, end in record["windows"]:
            yield ("exposure_window", record["record_id"], start, end)
    for user in details["viewers"]:
        yield ("viewer", user, "", "")
    for row in details["customers_viewed"]:
        yield ("customer_viewed", row["record_id"], "first_access", row["first_access"])
    for row in details["switched_after_view"]:
        yield ("switched_after_view", row["record_id"], "switched_at", row["switched_at"])
    for access in details["accesses"]:
        yield ("access", access["record_id"], access["user_id"], access["at"])


def _flag(value: bool) -> str:
    return "true" if value else "false"


def as_csv(report: dict[str, Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(csv_rows(report))
    return buffer.getvalue()


def table_context(report: dict[str, Any], *, source: str = "") -> dict[str, Any]:
    """What the report templates read: the report as shown (apps.exposure.presentation),
    its extreme spans and the timeline chart."""
    return {
        "report": present(report, source=source),
        "spans": extreme_spans(report),
        "chart": timeline(report, people=people_of(report, source)),
    }


def as_html(report: dict[str, Any]) -> str:
    return render_to_string("exposure/report_document.html", table_context(report))


def render(report: dict[str, Any], fmt: str) -> str:
    return {"json": as_json, "csv": as_csv, "html": as_html}[fmt](report)
