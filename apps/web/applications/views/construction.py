"""The construction (工事担当) pages: released work, the work page, contact details
revealed with a reason code, completion and energization.

The work page carries no personal data. Contact details appear only in the response to
an explicit POST with a reason (the read is an audit event); they are never put in the
session or a URL, and the response is not cached.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from apps.accounts.models import RoleCode
from apps.applications import selectors, services
from apps.applications.models import Application
from apps.applications.reveal import application_reveal_customer
from apps.core.counting import CappedPaginator
from apps.core.errors import NotFound, ServiceError
from apps.vault.types import CustomerPII
from apps.vocabulary.states import POST_RELEASE_STATES, RevealPurpose
from apps.vocabulary.states import ApplicationState as S
from apps.web.access import acting_user, personal_data, role_required
from apps.web.applications.forms_construction import CompleteForm, EnergizeForm, RevealForm
from apps.web.forms import add_service_error
from apps.web.templatetags.shadan import url_prefix

PAGE_SIZE = 25

LISTS = {
    "released": (_("Released work"), "released_at"),
    "constructed": (_("Completed, waiting for energization"), "completed_on"),
}


def _work() -> QuerySet[Application]:
    """Work construction has been given: released (and later) or cancelled after release."""
    return Application.objects.select_related("retailer").filter(
        Q(state__in=POST_RELEASE_STATES) | Q(state=S.CANCELLED, released_at__isnull=False)
    )


@role_required(RoleCode.CONSTRUCTION)
@require_GET
def work_list(request: HttpRequest) -> HttpResponse:
    which = request.GET.get("state", "released")
    if which not in LISTS:
        which = "released"
    title, since = LISTS[which]
    base = selectors.released_work() if which == "released" else selectors.awaiting_energization()
    applications = base.select_related("retailer").order_by(since, "updated_at", "id")
    page = CappedPaginator(applications, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "applications/construction_list.html",
        {
            "page": page,
            "which": which,
            "title": title,
            "detail_prefix": url_prefix("construction-detail"),
        },
    )


def _render_detail(
    request: HttpRequest,
    pk: int,
    *,
    reveal_form: RevealForm | None = None,
    contact: CustomerPII | None = None,
    contact_purpose: str = "",
    complete_form: CompleteForm | None = None,
    energize_form: EnergizeForm | None = None,
) -> HttpResponse:
    application = get_object_or_404(_work(), pk=pk)
    context: dict[str, Any] = {
        "application": application,
        "masking_state": application.masking_state,
        "can_reveal": application.state in POST_RELEASE_STATES,
        "reveal_form": reveal_form or RevealForm(),
        "contact": contact,
        "contact_purpose": RevealPurpose(contact_purpose).label if contact_purpose else "",
        "complete_form": complete_form or CompleteForm(),
        "energize_form": energize_form or EnergizeForm(completed_on=application.completed_on),
    }
    return render(request, "applications/construction_detail.html", context)


@personal_data
@role_required(RoleCode.CONSTRUCTION)
@require_GET
def work_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_detail(request, pk)


@personal_data
@role_required(RoleCode.CONSTRUCTION)
@require_POST
def reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """The contact details go into this response only: not the session, not a URL."""
    form = RevealForm(request.POST)
    if form.is_valid():
        try:
            contact = application_reveal_customer(
                acting_user=acting_user(request),
                application_id=pk,
                purpose=form.cleaned_data["purpose"],
                reason_text=form.cleaned_data["reason_text"],
            )
        except NotFound:
            raise Http404 from None
        except (ValidationError, ServiceError) as refused:
            add_service_error(form, refused)
        else:
            return _render_detail(
                request,
                pk,
                contact=contact,
                contact_purpose=form.cleaned_data["purpose"],
            )
    return _render_detail(request, pk, reveal_form=form)


def _record_step(
    request: HttpRequest,
    pk: int,
    *,
    form: CompleteForm | EnergizeForm,
    field: str,
    record: Callable[..., Application],
    done: str | Promise,
) -> HttpResponse:
    """Completion and energization: one date, one service, the same refusals."""
    if form.is_valid():
        try:
            application = record(
                acting_user=acting_user(request),
                application_id=pk,
                **{field: form.cleaned_data[field]},
            )
        except NotFound:
            raise Http404 from None
        except ValidationError as invalid:
            add_service_error(form, invalid)
        except ServiceError as refused:
            # Not about the date (the work is not at this step, or moved on): say so on
            # the work page as it is now.
            messages.error(request, str(refused.message))
            return redirect("construction-detail", pk=pk)
        else:
            messages.success(request, done % {"reference": application.reference})
            return redirect("construction-detail", pk=pk)
    if isinstance(form, CompleteForm):
        return _render_detail(request, pk, complete_form=form)
    return _render_detail(request, pk, energize_form=form)


@role_required(RoleCode.CONSTRUCTION)
@require_POST
def complete(request: HttpRequest, pk: int) -> HttpResponse:
    return _record_step(
        request,
        pk,
        form=CompleteForm(request.POST),
        field="completed_on",
        record=services.application_complete,
        done=_("Completion of %(reference)s is recorded."),
    )


def _completed_on(pk: int) -> Any:
    """The date the energization must follow, for the form's help text (None if unknown)."""
    return _work().filter(pk=pk).values_list("completed_on", flat=True).first()


@role_required(RoleCode.CONSTRUCTION)
@require_POST
def energize(request: HttpRequest, pk: int) -> HttpResponse:
    return _record_step(
        request,
        pk,
        form=EnergizeForm(request.POST, completed_on=_completed_on(pk)),
        field="energized_on",
        record=services.application_energize,
        done=_("Energization of %(reference)s is recorded."),
    )
