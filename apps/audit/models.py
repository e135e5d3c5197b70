"""The audit trail: events, the seals that chain them, checkpoints and verification runs.

An event is one row per thing that happened, written in the same transaction as the
change it records, without any hash (so writers never wait for each other). The sealer
(`apps.audit.sealing`) later appends one `AuditSeal` per committed event: the chain
order is seal order, not id order. Every table here is append-only three times over:
the QuerySet and `save()`/`delete()` refuse, database triggers refuse
(`apps.audit.db`), and the hash chain plus signed checkpoints expose whoever got past
both.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.conf import settings
from django.db import connections, models, router
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

_M = TypeVar("_M", bound=models.Model)


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
    APPLICATION_DISCARDED = "application.discarded", _("Draft discarded")
    APPLICATION_RETAILER_CHANGED = "application.retailer_changed", _("Retailer changed")
    APPLICATION_CUSTOMER_SEARCHED = (
        "application.customer_searched",
        _("Applications searched by customer name"),
    )
    MASKING_INVALIDATED = "application.masking_invalidated", _("Masking invalidated by a change")
    # Reads
    PII_READ = "pii.read", _("Personal data read")
    RETAIL_VIEWED = "retail.viewed", _("Viewed by retail")
    RETAIL_NOT_FOUND = "retail.not_found", _("Retail asked for an application it cannot see")
    # Barrier
    PERMISSION_GRANTED = "permission.granted", _("Permission granted")
    PERMISSION_REVOKED = "permission.revoked", _("Permission revoked")
    # People
    USER_CREATED = "user.created", _("User created")
    ROLE_GRANTED = "user.role_granted", _("Role granted")
    ROLE_REVOKED = "user.role_revoked", _("Role revoked")
    USER_TRANSFERRED = "user.transferred", _("User transferred between divisions")
    GROUPS_CHANGED = "user.groups_changed", _("Group membership changed")
    PASSWORD_RESET_PROPOSED = "user.password_reset_proposed", _("Password reset proposed")
    PASSWORD_RESET_APPROVED = "user.password_reset_approved", _("Password reset approved")
    PASSWORD_RESET_REJECTED = "user.password_reset_rejected", _("Password reset rejected")
    PASSWORD_RESET_APPLIED = "user.password_reset_applied", _("Temporary password set")
    PASSWORD_CHANGED = "user.password_changed", _("Own password changed")
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
    VAULT_REWRAPPED = "vault.rewrapped", _("Vault data keys re-wrapped")
    CONFIGURATION_CHANGED = "system.configuration_changed", _("Configuration changed")
    EXPORT = "system.export", _("Export")
    NOTIFICATION_RETRIED = "system.notification_retried", _("Notification delivery retried")
    NOTIFICATION_DROPPED = (
        "system.notification_dropped",
        _("Notification dropped (recipient no longer entitled)"),
    )
    # Oversight
    ACCESS_REVIEWED = "access.reviewed", _("Sampled access reviewed")


class AppendOnlyQuerySet(models.QuerySet[_M]):
    """Refuses the bulk writes that would change or remove rows. The database triggers
    refuse them too; this fails earlier, with a clearer message."""

    def update(self, **kwargs: Any) -> int:
        raise TypeError(f"{self.model._meta.label} is append-only")

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        raise TypeError(f"{self.model._meta.label} is append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError(f"{self.model._meta.label} is append-only")


class AppendOnlyModel(models.Model):
    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise TypeError(f"{self._meta.label} is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError(f"{self._meta.label} is append-only")


class AuditEventQuerySet(AppendOnlyQuerySet["AuditEvent"]):
    def for_object(self, obj: models.Model) -> AuditEventQuerySet:
        return self.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list[AuditEvent]:
        from .mac import authenticate

        objs = list(objs)
        vendor = connections[self.db].vendor
        for event in objs:
            if not event.mac:
                authenticate(event, vendor=vendor)
        return super().bulk_create(objs, *args, **kwargs)


class AuditEvent(AppendOnlyModel):
    occurred_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # audit_actor_idx (actor, id) serves every lookup by actor
    )
    # Snapshots at the moment of the event: later transfers must not rewrite history.
    actor_username = models.CharField(_("actor's user name"), max_length=150, blank=True)
    actor_division = models.CharField(_("actor's division"), max_length=16, blank=True)
    actor_roles = models.JSONField(_("actor's roles"), default=list)
    action = models.CharField(_("action"), max_length=64, choices=AuditAction)
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
    # HMAC-SHA256 over the fields above that the application supplies (apps.audit.mac),
    # made when the event is written: the sealer chains no event without a valid one.
    # Empty on events written before MACs existed (sealed in format 1 or 2).
    mac_key_id = models.CharField(_("MAC key"), max_length=32, blank=True)
    mac_nonce = models.CharField(_("MAC nonce"), max_length=24, blank=True)
    mac = models.CharField(_("MAC"), max_length=64, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["id"]
        indexes = [
            models.Index(fields=["object_type", "object_id", "id"], name="audit_object_idx"),
            models.Index(fields=["actor", "id"], name="audit_actor_idx"),
            # Search by action, newest first (keyset on id). Every index costs each
            # INSERT: no single-column twins of these, no LIKE index (bench item 4).
            models.Index(fields=["action", "id"], name="audit_action_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.object_label}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Whatever path the application inserts through is authenticated; what only the
        # database sees (a raw INSERT) is not.
        if self._state.adding and not self.mac:
            from .mac import authenticate

            using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
            authenticate(self, vendor=connections[using].vendor)
        super().save(*args, **kwargs)


class AuditSeal(AppendOnlyModel):
    """The event's place in the hash chain. `seq` runs 1, 2, 3… without gaps;
    hash = SHA-256(prev_hash ‖ seq ‖ canonical bytes of the event) (apps.audit.chain).
    The first seal's prev_hash is a random chain id chosen when the chain began."""

    seq = models.BigIntegerField(_("chain position"), primary_key=True)
    event = models.OneToOneField(
        AuditEvent,
        verbose_name=_("event"),
        on_delete=models.PROTECT,
        related_name="seal",
    )
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64)
    # Which canonical bytes the hash covers (apps.audit.chain): 1 JSON, 2 database text,
    # 3 and 4 the same followed by the event's MAC (checked before sealing).
    format = models.SmallIntegerField(_("canonical format"), default=1)
    sealed_at = models.DateTimeField(_("sealed at"), default=timezone.now)

    objects = AppendOnlyQuerySet["AuditSeal"].as_manager()

    class Meta:
        verbose_name = _("audit seal")
        verbose_name_plural = _("audit seals")
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"seq {self.seq} event #{self.event_id}"


