"""The auditors' pages: search, timelines, chain status and the CSV export.

The trail holds no personal data, so neither do these pages: applications appear by
reference number and pseudonym. The export is itself an audit event.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_safe

from apps.accounts.models import RoleCode, User
from apps.applications.models import Application
from apps.audit.models import AuditAction, AuditEvent
from apps.audit.selectors import chain_status
from apps.audit.services import audit_record
from apps.web.access import acting_user, role_required
from apps.web.auditors.trail import presentation, search
from apps.web.auditors.trail.export import csv_rows, header
from apps.web.auditors.trail.forms import EventSearchForm, JumpForm, TimelineKindForm


def _cursor(request: HttpRequest, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() and len(value) < 19 else None


def _page(request: HttpRequest, events: QuerySet[AuditEvent]) -> search.EventPage:
    return search.page_of(
        events, before=_cursor(request, "before"), after=_cursor(request, "after")
    )


@role_required(RoleCode.AUDITOR)
@require_safe
def event_search(request: HttpRequest) -> HttpResponse:
    query = request.GET.copy()
    for cursor in ("before", "after", "at"):
        query.pop(cursor, None)
    form = EventSearchForm(query or None)
    jump = JumpForm(request.GET if "at" in request.GET else None)
    page = None
    events = None
    if form.is_bound and form.is_valid():
        events = search.search_events(form.criteria())
    elif not form.is_bound:
        events = search.search_events(search.EventFilter())
    if events is not None:
        day = jump.cleaned_data.get("at") if jump.is_bound and jump.is_valid() else None
        if day is not None:
            before = search.cursor_for_day(events, day)
            page = search.page_of(events, before=before)
        else:
            page = _page(request, events)
    return render(
        request,
        "audit/search.html",
        {
            "form": form,
            "jump": jump,
            "page": page,
            "rows": presentation.event_rows(page.events) if page else [],
            "query": query.urlencode(),
            "status": chain_status(),
        },
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
    response = StreamingHttpResponse(
        csv_rows(events, header()), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-events-{stamp}.csv"'
    return response


@role_required(RoleCode.AUDITOR)
@require_safe
def application_timeline(request: HttpRequest, pk: int) -> HttpResponse:
    application = get_object_or_404(Application.objects.select_related("retailer"), pk=pk)
    kinds = TimelineKindForm(request.GET)
    kind = kinds.cleaned_data["kind"] if kinds.is_valid() else ""
    events = search.application_timeline(application)
    if kind:
        events = events.filter(action__in=presentation.actions_of_kind(kind))
    return render(
        request,
        "audit/application_timeline.html",
        {
            "application": application,
            "rows": presentation.grouped_rows(events),
            "kinds": kinds,
            "kind": kind,
            "masking_state": application.masking_state,
        },
    )


@role_required(RoleCode.AUDITOR)
@require_safe
def user_history(request: HttpRequest, user_id: int) -> HttpResponse:
    person = get_object_or_404(User, pk=user_id)
    page = _page(request, search.user_history(person.pk))
    return render(
        request,
        "audit/user_history.html",
        {
            "person": person,
            "person_name": presentation.person_name(person),
            "division": presentation.division_label(person.division_at()),
            "roles": presentation.roles_label(person.role_codes()),
            "page": page,
            "rows": presentation.event_rows(page.events),
        },
    )


@role_required(RoleCode.AUDITOR)
@require_safe
def chain(request: HttpRequest) -> HttpResponse:
    return render(request, "audit/chain.html", {"status": chain_status()})
