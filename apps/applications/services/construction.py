"""After the second-person check: a supervisor releases the work for construction, and
construction staff record its completion and the energization. Each is sent on to the
published row (the state retail sees) without a new check."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from apps.accounts.models import User
from apps.applications import notices as notify
from apps.audit.models import AuditAction
from apps.core.errors import WrongState
from apps.vocabulary.states import ApplicationState as S

from .. import publishing
from ..models import Application
from ._common import Alongside, check_version, lock_application, record_transition, require_td


def application_release(
    *, acting_user: User, application_id: int, expected_version: int | None = None
) -> Application:
    require_td(acting_user, "applications.release_application")
    with transaction.atomic():
        application = lock_application(application_id, actor=acting_user)
        check_version(application, expected_version)
        if application.state != S.VERIFIED or not application.is_retail_visible:
            raise WrongState(_("Only a verified application can be released for construction."))
        application.release()
        application.released_at = timezone.now()
        record_transition(
            application,
            actor=acting_user,
            fields=["state", "released_at"],
            action=AuditAction.APPLICATION_RELEASED,
            details={"version": application.version},
            event=notify.RELEASED,
            before=_following_state(application),
        )
    return application


def _following_state(application: Application) -> Callable[[], Alongside]:
    """record_transition's `before`: the published row follows the new state, written by
    the transition's audit statement (nothing to audit beyond the transition itself)."""

    def follow() -> Alongside:
        rider = publishing.follow_state(application)
        return Alongside(riders=[] if rider is None else [rider])

    return follow


def _work_date(value: Any, *, field: str, not_before: datetime.date | None) -> datetime.date:
    if isinstance(value, datetime.datetime):
        value = value.date()
    if not isinstance(value, datetime.date):
        try:
            value = datetime.date.fromisoformat(str(value).strip())
        except ValueError:
            raise ValidationError({field: [_("Enter a date like 2026-04-01.")]}) from None
    if value > timezone.localdate():
        raise ValidationError({field: [_("The date cannot be in the future.")]})
    if not_before is not None and value < not_before:
        raise ValidationError({field: [_("The date cannot be before the previous step.")]})
    return value


def _record_work(
    *,
    acting_user: User,
    application_id: int,
    on: datetime.date | str,
    field: str,
    source: S,
    refusal: StrOrPromise,
    not_before: Callable[[Application], datetime.date | None],
    advance: Callable[[Application], None],
    action: AuditAction,
) -> Application:
    """Completion and energization: the same step on different fields. Nobody else needs to
    hear of either (construction staff record their own work): no notification."""
    require_td(acting_user, "applications.record_construction")
    with transaction.atomic():
        application = lock_application(application_id, actor=acting_user)
        if application.state != source:
            raise WrongState(refusal)
        day = _work_date(on, field=field, not_before=not_before(application))
        setattr(application, field, day)
        advance(application)
        record_transition(
            application,
            actor=acting_user,
            fields=["state", field],
            action=action,
            changed_fields=[field],
            details={field: day.isoformat()},
            before=_following_state(application),
        )
    return application


def _released_on(application: Application) -> datetime.date | None:
    return timezone.localdate(application.released_at) if application.released_at else None


def application_complete(
    *, acting_user: User, application_id: int, completed_on: datetime.date | str
) -> Application:
    return _record_work(
        acting_user=acting_user,
        application_id=application_id,
        on=completed_on,
        field="completed_on",
        source=S.RELEASED,
        refusal=_("Only released work can be recorded as completed."),
        not_before=_released_on,
        advance=Application.complete,
        action=AuditAction.APPLICATION_COMPLETED,
    )


def application_energize(
    *, acting_user: User, application_id: int, energized_on: datetime.date | str
) -> Application:
    return _record_work(
        acting_user=acting_user,
        application_id=application_id,
        on=energized_on,
        field="energized_on",
        source=S.CONSTRUCTED,
        refusal=_("Only completed work can be energized."),
        not_before=lambda application: application.completed_on,
        advance=Application.energize,
        action=AuditAction.APPLICATION_ENERGIZED,
    )
