"""The SLA sweep: applications waiting too long notify the supervisors, then escalate.

Two limits (settings SHADAN_SLA_ENCODE_HOURS and SHADAN_SLA_VERIFY_HOURS):

- not encoded: submitted (or masking withdrawn after release) and still unmasked, waiting
  since the last change (`updated_at`, as the clerk's queue counts it);
- not verified: encoded for the current version, waiting since `encoded_at`.

Past the limit the T&D supervisors are notified; past twice the limit the T&D division's
compliance contact is notified too. Applications of non-affiliated retailers come first
and are marked as such: an unencoded one is the failure behind the original incident.

Idempotent: the dedupe key names the application, its version, the limit and the kind,
so a second sweep writes nothing; a new version (an edit, a re-encode) starts afresh.
Messages carry reference numbers and ids only.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import Division, DivisionCode, RoleCode, User
from apps.applications import selectors
from apps.applications.models import Application

from .services import outbox_write
from .workflow import td_members

logger = logging.getLogger(__name__)

# Whole sentences per limit (no fragments glued together), in the site's language.
NON_AFFILIATED_FLAG = _("[non-affiliated retailer]")
_SUBJECT = {
    "encode": _("SLA: %(label)s not encoded within %(hours)s h"),
    "verify": _("SLA: %(label)s not verified within %(hours)s h"),
}
_ESCALATION_SUBJECT = {
    "encode": _("SLA escalation: %(label)s not encoded within %(hours)s h"),
    "verify": _("SLA escalation: %(label)s not verified within %(hours)s h"),
}
_BODY = {
    "encode": _(
        "Application %(label)s (id %(id)s, version %(version)s) has waited %(waited)s h "
        "to be encoded; the limit is %(hours)s h."
    ),
    "verify": _(
        "Application %(label)s (id %(id)s, version %(version)s) has waited %(waited)s h "
        "to be verified; the limit is %(hours)s h."
    ),
}
_ESCALATED = _("Escalated to the T&D compliance contact (twice the limit).")


def _texts(
    limit: str, *, label: str, app_id: int, version: int, waited: int, hours: int, flag: bool
) -> tuple[str, str, str, str]:
    """(subject, body, escalation subject, escalation body) in LANGUAGE_CODE."""
    values = {"label": label, "id": app_id, "version": version, "waited": waited}
    with translation.override(settings.LANGUAGE_CODE):
        prefix = gettext(str(NON_AFFILIATED_FLAG)) + " " if flag else ""
        body = gettext(str(_BODY[limit])) % {**values, "hours": hours} + "\n"
        return (
            prefix + gettext(str(_SUBJECT[limit])) % {**values, "hours": hours},
            body,
            prefix + gettext(str(_ESCALATION_SUBJECT[limit])) % {**values, "hours": 2 * hours},
            body + gettext(str(_ESCALATED)) + "\n",
        )


@dataclass(frozen=True)
class SweepResult:
    overdue: int
    escalated: int
    messages: int


def td_supervisor_ids(now: dt.datetime | None = None) -> list[int]:
    """Active users holding the supervisor role who are in T&D right now."""
    return list(
        td_members(RoleCode.SUPERVISOR, now=now)
        .distinct()
        .order_by("id")
        .values_list("id", flat=True)
    )


def td_compliance_contact_id() -> int | None:
    contact = (
        Division.objects.filter(code=DivisionCode.TD)
        .values_list("compliance_contact_id", flat=True)
        .first()
    )
    if contact is None:
        return None
    active = User.objects.filter(pk=contact, is_active=True).exists()
    return contact if active else None


def _overdue(
    queryset: QuerySet[Application], since_field: str, cutoff: dt.datetime
) -> list[tuple[int, str, int, bool, dt.datetime]]:
    """(id, reference, version, affiliated, since): non-affiliated first, then oldest."""
    return list(
        queryset.filter(**{f"{since_field}__lte": cutoff})
        .order_by("retailer__is_affiliated", since_field, "id")
        .values_list("id", "reference", "version", "retailer__is_affiliated", since_field)
    )


def sla_sweep(*, now: dt.datetime | None = None) -> SweepResult:
    now = now or timezone.now()
    supervisors = td_supervisor_ids(now)
    contact = td_compliance_contact_id()
    limits = [
        ("encode", selectors.awaiting_encoding(), "updated_at", settings.SHADAN_SLA_ENCODE_HOURS),
        (
            "verify",
            selectors.awaiting_verification(),
            "encoded_at",
            settings.SHADAN_SLA_VERIFY_HOURS,
        ),
    ]
    overdue = escalated = messages = 0
    for limit, queryset, since_field, hours in limits:
        hours = int(hours)
        for app_id, reference, version, affiliated, since in _overdue(
            queryset, since_field, now - dt.timedelta(hours=hours)
        ):
            overdue += 1
            waited = int((now - since).total_seconds() // 3600)
            subject, body, escalation_subject, escalation_body = _texts(
                limit,
                label=reference or f"#{app_id}",
                app_id=app_id,
                version=version,
                waited=waited,
                hours=hours,
                flag=not affiliated,
            )
            with transaction.atomic():
                messages += outbox_write(
                    recipient_ids=supervisors,
                    kind=f"sla.{limit}.overdue",
                    subject=subject,
                    body=body,
                    dedupe_key=f"sla.{limit}.overdue:a{app_id}:v{version}",
                    application_id=app_id,
                )
                if now - since >= dt.timedelta(hours=2 * hours):
                    escalated += 1
                    if contact is None:
                        logger.warning(
                            "SLA escalation for application %s: T&D has no compliance contact",
                            app_id,
                        )
                        continue
                    messages += outbox_write(
                        recipient_ids=[contact],
                        kind=f"sla.{limit}.escalated",
                        subject=escalation_subject,
                        body=escalation_body,
                        dedupe_key=f"sla.{limit}.escalated:a{app_id}:v{version}",
                        application_id=app_id,
                    )
    if not supervisors:
        logger.warning("SLA sweep: no active T&D supervisor to notify")
    logger.info(
        "SLA sweep: %s overdue, %s escalated, %s new message(s)", overdue, escalated, messages
    )
    return SweepResult(overdue=overdue, escalated=escalated, messages=messages)
