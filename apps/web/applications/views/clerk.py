"""The clerk's (受付担当) pages and the shared T&D application page.

Each view validates input with a form, calls one service and renders or redirects; the
rules (states, versions, four-eyes, the leak scan) are the services'. Personal data is
shown only on the edit form (revealed with purpose "edit") and on the encode page
("encode"); both reads are logged by application_reveal_customer. URLs carry ids only.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from apps.accounts.models import RoleCode
from apps.applications import selectors, services
from apps.applications.leak_spans import locate
from apps.applications.leaks import Leak
from apps.applications.models import Application
from apps.applications.reveal import application_reveal_customer
from apps.core.counting import COUNT_CAP, CappedPaginator
from apps.core.errors import ServiceError, StaleVersion
from apps.vocabulary.projection import RETAIL_FIELDS, project, scanned_texts
from apps.vocabulary.states import EDITABLE_STATES, POST_RELEASE_STATES, RevealPurpose
from apps.vocabulary.states import ApplicationState as S
from apps.vocabulary.states import MaskingState as M
from apps.web.access import acting_user, persona, personal_data, role_required
from apps.web.applications.forms import (
    FIELD_LABELS,
    ApplicationForm,
    ChangeRetailerForm,
    VersionForm,
    initial_from,
)
from apps.web.applications.views import encode_rows, leak_marks
from apps.web.forms import add_service_error
from apps.web.templatetags.shadan import url_prefix

PAGE_SIZE = 50
CLERK = RoleCode.CLERK
SUPERVISOR = RoleCode.SUPERVISOR
CONSTRUCTION = RoleCode.CONSTRUCTION


def _get(pk: int) -> Application:
    return get_object_or_404(
        Application.objects.select_related(
            "retailer", "created_by", "encoded_by", "verified_by", "returned_by"
        ),
        pk=pk,
    )


def _to_detail(application_id: int) -> HttpResponse:
    return redirect("application-detail", pk=application_id)


def _can_encode(application: Application) -> bool:
    # The queue's own definition, so the button and the queue never disagree.
    return selectors.awaiting_encoding().filter(pk=application.pk).exists()


# --- returned for correction ---------------------------------------------------------------


@role_required(CLERK)
def returned_list(request: HttpRequest) -> HttpResponse:
    queryset = (
        selectors.returned()
        .select_related("retailer", "returned_by")
        .order_by("returned_at", "id")  # a work queue: the oldest return first
    )
    page = CappedPaginator(queryset, PAGE_SIZE, COUNT_CAP).get_page(request.GET.get("page"))
    return render(
        request,
        "applications/returned.html",
        {"page": page, "detail_prefix": url_prefix("application-detail")},
    )


# --- create and edit --------------------------------------------------------------------


@personal_data
@role_required(CLERK)
def application_create(request: HttpRequest) -> HttpResponse:
    form = ApplicationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            application = services.application_create(
                acting_user=acting_user(request), data=form.service_data()
            )
        except (ValidationError, ServiceError) as refused:
            add_service_error(form, refused)
        else:
            messages.success(
                request,
                _("Application %(reference)s was saved as a draft. Submit it when it is complete.")
                % {"reference": application.reference},
            )
            return _to_detail(application.pk)
    return render(request, "applications/form.html", {"form": form, "application": None})


@personal_data
@role_required(CLERK)
def application_edit(request: HttpRequest, pk: int) -> HttpResponse:
    application = _get(pk)
    if application.state not in EDITABLE_STATES:
        messages.error(request, _("This application can no longer be edited."))
        return _to_detail(pk)
    stale = False
    if request.method == "POST":
        form = ApplicationForm(request.POST, application=application)
        if form.is_valid():
            seen = form.cleaned_data["version"]
            try:
                updated = services.application_update(
                    acting_user=acting_user(request),
                    application_id=pk,
                    expected_version=seen,
                    changes=form.service_data(),
                )
            except StaleVersion as exc:
                stale = True
                form.add_error(None, str(exc.message))
            except (ValidationError, ServiceError) as refused:
                add_service_error(form, refused)
            else:
                _report_update(request, before=application, after=updated, seen=seen)
                return _to_detail(pk)
    else:
        try:
            customer = application_reveal_customer(
                acting_user=acting_user(request), application_id=pk, purpose=RevealPurpose.EDIT
            )
        except ServiceError as exc:
            messages.error(request, str(exc.message))
            return _to_detail(pk)
        form = ApplicationForm(initial=initial_from(application, customer), application=application)
    return render(
        request,
        "applications/form.html",
        {"form": form, "application": application, "stale": stale},
    )


def _report_update(
    request: HttpRequest, *, before: Application, after: Application, seen: int
) -> None:
    if after.version == seen:
        messages.info(request, _("Nothing was changed."))
        return
    messages.success(request, _("Saved as version %(version)d.") % {"version": after.version})
    if before.masking_state != M.UNMASKED and after.masking_state == M.UNMASKED:
        messages.warning(
            request,
            _(
                "The change withdrew the masking: retail cannot see this application until "
                "it is encoded and verified again."
            ),
        )


# --- the application page -----------------------------------------------------------------


@role_required(CLERK, SUPERVISOR, CONSTRUCTION)
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    application = _get(pk)
    me = persona(request)
    # Construction staff see released work only (DESIGN.md); the rest is the desk's.
    if not me.has(CLERK, SUPERVISOR) and application.state not in POST_RELEASE_STATES:
        raise PermissionDenied
    is_clerk = me.has(CLERK)
    return render(
        request,
        "applications/detail.html",
        {
            "application": application,
            "labels": FIELD_LABELS,
            "is_clerk": is_clerk,
            "is_supervisor": me.has(SUPERVISOR),
            "construction_link": me.has(CONSTRUCTION) and application.state in POST_RELEASE_STATES,
            "can_edit": is_clerk and application.state in EDITABLE_STATES,
            "can_submit": is_clerk and application.state == S.DRAFT,
            "can_discard": is_clerk
            and application.state == S.DRAFT
            and application.created_by_id == request.user.pk,
            "can_encode": is_clerk and _can_encode(application),
            "can_change_retailer": is_clerk and application.state != S.CANCELLED,
        },
    )


@role_required(CLERK)
@require_POST
def application_submit(request: HttpRequest, pk: int) -> HttpResponse:
    application = _get(pk)
    form = VersionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The page was out of date. Look at the application again."))
        return _to_detail(pk)
    try:
        services.application_submit(
            acting_user=acting_user(request),
            application_id=application.pk,
            expected_version=form.cleaned_data["version"],
        )
    except ValidationError as exc:
        # Rules may have tightened since the draft was saved: say which fields to correct.
        found = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
        for name, errors in found.items():
            label = FIELD_LABELS.get(name)
            for error in errors:
                messages.error(request, f"{label}: {error}" if label else error)
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Submitted. The application now waits to be encoded."))
    return _to_detail(pk)


@role_required(CLERK)
def application_discard(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what will be discarded, and the button; POST: discard it (the author's draft
    only; the service says why not otherwise)."""
    application = _get(pk)
    if request.method == "POST":
        form = VersionForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("The page was out of date. Look at the application again."))
            return redirect("clerk-discard", pk=pk)
        try:
            services.application_discard(
                acting_user=acting_user(request),
                application_id=pk,
                expected_version=form.cleaned_data["version"],
            )
        except ServiceError as refused:
            messages.error(request, str(refused.message))
            return _to_detail(pk)
        messages.success(
            request,
            _("The draft %(reference)s is discarded.") % {"reference": application.reference},
        )
        return redirect(f"{reverse('clerk-list')}?state=draft")
    return render(
        request,
        "applications/discard.html",
        {
            "application": application,
            "masking_state": application.masking_state,
            "discardable": application.state == S.DRAFT
            and application.created_by_id == request.user.pk,
        },
    )


