"""A clerk's side of an application: create, change, change the retailer, submit, discard
a draft, and cancel (supervisors cancel too)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import cache
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connections, router, transaction
from django.db.models import Exists
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import User
from apps.accounts.permissions import require
from apps.applications import notices as notify
from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.core.errors import NotAllowed, WrongState
from apps.core.statements import ModelRead, Slots, Statement, compile_statement
from apps.retailers.models import Retailer
from apps.vault.services import vault_store
from apps.vault.types import CustomerPII
from apps.vocabulary.states import EDITABLE_STATES, Contribution
from apps.vocabulary.states import ApplicationState as S
from apps.vocabulary.states import MaskingState as M

from ..inputs import APPLICATION_FIELDS, CUSTOMER_FIELDS, clean_application_input
from ..models import Application, ApplicationContribution
from ..pseudonym import new_pseudonym
from ..visibility import withdraw_retail_view
from ._common import (
    TD,
    check_version,
    clean_reason,
    contribution_row,
    customer_of,
    done_before,
    in_td_at,
    insert_application,
    lock_application,
    outside_td,
    pii_as_input,
    pii_from,
    record_transition,
    require_td,
    save_fields,
    write_columns,
)
from .masking import invalidate_masking

logger = logging.getLogger(__name__)


def _first_read(acting_user: User, retailer: Any) -> tuple[str, Retailer | None]:
    """Create's first statement, before the vault is written: whether the clerk is in
    T&D now (`require_td`; create has no row to lock), an unused pseudonym, and the
    retailer chosen, read together. Pseudonyms are 32 random bits: at a few hundred
    thousand applications a repeat is likely, so draw again; the unique constraint still
    catches a simultaneous draw. No retailer (none chosen, or none by that id) is left to
    clean_application_input to refuse (None). Built once per process
    (apps.core.statements), with the retailer and without."""
    retailer_id = retailer.pk if isinstance(retailer, Retailer) else retailer
    alias = router.db_for_read(Retailer)
    connection = connections[alias]
    while True:
        candidate = new_pseudonym()
        values = {
            "retailer": retailer_id,
            "user": acting_user.pk,
            "now": timezone.now(),
            "pseudonym": candidate,
        }
        row: Retailer | None = None
        if retailer_id is not None:
            try:
                found = _retailer_read(alias).rows(connection, **values)
            except (TypeError, ValueError):  # no retailer has that id (the ORM's answer)
                retailer_id = None
            else:
                row = found[0] if found else None
        if row is not None:
            in_td, taken = vars(row)["in_td"], vars(row)["taken"]  # the read's annotations
        else:
            statement = _person_read(alias)
            with connection.cursor() as cursor:
                cursor.execute(statement.sql, statement.params(connection, values))
                in_td, taken = cursor.fetchone()
        if not in_td:
            raise outside_td()
        if not taken:
            return candidate, row


def _in_td(slots: Slots) -> Exists:
    return in_td_at(slots.id("user"), slots.moment("now"))


def _taken(slots: Slots) -> Exists:
    return Exists(Application.objects.filter(pseudonym=slots.text("pseudonym")))


@cache
def _retailer_read(alias: str) -> ModelRead[Retailer]:
    """The retailer chosen, with the create's two facts."""
    return ModelRead(
        lambda slots: (
            Retailer.objects.filter(pk=slots.id("retailer"))
            .annotate(in_td=_in_td(slots), taken=_taken(slots))
            .order_by("pk")[:1]
        ),
        alias,
    )


@cache
def _person_read(alias: str) -> Statement:
    """The create's two facts without a retailer: read beside the clerk's own row."""
    slots = Slots()
    statement, _compiler = compile_statement(
        User.objects.filter(pk=slots.id("user"))
        .annotate(in_td=_in_td(slots), taken=_taken(slots))
        .values_list("in_td", "taken"),
        slots,
        alias,
    )
    return statement


