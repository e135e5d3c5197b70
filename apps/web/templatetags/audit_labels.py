"""Codes of the trail as the auditors read them (apps.web.auditors.trail.presentation)."""

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
from django.utils.translation import ngettext

from apps.core.dates import formatted
from apps.core.templatetags.badges import url_prefix
from apps.web.auditors.trail import presentation
from apps.web.auditors.trail.tables import changed_fields_label

register = template.Library()


@register.filter
def division_label(code: object) -> str:
    return presentation.division_label(code)


@register.filter
def roles_label(codes: Iterable[object]) -> str:
    return presentation.roles_label(codes)


@register.filter
def action_label(code: object) -> str:
    return presentation.action_label(code)


@register.filter
def detail_items(details: Any) -> list[presentation.DetailItem]:
    return presentation.detail_items(details)


@register.filter
def person(user: Any) -> str:
    return presentation.person_name(user)


@register.inclusion_tag("audit/_person.html")
def person_with_login(user: Any, fallback: str = "") -> dict[str, Any]:
    """Display name with the login id beside it: the auditor needs both."""
    return {
        "name": presentation.person_name(user, fallback),
        "login": getattr(user, "username", "") or "",
    }


# The auditors' event tables (audit/_event_table.html: the search, an application's
# timeline, a person's history) build their rows here, one tag for the page, as the T&D
# lists do (td_rows): through the template engine every row reversed two URLs and
# included the details' template (issue 17 goal 5). The markup is the template's as it
# was (tests/web/auditors/test_event_rows.py renders both).

EVENT_ROW = (
    '<tr data-event="{pk}"{count}>'
    '<td class="num">{pk}</td>'
    '<td><span class="nowrap">{date}</span> <span class="nowrap">{time}</span></td>'
    "<td>{action}{group}</td>"
    "<td>{actor}{login}</td>"
    '<td class="nowrap">{division}</td>'
    '<td class="nowrap">{roles}</td>'
    '<td class="nowrap">{object}</td>'
    '<td class="fields">{fields}</td>'
    '<td class="details">{details}</td>'
    "</tr>\n"
)
GROUP = (
    ' <span class="badge" data-testid="group-count">{badge}</span>'
    '<details class="group"><summary>{summary}</summary>'
    '<ul class="plain">{members}</ul></details>'
)
MEMBER = '<li>#{pk} <span class="nowrap">{moment}</span></li>'


def _text(value: Any) -> str:
    """What {{ value }} prints under autoescape (td_rows._text): localised, escaped."""
    return html.escape(value if type(value) is str else str(localize(value)))


class _Labels:
    """Each code's label once per page (a page repeats a few actions, divisions, roles
    and field lists many times), escaped."""

    def __init__(self) -> None:
        self._found: dict[tuple[str, Any], str] = {}

    def of(self, kind: str, code: Any, label: Any) -> str:
        key = (kind, tuple(code) if isinstance(code, list) else code)
        found = self._found.get(key)
        if found is None:
            found = self._found[key] = _text(label(code))
        return found


def _moment(value: datetime.datetime, format_name: str) -> str:
    return _text(formatted(timezone.localtime(value), format_name))


@register.simple_tag
def event_details(items: Iterable[presentation.DetailItem], reason: str) -> SafeString:
    """An event's details as label/value items (a shortened hash opens to the whole),
    then its reason."""
    out = []
    for item in items:
        text, full = _text(item.text), _text(item.full)
        value = (
            f'<details class="hash"><summary><code title="{full}">{text}</code></summary>'
            f'<code class="hash-full">{full}</code></details>'
            if item.full
            else text
        )
        out.append(f"<div><dt>{_text(item.label)}</dt><dd>{value}</dd></div>")
    listed = f'<dl class="details-list">{"".join(out)}</dl>' if out else ""
    if reason:
        listed += '<p class="reason"><span class="muted">{}:</span> {}</p>'.format(
            _text(_("Reason")), _text(reason)
        )
    return mark_safe(listed)  # noqa: S308 - every value above is escaped


@register.simple_tag
def event_rows(rows: Iterable[Any]) -> SafeString:
    """One <tr> per EventRow (apps.web.auditors.trail.tables), the links from prefixes
    reversed once for the page."""
    user_prefix = html.escape(url_prefix("audit-user"))
    application_prefix = html.escape(url_prefix("audit-application"))
    labels = _Labels()
    out = []
    for row in rows:
        event = row.event
        pk = _text(event.pk)
        group = ""
        count = ""
        if row.events:
            count = f' data-count="{_text(row.count)}"'
            group = GROUP.format(
                badge=_text(
                    ngettext("×%(counter)s", "×%(counter)s", row.count)
                    % {"counter": localize(row.count)}
                ),
                summary=_text(
                    ngettext("%(counter)s view this day", "%(counter)s views this day", row.count)
                    % {"counter": localize(row.count)}
                ),
                members="".join(
                    MEMBER.format(
                        pk=_text(member.pk), moment=_moment(member.occurred_at, "DATETIME_FORMAT")
                    )
                    for member in row.events
                ),
            )
        name = _text(row.actor_name)
        actor = (
            f'<a href="{user_prefix}{_text(event.actor_id)}/">{name}</a>'
            if event.actor_id
            else name
        )
        login = (
            f' <span class="muted login-id">({_text(event.actor_username)})</span>'
            if event.actor_username and event.actor_username != row.actor_name
            else ""
        )
        label = _text(event.object_label)
        shown = (
            f'<a href="{application_prefix}{_text(event.object_id)}/">{label}</a>'
            if event.object_type == "applications.application"
            else label
        )
        out.append(
            EVENT_ROW.format(
                pk=pk,
                count=count,
                date=_moment(event.occurred_at, "DATE_FORMAT"),
                time=_moment(event.occurred_at, "TIME_FORMAT"),
                action=labels.of("action", event.action, presentation.action_label),
                group=group,
                actor=actor,
                login=login,
                division=labels.of("division", event.actor_division, presentation.division_label),
                roles=labels.of("roles", event.actor_roles, presentation.roles_label),
                object=shown,
                fields=labels.of("fields", event.changed_fields, changed_fields_label),
                details=event_details(row.details, event.reason),
            )
        )
    return mark_safe("".join(out))  # noqa: S308 - every value above is escaped
