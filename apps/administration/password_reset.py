"""Passwords: a reset of another user's password needs two administrators; a user's own
change is recorded.

One administrator who could set any password could sign in as a clerk and as a
supervisor and do both halves of the second-person check. So another user's password
changes only here: one administrator proposes with a reason, a different one decides
(superusers included: a superuser is still a person), and neither may be the user whose
password it is. On approval a random temporary password is set, returned once to the
approving administrator (never stored in clear, never logged, never in an event), every
session of the user ends and the user must choose a new password at the next sign-in
(`User.must_change_password`, enforced by apps.web.middleware). The user is told in the
inbox, and a sign-in lock-out of the user (django-axes) is lifted. Each step is an audit
event with ids and the reason only.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from apps.accounts.models import DivisionCode, PasswordResetRequest, PasswordResetStatus, User
from apps.accounts.permissions import require
from apps.accounts.retail_accounts import retail_entitled, retail_provision
from apps.administration.services import _end_sessions, _lock_user
from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.core.errors import FourEyesViolation, NotAllowed, NotFound, WrongState
from apps.notifications.services import outbox_write

REASON_MAX_LENGTH = 500
NOTICE_KIND = "account.password_reset"

# No look-alikes (0/O, 1/l/I): the administrator reads it out or writes it down once.
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
_GROUPS, _GROUP_LENGTH = 4, 5  # 20 characters from 56: about 116 bits


@dataclass(frozen=True)
class PasswordResetDecision:
    request: PasswordResetRequest
    # Only on approval, for the approving administrator's result page; kept out of repr
    # so that no log line or error report that prints the decision carries it.
    temporary_password: str | None = field(default=None, repr=False)


@sensitive_variables("password")
def _temporary_password(user: User) -> str:
    """Cryptographically random (`secrets`) and accepted by every configured validator."""
    for _attempt in range(20):
        password = "-".join(
            "".join(secrets.choice(_ALPHABET) for _ in range(_GROUP_LENGTH)) for _ in range(_GROUPS)
        )
        try:
            validate_password(password, user)
        except ValidationError:
            continue
        return password
    # Only a validator that refuses every random password gets here: a configuration error.
    raise RuntimeError("no generated temporary password satisfies the password validators")


def user_propose_password_reset(
    *, acting_user: User, user_id: int, reason: str
) -> PasswordResetRequest:
    require(acting_user, "accounts.propose_password_reset", division=DivisionCode.ADMIN)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": [_("Give a reason for the reset.")]})
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(
            {"reason": [_("Keep the reason to %(max)s characters.") % {"max": REASON_MAX_LENGTH}]}
        )
    if user_id == acting_user.pk:
        raise FourEyesViolation(
            _("Change your own password on the password page, not through a reset.")
        )
    with transaction.atomic():
        user = _lock_user(user_id)
        if user.password_reset_requests.filter(status=PasswordResetStatus.PENDING).exists():
            raise WrongState(_("A reset for this user is already waiting for approval."))
        request = PasswordResetRequest.objects.create(
            user=user, reason=reason, proposed_by=acting_user
        )
        audit_record(
            actor=acting_user,
            action=AuditAction.PASSWORD_RESET_PROPOSED,
            obj=user,
            object_label=user.username,
            details={"request": request.pk},
            reason=reason,
        )
    return request


@sensitive_variables("temporary")
def user_decide_password_reset(
    *, acting_user: User, request_id: int, approve: bool
) -> PasswordResetDecision:
    require(acting_user, "accounts.decide_password_reset", division=DivisionCode.ADMIN)
    with transaction.atomic():
        try:
            request = PasswordResetRequest.objects.select_for_update().get(pk=request_id)
        except PasswordResetRequest.DoesNotExist:
            raise NotFound(_("The password reset request does not exist.")) from None
        if request.status != PasswordResetStatus.PENDING:
            raise WrongState(_("This password reset has already been decided."))
        if request.proposed_by_id == acting_user.pk:
            raise FourEyesViolation(_("A different administrator must decide on your own reset."))
        if request.user_id == acting_user.pk:
            raise FourEyesViolation(_("You cannot decide on a reset of your own password."))
        user = _lock_user(request.user_id)
        request.status = PasswordResetStatus.APPROVED if approve else PasswordResetStatus.REJECTED
        request.decided_by = acting_user
        request.decided_at = timezone.now()
        request.save(update_fields=["status", "decided_by", "decided_at"])
        audit_record(
            actor=acting_user,
            action=AuditAction.PASSWORD_RESET_APPROVED
            if approve
            else AuditAction.PASSWORD_RESET_REJECTED,
            obj=user,
            object_label=user.username,
            details={"request": request.pk, "proposed_by": request.proposed_by_id},
        )
        if not approve:
            return PasswordResetDecision(request=request)

        temporary = _temporary_password(user)
        user.set_password(temporary)
        user.must_change_password = True
        user.session_stamp = uuid.uuid4()
        user.save(update_fields=["password", "must_change_password", "session_stamp"])
        _end_sessions(user)
        retail_provision(user, was_entitled=retail_entitled(user), credentials=True)
        # A reset is often asked for after a lock-out: the user signs in with the
        # temporary password now, not after the cool-off.
        lockouts = axes_reset(username=user.username)
        audit_record(
            actor=acting_user,
            action=AuditAction.PASSWORD_RESET_APPLIED,
            obj=user,
            object_label=user.username,
            changed_fields=["password", "must_change_password"],
            details={"request": request.pk, "sessions_ended": True, "lockouts_cleared": lockouts},
        )
        _notify_user(user, request)
    return PasswordResetDecision(request=request, temporary_password=temporary)


def _notify_user(user: User, request: PasswordResetRequest) -> None:
    """In the caller's transaction, through the outbox: ids only, never the password."""
    with translation.override(settings.LANGUAGE_CODE):
        subject = gettext("Your password was reset by the administrators")
        body = (
            gettext(
                "Two administrators reset your shadan password (request %(request)s). "
                "Sign in with the temporary password an administrator gives you; you will "
                "be asked to choose a new password at once. If you did not ask for this, "
                "tell your compliance contact."
            )
            % {"request": request.pk}
            + "\n"
        )
    outbox_write(
        recipient_ids=[user.pk],
        kind=NOTICE_KIND,
        subject=subject,
        body=body,
        dedupe_key=f"{NOTICE_KIND}:r{request.pk}",
    )


