"""The new-connection application (新設申込み) and its second-person records.

Personal data (the customer's name, kana, phone and e-mail) is not here: `customer_ref`
points at an encrypted record in the vault database. Two state fields move together
until release and apart afterwards:

* `state` — the workflow (draft → … → energized, or cancelled);
* `masking_state` — whether the *current version* is encoded and verified, which is
  what retail visibility depends on.

Both are django-fsm fields with protected=True: only the transition methods below
change them, and only services call those, under a row lock.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from apps.core.expressions import Literal
from apps.vocabulary.states import (
    CANCELLABLE_STATES,
    POST_RELEASE_STATES,
    PREFECTURES,
    ApplicationState,
    ContractClass,
    Contribution,
    MaskingState,
)

from .pseudonym import new_pseudonym

S = ApplicationState
M = MaskingState


class Waiting(StrEnum):
    """The T&D check an application waits for: the value of `Application.waiting_for`."""

    ENCODING = "encoding"
    CHECK = "check"
    NOTHING = ""


# Submitted but not masked, including released work whose masking was withdrawn (a
# retailer switch): the clerk's encoding queue.
AWAITING_ENCODING = Q(masking_state=M.UNMASKED, state__in=(S.ENTERED, *POST_RELEASE_STATES))
# Encoded for the current version and not cancelled: the supervisor's queue.
AWAITING_CHECK = Q(masking_state=M.ENCODED, encoded_version=F("version")) & ~Q(state=S.CANCELLED)


class ApplicationQuerySet(models.QuerySet["Application"]):
    def retail_visible_state(self) -> ApplicationQuerySet:
        """The state half of the barrier: masking verified for the current version.
        The other half is the retail group's object permission; both must agree."""
        return self.filter(masking_state=M.VERIFIED, verified_version=F("version"))

    # The value in the statement's text, as the partial indexes' conditions name it
    # (apps.core.expressions): a prepared statement keeps one plan that uses the index.
    def awaiting_verification(self) -> ApplicationQuerySet:
        return self.filter(waiting_for=Literal(Waiting.CHECK))

    def awaiting_encoding(self) -> ApplicationQuerySet:
        return self.filter(waiting_for=Literal(Waiting.ENCODING))


