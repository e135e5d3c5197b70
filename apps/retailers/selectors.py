"""Reads of retailers and affiliation proposals for the administrators' pages."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet

from .models import AffiliationProposal, ProposalStatus, Retailer


def retailers_with_pending() -> QuerySet[Retailer]:
    """Every retailer, by code, each marked `has_pending` when a proposal waits."""
    pending = AffiliationProposal.objects.filter(
        retailer=OuterRef("pk"), status=ProposalStatus.PENDING
    )
    return Retailer.objects.annotate(has_pending=Exists(pending)).order_by("code")


def retailer(retailer_id: int) -> Retailer | None:
    return Retailer.objects.filter(pk=retailer_id).first()


def pending_proposal_of(retailer_id: int) -> AffiliationProposal | None:
    return (
        AffiliationProposal.objects.filter(retailer_id=retailer_id, status=ProposalStatus.PENDING)
        .select_related("proposed_by")
        .first()
    )


def proposals_of(retailer_id: int, *, limit: int = 20) -> list[AffiliationProposal]:
    return list(
        AffiliationProposal.objects.filter(retailer_id=retailer_id)
        .select_related("proposed_by", "decided_by")
        .order_by("-proposed_at", "-id")[:limit]
    )


def pending_proposals() -> QuerySet[AffiliationProposal]:
    """Oldest first: the one waiting longest is decided first."""
    return (
        AffiliationProposal.objects.filter(status=ProposalStatus.PENDING)
        .select_related("retailer", "proposed_by")
        .order_by("proposed_at", "id")
    )


def decided_proposals(*, limit: int = 20) -> list[AffiliationProposal]:
    return list(
        AffiliationProposal.objects.exclude(status=ProposalStatus.PENDING)
        .select_related("retailer", "proposed_by", "decided_by")
        .order_by("-decided_at", "-id")[:limit]
    )


def proposal(proposal_id: int) -> AffiliationProposal | None:
    return (
        AffiliationProposal.objects.select_related("retailer", "proposed_by", "decided_by")
        .filter(pk=proposal_id)
        .first()
    )
