"""The SLA sweep: applications waiting too long notify the supervisors, then escalate.

Two limits (settings SHADAN_SLA_ENCODE_HOURS and SHADAN_SLA_VERIFY_HOURS):

- not encoded: submitted (or masking withdrawn after release) and still unmasked, waiting
  since the last change (`updated_at`, as the clerk's queue counts it);
- not verified: encoded for the current version, waiting since `encoded_at`.

Past the limit the T&D supervisors are notified; past twice the limit the T&D division's
compliance contact is notified too, if that person is still an active member of T&D (a
contact who is not is skipped, and the skipped message is recorded: a dropped outbox row
and an audit event). Applications of non-affiliated retailers come first and are marked
as such: an unencoded one is the failure behind the original incident.

Each overdue period is reported once: the dedupe key names the application, the limit,
the kind and the start of the period (the moment the wait began, `updated_at` or
`encoded_at`), so a second sweep in the same period writes nothing, while a return and
a new wait (which keep the version) are reported again. Messages carry reference numbers
and ids only.
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

from apps.accounts.models import DivisionCode, RoleCode
from apps.accounts.selectors import compliance_contact_of
from apps.applications import selectors
from apps.applications.models import Application
from apps.applications.notices import td_members
from apps.notifications.services import outbox_withhold, outbox_write, withhold_reason

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


def _period(since: dt.datetime) -> int:
    """The start of the overdue period, to the microsecond, as the dedupe key names it."""
    return int(since.timestamp() * 1_000_000)


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
    contact = compliance_contact_of(DivisionCode.TD)
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
            period = f"a{app_id}:p{_period(since)}"
            with transaction.atomic():
                messages += outbox_write(
                    recipient_ids=supervisors,
                    kind=f"sla.{limit}.overdue",
                    subject=subject,
                    body=body,
                    dedupe_key=f"sla.{limit}.overdue:{period}",
                    application_id=app_id,
                    division=DivisionCode.TD,
                    roles=[RoleCode.SUPERVISOR],
                )
                if now - since >= dt.timedelta(hours=2 * hours):
                    escalated += 1
                    if contact.user_id is None:
                        logger.warning(
                            "SLA escalation for application %s: T&D has no compliance contact",
                            app_id,
                        )
                        continue
                    if contact.entitled:
                        messages += outbox_write(
                            recipient_ids=[contact.user_id],
                            kind=f"sla.{limit}.escalated",
                            subject=escalation_subject,
                            body=escalation_body,
                            dedupe_key=f"sla.{limit}.escalated:{period}",
                            application_id=app_id,
                            division=DivisionCode.TD,
                        )
                    else:
                        # Named, but no longer an active member of T&D: told nothing.
                        outbox_withhold(
                            recipient_id=contact.user_id,
                            kind=f"sla.{limit}.escalated",
                            subject=escalation_subject,
                            body=escalation_body,
                            dedupe_key=f"sla.{limit}.escalated:{period}",
                            application_id=app_id,
                            division=DivisionCode.TD,
                            reason=withhold_reason(contact),
                        )
    if not supervisors:
        logger.warning("SLA sweep: no active T&D supervisor to notify")
    logger.info(
        "SLA sweep: %s overdue, %s escalated, %s new message(s)", overdue, escalated, messages
    )
    return SweepResult(overdue=overdue, escalated=escalated, messages=messages)
