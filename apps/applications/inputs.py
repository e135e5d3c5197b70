"""Validation of application input, shared by the service layer and the forms.

The service validates everything again whatever the caller did: a form, the admin, a
command or a test all get the same rules and the same field-named errors.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from apps.retailers.models import Retailer
from apps.vocabulary.normalize import to_halfwidth
from apps.vocabulary.states import PREFECTURES, ContractClass

from . import validators
from .models import Application

CUSTOMER_FIELDS = ("customer_name", "customer_name_kana", "customer_phone", "customer_email")
APPLICATION_FIELDS = (
    "supply_point_id",
    "postal_code",
    "prefecture",
    "municipality",
    "street_address",
    "contract_class",
    "contract_capacity_kw",
    "requested_start_date",
    "contractor_name",
    "contractor_registration",
    "retailer",
    "remarks",
)
ALL_FIELDS = APPLICATION_FIELDS + CUSTOMER_FIELDS
FIELD_LABELS: dict[str, StrOrPromise] = {
    **{
        name: capfirst(Application._meta.get_field(name).verbose_name)
        for name in APPLICATION_FIELDS
    },
    "customer_name": _("Customer name"),
    "customer_name_kana": _("Customer name (kana)"),
    "customer_phone": _("Phone number"),
    "customer_email": _("E-mail address"),
}
OPTIONAL_FIELDS = frozenset({"remarks", "customer_email"})
MAX_LENGTH = {
    "municipality": 60,
    "street_address": 120,
    "contractor_name": 100,
    "remarks": 1000,
}
# 低圧 is supplied below 50 kW; 高圧 from 50 kW up to 2,000 kW (above is 特別高圧).
CAPACITY_LIMITS = {
    ContractClass.LOW: (Decimal("0.1"), Decimal("49.9")),
    ContractClass.HIGH: (Decimal("50"), Decimal("2000")),
}


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if value is not None else ""


# Above every contract class's limit: refused before any arithmetic on the number, since
# Decimal accepts 1e999 and quantizing it to 0.1 kW overflows the context's precision.
MAX_CAPACITY = max(high for _low, high in CAPACITY_LIMITS.values())
# A start date further ahead than this is a typo (9999, 2206 for 2026), not a plan.
START_DATE_YEARS_AHEAD = 5


def _capacity(value: Any) -> Decimal:
    try:
        amount = Decimal(to_halfwidth(str(value)).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        raise ValidationError(_("Enter the capacity as a number of kW."), code="invalid") from None
    if amount.is_nan() or amount.is_infinite():
        raise ValidationError(_("Enter the capacity as a number of kW."), code="invalid")
    if amount <= 0:
        raise ValidationError(_("Enter a capacity greater than zero."), code="invalid")
    if amount > MAX_CAPACITY:
        raise ValidationError(
            _("Enter a capacity of at most %(high)s kW.") % {"high": MAX_CAPACITY},
            code="out_of_range",
        )
    rounded = amount.quantize(Decimal("0.1"))
    if amount != rounded:
        raise ValidationError(_("Give the capacity to one decimal place."), code="precision")
    return rounded


def _date(value: Any) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = to_halfwidth(str(value)).strip().replace("/", "-")
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise ValidationError(_("Enter a date like 2026-04-01."), code="invalid") from None


def _years_after(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _retailer(value: Any) -> Retailer:
    if isinstance(value, Retailer):
        return value
    try:
        return Retailer.objects.get(pk=int(value))
    except (Retailer.DoesNotExist, TypeError, ValueError):
        raise ValidationError(_("Choose a retailer."), code="invalid_choice") from None


def _choice(choices: list[tuple[str, Any]]) -> Callable[[Any], str]:
    allowed = {value for value, _label in choices}

    def clean(value: Any) -> str:
        if str(value) not in allowed:
            raise ValidationError(_("Choose one of the options."), code="invalid_choice")
        return str(value)

    return clean


def _visible(name: str, clean: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``clean``, after refusing invisible and text-direction characters in typed text:
    what the clerk and the supervisor see must be what is stored and scanned."""

    def check(value: Any) -> Any:
        if isinstance(value, str):
            validators.refuse_invisible(
                value,
                field=FIELD_LABELS[name],
                allow_variation_selectors=name == "customer_name",
            )
        return clean(value)

    return check


