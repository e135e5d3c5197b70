"""Drawing a day's sample into the review queue, and reviewing one item.

`access_sample` closes one Japan-time day: it draws that day's accesses (apps.access_review
.sampling) and writes one review item per drawn event, in one transaction with the day's
`SampleRun`. A day is drawn once: running it again returns the existing run and writes
nothing (the unique day, and the unique event per item, hold even for two runs at once).

`access_review_mark` records an auditor's verdict on one item: locked, checked against the
version the auditor saw, never by the person whose access it was, written to the audit
trail, and a suspicious verdict notifies the compliance contacts through the outbox.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import DivisionCode, User
from apps.accounts.permissions import require
from apps.accounts.selectors import ComplianceContact, compliance_contact_of
from apps.applications.leaks import scan_text
from apps.applications.validators import refuse_invisible
from apps.audit.collector import retail_views_complete_until
from apps.audit.models import AuditAction, AuditEvent
from apps.audit.services import audit_record
from apps.core.errors import FourEyesViolation, NotFound, StaleVersion, WrongState
from apps.notifications.services import outbox_withhold, outbox_write, withhold_reason

from .models import Outcome, ReviewItem, SampleRun
from .sampling import METHOD, SAMPLED_ACTIONS, SampleConfig, day_bounds, draw, japan_day

logger = logging.getLogger(__name__)

REVIEW_PERMISSION = "access_review.review_reviewitem"
NOTE_MAX_LENGTH = 1000
ACCESS_REVIEWED = AuditAction.ACCESS_REVIEWED
APPLICATION_TYPE = "applications.application"


@dataclass(frozen=True)
class SampleResult:
    run: SampleRun
    created: bool


def _candidate_ids(day: dt.date) -> list[int]:
    start, end = day_bounds(day)
    return list(
        AuditEvent.objects.filter(
            occurred_at__gte=start, occurred_at__lt=end, action__in=SAMPLED_ACTIONS
        )
        .order_by()
        .values_list("id", flat=True)
    )


def last_complete_day(now: dt.datetime | None = None) -> dt.date:
    """The latest Japan-time day that ended at least the grace period ago."""
    now = now or timezone.now()
    grace = dt.timedelta(minutes=settings.SHADAN_ACCESS_SAMPLE_GRACE_MINUTES)
    return japan_day(now - grace) - dt.timedelta(days=1)


def last_collected_day(now: dt.datetime | None = None) -> dt.date:
    """last_complete_day, and only once its retail views have all reached the trail: the
    collector copies them from the retail database with their original time
    (apps.audit.collector), so a day is complete when the collector has caught up past
    its end. Before the collector's first run there is nothing to wait for."""
    latest = last_complete_day(now)
    complete_until = retail_views_complete_until()
    if complete_until is not None:
        latest = min(latest, japan_day(complete_until) - dt.timedelta(days=1))
    return latest


def access_sample(
    *,
    day: dt.date,
    size: int | None = None,
    rate: Decimal | None = None,
    now: dt.datetime | None = None,
) -> SampleResult:
    """Draw `day`'s sample into the queue (size and rate default to the settings). Refused
    for a day that is not over yet (plus the grace period for late commits): a drawn day
    is closed, and accesses still to come would never be drawn."""
    if day > last_complete_day(now):
        raise WrongState(_("This day is not over yet; it can be sampled tomorrow."))
    existing = SampleRun.objects.filter(day=day).first()
    if existing is not None:
        return SampleResult(existing, created=False)
    config = SampleConfig.from_settings(size=size, rate=rate)
    candidates = _candidate_ids(day)
    drawn = draw(config, day, candidates)
    try:
        with transaction.atomic():
            run = SampleRun.objects.create(
                day=day,
                created_at=timezone.now(),
                method=METHOD,
                size=config.size,
                rate=config.rate,
                key_fingerprint=config.fingerprint,
                population=len(candidates),
                sampled=len(drawn),
            )
            ReviewItem.objects.bulk_create(
                ReviewItem(run=run, event_id=event_id, day=day, rank=position)
                for position, event_id in enumerate(drawn, start=1)
            )
    except IntegrityError:
        # Another run drew the same day at the same moment: its draw stands.
        return SampleResult(SampleRun.objects.get(day=day), created=False)
    logger.info(
        "access sample %s: %s of %s accesses drawn (run %s)",
        day,
        len(drawn),
        len(candidates),
        run.pk,
    )
    return SampleResult(run, created=True)


def access_sample_due(*, now: dt.datetime | None = None) -> list[SampleResult]:
    """Draw every finished day of the catch-up window that has not been drawn yet, oldest
    first: what the periodic task runs. Usually that is yesterday, once; a day whose
    retail views the collector has not copied yet waits for a later run."""
    latest = last_collected_day(now)
    days = [
        latest - dt.timedelta(days=back)
        for back in reversed(range(max(1, settings.SHADAN_ACCESS_SAMPLE_CATCHUP_DAYS)))
    ]
    done = set(SampleRun.objects.filter(day__in=days).values_list("day", flat=True))
    return [access_sample(day=day, now=now) for day in days if day not in done]


# --- reviewing ----------------------------------------------------------------------------