@sensitive_variables("old_password", "new_password")
def user_change_own_password(*, acting_user: User, old_password: str, new_password: str) -> User:
    """The signed-in user's own change: the current password is checked here, so no entry
    point can skip it; the forced-change flag clears; the event names no password."""
    if acting_user is None or not acting_user.is_authenticated or not acting_user.is_active:
        raise NotAllowed(_("You must be signed in."))
    with transaction.atomic():
        user = _lock_user(acting_user.pk)
        if not user.check_password(old_password):
            raise ValidationError(
                {"old_password": [_("Your old password was entered incorrectly.")]}
            )
        if old_password == new_password:
            raise ValidationError(
                {"new_password2": [_("Choose a password different from the current one.")]}
            )
        try:
            validate_password(new_password, user)
        except ValidationError as exc:
            raise ValidationError({"new_password2": exc.messages}) from None
        after_reset = user.must_change_password
        user.set_password(new_password)
        user.must_change_password = False
        user.save(update_fields=["password", "must_change_password"])
        retail_provision(user, was_entitled=retail_entitled(user), credentials=True)
        audit_record(
            actor=user,
            action=AuditAction.PASSWORD_CHANGED,
            obj=user,
            object_label=user.username,
            changed_fields=["password", "must_change_password"] if after_reset else ["password"],
            details={"after_reset": after_reset},
        )
    return user
