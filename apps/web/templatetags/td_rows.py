"""The table rows of the T&D lists (the clerk's list, the approval queue), each built in
one tag, as the retail list's are (apps/retail/templatetags/retail_list.py).

Through the template engine the clerk's 50 rows of seven cells and the queue's 25 of
nine were half of each page's time (issue 17: a variable lookup, an autoescape and a
localisation per cell, a tag per badge, a `{% translate %}` per row); the same markup
built here costs a fraction of it. What each cell shows is unchanged: the same escaping,
the same localised number and date in the current time zone, the same badges
(apps.core.templatetags.badges), the links from the page's one reversed URL prefix.
"""

from __future__ import annotations

import datetime
import html
from collections.abc import Iterable
from typing import Any

from django import template
from django.utils import timezone
from django.utils.formats import localize
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from apps.applications.models import Application
from apps.core.dates import formatted
from apps.core.templatetags.badges import masking_badge, state_badge
from apps.vocabulary.states import ApplicationState

from .shadan import age_parts, age_text

register = template.Library()

CLERK_ROW = (
    '<tr data-application="{pk}">'
    '<td class="nowrap"><a href="{prefix}{pk}/">{reference}</a></td>'
    '<td class="nowrap"><code>{pseudonym}</code></td>'
    '<td class="nowrap"><code>{supply_point_id}</code></td>'
    "<td>{retailer}</td>"
    "<td>{state}{discard}</td>"
    "<td>{masking}</td>"
    '<td class="num nowrap">{age}</td>'
    "</tr>\n"
)
DISCARD = ' <a href="{prefix}{pk}/discard/" data-testid="discard">{label}</a>'

QUEUE_ROW = (
    '<tr data-application="{pk}">'
    '<td class="nowrap"><a href="{prefix}{pk}/">{reference}</a></td>'
    "<td>{retailer}</td>"
    "<td>{contract_class}</td>"
    '<td class="num nowrap">{capacity} kW</td>'
    "<td>{encoded_by}</td>"
    '<td class="nowrap">{encoded_at}</td>'
    '<td class="nowrap">{age}</td>'
    '<td class="sla-{sla}" data-sla="{sla}">{sla_mark}{sla_label}</td>'
    "<td>{masking}</td>"
    "</tr>\n"
)
SLA_MARKS = {"overdue": "✖ ", "due": "▲ "}  # anything else: "✔ "


def _labels(field: str) -> dict[Any, Any]:
    """A choice field's labels as `get_FOO_display` reads them (lazy: translated when
    shown)."""
    return dict(Application._meta.get_field(field).flatchoices)


STATE_LABELS = _labels("state")
CONTRACT_CLASS_LABELS = _labels("contract_class")


def _text(value: Any) -> str:
    # What {{ value }} prints under autoescape: django.utils.html.escape, which is
    # html.escape of str behind a lazy-string wrapper that costs more than the escaping.
    return html.escape(str(value))


def _age(ages: dict[Any, str], wait: datetime.timedelta | None) -> str:
    """A row's age, each distinct one written once per page (`ages`)."""
    parts = age_parts(wait)
    found = ages.get(parts)
    if found is None:
        found = ages[parts] = _text(age_text(parts))
    return found


class _Retailers:
    """A retailer's cell (code, name and a badge), built once per retailer on the page:
    a page shows a few retailers many times."""

    def __init__(self, *, both_badges: bool) -> None:
        self._cells: dict[int, str] = {}
        if both_badges:
            self._affiliated = ' <span class="badge" data-testid="affiliated">{}</span>'.format(
                _text(_("affiliated"))
            )
            self._other = ' <span class="badge" data-testid="non-affiliated">{}</span>'.format(
                _text(_("non-affiliated"))
            )
        else:
            self._affiliated = ' <span class="badge">{}</span>'.format(_text(_("Affiliated")))
            self._other = ""

    def cell(self, row: Any) -> str:
        found = self._cells.get(row["retailer_id"])
        if found is None:
            badge = self._affiliated if row["retailer__is_affiliated"] else self._other
            found = self._cells[row["retailer_id"]] = (
                f"{_text(row['retailer__code'])} {_text(row['retailer__name'])}{badge}"
            )
        return found