def application_create(*, acting_user: User, data: Mapping[str, Any]) -> Application:
    require_td(acting_user, "applications.add_application")
    pseudonym, retailer = _first_read(acting_user, data.get("retailer"))
    if retailer is not None:
        data = {**data, "retailer": retailer}
    cleaned = clean_application_input(data)
    customer_ref = vault_store(pii_from(cleaned))
    with transaction.atomic():
        application = Application(
            customer_ref=customer_ref,
            created_by=acting_user,
            pseudonym=pseudonym,
            **{name: cleaned[name] for name in APPLICATION_FIELDS},
        )
        insert_application(application)
        # The reference number needs the row's id; same transaction, nobody sees the gap.
        application.reference = f"SD{timezone.localdate():%Y}-{application.pk:07d}"
        write_columns(application, ["reference"])
        audit_record(
            actor=acting_user,
            action=AuditAction.APPLICATION_CREATED,
            obj=application,
            changed_fields=[n for n in APPLICATION_FIELDS + CUSTOMER_FIELDS if cleaned[n] != ""],
            details={"version": application.version, "state": application.state},
            # The creator's contribution, written by the event's statement.
            riders=[contribution_row(application, acting_user, Contribution.CREATED)],
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
    current_pii: CustomerPII | None = None,
) -> Application:
    """Shared by update and change-retailer: validate the merged record, store new
    personal data in the vault first, bump the version, invalidate the masking."""
    if current_pii is None:
        current_pii = customer_of(application)
    merged: dict[str, Any] = {name: getattr(application, name) for name in APPLICATION_FIELDS}
    merged["retailer"] = application.retailer
    merged.update(pii_as_input(current_pii))
    merged.update(changes)
    cleaned = clean_application_input(merged, previous_start_date=application.requested_start_date)

    changed = [
        name
        for name in APPLICATION_FIELDS
        if (cleaned[name].pk if name == "retailer" else cleaned[name])
        != (application.retailer_id if name == "retailer" else getattr(application, name))
    ]
    new_pii = pii_from(cleaned)
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
    save_fields(application, fields)
    audit_record(
        actor=acting_user,
        action=action,
        obj=application,
        changed_fields=changed,
        details={"version": application.version, "state": application.state},
        reason=reason,
        riders=[contribution_row(application, acting_user, Contribution.EDITED)],
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
        application = lock_application(application_id)
        check_version(application, expected_version)
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
        application = lock_application(application_id)
        check_version(application, expected_version)
        if application.state == S.CANCELLED:
            raise WrongState(_("A cancelled application cannot change retailer."))
        if application.retailer_id == retailer_id:
            raise ValidationError({"retailer": [_("This is already the application's retailer.")]})
        reason = reason.strip()
        current_pii = customer_of(application)
        if reason:
            reason = clean_reason(reason, customer=current_pii)
        return _apply_changes(
            application,
            acting_user=acting_user,
            changes={"retailer": retailer_id},
            action=AuditAction.APPLICATION_RETAILER_CHANGED,
            reason=reason,
            current_pii=current_pii,
        )


def _submission_facts(actor_id: int) -> dict[str, Exists]:
    """What a submission's locking read also reads: whether anyone but the actor created,
    edited or encoded the application (notices.others_authored)."""
    return {"others_authored": notify.others_authored(actor_id)}


def _others_authored(application: Application) -> bool:
    """The `others_authored` fact the locking read set (notices.others_authored)."""
    return bool(getattr(application, "others_authored", True))


def application_submit(
    *, acting_user: User, application_id: int, expected_version: int | None = None
) -> Application:
    require_td(acting_user, "applications.submit_application")
    with transaction.atomic():
        application = lock_application(application_id, actor=acting_user, facts=_submission_facts)
        check_version(application, expected_version)
        submitted = application.state == S.ENTERED and (
            ApplicationContribution.objects.filter(
                application=application,
                version=application.version,
                user=acting_user,
                kind=Contribution.SUBMITTED,
            ).exists()
        )
        if done_before(application, expected_version, submitted):
            return application
        if application.state != S.DRAFT:
            raise WrongState(_("Only a draft can be submitted."))
        # Rules may have tightened since the draft was saved: validate the whole record.
        data: dict[str, Any] = {name: getattr(application, name) for name in APPLICATION_FIELDS}
        data["retailer"] = application.retailer
        data.update(pii_as_input(customer_of(application)))
        clean_application_input(data, previous_start_date=application.requested_start_date)
        application.submit()
        record_transition(
            application,
            actor=acting_user,
            fields=["state"],
            contribution=Contribution.SUBMITTED,
            action=AuditAction.APPLICATION_SUBMITTED,
            details={"version": application.version},
            # Usually the submitter wrote the draft alone: then nobody is to be told.
            event=notify.SUBMITTED if _others_authored(application) else None,
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
    require_td(acting_user, "applications.change_application")
    with transaction.atomic():
        application = lock_application(application_id, actor=acting_user)
        check_version(application, expected_version)
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
    require_td(acting_user, "applications.cancel_application")
    with transaction.atomic():
        application = lock_application(application_id, actor=acting_user)
        check_version(application, expected_version)
        if application.state in (S.CANCELLED, S.ENERGIZED):
            raise WrongState(_("This application can no longer be cancelled."))
        reason = clean_reason(reason, customer=customer_of(application))
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
        record_transition(
            application,
            actor=acting_user,
            fields=fields,
            action=AuditAction.APPLICATION_CANCELLED,
            details={"version": application.version},
            reason=reason,
            event=notify.CANCELLED,
        )
    return application
