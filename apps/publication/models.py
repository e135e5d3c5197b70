"""The retail database: everything the retail site can ever read, and nothing else.

Every model here lives in the `retail` database alias (apps.publication.routers): its
own SQLite file in the embedded default, its own PostgreSQL database and role in
production. The T&D side writes into it one way, through the publication outbox and its
relay (the published records and the retail accounts); the retail site reads it and
writes only its own sessions, its own password changes and its own view log, which a
collector on the T&D side copies into the central audit trail.

* PublishedApplication — one row per application that is verified for its current
  version and holds the retail group's object permission: every field of the retail
  projection as the supervisor was shown it (columns derived from
  apps.vocabulary.projection.RETAIL_FIELDS), the supervisor's hash and the progress
  state, which follows the workflow without a new check.
* AppliedMessage — per application or account, the newest outbox message applied: an
  older message delivered late changes nothing, a redelivered one is a no-op.
* RetailAccount / RetailSession — the retail staff's accounts (nobody else's), provisioned
  from the T&D accounts, and their sessions (the account's id on each, so a transfer out
  of retail ends them at once).
* RetailViewLog — append-only: what each retail person was shown, and when.

This app imports no T&D model and nothing of the vault, and no table here references a
table elsewhere (no foreign key): the retail site runs with this app alone.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from apps.vocabulary.projection import RETAIL_FIELDS, RetailApplication, projection_from_values

from .sessions import SessionStore


class PublishedApplication(models.Model):
    # The application's id on the T&D side; deliberately not a foreign key.
    application_id = models.BigIntegerField(primary_key=True)
    version = models.PositiveIntegerField(_("version"))
    projection_hash = models.CharField(max_length=64)
    verified_at = models.DateTimeField(_("verified at"))
    published_at = models.DateTimeField(_("published at"), auto_now=True)
    # The outbox message that wrote this row (AppliedMessage keeps the newest per id).
    sequence = models.BigIntegerField(_("publication message"), default=0)

    class Meta:
        verbose_name = _("published application")
        verbose_name_plural = _("published applications")
        indexes = [
            # The retail list: newest verification first, paged by (verified_at, id).
            models.Index(fields=["-verified_at", "-application_id"], name="published_list_idx"),
            # Search by reference or supply point (columns added from RETAIL_FIELDS below).
            models.Index(fields=["reference"], name="published_reference_idx"),
            models.Index(fields=["supply_point_id"], name="published_spid_idx"),
        ]

    def __str__(self) -> str:
        return f"published {self.application_id} v{self.version}"

    def projection(self) -> RetailApplication:
        return projection_from_values(self.__dict__)


# The retail projection's columns, one per RETAIL_FIELDS entry: the list is the definition.
for _field in RETAIL_FIELDS:
    PublishedApplication.add_to_class(_field.name, _field.column())
del _field


class Subject(models.TextChoices):
    APPLICATION = "application", _("application")
    ACCOUNT = "account", _("account")


class AppliedMessage(models.Model):
    """The newest outbox message applied per subject: messages are applied in the order
    of their sequence per subject, whatever order they arrive in."""

    subject = models.CharField(max_length=16, choices=Subject)
    subject_id = models.BigIntegerField()
    sequence = models.BigIntegerField()
    applied_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subject", "subject_id"], name="applied_subject_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.subject} {self.subject_id} @{self.sequence}"


class RetailAccountManager(BaseUserManager["RetailAccount"]):
    pass


class RetailAccount(AbstractBaseUser):
    """A retail person's sign-in on the retail site. Created, changed and removed only by
    provisioning from the T&D accounts (same id, user name, display name, password hash
    and session stamp); the retail site itself changes only the password and last_login.
    Someone who leaves retail (a transfer, a deactivation, the loss of the retail role)
    has no row here."""

    id = models.BigIntegerField(primary_key=True)  # the person's id on the T&D side
    username = models.CharField(_("user name"), max_length=150, unique=True)
    display_name = models.CharField(_("name"), max_length=150, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # Provisioned from accounts.User: an administrators' reset sets it, and rotating the
    # stamp on the T&D side (a lock-out) ends every retail session too.
    must_change_password = models.BooleanField(_("must change password"), default=False)
    session_stamp = models.UUIDField(default=uuid.uuid4)
    provisioned_at = models.DateTimeField(_("provisioned at"), default=timezone.now)

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects = RetailAccountManager()

    class Meta:
        verbose_name = _("retail account")
        verbose_name_plural = _("retail accounts")

    def __str__(self) -> str:
        return self.display_name or self.username

    def get_session_auth_hash(self) -> str:
        return salted_hmac(
            "shadan.publication.RetailAccount.get_session_auth_hash",
            f"{self.password}|{self.session_stamp}",
            algorithm="sha256",
        ).hexdigest()


class RetailSession(AbstractBaseSession):
    """A retail site session, with the account it belongs to (apps.publication.sessions):
    provisioning deletes a person's sessions by this id."""

    account_id = models.BigIntegerField(null=True, db_index=True)

    class Meta:
        verbose_name = _("retail session")
        verbose_name_plural = _("retail sessions")

    @classmethod
    def get_session_store_class(cls) -> Any:
        return SessionStore


class RetailView(models.TextChoices):
    LIST = "list", _("list")
    DETAIL = "detail", _("detail")
    NOT_FOUND = "not_found", _("not found")


class RetailViewLog(models.Model):
    """What a retail person was shown: one row per application on a list page or detail
    page, and one per detail request that found nothing. Written by the retail site,
    never changed (the retail role may only insert; apps.publication.db adds triggers),
    copied into the central audit trail by the T&D side's collector with its original
    time, person and record."""

    occurred_at = models.DateTimeField(default=timezone.now)
    account_id = models.BigIntegerField()
    username = models.CharField(max_length=150)
    view = models.CharField(max_length=16, choices=RetailView)
    # The application shown (its T&D id and labels), or, for NOT_FOUND, none.
    application_id = models.BigIntegerField(null=True)
    reference = models.CharField(max_length=20, blank=True)
    pseudonym = models.CharField(max_length=16, blank=True)
    # NOT_FOUND: what was asked, only if it has the reference format, else its length.
    details = models.JSONField(default=dict)
    request_id = models.CharField(max_length=64, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=256, blank=True)

    class Meta:
        verbose_name = _("retail view")
        verbose_name_plural = _("retail views")

    def __str__(self) -> str:
        return f"{self.username} {self.view} {self.reference}"


class RetailInboxEntry(models.Model):
    """A message to a retail person (e.g. that administrators reset their password),
    delivered by the T&D side's relay from its outbox (one entry per outbox message: the
    unique message id makes a redelivery a no-op) and read on the retail site, which may
    only mark it read. Subjects and bodies carry ids and reference numbers only."""

    message_id = models.BigIntegerField(unique=True)  # the T&D outbox row
    account_id = models.BigIntegerField(db_index=True)
    kind = models.CharField(max_length=64)
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("retail inbox entry")
        verbose_name_plural = _("retail inbox entries")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} → {self.account_id}"