@register.simple_tag
def clerk_rows(
    rows: Iterable[tuple[Any, datetime.timedelta | None]], detail_prefix: str, user_pk: Any
) -> SafeString:
    """One <tr> per (row, age) of the clerk's list: the discard link on the signed-in
    person's own drafts."""
    prefix = html.escape(detail_prefix)
    retailers = _Retailers(both_badges=True)
    states: dict[str, str] = {}
    maskings: dict[str, str] = {}
    discard_label = _text(_("Discard…"))
    ages: dict[Any, str] = {}
    out = []
    for app, app_age in rows:
        state = states.get(app["state"])
        if state is None:
            label = STATE_LABELS.get(app["state"], app["state"])
            state = states[app["state"]] = state_badge(app["state"], label)
        masking = maskings.get(app["masking_state"])
        if masking is None:
            masking = maskings[app["masking_state"]] = masking_badge(app["masking_state"])
        pk = _text(app["id"])
        own_draft = app["state"] == ApplicationState.DRAFT and app["created_by_id"] == user_pk
        out.append(
            CLERK_ROW.format(
                pk=pk,
                prefix=prefix,
                reference=_text(app["reference"]),
                pseudonym=_text(app["pseudonym"]),
                supply_point_id=_text(app["supply_point_id"]),
                retailer=retailers.cell(app),
                state=state,
                discard=(
                    DISCARD.format(prefix=prefix, pk=pk, label=discard_label) if own_draft else ""
                ),
                masking=masking,
                age=_age(ages, app_age),
            )
        )
    return mark_safe("".join(out))  # noqa: S308 - every value above is escaped


FILTER = (
    '<a href="{url}?state={key}"{current} data-filter="{key}">{label}'
    ' <span class="count" data-testid="count-{key}">{count}</span></a>'
)


@register.simple_tag
def clerk_filters(filters: Iterable[tuple[Any, Any]], chosen: Any, list_url: str) -> SafeString:
    """The clerk's list's state filters, one link per (filter, count), the chosen one
    marked current: nine links through the template engine cost about as much as the
    fifty rows (issue 17)."""
    url = html.escape(list_url)
    chosen_key = getattr(chosen, "key", None)
    return mark_safe(  # noqa: S308 - every value is escaped
        "".join(
            FILTER.format(
                url=url,
                key=_text(f.key),
                current=' aria-current="page"' if f.key == chosen_key else "",
                label=_text(f.label),
                count=_text(count),
            )
            for f, count in filters
        )
    )


def _display_name(app: Any) -> str:
    """accounts.User.display_name of the encoder: family name first, else the login id."""
    if app["encoded_by_id"] is None:
        return ""
    names = (app["encoded_by__last_name"], app["encoded_by__first_name"])
    return " ".join(part for part in names if part) or app["encoded_by__username"]


@register.simple_tag
def queue_rows(rows: Iterable[Any], detail_prefix: str) -> SafeString:
    """One <tr> per row of the approval queue (apps.web.applications.views.supervisor
    .QueueRow); every application in it is encoded, so the masking badge is one."""
    prefix = html.escape(detail_prefix)
    retailers = _Retailers(both_badges=False)
    masking = masking_badge("encoded")
    classes: dict[str, str] = {}
    people: dict[Any, str] = {}
    ages: dict[Any, str] = {}
    capacities: dict[str, str] = {}
    limits: dict[str, str] = {}
    out = []
    for row in rows:
        app = row.application
        contract_class = classes.get(app["contract_class"])
        if contract_class is None:
            label = CONTRACT_CLASS_LABELS.get(app["contract_class"], app["contract_class"])
            contract_class = classes[app["contract_class"]] = _text(label)
        encoded_by = people.get(app["encoded_by_id"])
        if encoded_by is None:
            encoded_by = people[app["encoded_by_id"]] = _text(_display_name(app) or "—")
        # A capacity by its text: 12.5 and 12.50 are equal, not written alike.
        capacity = str(app["contract_capacity_kw"])
        if capacity not in capacities:
            capacities[capacity] = _text(localize(app["contract_capacity_kw"]))
        if row.sla not in limits:
            limits[row.sla] = _text(row.sla_label)
        encoded_at = (
            _text(formatted(timezone.localtime(app["encoded_at"]), "SHORT_DATETIME_FORMAT"))
            if app["encoded_at"] is not None
            else ""
        )
        out.append(
            QUEUE_ROW.format(
                pk=_text(row.pk),
                prefix=prefix,
                reference=_text(app["reference"]),
                retailer=retailers.cell(app),
                contract_class=contract_class,
                capacity=capacities[capacity],
                encoded_by=encoded_by,
                encoded_at=encoded_at,
                age=_age(ages, row.age),
                sla=_text(row.sla),
                sla_mark=SLA_MARKS.get(row.sla, "✔ "),
                sla_label=limits[row.sla],
                masking=masking,
            )
        )
    return mark_safe("".join(out))  # noqa: S308 - every value above is escaped
