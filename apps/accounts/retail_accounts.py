"""Provisioning retail accounts: who has one in the retail database, and what it holds.

A person has a RetailAccount (apps.publication) exactly while they are active, a member
of the retail division and hold the retail role; nobody else's account ever reaches the
retail database. Every account service that can change one of those, or a retail
person's password, calls `retail_provision` at the end of its transaction, under the
person's row lock (explicit calls, not signals: see docs/decisions.md), and it writes a
replication message: an upsert of the account's fields, or a removal (which also ends
the person's retail sessions) for someone who was entitled and no longer is.

The password hash and must_change_password travel in every upsert, but overwrite an
existing retail account only when the T&D side set them (`credentials`: creation, an
entry into retail, an administrators' reset, an own change on the T&D side): once
provisioned, the retail site changes its own password.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.publication.models import Subject
from apps.replication.models import Kind, ReplicationMessage
from apps.replication.services import replication_write

from .models import DivisionCode, RoleCode, User


def retail_people() -> QuerySet[User]:
    """Everyone who should have a retail account now."""
    now = timezone.now()
    return User.objects.filter(
        Q(memberships__valid_until__isnull=True) | Q(memberships__valid_until__gt=now),
        is_active=True,
        memberships__division_id=DivisionCode.RETAIL,
        memberships__valid_from__lte=now,
        groups__role__code=RoleCode.RETAIL,
    ).distinct()


def retail_entitled(user: User) -> bool:
    return bool(
        user.is_active
        and user.division_at() == DivisionCode.RETAIL
        and RoleCode.RETAIL in user.role_codes()
    )


def retail_account_fields(user: User) -> dict[str, Any]:
    """What the retail account holds of the person (the T&D side's truth)."""
    return {
        "username": user.username,
        "display_name": user.display_name,
        "is_active": user.is_active,
        "session_stamp": user.session_stamp,
        "password": user.password,
        "must_change_password": user.must_change_password,
    }


def _credentials_pending(user_id: int) -> bool:
    """An earlier message that set the password has not been applied yet: this newer one
    must carry that on, or applying only the newest would lose it."""
    return ReplicationMessage.objects.filter(
        subject=Subject.ACCOUNT,
        subject_id=user_id,
        applied_at__isnull=True,
        payload__credentials=True,
    ).exists()


def retail_account_upsert(user: User, *, credentials: bool) -> ReplicationMessage:
    credentials = credentials or _credentials_pending(user.pk)
    return replication_write(
        subject=Subject.ACCOUNT,
        subject_id=user.pk,
        kind=Kind.UPSERT,
        payload={**retail_account_fields(user), "credentials": credentials},
    )


def retail_account_remove(user_id: int) -> ReplicationMessage:
    return replication_write(subject=Subject.ACCOUNT, subject_id=user_id, kind=Kind.REMOVE)


def retail_provision(user: User, *, was_entitled: bool, credentials: bool = False) -> None:
    """After a change to `user` (in the caller's transaction, the row locked): an upsert
    while entitled (with the password when the caller set it, or the person has just
    entered retail), a removal if they were entitled before and are not any more."""
    if retail_entitled(user):
        retail_account_upsert(user, credentials=credentials or not was_entitled)
    elif was_entitled:
        retail_account_remove(user.pk)
