"""What an auditor reads instead of codes: labels for divisions, roles, actions and
application fields, an event's details as label/value items, hashes shortened, people
by display name.

The trail stores codes (they must not change when a translation does); every page and
the CSV show them through here, in the language of the request.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils import formats
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_stubs_ext import StrOrPromise

from apps.accounts.models import DivisionCode, RoleCode, User
from apps.audit.models import AuditAction
from apps.vocabulary.states import (
    ApplicationState,
    ContractClass,
    MaskingState,
    RevealPurpose,
)

HASH_SHOWN = 12
_HEX_HASH = re.compile(r"^[0-9a-f]{40,128}$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
GROUP_PREFIX = "shadan:"


def _choice_label(choices: Any, value: object) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def division_label(code: object) -> str:
    return _choice_label(DivisionCode, code) if code else "—"


def role_label(code: object) -> str:
    text = str(code)
    if text.startswith(GROUP_PREFIX):  # a role's Group is named shadan:<role>
        text = text[len(GROUP_PREFIX) :]
    return _choice_label(RoleCode, text)


def roles_label(codes: Iterable[object]) -> str:
    return join([role_label(code) for code in codes or ()]) or "—"


def action_label(code: object) -> str:
    return _choice_label(AuditAction, code)


def field_label(name: object) -> str:
    # inputs imports the vault-free application model only; imported late so the trail's
    # models load without the workflow's forms.
    from apps.applications.inputs import FIELD_LABELS

    text = str(name)
    # A read of personal data names the vault's fields (name, phone…): the form's
    # customer_ fields.
    label = FIELD_LABELS.get(text, FIELD_LABELS.get(f"customer_{text}"))
    return str(label) if label is not None else humanise(text)


def fields_label(names: Iterable[object]) -> str:
    return join([field_label(name) for name in names or ()]) or "—"


def humanise(key: str) -> str:
    return capfirst(key.replace("_", " ").replace(".", " ").strip()) or key


def join(values: Iterable[object]) -> str:
    from django.utils.translation import get_language

    separator = "、" if (get_language() or "").startswith("ja") else ", "
    return separator.join(str(value) for value in values)


def short_hash(value: str) -> str:
    return f"{value[:HASH_SHOWN]}…" if len(value) > HASH_SHOWN else value


def format_datetime(value: datetime.datetime | None) -> str:
    """2026/12/03 09:24 in Tokyo time (the project's DATETIME_FORMAT, config/formats)."""
    if value is None:
        return "—"
    from django.utils import timezone

    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return formats.date_format(value, "DATETIME_FORMAT")


def format_date(value: datetime.date | None) -> str:
    return formats.date_format(value, "DATE_FORMAT") if value is not None else "—"


def person_name(user: User | None, fallback: str = "") -> str:
    """Family name first (受付 花子); the login id when the person has no name."""
    if user is None:
        return fallback or "—"
    name = f"{user.last_name} {user.first_name}".strip()
    return name or user.username


# ---------------------------------------------------------------------------
# Details


@dataclass(frozen=True)
class DetailItem:
    label: str
    text: str
    full: str = ""  # the whole value when `text` is shortened (a hash)


KEY_LABELS: dict[str, StrOrPromise] = {
    "version": gettext_lazy("Version"),
    "state": gettext_lazy("State"),
    "previous_masking": gettext_lazy("Masking before"),
    "cause": gettext_lazy("Cause"),
    "projection": gettext_lazy("Retail projection (hash)"),
    "purpose": gettext_lazy("Purpose"),
    "fields": gettext_lazy("Fields"),
    "kinds": gettext_lazy("What leaked"),
    "permission": gettext_lazy("Permission"),
    "permissions": gettext_lazy("Permissions"),
    "group": gettext_lazy("Group"),
    "holder": gettext_lazy("Held by"),
    "user": gettext_lazy("User"),
    "why": gettext_lazy("Why"),
    "view": gettext_lazy("Page"),
    "retail_log_id": gettext_lazy("Retail view log entry"),
    "division": gettext_lazy("Division"),
    "from_division": gettext_lazy("From division"),
    "to_division": gettext_lazy("To division"),
    "role": gettext_lazy("Role"),
    "roles": gettext_lazy("Roles"),
    "roles_removed": gettext_lazy("Roles removed"),
    "model_permissions_removed": gettext_lazy("Permissions removed"),
    "object_permissions_revoked": gettext_lazy("Object permissions revoked"),
    "superuser": gettext_lazy("Superuser"),
    "superuser_removed": gettext_lazy("Superuser status removed"),
    "compliance_contact": gettext_lazy("Compliance contact"),
    "compliance_contact_cleared": gettext_lazy("Compliance contact cleared"),
    "previous": gettext_lazy("Previous"),
    "via": gettext_lazy("Via"),
    "added": gettext_lazy("Added"),
    "removed": gettext_lazy("Removed"),
    "cleared": gettext_lazy("Cleared"),
    "username": gettext_lazy("User name"),
    "request": gettext_lazy("Request"),
    "proposed_by": gettext_lazy("Proposed by"),
    "sessions_ended": gettext_lazy("Sessions ended"),
    "lockouts_cleared": gettext_lazy("Lock-outs cleared"),
    "after_reset": gettext_lazy("After a reset"),
    "proposal": gettext_lazy("Proposal"),
    "make_affiliated": gettext_lazy("Make affiliated"),
    "completed_on": gettext_lazy("Completed on"),
    "energized_on": gettext_lazy("Energized on"),
    "outcome": gettext_lazy("Verdict"),
    "event_id": gettext_lazy("Event"),
    "event_action": gettext_lazy("Action reviewed"),
    "day": gettext_lazy("Day"),
    "export": gettext_lazy("Export"),
    "filters": gettext_lazy("Filters"),
    "run": gettext_lazy("Report run"),
    "source": gettext_lazy("Source"),
    "period_from": gettext_lazy("From"),
    "period_to": gettext_lazy("To"),
    "format": gettext_lazy("Format"),
    "records": gettext_lazy("Records"),
    "results": gettext_lazy("Results"),
    "older_than": gettext_lazy("Older than"),
    "message": gettext_lazy("Message"),
    "messages": gettext_lazy("Messages"),
    "kind": gettext_lazy("Kind"),
    "recipient": gettext_lazy("Recipient"),
    "reason": gettext_lazy("Reason"),
    "at": gettext_lazy("At"),
    "application": gettext_lazy("Application"),
    # the audit search's own filters, recorded with an export
    "actor": gettext_lazy("User name"),
    "action": gettext_lazy("Action"),
    "date_from": gettext_lazy("From"),
    "date_to": gettext_lazy("To"),
}

WORD_LABELS: dict[str, StrOrPromise] = {
    # view=
    "list": gettext_lazy("List"),
    "detail": gettext_lazy("Detail page"),
    # via=, why=, holder=
    "admin": gettext_lazy("Administration screen"),
    "transfer": gettext_lazy("Transfer"),
    "barrier_check": gettext_lazy("Barrier consistency check"),
    "unreferenced": gettext_lazy("No longer referenced"),
    # export=
    "audit_events_csv": gettext_lazy("Audit trail (CSV)"),
    "exposure_report": gettext_lazy("Investigation report"),
    "exposure_report_csv": gettext_lazy("Investigation report (CSV)"),
    "exposure_report_json": gettext_lazy("Investigation report (JSON)"),
    "trail": gettext_lazy("Audit trail"),
    # permissions
    "view_application": gettext_lazy("View the application"),
    "change_application": gettext_lazy("Edit the application"),
    "encode_application": gettext_lazy("Encode the application"),
    "verify_application": gettext_lazy("Verify the masking"),
    "record_construction": gettext_lazy("Record construction"),
    "legitimate": gettext_lazy("Legitimate"),
    "suspicious": gettext_lazy("Suspicious"),
}
HOLDER_LABELS: dict[str, StrOrPromise] = {
    "group": gettext_lazy("Group"),
    "user": gettext_lazy("User"),
}

_DIVISION_KEYS = {"division", "from_division", "to_division"}
_ROLE_KEYS = {"role", "roles", "roles_removed", "group", "added", "removed", "cleared"}
_ACTION_KEYS = {"event_action", "action"}
_DATE_KEYS = {"completed_on", "energized_on", "day", "period_from", "period_to"}


def _word(value: object) -> str:
    text = str(value)
    if "." in text and text.split(".", 1)[0] in {"applications", "audit", "accounts"}:
        text = text.split(".", 1)[1]  # app_label.codename of a permission
    label = WORD_LABELS.get(text)
    return str(label) if label is not None else text


def _scalar(key: str, value: object) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if key in _DIVISION_KEYS:
        return division_label(value)
    if key in _ROLE_KEYS:
        return role_label(value)
    if key in _ACTION_KEYS:
        return action_label(value)
    if key == "fields":
        return field_label(value)
    if key == "state":
        return _choice_label(ApplicationState, value)
    if key == "previous_masking":
        return _choice_label(MaskingState, value)
    if key == "purpose":
        return _choice_label(RevealPurpose, value)
    if key == "contract_class":
        return _choice_label(ContractClass, value)
    if key == "kinds":
        from apps.applications.leaks import LeakKind

        return _choice_label(LeakKind, value)
    if key == "holder":
        label = HOLDER_LABELS.get(str(value))
        return str(label) if label is not None else str(value)
    if key in {"event_id", "proposal", "request", "run", "message"} and isinstance(value, int):
        return f"#{value}"
    text = str(value)
    if _ISO_DATETIME.match(text):
        try:
            return format_datetime(datetime.datetime.fromisoformat(text))
        except ValueError:
            return text
    if key in _DATE_KEYS or _ISO_DATE.match(text):
        try:
            return format_date(datetime.date.fromisoformat(text))
        except ValueError:
            return text
    return _word(text)


def _value(key: str, value: object) -> str:
    if isinstance(value, Mapping):
        parts = [f"{key_label(k)}: {_value(str(k), v)}" for k, v in value.items()]
        return join(parts) or "—"
    if isinstance(value, (list, tuple, set)):
        return join([_scalar(key, item) for item in value]) or "—"
    return _scalar(key, value)


def key_label(key: str) -> str:
    label = KEY_LABELS.get(key)
    return str(label) if label is not None else humanise(key)


def detail_items(details: Mapping[str, Any] | None) -> list[DetailItem]:
    """An event's details as label/value pairs; known keys and codes by their labels,
    unknown keys humanised, hashes shortened with the full value kept for on demand."""
    items = []
    for key, value in (details or {}).items():
        if isinstance(value, str) and _HEX_HASH.match(value):
            items.append(DetailItem(key_label(key), short_hash(value), value))
        else:
            items.append(DetailItem(key_label(key), _value(key, value)))
    return items


def details_text(details: Mapping[str, Any] | None) -> str:
    """One line for the CSV: 版: 3; 状態: 照合済み (hashes in full: a CSV is evidence)."""
    parts = []
    for item in detail_items(details):
        parts.append(f"{item.label}: {item.full or item.text}")
    return "; ".join(parts)


# ---------------------------------------------------------------------------
# Rows for the event tables


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
        return fields_label(self.event.changed_fields) if self.event.changed_fields else ""


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
