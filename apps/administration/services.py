"""Changes to people: creation, roles, and transfers between divisions."""

from __future__ import annotations

import uuid

from django.apps import apps as django_apps
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import UserObjectPermissionBase

from apps.accounts.models import (
    ROLE_DIVISION,
    Division,
    DivisionCode,
    DivisionMembership,
    Role,
    RoleCode,
    User,
)
from apps.accounts.permissions import require
from apps.accounts.retail_accounts import retail_entitled, retail_provision
from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.core.errors import NotAllowed, NotFound, WrongState


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
    password: str | None,
    division: str,
    roles: list[str] | tuple[str, ...] = (),
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    is_superuser: bool = False,
) -> User:
    """`password=None` (the administrators' page): the account has no usable password until
    two administrators reset it (apps.administration.password_reset), so no one administrator
    ever knows a password they chose for someone else; the user must change it at once."""
    _require_admin(acting_user, "accounts.add_user")
    errors: dict[str, list[str]] = {}
    first_name, last_name, email = first_name.strip(), last_name.strip(), email.strip()
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
    if len(set(roles)) != len(roles):
        errors.setdefault("roles", []).append(str(_("Choose each role once.")))
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors.setdefault("email", []).append(str(_("Enter a valid e-mail address.")))
    if password is not None:
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
        if password is None:
            user.set_unusable_password()
            user.must_change_password = True
        else:
            user.set_password(password)
        user.save()
        DivisionMembership.objects.create(user=user, division_id=division)
        audit_record(
            actor=acting_user,
            action=AuditAction.USER_CREATED,
            obj=user,
            details={
                "division": division,
                "superuser": is_superuser,
                "usable_password": password is not None,
            },
        )
        for role in roles:
            _grant(acting_user, user, role)
        retail_provision(user, was_entitled=False, credentials=True)
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
        was_retail = retail_entitled(user)
        _grant(acting_user, user, role)
        retail_provision(user, was_entitled=was_retail)
    return user


def user_revoke_role(*, acting_user: User | None, user_id: int, role: str) -> User:
    _require_admin(acting_user, "accounts.change_user")
    with transaction.atomic():
        user = _lock_user(user_id)
        found = Role.objects.filter(code=role, group__user=user).select_related("group").first()
        if found is None:
            raise ValidationError({"role": [_("The user does not hold this role.")]})
        was_retail = retail_entitled(user)
        _revoke(acting_user, user, found)
        retail_provision(user, was_entitled=was_retail)
    return user


def _revoke(acting_user: User | None, user: User, role: Role) -> None:
    user.groups.remove(role.group)
    audit_record(
        actor=acting_user,
        action=AuditAction.ROLE_REVOKED,
        obj=user,
        details={"role": role.code},
    )


def user_set_roles(
    *, acting_user: User | None, user_id: int, roles: list[str] | tuple[str, ...]
) -> User:
    """Give exactly `roles` (of the user's current division): each role added or removed
    is its own event, all in one transaction. Moving to another division is a transfer."""
    _require_admin(acting_user, "accounts.change_user")
    wanted = set(roles)
    with transaction.atomic():
        user = _lock_user(user_id)
        division = user.division_at()
        if any(ROLE_DIVISION.get(role) != division for role in wanted):
            raise ValidationError(
                {"roles": [_("A member of this division cannot hold this role.")]}
            )
        held = {r.code: r for r in Role.objects.filter(group__user=user).select_related("group")}
        was_retail = user.is_active and division == DivisionCode.RETAIL and RoleCode.RETAIL in held
        for code in sorted(wanted - set(held)):
            _grant(acting_user, user, code)
        for code in sorted(set(held) - wanted):
            _revoke(acting_user, user, held[code])
        if wanted != set(held):
            retail_provision(user, was_entitled=was_retail)
    return user


def division_set_compliance_contact(
    *, acting_user: User | None, division: str, contact_id: int | None, via: str = "service"
) -> Division:
    """Name (or clear, with None) the division's compliance contact: a current member of
    that division. The person's row is locked first, as a transfer locks it, so a transfer
    running at the same moment either is seen here or clears the name right after."""
    _require_admin(acting_user, "accounts.change_division")
    with transaction.atomic():
        if contact_id is not None:
            contact = User.objects.select_for_update().filter(pk=contact_id).first()
            if contact is None:
                raise ValidationError({"compliance_contact": [_("Choose a user.")]})
        row = Division.objects.select_for_update().filter(pk=division).first()
        if row is None:
            raise ValidationError({"division": [_("Choose a division.")]})
        previous = row.compliance_contact_id
        row.compliance_contact_id = contact_id
        row.full_clean()
        if previous != contact_id:
            row.save(update_fields=["compliance_contact"])
            audit_record(
                actor=acting_user,
                action=AuditAction.CONFIGURATION_CHANGED,
                obj=row,
                changed_fields=["compliance_contact"],
                details={"via": via, "compliance_contact": contact_id, "previous": previous},
            )
    return row


