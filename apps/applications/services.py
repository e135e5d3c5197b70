"""Every change of an application goes through one of these functions.

Each one: checks the acting user's division and permission, locks the row, checks the
state and the four-eyes rule, changes the state, writes the audit event and adjusts the
retail permission — in one transaction. Personal data goes to the vault *first* (the
two databases share no transaction); a vault record nothing references is harmless
and is swept later.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransition

from apps.accounts.models import DivisionCode, User
from apps.accounts.permissions import require
from apps.applications import notices as notify
from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.core.errors import FourEyesViolation, NotAllowed, NotFound, StaleVersion, WrongState
from apps.retailers.models import Retailer
from apps.vault.services import vault_read, vault_store
from apps.vault.types import CustomerPII
from apps.vocabulary.projection import project, projection_hash, scanned_texts
from apps.vocabulary.states import EDITABLE_STATES, POST_RELEASE_STATES, Contribution
from apps.vocabulary.states import ApplicationState as S
from apps.vocabulary.states import MaskingState as M

from . import publishing
from .inputs import APPLICATION_FIELDS, CUSTOMER_FIELDS, clean_application_input
from .leaks import Leak, scan, scan_text
from .masking import PROJECTION_CHANGED, invalidate_masking
from .models import Application, ApplicationContribution, ReviewOpening
from .pseudonym import new_pseudonym
from .validators import refuse_invisible_in
from .visibility import grant_retail_view, withdraw_retail_view

logger = logging.getLogger(__name__)

TD = DivisionCode.TD


class LeakFound(WrongState):
    """Encoding refused: a retail-visible field holds personal data. `leaks` names the
    fields and kinds, never the text found."""

    code = "leak_found"
    default_message = _("Personal data was found in fields retail would see.")

    def __init__(self, leaks: list[Leak]) -> None:
        self.leaks = leaks
        super().__init__()


# --- helpers ------------------------------------------------------------------------


def _lock(application_id: int) -> Application:
    # `of=("self",)`: a plain FOR UPDATE over the join would lock the retailer's row too
    # and serialise every application of that retailer (the affiliated one holds most).
    # SQLite ignores row locks altogether, `of` included.
    try:
        return (
            Application.objects.select_for_update(of=("self",))
            .select_related("retailer")
            .get(pk=application_id)
        )
    except (Application.DoesNotExist, TypeError, ValueError):
        raise NotFound(_("The application does not exist.")) from None


def _check_version(application: Application, expected_version: int | None) -> None:
    if expected_version is not None and application.version != expected_version:
        raise StaleVersion()


def _done_before(application: Application, expected_version: int | None, done: bool) -> bool:
    """A retried POST whose first attempt committed but whose answer was lost (a database
    connection cut after the commit, a proxy timeout): the transition's result already
    holds, for the version the page showed, by this user. The service then returns the
    application as if it had just done it, so the user sees the result, not a refusal
    ("already verified") of their own action. Nothing is written or audited again."""
    return expected_version is not None and application.version == expected_version and done


def _contribute(application: Application, user: User, kind: Contribution) -> None:
    ApplicationContribution.objects.create(
        application=application, version=application.version, user=user, kind=kind
    )


def _save(application: Application, fields: list[str]) -> None:
    try:
        application.save(update_fields=[*fields, "updated_at"])
    except ConcurrentTransition:
        # The row lock makes this unreachable in practice; the state filter of
        # ConcurrentTransitionMixin is the second line of defence.
        raise StaleVersion() from None


def _customer_of(application: Application) -> CustomerPII:
    return vault_read(application.customer_ref)


def _unused_pseudonym() -> str:
    """Pseudonyms are 32 random bits: at a few hundred thousand applications a repeat is
    likely, so draw again; the unique constraint still catches a simultaneous draw."""
    while True:
        candidate = new_pseudonym()
        if not Application.objects.filter(pseudonym=candidate).exists():
            return candidate


def _pii_from(cleaned: Mapping[str, Any]) -> CustomerPII:
    return CustomerPII(
        name=cleaned["customer_name"],
        name_kana=cleaned["customer_name_kana"],
        phone=cleaned["customer_phone"],
        email=cleaned["customer_email"],
    )


def _pii_as_input(pii: CustomerPII) -> dict[str, str]:
    return {
        "customer_name": pii.name,
        "customer_name_kana": pii.name_kana,
        "customer_phone": pii.phone,
        "customer_email": pii.email,
    }


def _clean_reason(reason: str, *, customer: CustomerPII | None, field: str = "reason") -> str:
    """Reasons are read by clerks and auditors, so they must be free of personal data."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({field: [_("Give a reason.")]})
    if len(reason) > 1000:
        raise ValidationError({field: [_("Use at most 1000 characters.")]})
    refuse_invisible_in(reason, field_name=field, label=_("Reason"))
    if scan_text(text=reason, customer=customer):
        raise ValidationError(
            {field: [_("Do not write personal data (names, phone numbers, e-mail) here.")]}
        )
    return reason


