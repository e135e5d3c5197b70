"""The second administrator's decision, as the affiliation change and the password reset
both take it: approve or reject, POSTed on the proposal's page; a refusal shows that page
again with the service's reason (web/administration/_decide.html draws the buttons)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.debug import sensitive_variables

from apps.core.errors import NotAllowed, NotFound, ServiceError
from apps.web.forms import add_service_error

from .forms import DecisionForm

T = TypeVar("T")


@dataclass(frozen=True)
class Decided(Generic[T]):
    approve: bool
    result: T


# What a decision returns may be secret (an approved reset's temporary password): kept out
# of an error report's local variables.
@sensitive_variables("result")
def decision_posted(
    request: HttpRequest,
    *,
    decide: Callable[[bool], T],
    show: Callable[[DecisionForm, int], HttpResponse],
) -> Decided[T] | HttpResponse:
    """Calls `decide(approve)` with the POSTed decision and returns what it decided, or
    the proposal's page drawn by `show(form, status)`: 400 for a tampered form, 403 when
    this administrator may not decide (they proposed it, or it is about them), 409 when it
    was decided meanwhile. A proposal that is gone is a 404."""
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return show(form, 400)
    approve = form.cleaned_data["decision"] == "approve"
    try:
        result = decide(approve)
    except NotFound:
        raise Http404 from None
    except ServiceError as refused:
        add_service_error(form, refused)
        return show(form, 403 if isinstance(refused, NotAllowed) else 409)
    return Decided(approve, result)
