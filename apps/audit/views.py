"""The auditors' pages: search, timelines, chain status and the CSV export.

The trail holds no personal data, so neither do these pages: applications appear by
reference number and pseudonym. The export is itself an audit event.
"""

from __future__ import annotations

from typing import Any, cast

from django.db import transaction
from django.db.models import Field
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_safe

from apps.accounts.models import RoleCode, User
from apps.applications.models import Application
from apps.web.access import acting_user, role_required

from . import search
from .export import COLUMNS, csv_rows
from .forms import EventSearchForm
from .models import AuditAction, AuditEvent
from .selectors import chain_status
from .services import audit_record


def _before(request: HttpRequest) -> int | None:
    value = request.GET.get("before", "")
    return int(value) if value.isdigit() else None


@role_required(RoleCode.AUDITOR)
@require_safe
def event_search(request: HttpRequest) -> HttpResponse:
    form = EventSearchForm(request.GET or None)
    page = None
    if form.is_bound and form.is_valid():
        page = search.page_of(search.search_events(form.criteria()), before=_before(request))
    elif not form.is_bound:
        page = search.page_of(search.search_events(search.EventFilter()), before=_before(request))
    query = request.GET.copy()
    query.pop("before", None)
    return render(
        request,
        "audit/search.html",
        {"form": form, "page": page, "query": query.urlencode(), "status": chain_status()},
    )


@role_required(RoleCode.AUDITOR)
@require_safe
def event_export(request: HttpRequest) -> StreamingHttpResponse:
    form = EventSearchForm(request.GET)
    if not form.is_valid():
        raise Http404
    criteria = form.criteria()
    with transaction.atomic():
        audit_record(
            actor=acting_user(request),
            action=AuditAction.EXPORT,
            details={"export": "audit_events_csv", "filters": criteria.as_details()},
        )
    events = search.search_events(criteria).iterator(chunk_size=2000)
    header = [
        str(cast(Field[Any, Any], AuditEvent._meta.get_field(name)).verbose_name)
        for name in COLUMNS
    ]
    response = StreamingHttpResponse(
        csv_rows(events, header), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-events-{stamp}.csv"'
    return response


@role_required(RoleCode.AUDITOR)
@require_safe
def application_timeline(request: HttpRequest, pk: int) -> HttpResponse:
    application = get_object_or_404(Application.objects.select_related("retailer"), pk=pk)
    return render(
        request,
        "audit/application_timeline.html",
        {
            "application": application,
            "events": search.application_timeline(application),
            "masking_state": application.masking_state,
        },
    )


@role_required(RoleCode.AUDITOR)
@require_safe
def user_history(request: HttpRequest, user_id: int) -> HttpResponse:
    person = get_object_or_404(User, pk=user_id)
    page = search.page_of(search.user_history(person.pk), before=_before(request))
    return render(request, "audit/user_history.html", {"person": person, "page": page})


@role_required(RoleCode.AUDITOR)
@require_safe
def chain(request: HttpRequest) -> HttpResponse:
    return render(request, "audit/chain.html", {"status": chain_status()})
