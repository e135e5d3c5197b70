"""The auditors' event tables: one row per event with its actor's name and its details
as labels (apps.web.auditors.trail.presentation), and the application timeline's kinds
of action, with the retail list views folded per user, page and day."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_stubs_ext import StrOrPromise

from apps.accounts.models import User
from apps.audit.models import AuditAction
from apps.web.auditors.trail.presentation import (
    DetailItem,
    action_label,
    detail_items,
    division_label,
    fields_label,
    person_name,
    roles_label,
)


@dataclass(frozen=True)
class EventRow:
    """One event as the auditors' tables show it; `events` holds the repeats folded into
    this row (the timeline's grouped retail list views), newest last."""

    event: Any
    actor_name: str
    details: list[DetailItem]
    events: tuple[Any, ...] = ()

    @property
    def count(self) -> int:
        return len(self.events) or 1

    @property
    def action(self) -> str:
        return action_label(self.event.action)

    @property
    def division(self) -> str:
        return division_label(self.event.actor_division)

    @property
    def roles(self) -> str:
        return roles_label(self.event.actor_roles)

    @property
    def fields(self) -> str:
        return changed_fields_label(self.event.changed_fields)


def changed_fields_label(names: Iterable[object] | None) -> str:
    """An event's changed fields as the tables show them: their labels, or nothing."""
    return fields_label(names) if names else ""


def actor_names(events: Iterable[Any]) -> dict[int, str]:
    """Display names of the events' actors, one query."""
    ids = {event.actor_id for event in events if event.actor_id is not None}
    users = User.objects.filter(pk__in=ids).only("username", "first_name", "last_name")
    return {user.pk: person_name(user) for user in users}


def event_rows(events: Iterable[Any]) -> list[EventRow]:
    events = list(events)
    names = actor_names(events)
    return [
        EventRow(
            event,
            names.get(event.actor_id, event.actor_username or "—"),
            detail_items(event.details),
        )
        for event in events
    ]


# ---------------------------------------------------------------------------
# The application timeline: kinds of action, and retail list views grouped

# Retail's list writes one event per application shown: a busy retailer's list would
# bury the workflow under identical rows. These are folded per user, page and day.
GROUPED_ACTIONS = frozenset({AuditAction.RETAIL_VIEWED.value})

ACTION_KINDS: dict[str, tuple[StrOrPromise, tuple[str, ...]]] = {
    "workflow": (gettext_lazy("Workflow"), ("application.",)),
    "reads": (gettext_lazy("Reads and views"), ("pii.", "retail.")),
    "barrier": (gettext_lazy("Permissions"), ("permission.",)),
    "oversight": (gettext_lazy("Oversight and exports"), ("access.", "system.")),
}


def action_kind_choices() -> list[tuple[str, str]]:
    return [
        ("", _("All actions")),
        *((key, str(label)) for key, (label, _p) in ACTION_KINDS.items()),
    ]


def actions_of_kind(kind: str) -> list[str]:
    prefixes = ACTION_KINDS[kind][1]
    return [value for value in AuditAction.values if value.startswith(prefixes)]


def grouped_rows(events: Iterable[Any]) -> list[EventRow]:
    """Rows in time order; repeated retail views by one user of one page on one (Tokyo)
    day become one row, at the first view, holding every view."""
    from django.utils import timezone

    events = list(events)
    names = actor_names(events)
    groups: dict[tuple[object, ...], list[Any]] = {}
    order: list[tuple[object, ...] | Any] = []
    for event in events:
        if event.action in GROUPED_ACTIONS:
            key = (
                event.action,
                event.actor_id,
                event.actor_username,
                str((event.details or {}).get("view", "")),
                timezone.localtime(event.occurred_at).date(),
            )
            if key not in groups:
                groups[key] = []
                order.append(key)
            groups[key].append(event)
        else:
            order.append(event)
    rows = []
    for entry in order:
        if isinstance(entry, tuple):
            members = groups[entry]
            first = members[0]
            rows.append(
                EventRow(
                    first,
                    names.get(first.actor_id, first.actor_username or "—"),
                    detail_items(first.details),
                    tuple(members) if len(members) > 1 else (),
                )
            )
        else:
            rows.append(
                EventRow(
                    entry,
                    names.get(entry.actor_id, entry.actor_username or "—"),
                    detail_items(entry.details),
                )
            )
    return rows
