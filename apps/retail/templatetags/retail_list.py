"""The retail list's table rows, built in one tag.

The list is the retail site's busiest page (`make bench` item 2: p95 < 50 ms at the
large scale). Through the template engine its 25 rows of nine cells were most of the
page's CPU time (a variable lookup, an autoescape and a localisation per cell, a tag per
badge); the same markup built here costs a fraction of it. What each
cell shows is unchanged: the same escaping, the same localised number and short date,
the same badges (apps.core.templatetags.badges), a detail link from the page's one
reversed URL prefix.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from django import template
from django.template.defaultfilters import date as date_filter
from django.utils.formats import localize
from django.utils.safestring import SafeString, mark_safe

from apps.core.templatetags.badges import masking_badge, state_badge

register = template.Library()

ROW = (
    '<tr data-reference="{reference}">'
    '<td class="nowrap"><a href="{prefix}{reference}/">{reference}</a></td>'
    '<td class="nowrap">{pseudonym}</td>'
    '<td class="num nowrap">{supply_point_id}</td>'
    '<td>{retailer_name} <span class="muted">({retailer_code})</span></td>'
    "<td>{contract_class_label}</td>"
    '<td class="num">{capacity}</td>'
    '<td class="nowrap">{start}</td>'
    "<td>{state}</td>"
    "<td>{masking}</td>"
    "</tr>\n"
)


def _text(value: Any) -> str:
    # What {{ value }} prints under autoescape: django.utils.html.escape, which is
    # html.escape of str behind a lazy-string wrapper that costs more than the escaping.
    return html.escape(str(value))


@register.simple_tag
def retail_rows(applications: Iterable[Any], detail_prefix: str, masking_state: str) -> SafeString:
    """One <tr> per application (apps.vocabulary.projection.RetailApplication), as the
    list's table body."""
    masking = masking_badge(masking_state)  # the same on every row: retail sees verified only
    prefix = html.escape(detail_prefix)
    # A page repeats a few states, contract classes, capacities and start dates: each
    # written once (a label is translated, a number and a date localised, per call).
    states: dict[Any, str] = {}
    classes: dict[Any, str] = {}
    capacities: dict[str, str] = {}
    dates: dict[Any, str] = {}
    rows = []
    for a in applications:
        shown = a.as_dict()
        state = states.get(shown["state"])
        if state is None:
            state = states[shown["state"]] = state_badge(shown["state"], a.state_label)
        contract_class = classes.get(shown["contract_class"])
        if contract_class is None:
            contract_class = classes[shown["contract_class"]] = _text(a.contract_class_label)
        # A capacity by its text: 12.5 and 12.50 are equal, not written alike.
        capacity = str(shown["contract_capacity_kw"])
        if capacity not in capacities:
            capacities[capacity] = _text(localize(shown["contract_capacity_kw"]))
        day = shown["requested_start_date"]
        start = dates.get(day)
        if start is None:
            start = dates[day] = html.escape(date_filter(day, "SHORT_DATE_FORMAT"))
        rows.append(
            ROW.format(
                reference=_text(shown["reference"]),
                prefix=prefix,
                pseudonym=_text(shown["pseudonym"]),
                supply_point_id=_text(shown["supply_point_id"]),
                retailer_name=_text(shown["retailer_name"]),
                retailer_code=_text(shown["retailer_code"]),
                contract_class_label=contract_class,
                capacity=capacities[capacity],  # a localised number
                start=start,
                state=state,
                masking=masking,
            )
        )
    return mark_safe("".join(rows))  # noqa: S308 - every value above is escaped
