"""Changes to people: creation, roles, and transfers between divisions."""

from __future__ import annotations

import uuid

from django.apps import apps as django_apps
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import UserObjectPermissionBase

from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.core.errors import NotAllowed, NotFound

from .models import ROLE_DIVISION, Division, DivisionCode, DivisionMembership, Role, User
from .permissions import require


def _require_admin(acting_user: User | None, perm: str) -> None:
    """`acting_user=None` is the system itself (management commands that bootstrap)."""
    if acting_user is not None:
        require(acting_user, perm, division=DivisionCode.ADMIN)


def _lock_user(user_id: int) -> User:
    try:
        return User.objects.select_for_update().get(pk=user_id)
    except User.DoesNotExist:
        raise NotFound(_("The user does not exist.")) from None


def user_create(
    *,
    acting_user: User | None,
    username: str,
    password: str,
    division: str,
    roles: list[str] | tuple[str, ...] = (),
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    is_superuser: bool = False,
) -> User:
    _require_admin(acting_user, "accounts.add_user")
    errors: dict[str, list[str]] = {}
    username = username.strip()
    if not username:
        errors.setdefault("username", []).append(str(_("Enter a user name.")))
    elif User.objects.filter(username=username).exists():
        errors.setdefault("username", []).append(str(_("This user name is already taken.")))
    if division not in DivisionCode.values:
        errors.setdefault("division", []).append(str(_("Choose a division.")))
    for role in roles:
        if ROLE_DIVISION.get(role) != division:
            errors.setdefault("roles", []).append(
                str(_("A member of this division cannot hold the role %(role)s.") % {"role": role})
            )
    if is_superuser and division != DivisionCode.ADMIN:
        # A superuser passes every has_perm: only the administrators' division may hold one.
        errors.setdefault("is_superuser", []).append(
            str(_("Only members of the administration division can be superusers."))
        )
    try:
        validate_password(password, User(username=username, first_name=first_name))
    except ValidationError as exc:
        errors.setdefault("password", []).extend(exc.messages)
    if errors:
        raise ValidationError(errors)

    with transaction.atomic():
        user = User(
            username=username,
            first_name=first_name,
            last_name=last_name,
            email=email,
            is_superuser=is_superuser,
            is_staff=is_superuser or division == DivisionCode.ADMIN,
        )
        user.set_password(password)
        user.save()
        DivisionMembership.objects.create(user=user, division_id=division)
        audit_record(
            actor=acting_user,
            action=AuditAction.USER_CREATED,
            obj=user,
            details={"division": division, "superuser": is_superuser},
        )
        for role in roles:
            _grant(acting_user, user, role)
    return user


def _grant(acting_user: User | None, user: User, role_code: str) -> None:
    role = Role.objects.select_related("group").get(code=role_code)
    if user.division_at() != role.division_id:
        raise NotAllowed(
            _("A role can only be given to a member of its own division."), code="role_division"
        )
    user.groups.add(role.group)
    audit_record(
        actor=acting_user,
        action=AuditAction.ROLE_GRANTED,
        obj=user,
        details={"role": role.code, "division": role.division_id},
    )


def user_grant_role(*, acting_user: User | None, user_id: int, role: str) -> User:
    _require_admin(acting_user, "accounts.change_user")
    if role not in ROLE_DIVISION:
        raise ValidationError({"role": [_("Choose a role.")]})
    with transaction.atomic():
        user = _lock_user(user_id)
        _grant(acting_user, user, role)
    return user


def user_revoke_role(*, acting_user: User | None, user_id: int, role: str) -> User:
    _require_admin(acting_user, "accounts.change_user")
    with transaction.atomic():
        user = _lock_user(user_id)
        found = Role.objects.filter(code=role, group__user=user).select_related("group").first()
        if found is None:
            raise ValidationError({"role": [_("The user does not hold this role.")]})
        user.groups.remove(found.group)
        audit_record(
            actor=acting_user,
            action=AuditAction.ROLE_REVOKED,
            obj=user,
            details={"role": role},
        )
    return user


def user_transfer(*, acting_user: User | None, user_id: int, to_division: str) -> User:
    """人事異動: takes effect now. Closes the old membership and opens the new one, removes
    every role and object permission the old division gave, and ends every session."""
    _require_admin(acting_user, "accounts.change_user")
    if to_division not in DivisionCode.values:
        raise ValidationError({"to_division": [_("Choose a division.")]})
    with transaction.atomic():
        user = _lock_user(user_id)
        now = timezone.now()
        current = (
            DivisionMembership.objects.select_for_update()
            .filter(user=user, valid_until__isnull=True)
            .first()
        )
        from_division = current.division_id if current else None
        if from_division == to_division:
            raise ValidationError(
                {"to_division": [_("The user already belongs to this division.")]}
            )
        if current is not None:
            current.valid_until = now
            current.save(update_fields=["valid_until"])
        DivisionMembership.objects.create(
            user=user, division=Division.objects.get(pk=to_division), valid_from=now
        )

        removed_roles = sorted(Role.objects.filter(group__user=user).values_list("code", flat=True))
        user.groups.clear()
        revoked = 0
        for model in django_apps.get_models():
            if issubclass(model, UserObjectPermissionBase):
                revoked += model.objects.filter(user=user).delete()[0]

        # Administrative powers belong to the administration division alone.
        if to_division != DivisionCode.ADMIN:
            user.is_staff = False
            user.is_superuser = False
        user.session_stamp = uuid.uuid4()
        user.save(update_fields=["is_staff", "is_superuser", "session_stamp"])
        _end_sessions(user)

        audit_record(
            actor=acting_user,
            action=AuditAction.USER_TRANSFERRED,
            obj=user,
            details={
                "from_division": from_division,
                "to_division": to_division,
                "roles_removed": removed_roles,
                "object_permissions_revoked": revoked,
            },
        )
    return user


def _end_sessions(user: User) -> None:
    """The rotated session stamp already invalidates every session on its next request;
    stored database sessions are deleted too so nothing of the old login lingers."""
    doomed = [
        s.session_key
        for s in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if str(s.get_decoded().get("_auth_user_id")) == str(user.pk)
    ]
    Session.objects.filter(session_key__in=doomed).delete()
