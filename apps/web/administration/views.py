"""Password resets: propose (one administrator), decide (a different one), and the result
page that shows the temporary password once.

The temporary password exists only in the response to the approving POST: it is not in
the session, a message, a URL or the database (only its hash is, in the user's row), and
the response is marked no-store. Reloading the result re-sends the POST, which the
service refuses as already decided.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_http_methods, require_safe

from apps.accounts import selectors
from apps.accounts.models import PasswordResetRequest, PasswordResetStatus, RoleCode
from apps.administration.password_reset import (
    user_decide_password_reset,
    user_propose_password_reset,
)
from apps.core.errors import ServiceError
from apps.web.access import acting_user, role_required
from apps.web.forms import add_service_error

from .decisions import decision_page
from .forms import DecisionForm, PasswordResetProposalForm


@role_required(RoleCode.ADMINISTRATOR)
@require_safe
def password_resets(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "web/administration/password_resets.html",
        {
            "pending": selectors.pending_password_resets(),
            "decided": selectors.decided_password_resets(),
            "my_id": acting_user(request).pk,
        },
    )


@role_required(RoleCode.ADMINISTRATOR)
@require_http_methods(["GET", "HEAD", "POST"])
def password_reset_propose(request: HttpRequest) -> HttpResponse:
    proposer = acting_user(request)
    if request.method != "POST":
        initial = {"user": request.GET["user"]} if request.GET.get("user", "").isdigit() else {}
        form = PasswordResetProposalForm(proposer=proposer, initial=initial)
    else:
        form = PasswordResetProposalForm(request.POST, proposer=proposer)
        if form.is_valid():
            try:
                proposal = user_propose_password_reset(
                    acting_user=proposer,
                    user_id=form.cleaned_data["user"].pk,
                    reason=form.cleaned_data["reason"],
                )
            except (ValidationError, ServiceError) as refused:
                add_service_error(form, refused)
            else:
                messages.success(
                    request,
                    _("Reset #%(request)s proposed: a different administrator must approve it.")
                    % {"request": proposal.pk},
                )
                return redirect("admin-password-reset", request_id=proposal.pk)
    return render(request, "web/administration/password_reset_propose.html", {"form": form})


def _render_request(
    request: HttpRequest,
    found: PasswordResetRequest,
    form: DecisionForm | None = None,
    status: int = 200,
) -> HttpResponse:
    me = acting_user(request)
    context: dict[str, Any] = {
        "reset": found,
        "form": form or DecisionForm(),
        "is_pending": found.status == PasswordResetStatus.PENDING,
        "own_proposal": found.proposed_by_id == me.pk,
        "own_password": found.user_id == me.pk,
    }
    return render(request, "web/administration/password_reset.html", context, status=status)


@never_cache
@role_required(RoleCode.ADMINISTRATOR)
@require_http_methods(["GET", "HEAD", "POST"])
@sensitive_variables("decided")
def password_reset_detail(request: HttpRequest, request_id: int) -> HttpResponse:
    decided = decision_page(
        request,
        read=lambda: selectors.password_reset_request(request_id),
        show=partial(_render_request, request),
        decide=lambda approve: user_decide_password_reset(
            acting_user=acting_user(request), request_id=request_id, approve=approve
        ),
    )
    if isinstance(decided, HttpResponse):
        return decided
    if not decided.approve:
        messages.success(request, _("Reset #%(request)s rejected.") % {"request": request_id})
        return redirect("admin-password-resets")
    return render(
        request,
        "web/administration/password_reset_done.html",
        {"reset": decided.result.request, "temporary_password": decided.result.temporary_password},
    )