# --- create and change ------------------------------------------------------------------


def application_create(*, acting_user: User, data: Mapping[str, Any]) -> Application:
    require(acting_user, "applications.add_application", division=TD)
    cleaned = clean_application_input(data)
    customer_ref = vault_store(_pii_from(cleaned))
    with transaction.atomic():
        application = Application(
            customer_ref=customer_ref,
            created_by=acting_user,
            pseudonym=_unused_pseudonym(),
            **{name: cleaned[name] for name in APPLICATION_FIELDS},
        )
        application.save()
        # The reference number needs the row's id; same transaction, nobody sees the gap.
        application.reference = f"SD{timezone.localdate():%Y}-{application.pk:07d}"
        application.save(update_fields=["reference"])
        _contribute(application, acting_user, Contribution.CREATED)
        audit_record(
            actor=acting_user,
            action=AuditAction.APPLICATION_CREATED,
            obj=application,
            changed_fields=[n for n in APPLICATION_FIELDS + CUSTOMER_FIELDS if cleaned[n] != ""],
            details={"version": application.version, "state": application.state},
        )
    logger.info("application created id=%s", application.pk)
    return application


def _apply_changes(
    application: Application,
    *,
    acting_user: User,
    changes: Mapping[str, Any],
    action: AuditAction,
    reason: str = "",
) -> Application:
    """Shared by update and change-retailer: validate the merged record, store new
    personal data in the vault first, bump the version, invalidate the masking."""
    current_pii = _customer_of(application)
    merged: dict[str, Any] = {name: getattr(application, name) for name in APPLICATION_FIELDS}
    merged["retailer"] = application.retailer
    merged.update(_pii_as_input(current_pii))
    merged.update(changes)
    cleaned = clean_application_input(merged, previous_start_date=application.requested_start_date)

    changed = [
        name
        for name in APPLICATION_FIELDS
        if (cleaned[name].pk if name == "retailer" else cleaned[name])
        != (application.retailer_id if name == "retailer" else getattr(application, name))
    ]
    new_pii = _pii_from(cleaned)
    changed += [
        name
        for name, attr in zip(CUSTOMER_FIELDS, ("name", "name_kana", "phone", "email"), strict=True)
        if getattr(new_pii, attr) != getattr(current_pii, attr)
    ]
    if not changed:
        return application

    fields = ["version"]
    if any(name in CUSTOMER_FIELDS for name in changed):
        application.customer_ref = vault_store(new_pii)
        fields.append("customer_ref")
    for name in changed:
        if name in APPLICATION_FIELDS:
            setattr(application, name, cleaned[name])
            fields.append(name)
    application.version += 1
    fields += invalidate_masking(application, actor=acting_user)
    _save(application, fields)
    _contribute(application, acting_user, Contribution.EDITED)
    audit_record(
        actor=acting_user,
        action=action,
        obj=application,
        changed_fields=changed,
        details={"version": application.version, "state": application.state},
        reason=reason,
    )
    return application