def _clear_compliance_contact(acting_user: User | None, user: User) -> list[str]:
    """A person who leaves a division stops being anyone's compliance contact."""
    cleared = []
    for row in Division.objects.select_for_update().filter(compliance_contact=user).order_by("pk"):
        row.compliance_contact = None
        row.save(update_fields=["compliance_contact"])
        audit_record(
            actor=acting_user,
            action=AuditAction.CONFIGURATION_CHANGED,
            obj=row,
            changed_fields=["compliance_contact"],
            details={"via": "transfer", "compliance_contact": None, "previous": user.pk},
        )
        cleared.append(row.code)
    return cleared


def user_transfer(
    *,
    acting_user: User | None,
    user_id: int,
    to_division: str,
    roles: list[str] | tuple[str, ...] = (),
) -> User:
    """人事異動: takes effect now. Closes the old membership and opens the new one, removes
    every permission the old division gave (roles, the user's own model permissions,
    object permissions, superuser status), clears the compliance contact post the user held
    for the old division, ends every session, and gives `roles` of the new division, all
    in one transaction (a transfer never leaves the person without the new roles)."""
    _require_admin(acting_user, "accounts.change_user")
    if to_division not in DivisionCode.values:
        raise ValidationError({"to_division": [_("Choose a division.")]})
    wrong = [role for role in roles if ROLE_DIVISION.get(role) != to_division]
    if wrong:
        raise ValidationError({"roles": [_("A member of the new division cannot hold this role.")]})
    with transaction.atomic():
        user = _lock_user(user_id)
        was_retail = retail_entitled(user)
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
        # Permissions given to the person directly (the admin's "user permissions"): they
        # outlive the groups and would come back with a return to the old division.
        removed_perms = sorted(
            f"{app_label}.{codename}"
            for app_label, codename in user.user_permissions.values_list(
                "content_type__app_label", "codename"
            )
        )
        user.user_permissions.clear()
        revoked = 0
        for model in django_apps.get_models():
            if issubclass(model, UserObjectPermissionBase):
                revoked += model.objects.filter(user=user).delete()[0]

        # Superuser status is never carried across a transfer, in either direction: only
        # the administration division may hold it (as in user_create), and a person who
        # arrives there gets the administrator role deliberately, not powers from before.
        # Staff status (the admin site) follows the division, as user_create sets it.
        was_superuser = user.is_superuser
        user.is_superuser = False
        user.is_staff = to_division == DivisionCode.ADMIN
        user.session_stamp = uuid.uuid4()
        user.save(update_fields=["is_staff", "is_superuser", "session_stamp"])
        _end_sessions(user)
        contact_cleared = _clear_compliance_contact(acting_user, user)

        audit_record(
            actor=acting_user,
            action=AuditAction.USER_TRANSFERRED,
            obj=user,
            details={
                "from_division": from_division,
                "to_division": to_division,
                "roles_removed": removed_roles,
                "model_permissions_removed": removed_perms,
                "object_permissions_revoked": revoked,
                "superuser_removed": was_superuser,
                "compliance_contact_cleared": contact_cleared,
                "roles_granted": sorted(set(roles)),
            },
        )
        for role in sorted(set(roles)):
            _grant(acting_user, user, role)
        # Out of retail: the account goes and, with it, every retail session at once.
        retail_provision(user, was_entitled=was_retail)
    return user


def user_deactivate(*, acting_user: User, user_id: int) -> User:
    """The person leaves: no sign-in any more, every session ends now. The row stays (the
    audit trail names it) and nothing is deleted; roles stay on record but count for
    nothing while the account is inactive. One administrator cannot deactivate themselves
    (the last administrator would lock everyone out)."""
    _require_admin(acting_user, "accounts.change_user")
    if acting_user.pk == user_id:
        raise NotAllowed(_("You cannot deactivate your own account."), code="own_account")
    with transaction.atomic():
        user = _lock_user(user_id)
        if not user.is_active:
            raise WrongState(_("The user is already deactivated."))
        was_retail = retail_entitled(user)
        user.is_active = False
        user.session_stamp = uuid.uuid4()
        user.save(update_fields=["is_active", "session_stamp"])
        _end_sessions(user)
        retail_provision(user, was_entitled=was_retail)
        contact_cleared = _clear_compliance_contact(acting_user, user)
        audit_record(
            actor=acting_user,
            action=AuditAction.CONFIGURATION_CHANGED,
            obj=user,
            object_label=user.username,
            changed_fields=["is_active"],
            details={
                "via": "deactivate",
                "sessions_ended": True,
                "compliance_contact_cleared": contact_cleared,
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
