"""The actor's division and roles as they were at a moment in the past, for events written
after they happened (apps.audit.collector).

An ordinary event reads its actor's snapshot inside its INSERT (apps.audit.snapshot), at
the moment it happens. A retail view collected minutes or hours later must show who the
person was when they looked, not who they are now:

- the division comes from the effective-dated memberships, as `User.division_at` reads it
  (first membership by valid_from that was valid at the moment);
- the roles have no history table. They are today's roles with every later change taken
  back, newest first, from the trail itself: a later grant is removed, a later
  revocation restored, a later transfer's removed roles restored and granted ones
  removed. The people events are written in the same transaction as the change, so the
  trail holds every change there is.

Three queries for any number of (actor, moment) pairs; in the usual case (collected a
minute after the view) the third finds no later change.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from apps.accounts.models import DivisionMembership, Role

from .models import AuditAction, AuditEvent

USER_TYPE = "accounts.user"
_ROLE_CHANGES = (AuditAction.ROLE_GRANTED, AuditAction.ROLE_REVOKED, AuditAction.USER_TRANSFERRED)

Snapshot = tuple[str, list[str]]


def snapshots_at(
    pairs: Iterable[tuple[int, dt.datetime]],
) -> dict[tuple[int, dt.datetime], Snapshot]:
    """(division or "", sorted role codes) per (user id, moment)."""
    pairs = set(pairs)
    if not pairs:
        return {}
    users = {user_id for user_id, _moment in pairs}
    earliest = min(moment for _user, moment in pairs)

    memberships: dict[int, list[tuple[dt.datetime, dt.datetime | None, str]]] = defaultdict(list)
    for user_id, division, valid_from, valid_until in (
        DivisionMembership.objects.filter(user_id__in=users)
        .order_by("valid_from", "id")
        .values_list("user_id", "division_id", "valid_from", "valid_until")
    ):
        memberships[user_id].append((valid_from, valid_until, division))

    current: dict[int, set[str]] = defaultdict(set)
    for user_id, code in Role.objects.filter(group__user__in=users).values_list(
        "group__user", "code"
    ):
        current[user_id].add(code)

    later: dict[int, list[tuple[dt.datetime, str, dict[str, object]]]] = defaultdict(list)
    for object_id, action, details, occurred_at in (
        AuditEvent.objects.filter(
            object_type=USER_TYPE,
            object_id__in=[str(user_id) for user_id in users],
            action__in=_ROLE_CHANGES,
            occurred_at__gt=earliest,
        )
        .order_by("-occurred_at", "-id")
        .values_list("object_id", "action", "details", "occurred_at")
    ):
        later[int(object_id)].append((occurred_at, action, details or {}))

    result: dict[tuple[int, dt.datetime], Snapshot] = {}
    for user_id, moment in pairs:
        division = next(
            (
                code
                for valid_from, valid_until, code in memberships[user_id]
                if valid_from <= moment and (valid_until is None or valid_until > moment)
            ),
            "",
        )
        roles = set(current[user_id])
        for occurred_at, action, details in later[user_id]:  # newest first
            if occurred_at <= moment:
                break
            _undo(roles, action, details)
        result[user_id, moment] = (division, sorted(roles))
    return result


def _undo(roles: set[str], action: str, details: dict[str, object]) -> None:
    if action == AuditAction.ROLE_GRANTED:
        roles.discard(str(details.get("role", "")))
    elif action == AuditAction.ROLE_REVOKED:
        roles.add(str(details.get("role", "")))
    elif action == AuditAction.USER_TRANSFERRED:
        roles.difference_update(_codes(details.get("roles_granted")))
        roles.update(_codes(details.get("roles_removed")))


def _codes(value: object) -> set[str]:
    return {str(code) for code in value} if isinstance(value, list) else set()
