"""A transactional outbox and the in-app inbox it feeds.

The service that causes a notification writes an OutboxMessage in its own transaction;
the relay task (`notifications.relay`) delivers it afterwards: an e-mail and one
InboxEntry. Subjects and bodies carry ids and reference numbers only, never personal
data. `dedupe_key` makes writing the same notification twice a no-op.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DropReason(models.TextChoices):
    """Why a message was not delivered: its recipient is no longer the person it was
    written for (a transfer, a role removed, an account closed)."""

    INACTIVE = "inactive", _("The recipient's account is inactive")
    DIVISION = "division", _("The recipient is no longer in the division")
    ROLE = "role", _("The recipient no longer holds the role")


class OutboxMessage(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=64)
    # The application the message is about, if any: the inbox links to the page of it the
    # reader may open (and to nothing for a retail reader who may not see it).
    application = models.ForeignKey(
        "applications.Application",
        verbose_name=_("application"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("body"), blank=True)
    # Unique by a constraint, not unique=True: on PostgreSQL that would add a second
    # index for LIKE, which no query here makes, to every outbox row written.
    dedupe_key = models.CharField(max_length=200)
    # Whom the message was written for: the recipient as a member of this division,
    # holding one of these roles (none: any). Checked again at delivery.
    division = models.CharField(_("division"), max_length=16, blank=True)
    roles = models.JSONField(_("roles"), default=list, blank=True)
    dropped_at = models.DateTimeField(_("dropped at"), null=True, blank=True)
    drop_reason = models.CharField(
        _("reason dropped"), max_length=16, blank=True, choices=DropReason
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["dedupe_key"], name="outbox_dedupe_key_uniq"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=models.Q(delivered_at__isnull=True, dropped_at__isnull=True),
                name="outbox_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient_id} ({self.dedupe_key})"


class InboxEntry(models.Model):
    # No index of its own: inbox_user_div_unread_idx begins with it.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="inbox_entries",
        db_index=False,
    )
    message = models.OneToOneField(
        OutboxMessage, on_delete=models.PROTECT, related_name="inbox_entry"
    )
    # The division the reader belonged to when the entry arrived: the inbox shows only
    # entries of the reader's current division (a transfer leaves the old ones behind).
    division = models.CharField(_("division"), max_length=16, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("inbox entry")
        verbose_name_plural = _("inbox entries")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "division", "read_at"], name="inbox_user_div_unread_idx")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.message_id}"