_CLEANERS: dict[str, Callable[[Any], Any]] = {
    "supply_point_id": lambda v: validators.normalize_supply_point_id(str(v)),
    "postal_code": lambda v: validators.normalize_postal_code(str(v)),
    "prefecture": _choice(PREFECTURES),
    "municipality": _text,
    "street_address": _text,
    "contract_class": _choice(list(ContractClass.choices)),
    "contract_capacity_kw": _capacity,
    "requested_start_date": _date,
    "contractor_name": _text,
    "contractor_registration": lambda v: validators.normalize_contractor_registration(str(v)),
    "retailer": _retailer,
    "remarks": lambda v: str(v).strip() if v is not None else "",
    "customer_name": lambda v: validators.normalize_person_name(str(v)),
    "customer_name_kana": lambda v: validators.normalize_kana(str(v)),
    "customer_phone": lambda v: validators.normalize_phone(str(v)),
    "customer_email": lambda v: validators.normalize_email(str(v)),
}
CLEANERS: dict[str, Callable[[Any], Any]] = {
    name: _visible(name, clean) for name, clean in _CLEANERS.items()
}


def clean_application_input(
    data: Mapping[str, Any], *, previous_start_date: datetime.date | None = None
) -> dict[str, Any]:
    """Every field of ALL_FIELDS, cleaned, or a ValidationError naming each bad field.

    Unknown keys are refused rather than ignored, so a typo cannot silently drop input.
    """
    errors: dict[str, list[Any]] = {}
    unknown = sorted(set(data) - set(ALL_FIELDS))
    if unknown:
        errors["__all__"] = [_("Unknown fields: %(fields)s") % {"fields": ", ".join(unknown)}]
    cleaned: dict[str, Any] = {}
    for name in ALL_FIELDS:
        raw = data.get(name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if name in OPTIONAL_FIELDS:
                cleaned[name] = ""
            else:
                errors[name] = [ValidationError(_("This field is required."), code="required")]
            continue
        try:
            cleaned[name] = CLEANERS[name](raw)
        except ValidationError as exc:
            errors[name] = exc.error_list
            continue
        limit = MAX_LENGTH.get(name)
        if limit and len(cleaned[name]) > limit:
            errors[name] = [
                ValidationError(
                    _("Use at most %(limit)d characters.") % {"limit": limit}, code="max_length"
                )
            ]

    if "contract_capacity_kw" in cleaned and "contract_class" in cleaned:
        low, high = CAPACITY_LIMITS[ContractClass(cleaned["contract_class"])]
        if not low <= cleaned["contract_capacity_kw"] <= high:
            errors.setdefault("contract_capacity_kw", []).append(
                ValidationError(
                    _("For this contract class the capacity must be %(low)s–%(high)s kW.")
                    % {"low": low, "high": high},
                    code="out_of_range",
                )
            )
    start = cleaned.get("requested_start_date")
    if start is not None and start != previous_start_date:
        today = timezone.localdate()
        latest = _years_after(today, START_DATE_YEARS_AHEAD)
        if start < today:
            errors.setdefault("requested_start_date", []).append(
                ValidationError(_("The requested start date cannot be in the past."), code="past")
            )
        elif start > latest:
            errors.setdefault("requested_start_date", []).append(
                ValidationError(
                    _("The requested start date must be on or before %(latest)s.")
                    % {"latest": latest.isoformat()},
                    code="too_far",
                )
            )
    if errors:
        raise ValidationError(errors)
    return cleaned