def _clean_note(note: str, *, outcome: str) -> str:
    """Notes are read by auditors and the compliance contact: no personal data in them.

    Only the shapes of personal data (phone numbers, e-mail addresses) are refused, never
    anything checked against the customer behind the access: a refusal that depended on
    the customer would let an auditor confirm a guessed name, one note at a time.
    """
    note = (note or "").strip()
    if outcome == Outcome.SUSPICIOUS and not note:
        raise ValidationError({"note": [_("Say what makes this access suspicious.")]})
    if len(note) > NOTE_MAX_LENGTH:
        raise ValidationError(
            {"note": [_("Use at most %(max)d characters.") % {"max": NOTE_MAX_LENGTH}]}
        )
    try:
        refuse_invisible(note, field=_("Note"))
    except ValidationError as refused:
        raise ValidationError({"note": refused.error_list}) from None
    if note and scan_text(text=note, customer=None):
        raise ValidationError(
            {"note": [_("Do not write personal data (names, phone numbers, e-mail) here.")]}
        )
    return note


def compliance_contacts(division: str) -> list[ComplianceContact]:
    """Whom a suspicious access is reported to: the T&D compliance contact (the barrier is
    T&D's obligation) and the compliance contact of the division the person acted from,
    each as named now (whether still entitled is for the caller to check)."""
    divisions = [DivisionCode.TD.value]
    if division and division != DivisionCode.TD and division in DivisionCode.values:
        divisions.append(division)
    found = [compliance_contact_of(code) for code in divisions]
    return [contact for contact in found if contact.user_id is not None]


def _notify_suspicious(item: ReviewItem, event: AuditEvent, reviewer: User) -> None:
    contacts = compliance_contacts(event.actor_division)
    if not contacts:
        logger.warning("suspicious access (review item %s): no compliance contact", item.pk)
        return
    # Written once, in the default language, for whoever reads it; ids and codes only.
    with translation.override(settings.LANGUAGE_CODE):
        subject = gettext("Access review: suspicious access (item #%(item)s)") % {"item": item.pk}
        body = gettext(
            "An auditor (user id %(reviewer)s) marked a sampled access as suspicious.\n"
            "Review item: %(item)s (day %(day)s)\n"
            "Audit event: %(event)s (%(action)s) by user id %(actor)s, division %(division)s\n"
            "Object: %(object_type)s %(object_id)s\n"
            "Details: /audit/reviews/%(item)s/\n"
        ) % {
            "reviewer": reviewer.pk,
            "item": item.pk,
            "day": item.day.isoformat(),
            "event": event.pk,
            "action": event.action,
            "actor": event.actor_id or "-",
            "division": event.actor_division or "-",
            "object_type": event.object_type or "-",
            "object_id": event.object_id or "-",
        }
    for contact in contacts:
        assert contact.user_id is not None
        if contact.entitled:
            outbox_write(
                recipient_ids=[contact.user_id],
                kind="access_review.suspicious",
                subject=subject,
                body=body,
                dedupe_key=f"access_review.suspicious:i{item.pk}",
                division=contact.division,
            )
        else:
            # Named, but no longer an active member of that division: told nothing.
            outbox_withhold(
                recipient_id=contact.user_id,
                kind="access_review.suspicious",
                subject=subject,
                body=body,
                dedupe_key=f"access_review.suspicious:i{item.pk}",
                division=contact.division,
                reason=withhold_reason(contact),
            )


def access_review_mark(
    *,
    acting_user: User,
    item_id: int,
    outcome: str,
    note: str = "",
    expected_version: int | None = None,
) -> ReviewItem:
    """Mark one sampled access legitimate or suspicious (a note is required for
    suspicious). Refused for an item already reviewed, a stale form, and the person whose
    access it was (four eyes, superusers included)."""
    require(acting_user, REVIEW_PERMISSION, division=DivisionCode.AUDIT)
    if outcome not in Outcome.values:
        raise ValidationError({"outcome": [_("Choose legitimate or suspicious.")]})
    with transaction.atomic():
        try:
            item = ReviewItem.objects.select_for_update().get(pk=item_id)
        except (ReviewItem.DoesNotExist, TypeError, ValueError):
            raise NotFound(_("The review item does not exist.")) from None
        if item.is_reviewed:
            raise WrongState(_("This access has already been reviewed."), code="already_reviewed")
        if expected_version is not None and expected_version != item.version:
            raise StaleVersion()
        event = AuditEvent.objects.get(pk=item.event_id)
        if event.actor_id is not None and event.actor_id == acting_user.pk:
            raise FourEyesViolation(_("Nobody reviews their own access."))
        item.note = _clean_note(note, outcome=outcome)
        item.outcome = outcome
        item.reviewed_by = acting_user
        item.reviewed_at = timezone.now()
        item.version += 1
        item.save(update_fields=["note", "outcome", "reviewed_by", "reviewed_at", "version"])
        audit_record(
            actor=acting_user,
            action=ACCESS_REVIEWED,
            obj=item,
            object_label=f"#{item.pk}",
            details={
                "outcome": outcome,
                "event_id": event.pk,
                "event_action": event.action,
                "day": item.day.isoformat(),
            },
            reason=item.note,
        )
        if outcome == Outcome.SUSPICIOUS:
            _notify_suspicious(item, event, acting_user)
    return item