class AuditCheckpoint(AppendOnlyModel):
    """A signed statement of the chain head, written as a file outside the database.
    This row only records that the file was written (for the chain status page and to
    notice a file that disappears); the file is the evidence, not this row."""

    seq = models.BigIntegerField(_("chain position"), unique=True)
    hash = models.CharField(_("hash"), max_length=64)
    chain_id = models.CharField(_("chain id"), max_length=64)
    created_at = models.DateTimeField(_("written at"), default=timezone.now)
    file_name = models.CharField(_("file"), max_length=255)
    key_id = models.CharField(_("signing key"), max_length=32)

    objects = AppendOnlyQuerySet["AuditCheckpoint"].as_manager()

    class Meta:
        verbose_name = _("audit checkpoint")
        verbose_name_plural = _("audit checkpoints")
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"checkpoint seq {self.seq}"


class VerificationProblem(models.TextChoices):
    ALTERED = "altered", _("Event altered")
    REMOVED = "removed", _("Event missing or removed")
    INSERTED = "inserted", _("Event inserted or left unsealed")
    OUT_OF_ORDER = "out_of_order", _("Events out of order")
    REWRITTEN = "rewritten", _("Chain rewritten (checkpoint mismatch)")
    CHECKPOINT_INVALID = "checkpoint_invalid", _("Checkpoint invalid")
    UNPROTECTED = "unprotected", _("Append-only triggers missing or disarmed")
    FORGED = "forged", _("Event not written by the product (no valid MAC)")
    RESTORED = "restored", _("Trail behind its checkpoints (restored from a backup, or cut off)")


class AuditVerification(AppendOnlyModel):
    """One run of `audit_verify`: what the auditors' chain status shows."""

    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), db_index=True)
    ok = models.BooleanField(_("chain intact"))
    summary = models.TextField(_("summary"))
    events_checked = models.BigIntegerField(_("events checked"), default=0)
    head_seq = models.BigIntegerField(_("head position"), null=True, blank=True)
    head_hash = models.CharField(_("head hash"), max_length=64, blank=True)
    checkpoints_verified = models.IntegerField(_("checkpoints verified"), default=0)
    problem = models.CharField(
        _("first problem"), max_length=32, choices=VerificationProblem, blank=True
    )
    problem_seq = models.BigIntegerField(_("position of the first problem"), null=True, blank=True)
    problem_event_id = models.BigIntegerField(
        _("event of the first problem"), null=True, blank=True
    )

    objects = AppendOnlyQuerySet["AuditVerification"].as_manager()

    class Meta:
        verbose_name = _("audit verification")
        verbose_name_plural = _("audit verifications")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.summary


class CollectionCursor(models.Model):
    """How far a collector has copied another system's log into this trail (the retail
    view log, apps.audit.collector): the last row id copied. Advanced in the same
    transaction as the events it wrote, so a crash loses or repeats nothing."""

    source = models.CharField(_("source"), max_length=32, unique=True)
    last_id = models.BigIntegerField(_("last row copied"), default=0)
    # Every row that happened before this moment is in the trail (None: not known yet):
    # the access review draws a day only once it is behind this (apps.access_review).
    complete_until = models.DateTimeField(_("complete until"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("collection cursor")
        verbose_name_plural = _("collection cursors")

    def __str__(self) -> str:
        return f"{self.source} @{self.last_id}"