# --- encode -------------------------------------------------------------------------------


def _encode_page(request: HttpRequest, application: Application, leaks: list[Leak]) -> HttpResponse:
    if not _can_encode(application):
        messages.error(request, _("This application is not waiting to be encoded."))
        return _to_detail(application.pk)
    try:
        customer = application_reveal_customer(
            acting_user=acting_user(request),
            application_id=application.pk,
            purpose=RevealPurpose.ENCODE,
        )
    except ServiceError as exc:
        messages.error(request, str(exc.message))
        return _to_detail(application.pk)
    td_rows = encode_rows.td_rows(application, customer)
    retail_rows = encode_rows.retail_rows(project(application))
    # Marked on the retail side, where the text would leak; each leak named once, above.
    texts = scanned_texts(application)
    located = locate(leaks=leaks, texts=texts, customer=customer)
    for found in located:
        for row in retail_rows:
            if row.name == found.field:
                row.marked = leak_marks.marked(texts[found.field], found.spans)
    return render(
        request,
        "applications/encode.html",
        {
            "application": application,
            "td_rows": td_rows,
            "retail_rows": retail_rows,
            "leak_items": leak_marks.summary_items(located, FIELD_LABELS),
            "first_leak_field": located[0].field if located else "",
            "scanned_labels": [f.label for f in RETAIL_FIELDS if f.scanned],
        },
    )


@personal_data
@role_required(CLERK)
def application_encode(request: HttpRequest, pk: int) -> HttpResponse:
    application = _get(pk)
    if request.method != "POST":
        return _encode_page(request, application, leaks=[])
    form = VersionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The page was out of date. Look at the application again."))
        return _to_detail(pk)
    try:
        services.application_encode(
            acting_user=acting_user(request),
            application_id=pk,
            expected_version=form.cleaned_data["version"],
        )
    except services.LeakFound as exc:
        return _encode_page(request, application, leaks=exc.leaks)
    except ServiceError as exc:
        messages.error(request, str(exc.message))
        return _to_detail(pk)
    messages.success(
        request, _("Encoded. A second person (a supervisor) must now verify the masking.")
    )
    return _to_detail(pk)


# --- change retailer ----------------------------------------------------------------------


@personal_data
@role_required(CLERK)
def change_retailer(request: HttpRequest, pk: int) -> HttpResponse:
    application = _get(pk)
    if application.state == S.CANCELLED:
        messages.error(request, _("A cancelled application cannot change retailer."))
        return _to_detail(pk)
    form = ChangeRetailerForm(request.POST or None, initial={"version": application.version})
    form.fields["retailer"].queryset = form.fields["retailer"].queryset.exclude(  # type: ignore[attr-defined]
        pk=application.retailer_id
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.application_change_retailer(
                acting_user=acting_user(request),
                application_id=pk,
                expected_version=form.cleaned_data["version"],
                retailer_id=form.cleaned_data["retailer"].pk,
                reason=form.cleaned_data["reason"],
            )
        except (ValidationError, ServiceError) as refused:
            add_service_error(form, refused)
        else:
            messages.success(
                request,
                _(
                    "The retailer was changed. Retail cannot see this application until it "
                    "is encoded and verified again."
                ),
            )
            return _to_detail(pk)
    return render(
        request, "applications/change_retailer.html", {"form": form, "application": application}
    )
