"""Writing audit events. Callers run inside their own transaction.atomic() block so the
event commits or rolls back together with the change it records.

An insert is all it takes: no hash, no lock, so concurrent writers never queue behind
one another. The sealer chains the committed events afterwards (apps.audit.sealing)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models

from apps.accounts.models import User
from apps.accounts.selectors import actor_snapshot

from .context import current_request_context
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
    actor_username: str | None = None,
) -> AuditEvent:
    """Append one event. `details` and `reason` must hold no personal data: callers pass
    codes, ids, states and field names; free-text reasons are leak-scanned by the caller.
    The request id, client address and user agent come from the request being handled
    (apps.audit.middleware), if any. `actor_username` names an actor that is not a user
    (e.g. an anonymous visitor); the default is the user's name, or "system"."""
    event = _Writer(actor, actor_username).event(
        action=action,
        obj=obj,
        object_label=object_label,
        changed_fields=changed_fields,
        details=details,
        reason=reason,
    )
    event.save(force_insert=True)
    return event


def audit_record_each(
    *,
    actor: User | None,
    action: AuditAction,
    objects: Iterable[models.Model],
    details: Mapping[str, Any] | None = None,
) -> list[AuditEvent]:
    """One event per object, the same action by the same actor (e.g. every row a retail
    list page showed): the actor's snapshot is read once and the rows go in one INSERT."""
    writer = _Writer(actor, None)
    events = [writer.event(action=action, obj=obj, details=details) for obj in objects]
    return AuditEvent.objects.bulk_create(events)


class _Writer:
    """The parts of an event that belong to who acted and in which request."""

    def __init__(self, actor: User | None, actor_username: str | None) -> None:
        self.actor = actor
        self.division, self.roles = actor_snapshot(actor) if actor is not None else ("", [])
        if actor_username is None:
            actor_username = actor.get_username() if actor is not None else "system"
        self.username = actor_username
        self.context = current_request_context()

    def event(
        self,
        *,
        action: AuditAction,
        obj: models.Model | None = None,
        object_label: str = "",
        changed_fields: Iterable[str] = (),
        details: Mapping[str, Any] | None = None,
        reason: str = "",
    ) -> AuditEvent:
        context = self.context
        return AuditEvent(
            actor=self.actor,
            actor_username=self.username,
            actor_division=self.division or "",
            actor_roles=list(self.roles),
            action=action,
            object_type=obj._meta.label_lower if obj is not None else "",
            object_id=str(obj.pk) if obj is not None else "",
            object_label=object_label or (str(obj) if obj is not None else ""),
            changed_fields=sorted(set(changed_fields)),
            details=dict(details or {}),
            reason=reason,
            request_id=context.request_id if context else "",
            client_ip=context.client_ip if context else None,
            user_agent=context.user_agent if context else "",
        )
