from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet

from .models import (
    Division,
    DivisionCode,
    PasswordResetRequest,
    PasswordResetStatus,
    Role,
    User,
)


def is_in_division(user: User | AnonymousUser, division: DivisionCode) -> bool:
    """Asked at the moment of use: a transfer takes effect on the next request."""
    if not user.is_authenticated or not user.is_active:
        return False
    assert isinstance(user, User)
    return user.division_at() == division


def roles_of(user: User) -> list[Role]:
    return list(Role.objects.filter(group__user=user).select_related("division"))


def pending_password_resets() -> QuerySet[PasswordResetRequest]:
    """Every administrator sees every pending reset, oldest first (the one waiting longest)."""
    return (
        PasswordResetRequest.objects.filter(status=PasswordResetStatus.PENDING)
        .select_related("user", "proposed_by")
        .order_by("proposed_at", "id")
    )


def decided_password_resets(*, limit: int = 20) -> list[PasswordResetRequest]:
    return list(
        PasswordResetRequest.objects.exclude(status=PasswordResetStatus.PENDING)
        .select_related("user", "proposed_by", "decided_by")
        .order_by("-decided_at", "-id")[:limit]
    )


def password_reset_request(request_id: int) -> PasswordResetRequest | None:
    return (
        PasswordResetRequest.objects.select_related("user", "proposed_by", "decided_by")
        .filter(pk=request_id)
        .first()
    )


def password_reset_candidates(*, excluding: User) -> QuerySet[User]:
    """Whose reset an administrator may propose: anyone but themselves."""
    return User.objects.exclude(pk=excluding.pk).order_by("username")


@dataclass(frozen=True)
class ComplianceContact:
    """The person named as a division's compliance contact, and whether they may still
    be told: active and a member of that division at this moment."""

    division: str
    user_id: int | None
    active: bool = False
    member: bool = False

    @property
    def entitled(self) -> bool:
        return self.user_id is not None and self.active and self.member


def compliance_contact_of(division: str) -> ComplianceContact:
    """Asked at the moment of notifying (two small queries): the name may be stale if the
    person left the division by a path that did not clear it."""
    named = (
        Division.objects.filter(code=division)
        .values_list("compliance_contact_id", flat=True)
        .first()
    )
    user = User.objects.filter(pk=named).first() if named is not None else None
    if user is None:
        return ComplianceContact(division=division, user_id=None)
    return ComplianceContact(
        division=division,
        user_id=user.pk,
        active=user.is_active,
        member=user.division_at() == division,
    )
