"""Writing audit events. Callers run inside their own transaction.atomic() block so the
event commits or rolls back together with the change it records."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models

from apps.accounts.models import User
from apps.accounts.selectors import actor_snapshot

from .models import AuditAction, AuditEvent


def audit_record(
    *,
    actor: User | None,
    action: AuditAction,
    obj: models.Model | None = None,
    object_label: str = "",
    changed_fields: Iterable[str] = (),
    details: Mapping[str, Any] | None = None,
    reason: str = "",
) -> AuditEvent:
    """Append one event. `details` and `reason` must hold no personal data: callers pass
    codes, ids, states and field names; free-text reasons are leak-scanned by the caller."""
    division, roles = actor_snapshot(actor) if actor is not None else ("", [])
    event = AuditEvent(
        actor=actor,
        actor_username=actor.get_username() if actor is not None else "system",
        actor_division=division or "",
        actor_roles=roles,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_label=object_label or (str(obj) if obj is not None else ""),
        changed_fields=sorted(set(changed_fields)),
        details=dict(details or {}),
        reason=reason,
    )
    event.save(force_insert=True)
    return event
