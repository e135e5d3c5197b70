"""Retailers and the two-administrator affiliation change (自社グループ区分の変更).

One administrator proposes on the retailer's page, with a reason; a different one
approves or rejects on the proposal's page. The proposer sees no approve button, and a
POST they forge anyway is refused by the service (403). The decided proposal's page shows
what the approval withdrew: each application whose encoding was invalidated, and whether
retail could see it until then.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_safe

from apps.accounts.models import RoleCode
from apps.applications.selectors import retailer_exposure
from apps.core.errors import NotAllowed, NotFound, ServiceError
from apps.retailers import selectors
from apps.retailers.models import AffiliationProposal, ProposalStatus, Retailer
from apps.retailers.services import retailer_decide_affiliation, retailer_propose_affiliation
from apps.web.access import acting_user, role_required
from apps.web.forms import add_service_error

from .decisions import decision_page
from .forms import AffiliationProposalForm, DecisionForm


@role_required(RoleCode.ADMINISTRATOR)
@require_safe
def retailer_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "web/administration/retailers.html",
        {"retailers": selectors.retailers_with_pending()},
    )


def _render_retailer(
    request: HttpRequest,
    found: Retailer,
    form: AffiliationProposalForm | None = None,
    status: int = 200,
) -> HttpResponse:
    pending = selectors.pending_proposal_of(found.pk)
    context: dict[str, Any] = {
        "retailer": found,
        "pending": pending,
        "proposals": selectors.proposals_of(found.pk),
        "exposure": retailer_exposure(found.pk),
        "form": form
        or AffiliationProposalForm(
            initial={"make_affiliated": "false" if found.is_affiliated else "true"}
        ),
    }
    return render(request, "web/administration/retailer.html", context, status=status)


@role_required(RoleCode.ADMINISTRATOR)
@require_http_methods(["GET", "HEAD", "POST"])
def retailer_detail(request: HttpRequest, retailer_id: int) -> HttpResponse:
    found = selectors.retailer(retailer_id)
    if found is None:
        raise Http404
    if request.method != "POST":
        return _render_retailer(request, found)
    form = AffiliationProposalForm(request.POST)
    if not form.is_valid():
        return _render_retailer(request, found, form)
    try:
        proposal = retailer_propose_affiliation(
            acting_user=acting_user(request),
            retailer_id=found.pk,
            make_affiliated=form.cleaned_data["make_affiliated"],
            reason=form.cleaned_data["reason"],
        )
    except NotFound:
        raise Http404 from None
    except (ValidationError, ServiceError) as refused:
        add_service_error(form, refused)
        status = 403 if isinstance(refused, NotAllowed) else 200
        return _render_retailer(request, found, form, status)
    messages.success(
        request,
        _("Change #%(proposal)s proposed: a different administrator must approve it.")
        % {"proposal": proposal.pk},
    )
    return redirect("admin-affiliation", proposal_id=proposal.pk)


@role_required(RoleCode.ADMINISTRATOR)
@require_safe
def affiliation_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "web/administration/affiliations.html",
        {
            "pending": selectors.pending_proposals(),
            "decided": selectors.decided_proposals(),
            "my_id": acting_user(request).pk,
        },
    )


def _render_proposal(
    request: HttpRequest,
    found: AffiliationProposal,
    form: DecisionForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context: dict[str, Any] = {
        "proposal": found,
        "form": form or DecisionForm(),
        "is_pending": found.status == ProposalStatus.PENDING,
        "own_proposal": found.proposed_by_id == acting_user(request).pk,
        "exposure": retailer_exposure(found.retailer_id),
    }
    return render(request, "web/administration/affiliation.html", context, status=status)


@role_required(RoleCode.ADMINISTRATOR)
@require_http_methods(["GET", "HEAD", "POST"])
def affiliation_detail(request: HttpRequest, proposal_id: int) -> HttpResponse:
    decided = decision_page(
        request,
        read=lambda: selectors.proposal(proposal_id),
        show=partial(_render_proposal, request),
        decide=lambda approve: retailer_decide_affiliation(
            acting_user=acting_user(request), proposal_id=proposal_id, approve=approve
        ),
    )
    if isinstance(decided, HttpResponse):
        return decided
    if decided.approve:
        messages.success(request, _("Change #%(proposal)s approved.") % {"proposal": proposal_id})
    else:
        messages.success(request, _("Change #%(proposal)s rejected.") % {"proposal": proposal_id})
    # The result (and what it withdrew) is the proposal's own page: reloading it re-sends
    # nothing.
    return redirect("admin-affiliation", proposal_id=proposal_id)
