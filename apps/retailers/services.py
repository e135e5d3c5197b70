"""Retailers: creation, renaming, and the two-administrator affiliation change.

A retailer's name and affiliation are part of what a supervisor verifies for each of its
applications (the name is shown to retail; the classification is confirmed on the review
page). Changing either must invalidate those checks in the same transaction. The workflow
sits on a higher floor and this module may not import it, so the workflow registers a
listener here at start-up (apps.applications.apps) and every change below calls it: an
explicit, synchronous call in the caller's transaction, not a signal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import DivisionCode, User
from apps.accounts.permissions import require
from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.core.errors import FourEyesViolation, NotFound, WrongState

from .models import AffiliationProposal, ProposalStatus, Retailer

# Why a retailer changed, as the listeners receive it.
RENAMED = "retailer_renamed"
AFFILIATION_CHANGED = "retailer_affiliation_changed"

REASON_MAX_LENGTH = 500


@dataclass(frozen=True)
class Withdrawal:
    """One application whose encoding a retailer change invalidated, as a listener reports
    it: `was_visible` when retail could see it (verified), not merely encoded."""

    application_id: int
    reference: str
    was_visible: bool

    def as_json(self) -> dict[str, object]:
        return {
            "application": self.application_id,
            "reference": self.reference,
            "was_visible": self.was_visible,
        }


# A listener returns the withdrawals it made (or None when it withdraws nothing).
RetailerListener = Callable[..., "Iterable[Withdrawal] | None"]
_listeners: list[RetailerListener] = []


def on_retailer_changed(listener: RetailerListener) -> None:
    """Register `listener(retailer_id=..., actor=..., cause=...)`; idempotent."""
    if listener not in _listeners:
        _listeners.append(listener)


def retailer_changed(retailer: Retailer, *, actor: User | None, cause: str) -> list[Withdrawal]:
    """Tell the listeners, inside the caller's transaction, that what the supervisors
    verified about this retailer's applications no longer holds; return what they withdrew."""
    withdrawn: list[Withdrawal] = []
    for listener in _listeners:
        withdrawn.extend(listener(retailer_id=retailer.pk, actor=actor, cause=cause) or ())
    return withdrawn


def retailer_rename(*, acting_user: User, retailer_id: int, name: str) -> Retailer:
    """A new name withdraws retail visibility of the retailer's encoded and verified
    applications until each is encoded and verified again under the new name."""
    require(acting_user, "retailers.change_retailer", division=DivisionCode.ADMIN)
    name = " ".join(name.split())
    if not name:
        raise ValidationError({"name": [_("Enter the retailer's name.")]})
    with transaction.atomic():
        try:
            retailer = Retailer.objects.select_for_update().get(pk=retailer_id)
        except Retailer.DoesNotExist:
            raise NotFound() from None
        if retailer.name == name:
            return retailer
        retailer.name = name
        retailer.save(update_fields=["name"])
        audit_record(
            actor=acting_user,
            action=AuditAction.CONFIGURATION_CHANGED,
            obj=retailer,
            changed_fields=["name"],
        )
        retailer_changed(retailer, actor=acting_user, cause=RENAMED)
    return retailer


def retailer_create(*, acting_user: User | None, code: str, name: str) -> Retailer:
    """New retailers start non-affiliated; affiliation needs the two-administrator path."""
    if acting_user is not None:
        require(acting_user, "retailers.add_retailer", division=DivisionCode.ADMIN)
    code, name = code.strip().upper(), " ".join(name.split())
    errors: dict[str, list[str]] = {}
    if not code or not code.isalnum():
        errors["code"] = [str(_("Enter the registration code (letters and digits)."))]
    elif Retailer.objects.filter(code=code).exists():
        errors["code"] = [str(_("A retailer with this code already exists."))]
    if not name:
        errors["name"] = [str(_("Enter the retailer's name."))]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        retailer = Retailer.objects.create(code=code, name=name)
        audit_record(actor=acting_user, action=AuditAction.RETAILER_CREATED, obj=retailer)
    return retailer


def retailer_propose_affiliation(
    *, acting_user: User, retailer_id: int, make_affiliated: bool, reason: str
) -> AffiliationProposal:
    require(acting_user, "retailers.propose_affiliation", division=DivisionCode.ADMIN)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": [_("Give a reason for the change.")]})
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(
            {"reason": [_("Keep the reason to %(max)s characters.") % {"max": REASON_MAX_LENGTH}]}
        )
    with transaction.atomic():
        try:
            retailer = Retailer.objects.select_for_update().get(pk=retailer_id)
        except Retailer.DoesNotExist:
            raise NotFound() from None
        if retailer.is_affiliated == make_affiliated:
            raise WrongState(_("The retailer already has this classification."))
        if retailer.proposals.filter(status=ProposalStatus.PENDING).exists():
            raise WrongState(_("A proposal for this retailer is already waiting for approval."))
        proposal = AffiliationProposal.objects.create(
            retailer=retailer,
            make_affiliated=make_affiliated,
            reason=reason,
            proposed_by=acting_user,
        )
        audit_record(
            actor=acting_user,
            action=AuditAction.AFFILIATION_PROPOSED,
            obj=retailer,
            details={"proposal": proposal.pk, "make_affiliated": make_affiliated},
            reason=reason,
        )
    return proposal


def retailer_decide_affiliation(
    *, acting_user: User, proposal_id: int, approve: bool
) -> AffiliationProposal:
    require(acting_user, "retailers.decide_affiliation", division=DivisionCode.ADMIN)
    with transaction.atomic():
        try:
            proposal = (
                AffiliationProposal.objects.select_for_update(of=("self",))
                .select_related("retailer")
                .get(pk=proposal_id)
            )
        except AffiliationProposal.DoesNotExist:
            raise NotFound() from None
        if proposal.status != ProposalStatus.PENDING:
            raise WrongState(_("This proposal has already been decided."))
        if proposal.proposed_by_id == acting_user.pk:
            raise FourEyesViolation(
                _("A different administrator must decide on your own proposal.")
            )
        proposal.status = ProposalStatus.APPROVED if approve else ProposalStatus.REJECTED
        proposal.decided_by = acting_user
        proposal.decided_at = timezone.now()
        retailer = Retailer.objects.select_for_update().get(pk=proposal.retailer_id)
        changed = approve and retailer.is_affiliated != proposal.make_affiliated
        if approve:
            retailer.is_affiliated = proposal.make_affiliated
            retailer.save(update_fields=["is_affiliated"])
        # The listeners run before the decision's event so that the event and the proposal
        # both say what the change withdrew (each application has its own event too).
        withdrawn = (
            retailer_changed(retailer, actor=acting_user, cause=AFFILIATION_CHANGED)
            if changed
            else []
        )
        proposal.withdrawn = [w.as_json() for w in withdrawn]
        proposal.save(update_fields=["status", "decided_by", "decided_at", "withdrawn"])
        audit_record(
            actor=acting_user,
            action=AuditAction.AFFILIATION_APPROVED
            if approve
            else AuditAction.AFFILIATION_REJECTED,
            obj=retailer,
            changed_fields=["is_affiliated"] if approve else [],
            details={
                "proposal": proposal.pk,
                "make_affiliated": proposal.make_affiliated,
                "applications_withdrawn": [w.application_id for w in withdrawn],
            },
        )
    return proposal
