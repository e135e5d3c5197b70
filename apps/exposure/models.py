"""A run of the investigation report requested from the auditors' page: the progress
row the page shows, and the finished report (JSON) or the bad rows that stopped it."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

TRAIL = "trail"  # the source value for shadan's own audit trail

# The periods a report can be asked for. Nothing before 2000 can be an exposure to a
# retailer (retail competition began in March 2000), and bounds far inside the calendar
# keep the engine's date arithmetic (the day after `to`, Tokyo midnights) from
# overflowing: 0001-01-01 to 9999-12-31 gave a 500 once.
PERIOD_EARLIEST = date(2000, 1, 1)
PERIOD_LATEST = date(2099, 12, 31)


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class FailureReason(models.TextChoices):
    BAD_ROWS = "bad_rows", _("The source files hold bad rows.")
    UNREADABLE = "unreadable", _("The source could not be read.")
    INTERNAL = (
        "internal",
        _(
            "The report stopped on an internal error. The administrator finds it in the "
            "server log under this run's number."
        ),
    )


class ExposureRun(models.Model):
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    period_from = models.DateField(_("from"))
    period_to = models.DateField(_("to"))
    # TRAIL, or the key of a directory in settings.SHADAN_EXPOSURE_LEGACY_DIRS: never a
    # path typed by a user.
    source = models.CharField(_("source"), max_length=64)
    status = models.CharField(
        _("status"), max_length=16, choices=RunStatus, default=RunStatus.QUEUED
    )
    events_read = models.BigIntegerField(_("access events read"), default=0)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    result = models.JSONField(_("report"), null=True, blank=True)
    # [{"file", "line", "reason"}] when the legacy files hold bad rows; a reason when
    # anything else stopped the run.
    problems = models.JSONField(_("problems"), default=list, blank=True)
    problem_count = models.BigIntegerField(default=0)
    # Why a failed run failed (shown on its page); empty for every other status.
    failure_reason = models.CharField(
        _("failure reason"), max_length=16, choices=FailureReason, blank=True
    )

    class Meta:
        verbose_name = _("investigation report run")
        verbose_name_plural = _("investigation report runs")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"exposure run {self.pk} {self.period_from}..{self.period_to} {self.source}"

    @property
    def source_label(self) -> str:
        return source_label(self.source)

    @property
    def finished(self) -> bool:
        return self.status in (RunStatus.DONE, RunStatus.FAILED)


def source_label(source: str) -> str:
    """What a report was made from (対象データ), by its label: shadan's own audit trail,
    or the legacy logs of that name."""
    if source == TRAIL:
        return str(_("shadan's own audit trail"))
    return str(_("Legacy logs: %(name)s") % {"name": source})
