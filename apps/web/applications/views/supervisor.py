"""The supervisor's (上長) pages: the approval queue, the side-by-side review with the
second-person check (ダブルチェック), return, release and cancel.

Views validate the form and call one service; the state, version and four-eyes rules
live in the services and are enforced there whatever the page showed. One application
per page: there is deliberately no bulk verification.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.accounts.models import RoleCode
from apps.applications import selectors, services
from apps.applications.models import Application
from apps.core.counting import COUNT_CAP, CappedPaginator, capped_count
from apps.core.errors import NotFound, ServiceError, StaleVersion
from apps.core.statements import Slots, ValuesRead
from apps.vocabulary.projection import project
from apps.vocabulary.states import CANCELLABLE_STATES
from apps.web.access import acting_user, personal_data, role_required
from apps.web.applications.forms_review import (
    CancelForm,
    QueueFilter,
    QueueFilterForm,
    ReturnForm,
    VerifyForm,
    VersionForm,
)
from apps.web.forms import add_service_error
from apps.web.templatetags.shadan import url_prefix

PAGE_SIZE = 25
# What a queue row shows (apps/web/templatetags/td_rows.py: queue_rows), read as dicts:
# not the application's forty columns and the encoder's whole account, and no model
# instance per row (issue 17).
QUEUE_COLUMNS = (
    "id",
    "reference",
    "contract_class",
    "contract_capacity_kw",
    "encoded_at",
    "encoded_by_id",
    "encoded_by__username",
    "encoded_by__first_name",
    "encoded_by__last_name",
    "retailer_id",
    "retailer__code",
    "retailer__name",
    "retailer__is_affiliated",
)

SLA_LABELS: dict[str, str | Promise] = {
    "ok": _("Within the time limit"),
    "due": _("Due soon"),
    "overdue": _("Overdue"),
}


@dataclass(frozen=True)
class QueueRow:
    application: Mapping[str, Any]  # QUEUE_COLUMNS of one application
    age: datetime.timedelta | None
    sla: str

    @property
    def pk(self) -> str:
        return str(self.application["id"])

    @property
    def sla_label(self) -> str | Promise:
        return SLA_LABELS[self.sla]


# --- the approval queue ------------------------------------------------------------------


def _queued() -> QuerySet[Application, dict[str, Any]]:
    """The queue's rows (QUEUE_COLUMNS), oldest encoding first."""
    return selectors.awaiting_verification().values(*QUEUE_COLUMNS).order_by("encoded_at", "id")


@cache
def _queue_page(alias: str, shape: tuple[bool, bool, bool], bottom: int, size: int) -> ValuesRead:
    """A page of the queue, rows and capped count, as one statement built once per
    process, set of filters in use (`QueueFilter.shape`) and page (apps.core.statements):
    the ORM's building of it cost about as much as running it at every view (issue 17).
    Bounded: eight sets of filters, pages starting below COUNT_CAP."""
    retailer, contract_class, encoded_by = shape

    def build(slots: Slots) -> QuerySet[Application, dict[str, Any]]:
        chosen = QueueFilter(
            retailer_id=slots.id("retailer") if retailer else None,
            contract_class=slots.text("contract_class") if contract_class else None,
            encoded_by=slots.moment("encoded_by") if encoded_by else None,
        )
        queryset = chosen.filter(_queued()).using(alias)
        # Counted without the rows' joins (retailer, encoder): the count then walks the
        # queue's own index, not the table (issue 17: a seq scan of 2-3 ms at large).
        found = capped_count(chosen.filter(selectors.awaiting_verification()), COUNT_CAP)
        return queryset.annotate(capped_found=found)[bottom : bottom + size]

    return ValuesRead(build, alias)


@role_required(RoleCode.SUPERVISOR)
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    """Oldest first; the query count does not grow with the page size, and the count
    stops at COUNT_CAP (a supervisor works the queue from its oldest end)."""
    form = QueueFilterForm(request.GET)
    chosen = form.chosen()
    alias = Application.objects.db

    def read(bottom: int, size: int) -> tuple[list[dict[str, Any]], int]:
        values = {
            "retailer": chosen.retailer_id,
            "contract_class": chosen.contract_class,
            "encoded_by": chosen.encoded_by,
        }
        statement = _queue_page(alias, chosen.shape, bottom, size)
        rows = statement.rows(
            connections[alias], **{name: v for name, v in values.items() if v is not None}
        )
        return rows, rows[0]["capped_found"] if rows else 0

    # The queryset is built only for a page the statement does not read (CappedPaginator).
    page = CappedPaginator(lambda: chosen.filter(_queued()), PAGE_SIZE, read=read).get_page(
        request.GET.get("page")
    )
    now = timezone.now()
    hours = selectors.verify_sla_hours()
    rows = [
        QueueRow(
            application=app,
            age=now - app["encoded_at"] if app["encoded_at"] else None,
            sla=selectors.sla_status(app["encoded_at"], hours=hours),
        )
        for app in page.object_list
    ]
    return render(
        request,
        "applications/review_queue.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "sla_hours": hours,
            "detail_prefix": url_prefix("review-page"),
        },
    )


# --- the review page ---------------------------------------------------------------------


