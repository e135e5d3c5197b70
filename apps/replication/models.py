"""The T&D side's outbox for the retail database (in `default`, beside the changes that
write it).

A service that changes what the retail database must hold (a verification, a withdrawal,
a retail person's account) writes a ReplicationMessage in its own transaction; the relay
(apps.replication.services.relay_due) applies it to the retail database afterwards. The
row's id is the message's sequence: messages about one subject are written under that
subject's row lock, so their ids are in commit order, and the retail database keeps the
newest sequence applied per subject (apps.publication.models.AppliedMessage).

A payload is a full state, never a difference (the published row as verified, or the
account's provisioned fields), so applying only the newest message of a subject is always
right. It holds the masked projection or account fields, never customer personal data;
an account message's fields are cleared once applied, and every applied message is
deleted after a retention period (apps.replication.retention).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.publication.models import Subject


class Kind(models.TextChoices):
    UPSERT = "upsert", _("publish or update")
    REMOVE = "remove", _("withdraw or remove")


class ReplicationMessage(models.Model):
    subject = models.CharField(_("subject"), max_length=16, choices=Subject)
    subject_id = models.BigIntegerField(_("subject id"))
    kind = models.CharField(_("kind"), max_length=8, choices=Kind)
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("replication message")
        verbose_name_plural = _("replication messages")
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=models.Q(applied_at__isnull=True),
                name="replication_pending_idx",
            ),
            models.Index(fields=["subject", "subject_id"], name="replication_subject_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.subject} {self.subject_id}"

    @property
    def sequence(self) -> int:
        return int(self.pk)
