"""The retail list's rows (apps/retail/templatetags/retail_list.py): a page writes each
state, contract class, capacity and start date once and reuses it, and every row still
reads as if written alone: in both languages, escaped, 12.5 and 12.50 each as written."""

from __future__ import annotations

import datetime
import html
from decimal import Decimal

import pytest
from django.template.defaultfilters import date as date_filter
from django.utils import translation
from django.utils.formats import localize

from apps.core.templatetags.badges import masking_badge, state_badge
from apps.retail.templatetags.retail_list import ROW, retail_rows
from apps.vocabulary.projection import RetailApplication, projection_from_values


def _projection(n: int, **changes: object) -> RetailApplication:
    values = {
        "reference": f"SD2026-{n:07d}",
        "pseudonym": f"P-{n:04d}<x>",
        "supply_point_id": f"03{n:020d}",
        "prefecture": "沖縄県",
        "municipality": "那覇市",
        "contract_class": "low",
        "contract_capacity_kw": Decimal("12.5"),
        "requested_start_date": datetime.date(2026, 4, 1),
        "contractor_name": "電気工事店",
        "remarks": "",
        "retailer_code": "B0001",
        "retailer_name": "試験<でんき>",
        "state": "verified",
    }
    return projection_from_values({**values, **changes})


def _alone(a: RetailApplication, prefix: str, masking: str) -> str:
    """One row written from nothing but itself, every label and number on its own."""
    e = html.escape
    return ROW.format(
        reference=e(a.reference),
        prefix=e(prefix),
        pseudonym=e(a.pseudonym),
        supply_point_id=e(a.supply_point_id),
        retailer_name=e(a.retailer_name),
        retailer_code=e(a.retailer_code),
        contract_class_label=e(a.contract_class_label),
        capacity=e(str(localize(a.contract_capacity_kw))),
        start=e(date_filter(a.requested_start_date, "SHORT_DATE_FORMAT")),
        state=state_badge(a.state, a.state_label),
        masking=masking_badge(masking),
    )


@pytest.mark.parametrize("language", ["ja", "en"])
def test_every_row_reads_as_if_written_alone(language):
    page = [
        _projection(1),
        _projection(2, state="released", contract_class="high"),
        _projection(3, contract_capacity_kw=Decimal("12.50")),
        _projection(4, contract_capacity_kw=Decimal("1234.5"), state="energized"),
        _projection(5, requested_start_date=datetime.date(2026, 12, 31), state="released"),
        _projection(6, contract_class="high"),
    ]
    with translation.override(language):
        written = retail_rows(page, "/applications/", "verified")
        alone = "".join(_alone(a, "/applications/", "verified") for a in page)

    assert written == alone
    assert "試験&lt;でんき&gt;" in written
    assert ">12.50<" in written
    assert ">12.5<" in written
