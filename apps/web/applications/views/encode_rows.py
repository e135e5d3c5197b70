"""The encode page's two columns, side by side: what T&D holds (with the customer's
personal data) and what the retail site will show once published."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.safestring import SafeString

from apps.applications.models import Application
from apps.vault.types import CustomerPII
from apps.vocabulary.projection import RetailApplication
from apps.web.applications.forms import FIELD_LABELS


@dataclass
class Row:
    """One line of the encode page; `marked` is the value with its leaks in <mark> (the
    clerk's own typing, on this page only)."""

    name: str
    label: str | Promise
    value: Any
    is_date: bool = False
    td_only: bool = False
    personal: bool = False
    marked: SafeString | None = None


def td_rows(application: Application, customer: CustomerPII) -> list[Row]:
    """What T&D holds, in the form's order; the personal data revealed for encoding."""
    a = application
    return [
        Row("supply_point_id", FIELD_LABELS["supply_point_id"], a.supply_point_id),
        Row("postal_code", FIELD_LABELS["postal_code"], a.postal_code, td_only=True),
        Row("prefecture", FIELD_LABELS["prefecture"], a.get_prefecture_display()),
        Row("municipality", FIELD_LABELS["municipality"], a.municipality),
        Row("street_address", FIELD_LABELS["street_address"], a.street_address, td_only=True),
        Row("contract_class", FIELD_LABELS["contract_class"], a.get_contract_class_display()),
        Row(
            "contract_capacity_kw",
            FIELD_LABELS["contract_capacity_kw"],
            a.contract_capacity_kw,
        ),
        Row(
            "requested_start_date",
            FIELD_LABELS["requested_start_date"],
            a.requested_start_date,
            is_date=True,
        ),
        Row("contractor_name", FIELD_LABELS["contractor_name"], a.contractor_name),
        Row(
            "contractor_registration",
            FIELD_LABELS["contractor_registration"],
            a.contractor_registration,
            td_only=True,
        ),
        Row("retailer", FIELD_LABELS["retailer"], str(a.retailer)),
        Row("remarks", FIELD_LABELS["remarks"], a.remarks),
        Row("customer_name", FIELD_LABELS["customer_name"], customer.name, personal=True),
        Row(
            "customer_name_kana",
            FIELD_LABELS["customer_name_kana"],
            customer.name_kana,
            personal=True,
        ),
        Row("customer_phone", FIELD_LABELS["customer_phone"], customer.phone, personal=True),
        Row("customer_email", FIELD_LABELS["customer_email"], customer.email, personal=True),
    ]


def retail_rows(p: RetailApplication) -> list[Row]:
    """What the retail site will show once published."""
    # Named like the scanner's fields (the projection's field names), so leaks mark them.
    return [
        Row(spec.name, spec.label, value, is_date=spec.display == "date")
        for spec, value in p.shown()
    ]
