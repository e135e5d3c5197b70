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

P = TypeVar("P")
T = TypeVar("T")


@dataclass(frozen=True)
class Decided(Generic[T]):
    approve: bool
    result: T


# What a decision returns may be secret (an approved reset's temporary password): kept out
# of an error report's local variables.
@sensitive_variables("result")
def decision_page(
    request: HttpRequest,
    *,
    read: Callable[[], P | None],
    show: Callable[[P, DecisionForm | None, int], HttpResponse],
    decide: Callable[[bool], T],
) -> Decided[T] | HttpResponse:
    """The proposal's page (`show(proposal, form, status)`) on GET; on POST, calls
    `decide(approve)` and returns what it decided, or the page again: 400 for a tampered
    form, 403 when this administrator may not decide (they proposed it, or it is about
    them), 409 when it was decided meanwhile (shown as it is now). A proposal that `read()`
    does not find, before or during the decision, is a 404."""
    found = read()
    if found is None:
        raise Http404
    if request.method != "POST":
        return show(found, None, 200)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return show(found, form, 400)
    approve = form.cleaned_data["decision"] == "approve"
    try:
        result = decide(approve)
    except NotFound:
        raise Http404 from None
    except ServiceError as refused:
        add_service_error(form, refused)
        status = 403 if isinstance(refused, NotAllowed) else 409
        return show(read() or found, form, status)
    return Decided(approve, result)
