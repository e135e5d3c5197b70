"""The access-review queue: each day a reproducible sample of the day's personal-data reads
and retail views (audit events), each reviewed once by an auditor.

A `SampleRun` closes a day: it records how the day was drawn (method, size or rate, a
fingerprint of the key) and how many events there were, so the draw can be repeated and
checked. A `ReviewItem` is one drawn event; the event itself stays in the append-only
trail and is only referenced here (one item per event at most).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.audit.models import AuditEvent


class Outcome(models.TextChoices):
    LEGITIMATE = "legitimate", _("Legitimate")
    SUSPICIOUS = "suspicious", _("Suspicious")


class SampleRun(models.Model):
    day = models.DateField(_("day (Japan time)"), unique=True)
    created_at = models.DateTimeField(_("sampled at"))
    method = models.CharField(_("method"), max_length=32)
    size = models.PositiveIntegerField(_("sample size"))
    rate = models.DecimalField(_("sample rate"), max_digits=7, decimal_places=6)
    key_fingerprint = models.CharField(_("key fingerprint"), max_length=32)
    population = models.PositiveIntegerField(_("accesses that day"))
    sampled = models.PositiveIntegerField(_("sampled"))

    class Meta:
        verbose_name = _("sample run")
        verbose_name_plural = _("sample runs")
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"{self.day}: {self.sampled}/{self.population}"


class ReviewItemQuerySet(models.QuerySet["ReviewItem"]):
    def pending(self) -> ReviewItemQuerySet:
        return self.filter(outcome="")

    def reviewed(self) -> ReviewItemQuerySet:
        return self.exclude(outcome="")


class ReviewItem(models.Model):
    run = models.ForeignKey(
        SampleRun, verbose_name=_("sample run"), on_delete=models.PROTECT, related_name="items"
    )
    # One item per event, whatever runs twice: the database refuses a second one.
    event = models.OneToOneField(
        AuditEvent, verbose_name=_("event"), on_delete=models.PROTECT, related_name="+"
    )
    day = models.DateField(_("day (Japan time)"), db_index=True)
    rank = models.PositiveIntegerField(_("rank in the sample"))
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome, blank=True)
    note = models.TextField(_("note"), blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    # Bumped by the review: a form opened before someone else's review is refused.
    version = models.PositiveIntegerField(_("version"), default=1)

    objects = ReviewItemQuerySet.as_manager()

    class Meta:
        verbose_name = _("review item")
        verbose_name_plural = _("review items")
        ordering = ["day", "rank"]
        permissions = [("review_reviewitem", _("Can review sampled accesses"))]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(outcome="", reviewed_by__isnull=True, reviewed_at__isnull=True)
                    | (~Q(outcome="") & Q(reviewed_by__isnull=False, reviewed_at__isnull=False))
                ),
                name="review_item_reviewed_completely",
            ),
            models.CheckConstraint(
                condition=~Q(outcome=Outcome.SUSPICIOUS) | ~Q(note=""),
                name="review_item_suspicious_has_note",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.day} event {self.event_id}"

    @property
    def is_reviewed(self) -> bool:
        return bool(self.outcome)
