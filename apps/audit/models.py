"""The audit event: one row per thing that happened, written in the same transaction.

Rows are never updated or deleted by the product. The tamper-evident chain (hashes,
signed checkpoints, database triggers) extends this model without changing what a
row means: `sequence`-ordering by primary key and the immutable columns below are
what the chain will cover.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    # Applications
    APPLICATION_CREATED = "application.created", _("Application created")
    APPLICATION_UPDATED = "application.updated", _("Application edited")
    APPLICATION_SUBMITTED = "application.submitted", _("Application submitted")
    APPLICATION_ENCODED = "application.encoded", _("Customer data encoded")
    APPLICATION_ENCODE_REFUSED = "application.encode_refused", _("Encoding refused (leak found)")
    APPLICATION_REVIEW_OPENED = "application.review_opened", _("Review page opened")
    APPLICATION_VERIFIED = "application.verified", _("Masking verified (second person)")
    APPLICATION_RETURNED = "application.returned", _("Returned for correction")
    APPLICATION_RELEASED = "application.released", _("Construction released")
    APPLICATION_COMPLETED = "application.completed", _("Construction completed")
    APPLICATION_ENERGIZED = "application.energized", _("Energized")
    APPLICATION_CANCELLED = "application.cancelled", _("Application cancelled")
    APPLICATION_RETAILER_CHANGED = "application.retailer_changed", _("Retailer changed")
    MASKING_INVALIDATED = "application.masking_invalidated", _("Masking invalidated by a change")
    # Reads
    PII_READ = "pii.read", _("Personal data read")
    RETAIL_VIEWED = "retail.viewed", _("Viewed by retail")
    # Barrier
    PERMISSION_GRANTED = "permission.granted", _("Permission granted")
    PERMISSION_REVOKED = "permission.revoked", _("Permission revoked")
    # People
    USER_CREATED = "user.created", _("User created")
    ROLE_GRANTED = "user.role_granted", _("Role granted")
    ROLE_REVOKED = "user.role_revoked", _("Role revoked")
    USER_TRANSFERRED = "user.transferred", _("User transferred between divisions")
    LOGIN = "auth.login", _("Signed in")
    LOGOUT = "auth.logout", _("Signed out")
    LOGIN_FAILED = "auth.login_failed", _("Sign-in failed")
    # Retailers
    RETAILER_CREATED = "retailer.created", _("Retailer created")
    AFFILIATION_PROPOSED = "retailer.affiliation_proposed", _("Affiliation change proposed")
    AFFILIATION_APPROVED = "retailer.affiliation_approved", _("Affiliation change approved")
    AFFILIATION_REJECTED = "retailer.affiliation_rejected", _("Affiliation change rejected")
    # Vault and system
    VAULT_ERASED = "vault.erased", _("Customer data erased")
    CONFIGURATION_CHANGED = "system.configuration_changed", _("Configuration changed")
    EXPORT = "system.export", _("Export")


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def for_object(self, obj: models.Model) -> AuditEventQuerySet:
        return self.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))

    def update(self, **kwargs: Any) -> int:
        raise TypeError("audit events are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("audit events are append-only")


class AuditEvent(models.Model):
    occurred_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Snapshots at the moment of the event: later transfers must not rewrite history.
    actor_username = models.CharField(_("actor's user name"), max_length=150, blank=True)
    actor_division = models.CharField(_("actor's division"), max_length=16, blank=True)
    actor_roles = models.JSONField(_("actor's roles"), default=list)
    action = models.CharField(_("action"), max_length=64, choices=AuditAction, db_index=True)
    object_type = models.CharField(_("object type"), max_length=64, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    # A label safe for every reader: reference number, pseudonym, user name. Never PII.
    object_label = models.CharField(_("object"), max_length=64, blank=True)
    changed_fields = models.JSONField(_("changed fields"), default=list)
    details = models.JSONField(_("details"), default=dict)
    reason = models.TextField(_("reason"), blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    client_ip = models.GenericIPAddressField(_("client address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=256, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["id"]
        indexes = [
            models.Index(fields=["object_type", "object_id", "id"], name="audit_object_idx"),
            models.Index(fields=["actor", "id"], name="audit_actor_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.object_label}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise TypeError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("audit events are append-only")
