"""Running the investigation report: from the command, or requested on the auditors'
page and run by a task. Every run is an audit event (who asked which period of which
source); the report itself holds ids and times only, never personal data."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import DivisionCode, User
from apps.accounts.permissions import require
from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.core.errors import NotFound
from apps.core.tasks import enqueue

from .legacy import LegacyDataError
from .models import (
    PERIOD_EARLIEST,
    PERIOD_LATEST,
    TRAIL,
    ExposureRun,
    FailureReason,
    RunStatus,
)
from .reports import report_from_legacy, report_from_trail

logger = logging.getLogger(__name__)

PROGRESS_SAVE_EVERY = 500_000


def legacy_dirs() -> dict[str, Path]:
    return {key: Path(path) for key, path in settings.SHADAN_EXPOSURE_LEGACY_DIRS.items()}


def period_errors(period_from: date, period_to: date) -> dict[str, list[Any]]:
    """Field-named errors of a period, empty when the report can be made for it."""
    errors: dict[str, list[Any]] = {}
    outside = _("The investigation period must lie between %(earliest)s and %(latest)s.") % {
        "earliest": PERIOD_EARLIEST.isoformat(),
        "latest": PERIOD_LATEST.isoformat(),
    }
    for name, day in (("period_from", period_from), ("period_to", period_to)):
        if not PERIOD_EARLIEST <= day <= PERIOD_LATEST:
            errors[name] = [outside]
    if period_to < period_from and "period_to" not in errors:
        errors["period_to"] = [_("The end of the period is before its start.")]
    return errors


def _run_report(
    *, period_from: date, period_to: date, legacy_dir: Path | None, progress: Any = None
) -> dict[str, Any]:
    if legacy_dir is None:
        return report_from_trail(period_from=period_from, period_to=period_to, progress=progress)
    return report_from_legacy(
        directory=legacy_dir, period_from=period_from, period_to=period_to, progress=progress
    )


def exposure_record_run(
    *,
    acting_user: User | None,
    period_from: date,
    period_to: date,
    legacy_dir: Path | None,
    output_format: str,
) -> dict[str, Any]:
    """The command's run (`acting_user` None: whoever runs manage.py on the server)."""
    with transaction.atomic():
        audit_record(
            actor=acting_user,
            action=AuditAction.EXPORT,
            details={
                "export": "exposure_report",
                "source": TRAIL if legacy_dir is None else f"legacy:{legacy_dir.name}",
                "period_from": period_from.isoformat(),
                "period_to": period_to.isoformat(),
                "format": output_format,
            },
        )
    return _run_report(period_from=period_from, period_to=period_to, legacy_dir=legacy_dir)


def exposure_request(
    *, acting_user: User, period_from: date, period_to: date, source: str
) -> ExposureRun:
    require(acting_user, "audit.view_auditevent", division=DivisionCode.AUDIT)
    errors = period_errors(period_from, period_to)
    if source != TRAIL and source not in legacy_dirs():
        errors["source"] = [_("Choose a source.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        run = ExposureRun.objects.create(
            requested_by=acting_user,
            period_from=period_from,
            period_to=period_to,
            source=source,
        )
        audit_record(
            actor=acting_user,
            action=AuditAction.EXPORT,
            details={
                "export": "exposure_report",
                "run": run.pk,
                "source": source,
                "period_from": period_from.isoformat(),
                "period_to": period_to.isoformat(),
            },
        )
        transaction.on_commit(lambda: enqueue("exposure.run_report", run.pk))
    return run


def exposure_execute(*, run_id: int) -> ExposureRun:
    """The task's work. Safe to run twice: a finished run is left as it is, and a run
    interrupted while running is simply run again from the start."""
    try:
        run = ExposureRun.objects.get(pk=run_id)
    except ExposureRun.DoesNotExist:
        raise NotFound(_("The report run does not exist.")) from None
    if run.finished:
        return run
    ExposureRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, started_at=timezone.now(), events_read=0
    )

    saved = [0]

    def progress(read: int) -> None:
        if read - saved[0] >= PROGRESS_SAVE_EVERY:
            saved[0] = read
            ExposureRun.objects.filter(pk=run.pk).update(events_read=read)

    legacy_dir = None if run.source == TRAIL else legacy_dirs().get(run.source)
    fields: dict[str, Any] = {"finished_at": None, "failure_reason": ""}
    try:
        if run.source != TRAIL and legacy_dir is None:
            raise FileNotFoundError(run.source)
        report = _run_report(
            period_from=run.period_from,
            period_to=run.period_to,
            legacy_dir=legacy_dir,
            progress=progress,
        )
    except LegacyDataError as bad:
        fields.update(
            status=RunStatus.FAILED,
            failure_reason=FailureReason.BAD_ROWS,
            problems=[p.__dict__ for p in bad.problems],
            problem_count=bad.count,
        )
    except (OSError, ValueError) as failure:
        logger.warning("exposure run %s failed: %s", run.pk, type(failure).__name__)
        fields.update(status=RunStatus.FAILED, failure_reason=FailureReason.UNREADABLE)
    except Exception as failure:
        # Anything else must still end the run: a run left "running" is followed by its
        # page for ever. The type only: a message could quote the data it choked on.
        logger.error("exposure run %s failed: %s", run.pk, type(failure).__name__)
        fields.update(status=RunStatus.FAILED, failure_reason=FailureReason.INTERNAL)
    else:
        fields.update(
            status=RunStatus.DONE,
            result=report,
            events_read=report["details"]["access_events_read"],
        )
    fields["finished_at"] = timezone.now()
    for name, value in fields.items():
        setattr(run, name, value)
    run.save(update_fields=list(fields))
    return run
