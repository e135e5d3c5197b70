from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.apps import apps as django_apps
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.models import Session
from django.db.models import Aggregate, CharField, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from guardian.models import UserObjectPermissionBase

from .models import (
    Division,
    DivisionCode,
    DivisionMembership,
    PasswordResetRequest,
    PasswordResetStatus,
    Role,
    RoleCode,
    User,
)


class _JoinedCodes(Aggregate):
    """Codes joined by commas, in no particular order: PostgreSQL's string_agg, SQLite's
    group_concat. For role codes, which are RoleCode's values (no comma in any)."""

    function = "STRING_AGG"
    template = "%(function)s(%(expressions)s, ',')"
    output_field = CharField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return super().as_sql(compiler, connection, function="GROUP_CONCAT", **extra_context)


def role_codes_of(user: OuterRef) -> Subquery:
    """The role codes of the user `user` refers to (`User.role_codes()`), as one scalar
    subquery of a statement that reads something else: the codes joined by commas, or
    NULL for none. `split_codes` reads it."""
    return Subquery(
        Role.objects.filter(group__user=user)
        .values("group__user")
        .annotate(codes=_JoinedCodes("code"))
        .values("codes")[:1]
    )


def split_codes(joined: str | None) -> set[str]:
    """What `role_codes_of` read, as a set of codes."""
    return set(joined.split(",")) if joined else set()


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


@dataclass(frozen=True)
class UserRow:
    """One person as the administrators' list shows them."""

    user: User
    division: str | None
    roles: list[str]

    @property
    def division_label(self) -> str:
        return str(DivisionCode(self.division).label) if self.division else ""

    @property
    def role_labels(self) -> list[str]:
        return [str(RoleCode(code).label) for code in self.roles]


def user_rows(*, division: str | None = None, include_inactive: bool = True) -> list[UserRow]:
    """Every user with the division they belong to now and their roles: three queries
    whatever the number of users (users, open memberships, role memberships)."""
    now = timezone.now()
    current = dict(
        DivisionMembership.objects.filter(valid_from__lte=now)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now))
        .values_list("user_id", "division_id")
    )
    users = User.objects.order_by("username")
    if division:
        users = users.filter(pk__in=[pk for pk, code in current.items() if code == division])
    if not include_inactive:
        users = users.filter(is_active=True)
    roles: dict[int, list[str]] = {}
    for user_id, code in Role.objects.values_list("group__user", "code").order_by("code"):
        if user_id is not None:
            roles.setdefault(user_id, []).append(code)
    return [UserRow(u, current.get(u.pk), roles.get(u.pk, [])) for u in users]


def user_row(user_id: int) -> UserRow | None:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return None
    return UserRow(user, user.division_at(), user.role_codes())


@dataclass(frozen=True)
class TransferPreview:
    """What a transfer of this person would remove now (apps.administration.services.user_transfer
    removes exactly these)."""

    roles: list[str]
    model_permissions: list[str]
    object_permissions: int
    sessions: int
    superuser: bool
    compliance_contact_of: list[str]

    @property
    def role_labels(self) -> list[str]:
        return [str(RoleCode(code).label) for code in self.roles]

    @property
    def compliance_contact_labels(self) -> list[str]:
        return [str(DivisionCode(code).label) for code in self.compliance_contact_of]


def transfer_preview(user: User) -> TransferPreview:
    object_permissions = 0
    for model in django_apps.get_models():
        if issubclass(model, UserObjectPermissionBase):
            object_permissions += model.objects.filter(user=user).count()
    return TransferPreview(
        roles=user.role_codes(),
        model_permissions=sorted(
            f"{app_label}.{codename}"
            for app_label, codename in user.user_permissions.values_list(
                "content_type__app_label", "codename"
            )
        ),
        object_permissions=object_permissions,
        sessions=active_session_count(user),
        superuser=user.is_superuser,
        compliance_contact_of=sorted(
            Division.objects.filter(compliance_contact=user).values_list("code", flat=True)
        ),
    )


def active_session_count(user: User) -> int:
    return sum(
        1
        for s in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if str(s.get_decoded().get("_auth_user_id")) == str(user.pk)
    )