def application_update(
    *,
    acting_user: User,
    application_id: int,
    expected_version: int,
    changes: Mapping[str, Any],
) -> Application:
    require(acting_user, "applications.change_application", division=TD)
    if "retailer" in changes:
        raise ValidationError(
            {"retailer": [_("Change the retailer with the change-retailer action.")]}
        )
    with transaction.atomic():
        application = _lock(application_id)
        _check_version(application, expected_version)
        if application.state not in EDITABLE_STATES:
            raise WrongState(_("This application can no longer be edited."))
        return _apply_changes(
            application,
            acting_user=acting_user,
            changes=changes,
            action=AuditAction.APPLICATION_UPDATED,
        )


def application_change_retailer(
    *,
    acting_user: User,
    application_id: int,
    expected_version: int,
    retailer_id: int,
    reason: str = "",
) -> Application:
    """スイッチング or a correction: retail visibility is withdrawn until the new version is
    encoded and verified again; construction progress is untouched."""
    require(acting_user, "applications.change_application", division=TD)
    if not Retailer.objects.filter(pk=retailer_id).exists():
        raise ValidationError({"retailer": [_("Choose a retailer.")]})
    with transaction.atomic():
        application = _lock(application_id)
        _check_version(application, expected_version)
        if application.state == S.CANCELLED:
            raise WrongState(_("A cancelled application cannot change retailer."))
        if application.retailer_id == retailer_id:
            raise ValidationError({"retailer": [_("This is already the application's retailer.")]})
        reason = reason.strip()
        if reason:
            reason = _clean_reason(reason, customer=_customer_of(application))
        return _apply_changes(
            application,
            acting_user=acting_user,
            changes={"retailer": retailer_id},
            action=AuditAction.APPLICATION_RETAILER_CHANGED,
            reason=reason,
        )


# --- the workflow -------------------------------------------------------------------------


def application_submit(
    *, acting_user: User, application_id: int, expected_version: int | None = None
) -> Application:
    require(acting_user, "applications.submit_application", division=TD)
    with transaction.atomic():
        application = _lock(application_id)
        _check_version(application, expected_version)
        submitted = application.state == S.ENTERED and (
            ApplicationContribution.objects.filter(
                application=application,
                version=application.version,
                user=acting_user,
                kind=Contribution.SUBMITTED,
            ).exists()
        )
        if _done_before(application, expected_version, submitted):
            return application
        if application.state != S.DRAFT:
            raise WrongState(_("Only a draft can be submitted."))
        # Rules may have tightened since the draft was saved: validate the whole record.
        data: dict[str, Any] = {name: getattr(application, name) for name in APPLICATION_FIELDS}
        data["retailer"] = application.retailer
        data.update(_pii_as_input(_customer_of(application)))
        clean_application_input(data, previous_start_date=application.requested_start_date)
        application.submit()
        _save(application, ["state"])
        _contribute(application, acting_user, Contribution.SUBMITTED)
        audit_record(
            actor=acting_user,
            action=AuditAction.APPLICATION_SUBMITTED,
            obj=application,
            details={"version": application.version},
        )
        notify.notify_application_event(
            event=notify.SUBMITTED, application=application, actor=acting_user
        )
    return application


