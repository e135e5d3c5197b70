"""People, the divisions they belong to over time, and the roles a division may give."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.contrib.auth.models import AbstractUser, Group
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _


class DivisionCode(models.TextChoices):
    TD = "td", _("Transmission & distribution")
    RETAIL = "retail", _("Retail")
    AUDIT = "audit", _("Audit")
    ADMIN = "admin", _("System administration")


class RoleCode(models.TextChoices):
    CLERK = "clerk", _("Clerk")
    SUPERVISOR = "supervisor", _("Supervisor")
    CONSTRUCTION = "construction", _("Construction")
    RETAIL = "retail", _("Retail staff")
    AUDITOR = "auditor", _("Auditor")
    ADMINISTRATOR = "administrator", _("Administrator")


# Which division may give which role. The data migration creates one Group per role.
ROLE_DIVISION: dict[str, str] = {
    RoleCode.CLERK: DivisionCode.TD,
    RoleCode.SUPERVISOR: DivisionCode.TD,
    RoleCode.CONSTRUCTION: DivisionCode.TD,
    RoleCode.RETAIL: DivisionCode.RETAIL,
    RoleCode.AUDITOR: DivisionCode.AUDIT,
    RoleCode.ADMINISTRATOR: DivisionCode.ADMIN,
}


class Division(models.Model):
    code = models.CharField(_("code"), max_length=16, primary_key=True, choices=DivisionCode)
    compliance_contact = models.ForeignKey(
        "accounts.User",
        verbose_name=_("compliance contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("division")
        verbose_name_plural = _("divisions")

    def __str__(self) -> str:
        return str(DivisionCode(self.code).label)

    def clean(self) -> None:
        super().clean()
        # The contact hears of suspicious accesses and SLA escalations of this division:
        # someone of another division (retail, for T&D) must never be named.
        contact = self.compliance_contact
        if contact is not None and contact.division_at() != self.code:
            raise ValidationError(
                {
                    "compliance_contact": _(
                        "The compliance contact must be a current member of the %(division)s "
                        "division."
                    )
                    % {"division": DivisionCode(self.code).label}
                },
                code="contact_outside_division",
            )


class Role(models.Model):
    """A role is a Group (it carries the permissions) that only one division may give."""

    code = models.CharField(_("code"), max_length=32, primary_key=True, choices=RoleCode)
    group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="role")
    division = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="roles")

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")

    def __str__(self) -> str:
        return str(RoleCode(self.code).label)


class User(AbstractUser):
    # Rotated to end every session of the user at once (transfer, lock-out): Django checks
    # the session auth hash on every request, and the hash includes this stamp.
    session_stamp = models.UUIDField(default=uuid.uuid4, editable=False)
    # Set when administrators reset the password (apps.administration.password_reset): the
    # temporary password was seen by an administrator, so until the user chooses their
    # own, every page sends them to the password change (apps.web.middleware).
    must_change_password = models.BooleanField(
        _("must change password"), default=False, editable=False
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    @property
    def display_name(self) -> str:
        """Family name first (受付 花子), as colleagues know each other; the login id when
        no name is recorded."""
        return " ".join(part for part in (self.last_name, self.first_name) if part) or (
            self.username
        )

    def get_session_auth_hash(self) -> str:
        return salted_hmac(
            "shadan.accounts.User.get_session_auth_hash",
            f"{self.password}|{self.session_stamp}",
            algorithm="sha256",
        ).hexdigest()

    def division_at(self, moment: datetime | None = None) -> str | None:
        """The code of the division the user belongs to at `moment` (now by default)."""
        moment = moment or timezone.now()
        # values_list, not only(): a related manager's rows would load the deferred user_id
        # one query each to link them back to this user.
        return (
            self.memberships.filter(valid_from__lte=moment)
            .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=moment))
            .values_list("division_id", flat=True)
            .first()
        )

    def role_codes(self) -> list[str]:
        return sorted(Role.objects.filter(group__user=self).values_list("code", flat=True))


class DivisionMembership(models.Model):
    """Effective-dated: a transfer closes one row and opens the next in one transaction."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="memberships")
    division = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="memberships")
    valid_from = models.DateTimeField(_("valid from"), default=timezone.now)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)

    class Meta:
        verbose_name = _("division membership")
        verbose_name_plural = _("division memberships")
        ordering = ["user_id", "valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(valid_until__isnull=True),
                name="one_open_membership_per_user",
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gt=models.F("valid_from")),
                name="membership_ends_after_it_starts",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.division_id}"


class PasswordResetStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class PasswordResetRequest(models.Model):
    """One administrator asks for another user's password to be reset; a different
    administrator decides. The temporary password is never stored: only its hash, in the
    user's own row, once approved."""

    user = models.ForeignKey(
        User,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        related_name="password_reset_requests",
    )
    reason = models.TextField(_("reason"))
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=PasswordResetStatus,
        default=PasswordResetStatus.PENDING,
    )
    proposed_by = models.ForeignKey(
        User, verbose_name=_("proposed by"), on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField(_("proposed at"), default=timezone.now)
    decided_by = models.ForeignKey(
        User,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("password reset request")
        verbose_name_plural = _("password reset requests")
        ordering = ["-proposed_at", "-id"]
        permissions = [
            ("propose_password_reset", _("Can propose a password reset for another user")),
            ("decide_password_reset", _("Can approve or reject a password reset")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(status="pending"),
                name="one_pending_password_reset_per_user",
            ),
            # The services refuse these first; the database refuses them too.
            models.CheckConstraint(
                condition=~Q(proposed_by=models.F("user")),
                name="password_reset_not_proposed_for_oneself",
            ),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True)
                | (~Q(decided_by=models.F("proposed_by")) & ~Q(decided_by=models.F("user"))),
                name="password_reset_decided_by_a_second_person",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.user_id} ({self.status})"
