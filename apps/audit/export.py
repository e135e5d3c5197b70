"""CSV export of a search, streamed, for Excel in Japan: UTF-8 with a BOM, and cells that
a spreadsheet would read as a formula neutralised (CSV injection)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.utils import timezone

from .models import AuditEvent

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
COLUMNS = (
    "id",
    "occurred_at",
    "action",
    "actor_username",
    "actor_division",
    "actor_roles",
    "object_type",
    "object_id",
    "object_label",
    "changed_fields",
    "details",
    "reason",
    "request_id",
    "client_ip",
)


def neutralise(value: str) -> str:
    """A leading apostrophe makes Excel show the text instead of evaluating it."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def _cell(event: AuditEvent, column: str) -> str:
    value: Any = getattr(event, column)
    if column == "occurred_at":
        value = timezone.localtime(value).isoformat()
    elif isinstance(value, (list, dict)):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return neutralise("" if value is None else str(value))


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_rows(events: Iterable[AuditEvent], header: Iterable[str]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield BOM + writer.writerow(list(header))
    for event in events:
        yield writer.writerow([_cell(event, column) for column in COLUMNS])