def application_encode(
    *, acting_user: User, application_id: int, expected_version: int | None = None
) -> Application:
    """符号化: build the retail projection, scan it for the customer's own personal data and
    generic patterns, refuse naming each field, or record who encoded which version."""
    require(acting_user, "applications.encode_application", division=TD)
    leaks: list[Leak] = []
    with transaction.atomic():
        application = _lock(application_id)
        _check_version(application, expected_version)
        encoded = (
            application.masking_state == M.ENCODED
            and application.encoded_version == application.version
            and application.encoded_by_id == acting_user.pk
        )
        if _done_before(application, expected_version, encoded):
            return application
        if application.masking_state != M.UNMASKED:
            raise WrongState(_("This version is already encoded."))
        if application.state not in (S.ENTERED, *POST_RELEASE_STATES):
            raise WrongState(_("Submit the application before encoding it."))
        leaks = scan(fields=scanned_texts(application), customer=_customer_of(application))
        if leaks:
            # The refusal is evidence too; it commits, the encoding does not happen.
            audit_record(
                actor=acting_user,
                action=AuditAction.APPLICATION_ENCODE_REFUSED,
                obj=application,
                changed_fields=[leak.field for leak in leaks],
                details={"kinds": sorted({str(leak.kind) for leak in leaks})},
            )
        else:
            fields = ["masking_state", "encoded_version", "encoded_by", "encoded_at"]
            if application.state == S.ENTERED:
                application.mark_encoded()
                fields.append("state")
            application.mask()
            application.encoded_version = application.version
            application.encoded_by = acting_user
            application.encoded_at = timezone.now()
            application.projection_hash = projection_hash(project(application))
            # A return is answered by this encoding; its reason stays in the audit trail.
            application.return_reason = ""
            application.returned_at = None
            _save(application, [*fields, "projection_hash", "return_reason", "returned_at"])
            _contribute(application, acting_user, Contribution.ENCODED)
            audit_record(
                actor=acting_user,
                action=AuditAction.APPLICATION_ENCODED,
                obj=application,
                details={"version": application.version, "projection": application.projection_hash},
            )
            notify.notify_application_event(
                event=notify.ENCODED, application=application, actor=acting_user
            )
    if leaks:
        raise LeakFound(leaks)
    return application


def application_record_review_opened(*, acting_user: User, application_id: int) -> ReviewOpening:
    """Called by the side-by-side review page; verification of this version requires it."""
    require(acting_user, "applications.verify_application", division=TD)
    with transaction.atomic():
        application = _lock(application_id)
        if (
            application.masking_state != M.ENCODED
            or application.encoded_version != application.version
        ):
            raise WrongState(_("This application is not waiting for the second-person check."))
        opening = ReviewOpening.objects.create(
            application=application, version=application.version, user=acting_user
        )
        audit_record(
            actor=acting_user,
            action=AuditAction.APPLICATION_REVIEW_OPENED,
            obj=application,
            details={"version": application.version},
        )
    return opening


FOUR_EYES_MESSAGES = {
    Contribution.CREATED: _("You created this application; a second person must verify it."),
    Contribution.EDITED: _("You edited this application; a second person must verify it."),
    Contribution.SUBMITTED: _("You submitted this application; a second person must verify it."),
    Contribution.ENCODED: _("You encoded this application; a second person must verify it."),
}


def check_four_eyes(application: Application, user: User) -> None:
    """The verifier must not have shaped the content: anyone who created, edited, submitted
    or encoded any version up to the current one is refused — superusers included."""
    kinds = set(
        ApplicationContribution.objects.filter(
            application=application, user=user, version__lte=application.version
        ).values_list("kind", flat=True)
    )
    for kind in (
        Contribution.CREATED,
        Contribution.EDITED,
        Contribution.SUBMITTED,
        Contribution.ENCODED,
    ):
        if kind in kinds:
            raise FourEyesViolation(FOUR_EYES_MESSAGES[kind])