class Application(ConcurrentTransitionMixin, models.Model):
    reference = models.CharField(_("reference number"), max_length=20, unique=True, null=True)
    pseudonym = models.CharField(
        _("pseudonym"), max_length=16, unique=True, default=new_pseudonym, editable=False
    )

    supply_point_id = models.CharField(_("supply point ID"), max_length=22, db_index=True)
    postal_code = models.CharField(_("postal code"), max_length=8)
    prefecture = models.CharField(_("prefecture"), max_length=2, choices=PREFECTURES)
    municipality = models.CharField(_("municipality"), max_length=60)
    street_address = models.CharField(_("street address"), max_length=120)
    contract_class = models.CharField(_("contract class"), max_length=8, choices=ContractClass)
    contract_capacity_kw = models.DecimalField(
        _("contract capacity (kW)"), max_digits=8, decimal_places=1
    )
    requested_start_date = models.DateField(_("requested start date"))
    contractor_name = models.CharField(_("electrical contractor"), max_length=100)
    contractor_registration = models.CharField(_("contractor registration number"), max_length=60)
    retailer = models.ForeignKey(
        "retailers.Retailer",
        verbose_name=_("retailer"),
        on_delete=models.PROTECT,
        related_name="applications",
    )
    remarks = models.TextField(_("remarks"), blank=True)

    # The customer's personal data lives in the vault; this is only its address there.
    customer_ref = models.UUIDField(_("vault reference"), editable=False)

    state = FSMField(
        _("state"), default=S.DRAFT, choices=ApplicationState, protected=True, db_index=True
    )
    masking_state = FSMField(
        _("masking"), default=M.UNMASKED, choices=MaskingState, protected=True, db_index=True
    )
    # Bumped by every change of content; encoding and verification name the version
    # they were made for, so a later change can never inherit them.
    version = models.PositiveIntegerField(_("version"), default=1)
    encoded_version = models.PositiveIntegerField(null=True, blank=True, editable=False)
    encoded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    encoded_at = models.DateTimeField(null=True, blank=True)
    projection_hash = models.CharField(max_length=64, blank=True, editable=False)
    verified_version = models.PositiveIntegerField(null=True, blank=True, editable=False)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)

    return_reason = models.TextField(_("reason for return"), blank=True)
    returned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    returned_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.TextField(_("reason for cancellation"), blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    completed_on = models.DateField(_("construction completed on"), null=True, blank=True)
    energized_on = models.DateField(_("energized on"), null=True, blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    # Which queue the application waits in, computed and stored by the database on every
    # write (a generated column), so it cannot disagree with the columns it is made of
    # whatever writes them. It exists for the planner: PostgreSQL has no statistics for
    # `encoded_version = version` (it guessed 0.5 %: 126 rows for 25,000 at large) nor
    # for how masking and state go together, and so sorted whole queues to show one page
    # or the oldest item; on this column it has real ones, and the queues' partial
    # indexes below are walked in order.
    waiting_for = models.GeneratedField(
        expression=Case(
            When(AWAITING_ENCODING, then=Value(Waiting.ENCODING.value)),
            When(AWAITING_CHECK, then=Value(Waiting.CHECK.value)),
            default=Value(Waiting.NOTHING.value),
        ),
        output_field=models.CharField(max_length=8),
        db_persist=True,
    )

    # Whether the retailer is the company's own retail division, copied from the retailer
    # for the clerk's "waiting to be encoded" list: it shows non-affiliated retailers
    # first (skipping their encoding was the original failure), and ordered by the joined
    # retailer's column PostgreSQL sorted the whole queue for every page (12,606 rows, 24-
    # 40 ms at large); on this column its partial index below is walked in order. Written
    # by save() whenever the retailer is (`with_retailer_affiliation`) and, when a
    # retailer's affiliation changes, for all its applications in the same transaction
    # (services.masking.invalidate_retailer_applications). Nothing but that list's order
    # reads it.
    retailer_affiliated = models.BooleanField(default=False, editable=False)

    objects = ApplicationQuerySet.as_manager()

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("submit_application", _("Can submit an application")),
            ("encode_application", _("Can encode customer data")),
            ("verify_application", _("Can verify masking (second person)")),
            ("return_application", _("Can return an application for correction")),
            ("release_application", _("Can release construction")),
            ("cancel_application", _("Can cancel an application")),
            ("record_construction", _("Can record completion and energization")),
            ("reveal_customer", _("Can reveal customer contact details")),
        ]
        indexes = [
            models.Index(fields=["masking_state", "state", "created_at"], name="app_queue_idx"),
            # The retail list (newest verification first) and the supervisor's queue (oldest
            # encoding first): partial, so each holds only the rows its page can show and a
            # page or a count walks the index instead of the table. masking_state leads so
            # the planner sees the equality and the order in one index (SQLite otherwise
            # takes the one-column masking_state index and sorts).
            models.Index(
                fields=["masking_state", "-verified_at", "-id"],
                name="app_retail_list_idx",
                condition=Q(masking_state=M.VERIFIED, verified_version=F("version")),
            ),
            # Each T&D queue in the order its page and the home page's "oldest" read it.
            models.Index(
                fields=["encoded_at", "id"],
                name="app_verify_queue_idx",
                condition=Q(waiting_for=Waiting.CHECK.value),
            ),
            models.Index(
                fields=["updated_at", "id"],
                name="app_encode_queue_idx",
                condition=Q(waiting_for=Waiting.ENCODING.value),
            ),
            # The clerk's list of it: non-affiliated retailers first, newest first.
            models.Index(
                fields=["retailer_affiliated", "-created_at", "-id"],
                name="app_encode_list_idx",
                condition=Q(waiting_for=Waiting.ENCODING.value),
            ),
            models.Index(
                fields=["created_by", "created_at", "id"],
                name="app_drafts_idx",
                condition=Q(state=S.DRAFT),
            ),
            models.Index(
                fields=["returned_at", "id"],
                name="app_returned_idx",
                condition=Q(state=S.ENTERED, returned_at__isnull=False),
            ),
            models.Index(
                fields=["verified_at", "id"],
                name="app_release_queue_idx",
                condition=Q(state=S.VERIFIED),
            ),
            models.Index(
                fields=["released_at", "updated_at", "id"],
                name="app_released_work_idx",
                condition=Q(state=S.RELEASED),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(masking_state=M.VERIFIED) | Q(verified_version__isnull=False),
                name="verified_masking_names_its_version",
            ),
            models.CheckConstraint(
                condition=Q(contract_capacity_kw__gt=0), name="capacity_is_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.reference or self.pseudonym

    def save(self, *args: Any, **kwargs: Any) -> None:
        kwargs["update_fields"] = self.with_retailer_affiliation(kwargs.get("update_fields"))
        super().save(*args, **kwargs)

    def with_retailer_affiliation(self, update_fields: Iterable[str] | None) -> Any:
        """Copy the retailer's affiliation when the retailer is written (an insert, a full
        save, or `retailer` among `update_fields`), and write the copy with it."""
        if update_fields is not None:
            update_fields = list(update_fields)
            if "retailer" not in update_fields and "retailer_id" not in update_fields:
                return update_fields
            update_fields.append("retailer_affiliated")
        self.retailer_affiliated = self.retailer.is_affiliated
        return update_fields

    @property
    def is_retail_visible(self) -> bool:
        return self.masking_state == M.VERIFIED and self.verified_version == self.version

    # --- workflow transitions (only services call these) ---------------------------
    @transition(field=state, source=S.DRAFT, target=S.ENTERED)
    def submit(self) -> None:
        pass

    @transition(field=state, source=S.ENTERED, target=S.ENCODED)
    def mark_encoded(self) -> None:
        pass

    @transition(field=state, source=S.ENCODED, target=S.VERIFIED)
    def mark_verified(self) -> None:
        pass

    @transition(field=state, source=[S.ENCODED, S.VERIFIED], target=S.ENTERED)
    def back_to_entered(self) -> None:
        """Return for correction, or a change that invalidated the encoding before release."""

    @transition(field=state, source=S.VERIFIED, target=S.RELEASED)
    def release(self) -> None:
        pass

    @transition(field=state, source=S.RELEASED, target=S.CONSTRUCTED)
    def complete(self) -> None:
        pass

    @transition(field=state, source=S.CONSTRUCTED, target=S.ENERGIZED)
    def energize(self) -> None:
        pass

    @transition(field=state, source=list(CANCELLABLE_STATES), target=S.CANCELLED)
    def cancel(self) -> None:
        pass

    # --- masking transitions ------------------------------------------------------
    @transition(field=masking_state, source=M.UNMASKED, target=M.ENCODED)
    def mask(self) -> None:
        pass

    @transition(field=masking_state, source=M.ENCODED, target=M.VERIFIED)
    def confirm_mask(self) -> None:
        pass

    @transition(field=masking_state, source=[M.ENCODED, M.VERIFIED], target=M.UNMASKED)
    def unmask(self) -> None:
        pass


class ApplicationContribution(models.Model):
    """Who created, edited, submitted or encoded the application, version by version."""

    # No index of its own: contrib_app_user_idx begins with it.
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="contributions", db_index=False
    )
    version = models.PositiveIntegerField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=Contribution)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["application", "user"], name="contrib_app_user_idx")]

    def __str__(self) -> str:
        return f"{self.application_id} v{self.version} {self.kind} by {self.user_id}"


class ReviewOpening(models.Model):
    """Proof that a supervisor opened the side-by-side review page for one version."""

    # No index of its own: review_open_idx begins with it.
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="review_openings", db_index=False
    )
    version = models.PositiveIntegerField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["application", "version", "user"], name="review_open_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.application_id} v{self.version} opened by {self.user_id}"


class ApplicationUserObjectPermission(UserObjectPermissionBase):
    """Direct foreign-key permission rows (django-guardian): indexed joins, no generic
    object_pk casts, and deleted with the application."""

    content_object = models.ForeignKey(Application, on_delete=models.CASCADE)


class ApplicationGroupObjectPermission(GroupObjectPermissionBase):
    """Retail visibility is one row here per application: (retail group, view_application)."""

    content_object = models.ForeignKey(Application, on_delete=models.CASCADE)
