"""Invalidating an encoding: the one way back from encoded or verified masking that a
change of content (or of anything the supervisor checked) takes.

Shared by the edit services, the retailer-change listener (a rename or an affiliation
change of the application's retailer) and the barrier check's repair, so each of them
withdraws the grant and the publication and leaves an application the normal encode →
verify path accepts again (masking unmasked; the state back to entered before release).
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Subquery

from apps.accounts.models import User
from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.retailers.models import Retailer
from apps.retailers.services import Withdrawal
from apps.vocabulary.states import ApplicationState as S
from apps.vocabulary.states import MaskingState as M

from ..models import Application
from ..visibility import withdraw_retail_view
from ._common import lock_application, save_fields

# Why an encoding was invalidated without an edit of the application (audit details).
RETAILER_RENAMED = "retailer_renamed"
RETAILER_AFFILIATION_CHANGED = "retailer_affiliation_changed"
BARRIER_CHECK = "barrier_check"
PROJECTION_CHANGED = "projection_changed"  # found by verify: changed behind the encoding


def invalidate_masking(
    application: Application, *, actor: User | None, cause: str = ""
) -> list[str]:
    """A change after encoding: withdraw retail visibility (grant and publication) in this
    same transaction and require a fresh encode and second-person check. Construction
    progress stays. Returns the fields the caller must save; the caller holds the lock."""
    if application.masking_state == M.UNMASKED:
        return []
    previous = application.masking_state
    application.unmask()
    fields = ["masking_state"]
    if application.state in (S.ENCODED, S.VERIFIED):
        application.back_to_entered()
        fields.append("state")
    withdraw_retail_view(application, actor=actor)
    details: dict[str, object] = {"previous_masking": previous, "version": application.version}
    if cause:
        details["cause"] = cause
    audit_record(
        actor=actor, action=AuditAction.MASKING_INVALIDATED, obj=application, details=details
    )
    return fields


def invalidate_locked(application_id: int, *, actor: User | None, cause: str) -> bool:
    """Lock one application and invalidate its encoding, if it has one."""
    return _invalidate_locked(application_id, actor=actor, cause=cause) is not None


def _invalidate_locked(application_id: int, *, actor: User | None, cause: str) -> Withdrawal | None:
    with transaction.atomic():
        application = lock_application(application_id)
        was_visible = application.masking_state == M.VERIFIED
        fields = invalidate_masking(application, actor=actor, cause=cause)
        if not fields:
            return None
        save_fields(application, fields)
    return Withdrawal(
        application_id=application.pk,
        reference=application.reference or "",  # set by create, in the same transaction
        was_visible=was_visible,
    )


def invalidate_retailer_applications(
    *, retailer_id: int, actor: User | None, cause: str
) -> list[Withdrawal]:
    """The retailer's name or affiliation changed: what the supervisor checked (the
    retailer shown, its classification) no longer holds for any of its encoded or
    verified applications. Runs inside the transaction of the retailer change; returns
    what it withdrew, for the administrators' result page. The applications' copy of the
    affiliation (`Application.retailer_affiliated`) follows the retailer's here too."""
    Application.objects.filter(retailer_id=retailer_id).update(
        retailer_affiliated=Subquery(
            Retailer.objects.filter(pk=retailer_id).values("is_affiliated")[:1]
        )
    )
    ids = list(
        Application.objects.filter(retailer_id=retailer_id)
        .exclude(masking_state=M.UNMASKED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    found = (_invalidate_locked(pk, actor=actor, cause=cause) for pk in ids)
    return [withdrawal for withdrawal in found if withdrawal is not None]
