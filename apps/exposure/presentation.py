"""The report as the pages show it: times as datetimes (the templates format them in the
common format, Tokyo time), actions by their label, people by their display name.

The stored report (ExposureRun.result, the CSV and the JSON) keeps its codes, ISO times
and login ids: this is a copy for reading only."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.utils import translation

from apps.accounts.models import User
from apps.audit.models import AuditAction

from .models import TRAIL


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def action_label(code: str) -> str:
    """An audit action by its label in the report's language (Japanese, like the rest of
    the report); a legacy system's own action word as it is."""
    if code in AuditAction.values:
        with translation.override(settings.LANGUAGE_CODE):
            return str(AuditAction(code).label)
    return code


def people_of(report: Mapping[str, Any], source: str) -> dict[str, str]:
    """Login id -> "display name (login id)" for shadan's own users; a legacy system's user
    ids are not shadan's and stay as they are."""
    if source != TRAIL:
        return {}
    names = set(report["details"]["viewers"])
    for row in report["details"]["accesses"]:
        names.add(row["user_id"])
    people = {}
    for user in User.objects.filter(username__in=names).only("username", "first_name", "last_name"):
        shown = user.display_name
        people[user.username] = shown if shown == user.username else f"{shown}（{user.username}）"
    return people


def present(report: Mapping[str, Any], *, source: str = "") -> dict[str, Any]:
    shown = copy.deepcopy(dict(report))
    details = shown["details"]
    people = people_of(report, source)

    def person(name: str) -> str:
        return people.get(name, name)

    for row in details["exposed_records"]:
        row["windows"] = [(_moment(start), _moment(end)) for start, end in row["windows"]]
    details["viewers"] = [person(name) for name in details["viewers"]]
    for row in details["customers_viewed"]:
        row["first_access"] = _moment(row["first_access"])
        row["viewers"] = [person(name) for name in row["viewers"]]
    for row in details["switched_after_view"]:
        row["switched_at"] = _moment(row["switched_at"])
    for row in details["accesses"]:
        row["at"] = _moment(row["at"])
        row["user"] = person(row["user_id"])
        row["action_label"] = action_label(row["action"])
    for key in ("period_from", "period_to"):
        shown[key] = date.fromisoformat(shown[key])
    for key in ("exposure_first", "exposure_last"):
        shown[key] = _moment(shown.get(key))
    return shown
