"""Accesses on chosen Japan-time days, and the people who review them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from apps.accounts.models import Division, DivisionCode, User
from apps.audit.models import AuditAction, AuditEvent
from tests.conftest import _person

JST = ZoneInfo("Asia/Tokyo")
DAY = dt.date(2026, 3, 10)


def jst(day: dt.date, hour: int = 12, minute: int = 0, second: int = 0, micro: int = 0):
    return dt.datetime(day.year, day.month, day.day, hour, minute, second, micro, tzinfo=JST)


@pytest.fixture
def auditor2(db: None) -> User:
    return _person("kansa_inoue", "audit", "auditor")


@pytest.fixture
def compliance(db: None) -> User:
    contact = _person("compliance_kato", "td", "supervisor")
    Division.objects.filter(code=DivisionCode.TD).update(compliance_contact=contact)
    return contact


@pytest.fixture
def access(db: None, clerk: User) -> Callable[..., AuditEvent]:
    """An access event as the trail holds it, at a chosen moment (the services always
    write 'now'; the trail is append-only, so the moment is set at insert)."""

    def make(
        at: dt.datetime,
        *,
        action: str = AuditAction.PII_READ,
        actor: User | None = None,
        obj: Any = None,
    ) -> AuditEvent:
        actor = actor or clerk
        return AuditEvent.objects.create(
            occurred_at=at,
            actor=actor,
            actor_username=actor.username,
            actor_division=actor.division_at() or "",
            actor_roles=actor.role_codes(),
            action=action,
            object_type="applications.application" if obj is not None else "",
            object_id=str(obj.pk) if obj is not None else "",
            object_label=str(obj) if obj is not None else "",
            details={"purpose": "entry"} if action == AuditAction.PII_READ else {"view": "list"},
        )

    return make