def _render_review(
    request: HttpRequest,
    pk: int,
    *,
    verify_form: VerifyForm | None = None,
    verify_error: str | Promise = "",
    return_form: ReturnForm | None = None,
) -> HttpResponse:
    """Rendering the side-by-side page *is* opening it: the opening is recorded first
    (under the row lock, for the version current at that moment), and the page shows
    that version as it was locked, with the customer read under the same lock. A later
    change makes a newer version, for which no opening exists, and the service refuses
    the verification of the version the forms carry."""
    try:
        opened = services.application_open_review(
            acting_user=acting_user(request), application_id=pk
        )
    except NotFound:
        raise Http404 from None
    except ServiceError as refused:
        application = get_object_or_404(
            Application.objects.select_related("retailer", "encoded_by"), pk=pk
        )
        context = {
            "application": application,
            "not_waiting": refused.message,
            "masking_state": application.masking_state,
        }
        return render(request, "applications/review_page.html", context)
    application = opened.application
    return render(
        request,
        "applications/review_page.html",
        {
            "application": application,
            # Without the personal data the check cannot be done honestly.
            "not_waiting": opened.customer_withheld,
            "masking_state": application.masking_state,
            "customer": opened.customer,
            "preview": project(application),
            "cannot_verify": opened.cannot_verify,
            "verify_form": verify_form or VerifyForm(initial={"version": application.version}),
            "verify_error": verify_error,
            "return_form": return_form or ReturnForm(initial={"version": application.version}),
        },
    )


@personal_data
@role_required(RoleCode.SUPERVISOR)
@require_GET
def review(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_review(request, pk)


@personal_data
@role_required(RoleCode.SUPERVISOR)
@require_POST
def verify(request: HttpRequest, pk: int) -> HttpResponse:
    form = VerifyForm(request.POST)
    if not form.is_valid():
        return _render_review(request, pk, verify_form=form)
    try:
        application = services.application_verify(
            acting_user=acting_user(request),
            application_id=pk,
            expected_version=form.cleaned_data["version"],
        )
    except NotFound:
        raise Http404 from None
    except ServiceError as refused:
        # A fresh checklist: whatever was ticked was about what the page showed before.
        return _render_review(request, pk, verify_error=refused.message)
    messages.success(
        request,
        _("%(reference)s is verified: retail can now see the masked record.")
        % {"reference": application.reference},
    )
    return redirect("review-queue")


@personal_data
@role_required(RoleCode.SUPERVISOR)
@require_POST
def return_application(request: HttpRequest, pk: int) -> HttpResponse:
    form = ReturnForm(request.POST)
    if form.is_valid():
        application = _with_reason(request, pk, form, services.application_return)
        if application is not None:
            messages.success(
                request,
                _("%(reference)s was returned to the clerk for correction.")
                % {"reference": application.reference},
            )
            return redirect("review-queue")
    return _render_review(request, pk, return_form=form)


def _with_reason(
    request: HttpRequest,
    pk: int,
    form: ReturnForm | CancelForm,
    transition: Callable[..., Application],
) -> Application | None:
    """Runs a transition that takes a reason (return, cancel) with the form's reason and
    version; a refusal goes onto the form (None), a vanished application is a 404."""
    try:
        return transition(
            acting_user=acting_user(request),
            application_id=pk,
            reason=form.cleaned_data["reason"],
            expected_version=form.cleaned_data["version"],
        )
    except NotFound:
        raise Http404 from None
    except (ValidationError, ServiceError) as refused:
        add_service_error(form, refused)
        return None


# --- release and cancel (from the application page) ------------------------------------


@role_required(RoleCode.SUPERVISOR)
@require_POST
def release(request: HttpRequest, pk: int) -> HttpResponse:
    form = VersionForm(request.POST)
    if not form.is_valid():
        messages.error(request, StaleVersion.default_message)
        return redirect("application-detail", pk=pk)
    try:
        application = services.application_release(
            acting_user=acting_user(request),
            application_id=pk,
            expected_version=form.cleaned_data["version"],
        )
    except NotFound:
        raise Http404 from None
    except ServiceError as refused:
        messages.error(request, str(refused.message))
        return redirect("application-detail", pk=pk)
    messages.success(
        request,
        _("%(reference)s is released for construction.") % {"reference": application.reference},
    )
    return redirect("application-detail", pk=pk)


@personal_data
@role_required(RoleCode.SUPERVISOR)
@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    application = get_object_or_404(Application.objects.select_related("retailer"), pk=pk)
    if request.method == "POST":
        form = CancelForm(request.POST)
        if form.is_valid():
            if _with_reason(request, pk, form, services.application_cancel) is not None:
                messages.success(
                    request,
                    _("%(reference)s is cancelled.") % {"reference": application.reference},
                )
                return redirect("application-detail", pk=pk)
            # django-fsm's protected fields refuse refresh_from_db(): read the row again.
            application = get_object_or_404(Application.objects.select_related("retailer"), pk=pk)
    else:
        form = CancelForm(initial={"version": application.version})
    return render(
        request,
        "applications/review_cancel.html",
        {
            "application": application,
            "masking_state": application.masking_state,
            "form": form,
            "cancellable": application.state in CANCELLABLE_STATES,
        },
    )
