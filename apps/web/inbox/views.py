"""The inbox: every signed-in user's own notifications (thin views over the selectors)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from apps.core.errors import NotFound
from apps.notifications import services
from apps.web.access import acting_user, persona
from apps.web.inbox import selectors


def _reader(request: HttpRequest) -> selectors.Reader:
    me = persona(request)
    return selectors.Reader(
        user=acting_user(request), roles=me.roles, is_retail=me.is_retail, division=me.division
    )


def _back(request: HttpRequest) -> HttpResponse:
    page = request.POST.get("page", "")
    target = redirect("inbox")
    if page.isdigit():
        target["Location"] += f"?page={page}"
    return target


@never_cache
@require_safe
def inbox(request: HttpRequest) -> HttpResponse:
    page = selectors.inbox_page(reader=_reader(request), page_number=request.GET.get("page"))
    return render(request, "notifications/inbox.html", {"page": page})


@require_POST
def mark_read(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.inbox_mark_read(acting_user=acting_user(request), entry_id=pk)
    except NotFound:
        raise Http404 from None
    return _back(request)


@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    services.inbox_mark_all_read(acting_user=acting_user(request))
    return _back(request)
