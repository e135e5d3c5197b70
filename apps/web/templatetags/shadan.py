from __future__ import annotations

import datetime
from dataclasses import dataclass

from django import template
from django.core.exceptions import NON_FIELD_ERRORS
from django.forms import BaseForm, BoundField
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from apps.core.templatetags.badges import (
    link,
    masking_badge,
    retail_fields,
    state_badge,
    url_prefix,
)

__all__ = ["age", "enumerate_words", "masking_badge", "state_badge", "url_prefix"]

register = template.Library()


@register.filter
def age(value: datetime.timedelta | None) -> str:
    """How long something has waited, in days and hours (3日4時間 / 3 d 4 h)."""
    if value is None:
        return "—"
    hours = int(value.total_seconds() // 3600)
    days, hours = divmod(hours, 24)
    if days:
        return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    minutes = int(value.total_seconds() // 60) % 60
    return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}


@register.filter
def enumerate_words(values: list[object]) -> str:
    """A list as prose: 市区町村、電気工事店、備考 in Japanese, a, b, c in English."""
    separator = "、" if (get_language() or "").startswith("ja") else ", "
    return separator.join(str(value) for value in values)


# The badges and the URL prefix are shared with the retail site (apps.core.templatetags.badges).
register.simple_tag(state_badge)
register.simple_tag(masking_badge)
register.simple_tag(url_prefix)
register.simple_tag(link)
register.simple_tag(retail_fields)


@dataclass(frozen=True)
class SummaryItem:
    """One line of the error summary: where the field is (``anchor``, no ``#``; empty for
    an error about the whole form), what it is called and what is wrong; ``field`` names it
    for tests and scripts."""

    anchor: str
    label: object
    message: str
    field: str = ""


def _anchor(bound: BoundField) -> str:
    # A group of radio buttons or check boxes has no single label target (Django leaves
    # id_for_label empty); its first choice carries the id "<auto_id>_0".
    return bound.id_for_label or (f"{bound.auto_id}_0" if bound.auto_id else "")


@register.simple_tag
def error_summary_items(*forms: object) -> list[SummaryItem]:
    """Every error of the given forms in page order: the form's own first, then each field's,
    so the summary at the top of a long page can link to each field."""
    items: list[SummaryItem] = []
    for form in forms:
        # An absent second form arrives as "" (the template engine's missing value).
        if not isinstance(form, BaseForm) or not form.is_bound or not form.errors:
            continue
        items.extend(SummaryItem("", "", str(error)) for error in form.non_field_errors())
        for bound in form:
            items.extend(
                SummaryItem(_anchor(bound), bound.label, str(e), bound.name) for e in bound.errors
            )
        for name in form.errors.keys() - {*form.fields, NON_FIELD_ERRORS}:
            items.extend(SummaryItem("", "", str(e)) for e in form.errors[name])
    return items
