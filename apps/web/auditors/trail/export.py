"""CSV export of a search, streamed, for Excel in Japan: UTF-8 with a BOM, and cells that
a spreadsheet would read as a formula neutralised (CSV injection).

Every code column (action, division, roles, fields, details) has a label column beside
it in the reader's language: the code is what a script filters on, the label what a
person reads. Times in the common format (2026/12/03 09:24, Tokyo)."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any, cast

from django.db.models import Field
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from apps.accounts.models import User
from apps.audit.models import AuditEvent
from apps.web.auditors.trail import presentation

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
COLUMNS = (
    "id",
    "occurred_at",
    "action",
    "action_label",
    "actor_username",
    "actor_name",
    "actor_division",
    "actor_division_label",
    "actor_roles",
    "actor_roles_label",
    "object_type",
    "object_id",
    "object_label",
    "changed_fields",
    "changed_fields_label",
    "details",
    "details_label",
    "reason",
    "request_id",
    "client_ip",
)
LABEL_HEADERS: dict[str, StrOrPromise] = {
    "action_label": _("Action (label)"),
    "actor_name": _("Actor's name"),
    "actor_division_label": _("Division (label)"),
    "actor_roles_label": _("Roles (label)"),
    "changed_fields_label": _("Changed fields (label)"),
    "details_label": _("Details (label)"),
}
LABELS: dict[str, Callable[[AuditEvent], str]] = {
    "action_label": lambda e: presentation.action_label(e.action),
    "actor_division_label": lambda e: (
        presentation.division_label(e.actor_division) if e.actor_division else ""
    ),
    "actor_roles_label": lambda e: presentation.roles_label(e.actor_roles) if e.actor_roles else "",
    "changed_fields_label": lambda e: (
        presentation.fields_label(e.changed_fields) if e.changed_fields else ""
    ),
    "details_label": lambda e: presentation.details_text(e.details),
}


def header() -> list[str]:
    names = []
    for column in COLUMNS:
        if column in LABEL_HEADERS:
            names.append(str(LABEL_HEADERS[column]))
        else:
            field = cast(Field[Any, Any], AuditEvent._meta.get_field(column))
            names.append(str(field.verbose_name))
    return names


def neutralise(value: str) -> str:
    """A leading apostrophe makes Excel show the text instead of evaluating it."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


class _Names:
    """Display names of actors, looked up once per actor while the rows stream."""

    def __init__(self) -> None:
        self.known: dict[int, str] = {}

    def __call__(self, event: AuditEvent) -> str:
        if event.actor_id is None:
            return ""
        if event.actor_id not in self.known:
            user = User.objects.filter(pk=event.actor_id).first()
            self.known[event.actor_id] = presentation.person_name(user, event.actor_username)
        return self.known[event.actor_id]


def _cell(event: AuditEvent, column: str, names: _Names) -> str:
    if column == "actor_name":
        return neutralise(names(event))
    if column in LABELS:
        return neutralise(LABELS[column](event))
    value: Any = getattr(event, column)
    if column == "occurred_at":
        value = presentation.format_datetime(value)
    elif isinstance(value, (list, dict)):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return neutralise("" if value is None else str(value))


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_rows(events: Iterable[AuditEvent], header: Iterable[str]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    names = _Names()
    yield BOM + writer.writerow(list(header))
    for event in events:
        yield writer.writerow([_cell(event, column, names) for column in COLUMNS])