def application_verify(
    *, acting_user: User, application_id: int, expected_version: int
) -> Application:
    """Second-person check (ダブルチェック) of one application; there is no bulk form."""
    require(acting_user, "applications.verify_application", division=TD)
    with transaction.atomic():
        application = _lock(application_id)
        _check_version(application, expected_version)
        verified = (
            application.masking_state == M.VERIFIED
            and application.verified_version == application.version
            and application.verified_by_id == acting_user.pk
        )
        if _done_before(application, expected_version, verified):
            return application
        if application.masking_state == M.VERIFIED:
            raise WrongState(_("This application has already been verified."))
        if (
            application.masking_state != M.ENCODED
            or application.encoded_version != application.version
        ):
            raise WrongState(_("This application is not waiting for the second-person check."))
        check_four_eyes(application, acting_user)
        # Opened for this version *and* after this encoding: a return does not bump the
        # version, so a look at an earlier encoding of the same content does not count.
        if not ReviewOpening.objects.filter(
            application=application,
            version=application.version,
            user=acting_user,
            opened_at__gte=application.encoded_at,
        ).exists():
            raise NotAllowed(
                _("Open the review page for this version before verifying it."), code="not_reviewed"
            )
        if projection_hash(project(application)) == application.projection_hash:
            _confirm_verification(application, acting_user)
            return application
        # What retail would see changed behind this encoding (a retailer renamed while it
        # was encoded, say): it no longer stands. Withdraw it so that encode accepts the
        # application again, and commit that, like a leak refusal, before refusing.
        _save(
            application,
            invalidate_masking(application, actor=acting_user, cause=PROJECTION_CHANGED),
        )
    raise WrongState(_("What retail would see changed after encoding; encode it again."))


def _confirm_verification(application: Application, acting_user: User) -> None:
    fields = ["masking_state", "verified_version", "verified_by", "verified_at"]
    if application.state == S.ENCODED:
        application.mark_verified()
        fields.append("state")
    application.confirm_mask()
    application.verified_version = application.version
    application.verified_by = acting_user
    application.verified_at = timezone.now()
    _save(application, fields)
    grant_retail_view(application, actor=acting_user)
    # Both locks hold now: retail may read exactly this projection, frozen.
    publishing.publish(application)
    audit_record(
        actor=acting_user,
        action=AuditAction.APPLICATION_VERIFIED,
        obj=application,
        details={"version": application.version, "projection": application.projection_hash},
    )
    notify.notify_application_event(
        event=notify.VERIFIED, application=application, actor=acting_user
    )


def application_return(
    *, acting_user: User, application_id: int, reason: str, expected_version: int | None = None
) -> Application:
    require(acting_user, "applications.return_application", division=TD)
    with transaction.atomic():
        application = _lock(application_id)
        _check_version(application, expected_version)
        if application.masking_state != M.ENCODED:
            raise WrongState(
                _("Only an application waiting for the second-person check can be returned.")
            )
        reason = _clean_reason(reason, customer=_customer_of(application))
        fields = ["masking_state", "return_reason", "returned_by", "returned_at"]
        application.unmask()
        if application.state == S.ENCODED:
            application.back_to_entered()
            fields.append("state")
        application.return_reason = reason
        application.returned_by = acting_user
        application.returned_at = timezone.now()
        _save(application, fields)
        audit_record(
            actor=acting_user,
            action=AuditAction.APPLICATION_RETURNED,
            obj=application,
            details={"version": application.version},
            reason=reason,
        )
        notify.notify_application_event(
            event=notify.RETURNED, application=application, actor=acting_user
        )
    return application


def application_release(
    *, acting_user: User, application_id: int, expected_version: int | None = None
) -> Application:
    require(acting_user, "applications.release_application", division=TD)
    with transaction.atomic():
        application = _lock(application_id)
        _check_version(application, expected_version)
        if application.state != S.VERIFIED or not application.is_retail_visible:
            raise WrongState(_("Only a verified application can be released for construction."))
        application.release()
        application.released_at = timezone.now()
        _save(application, ["state", "released_at"])
        publishing.follow_state(application)
        audit_record(
            actor=acting_user,
            action=AuditAction.APPLICATION_RELEASED,
            obj=application,
            details={"version": application.version},
        )
        notify.notify_application_event(
            event=notify.RELEASED, application=application, actor=acting_user
        )
    return application


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


