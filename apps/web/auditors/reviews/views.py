"""The auditors' (監査) access-review pages: the queue, the reviewed items, the share
reviewed per period, and one item with its review form.

Views validate the form and call one service; the version, four-eyes and note rules live
in the service. No personal data on any page: an item shows the audit event (who, from
which division with which roles, when, what) and the application's reference number and
pseudonym.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from apps.access_review import selectors
from apps.access_review.models import Outcome, ReviewItem
from apps.access_review.services import access_review_mark
from apps.accounts.models import RoleCode
from apps.core.counting import COUNT_CAP, CappedPaginator
from apps.core.errors import NotFound, ServiceError
from apps.web.access import acting_user, role_required
from apps.web.auditors.reviews.forms import ReviewedFilterForm, ReviewForm, SharesForm
from apps.web.forms import add_service_error

PAGE_SIZE = 25
DEFAULT_DAYS = 14


@role_required(RoleCode.AUDITOR)
@require_safe
def queue(request: HttpRequest) -> HttpResponse:
    page = CappedPaginator(selectors.review_queue(), PAGE_SIZE, COUNT_CAP).get_page(
        request.GET.get("page")
    )
    return render(request, "access_review/queue.html", {"page": page, "tab": "queue"})


@role_required(RoleCode.AUDITOR)
@require_safe
def reviewed(request: HttpRequest) -> HttpResponse:
    form = ReviewedFilterForm(request.GET)
    outcome = form.cleaned_data["outcome"] if form.is_valid() else ""
    page = CappedPaginator(
        selectors.reviewed_items(outcome=outcome), PAGE_SIZE, COUNT_CAP
    ).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "access_review/reviewed.html",
        {"form": form, "page": page, "query": query.urlencode(), "tab": "reviewed"},
    )


@role_required(RoleCode.AUDITOR)
@require_safe
def shares(request: HttpRequest) -> HttpResponse:
    form = SharesForm(request.GET)
    days = DEFAULT_DAYS
    if form.is_valid() and form.cleaned_data["days"]:
        days = form.cleaned_data["days"]
    return render(
        request,
        "access_review/shares.html",
        {"form": form, "shares": selectors.review_shares(days=days), "tab": "shares"},
    )


def _render_item(request: HttpRequest, item: ReviewItem, form: ReviewForm | None) -> HttpResponse:
    user = acting_user(request)
    own_access = item.event.actor_id is not None and item.event.actor_id == user.pk
    context: dict[str, Any] = {
        "item": item,
        "event": item.event,
        "application": selectors.application_of(item),
        "own_access": own_access,
        "form": form or ReviewForm(initial={"version": item.version}),
        "tab": "queue",
    }
    return render(request, "access_review/item.html", context, status=200)


@never_cache
@role_required(RoleCode.AUDITOR)
@require_http_methods(["GET", "HEAD", "POST"])
def item(request: HttpRequest, item_id: int) -> HttpResponse:
    found = selectors.review_item(item_id)
    if found is None:
        raise Http404
    if request.method != "POST":
        return _render_item(request, found, None)
    form = ReviewForm(request.POST)
    if form.is_valid():
        try:
            done = access_review_mark(
                acting_user=acting_user(request),
                item_id=found.pk,
                outcome=form.cleaned_data["outcome"],
                note=form.cleaned_data["note"],
                expected_version=form.cleaned_data["version"],
            )
        except NotFound:
            raise Http404 from None
        except (ValidationError, ServiceError) as refused:
            add_service_error(form, refused)
        else:
            text = (
                _("Item #%(item)s marked suspicious: the compliance contact is notified.")
                if done.outcome == Outcome.SUSPICIOUS
                else _("Item #%(item)s marked legitimate.")
            )
            messages.success(request, text % {"item": done.pk})
            following = selectors.next_pending(reviewer_id=acting_user(request).pk)
            if following is not None:
                return redirect("access-review-item", item_id=following.pk)
            return redirect("access-review-queue")
    # What was typed stays; the item is read again (someone may have reviewed it since).
    return _render_item(request, selectors.review_item(item_id) or found, form)