def application_complete(
    *, acting_user: User, application_id: int, completed_on: datetime.date | str
) -> Application:
    require(acting_user, "applications.record_construction", division=TD)
    with transaction.atomic():
        application = _lock(application_id)
        if application.state != S.RELEASED:
            raise WrongState(_("Only released work can be recorded as completed."))
        released = timezone.localdate(application.released_at) if application.released_at else None
        application.completed_on = _work_date(
            completed_on, field="completed_on", not_before=released
        )
        application.complete()
        _save(application, ["state", "completed_on"])
        publishing.follow_state(application)
        audit_record(
            actor=acting_user,
            action=AuditAction.APPLICATION_COMPLETED,
            obj=application,
            changed_fields=["completed_on"],
            details={"completed_on": application.completed_on.isoformat()},
        )
    return application


def application_energize(
    *, acting_user: User, application_id: int, energized_on: datetime.date | str
) -> Application:
    require(acting_user, "applications.record_construction", division=TD)
    with transaction.atomic():
        application = _lock(application_id)
        if application.state != S.CONSTRUCTED:
            raise WrongState(_("Only completed work can be energized."))
        application.energized_on = _work_date(
            energized_on, field="energized_on", not_before=application.completed_on
        )
        application.energize()
        _save(application, ["state", "energized_on"])
        publishing.follow_state(application)
        audit_record(
            actor=acting_user,
            action=AuditAction.APPLICATION_ENERGIZED,
            obj=application,
            changed_fields=["energized_on"],
            details={"energized_on": application.energized_on.isoformat()},
        )
    return application


def application_discard(
    *, acting_user: User, application_id: int, expected_version: int | None = None
) -> None:
    """Delete a draft that was never submitted, on its author's word.

    Nobody else has seen it (drafts are their author's own, nothing was encoded, retail was
    never told), so the row goes rather than staying as "cancelled"; the audit event keeps
    its id, reference and version. Its vault record is then referenced by nothing, and
    `vault_sweep` crypto-shreds it on its next run (see docs/decisions.md).
    """
    require(acting_user, "applications.change_application", division=TD)
    with transaction.atomic():
        application = _lock(application_id)
        _check_version(application, expected_version)
        if application.state != S.DRAFT:
            raise WrongState(_("Only a draft can be discarded."))
        if application.created_by_id != acting_user.pk:
            raise NotAllowed(_("Only the person who wrote a draft may discard it."))
        audit_record(
            actor=acting_user,
            action=AuditAction.APPLICATION_DISCARDED,
            obj=application,
            details={"version": application.version},
        )
        Application.objects.filter(pk=application.pk).delete()  # contributions go with it
    logger.info("application discarded id=%s", application_id)


def application_cancel(
    *, acting_user: User, application_id: int, reason: str, expected_version: int | None = None
) -> Application:
    require(acting_user, "applications.cancel_application", division=TD)
    with transaction.atomic():
        application = _lock(application_id)
        _check_version(application, expected_version)
        if application.state in (S.CANCELLED, S.ENERGIZED):
            raise WrongState(_("This application can no longer be cancelled."))
        reason = _clean_reason(reason, customer=_customer_of(application))
        fields = ["state", "cancel_reason"]
        # Retail has no business with a cancelled application, and nothing may wait in
        # the verification queue for it: the masking goes back to unmasked for good.
        if application.masking_state != M.UNMASKED:
            application.unmask()
            # Withdraws the publication too (visibility.withdraw_retail_view).
            withdraw_retail_view(application, actor=acting_user)
            fields.append("masking_state")
        application.cancel()
        application.cancel_reason = reason
        _save(application, fields)
        audit_record(
            actor=acting_user,
            action=AuditAction.APPLICATION_CANCELLED,
            obj=application,
            details={"version": application.version},
            reason=reason,
        )
        notify.notify_application_event(
            event=notify.CANCELLED, application=application, actor=acting_user
        )
    return application
