from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.decorators import method_decorator

from apps.access_review import selectors as review
from apps.accounts import selectors as account_selectors
from apps.accounts.models import RoleCode
from apps.administration.password_reset import user_change_own_password
from apps.applications import selectors as td
from apps.core.counting import COUNT_CAP, CappedCount, count_up_to
from apps.core.errors import ServiceError
from apps.retailers import selectors as retailer_selectors

from .access import acting_user, persona
from .forms import OwnPasswordChangeForm, SignInForm, add_service_error

HOME_REVIEW_ITEMS = 5


def home(request: HttpRequest) -> HttpResponse:
    """Each role's queues with counts and the age of the oldest item."""
    me = persona(request)
    assert me.user is not None
    sections = []
    if me.has(RoleCode.CLERK):
        sections.append((RoleCode.CLERK.label, td.clerk_queues(me.user)))
    if me.has(RoleCode.SUPERVISOR):
        sections.append((RoleCode.SUPERVISOR.label, td.supervisor_queues()))
    if me.has(RoleCode.CONSTRUCTION):
        sections.append((RoleCode.CONSTRUCTION.label, td.construction_queues()))
    waiting = None
    if me.has(RoleCode.AUDITOR):
        # The oldest few items of the review queue, and how many wait (up to COUNT_CAP).
        waiting = {
            "items": list(review.review_queue()[:HOME_REVIEW_ITEMS]),
            "count": review.pending_count(),
        }
    return render(
        request,
        "web/home.html",
        {
            "sections": sections,
            "review_waiting": waiting,
            "is_auditor": me.has(RoleCode.AUDITOR),
            "is_administrator": me.has(RoleCode.ADMINISTRATOR),
            "admin_pending": _admin_pending() if me.has(RoleCode.ADMINISTRATOR) else None,
        },
    )


def _admin_pending() -> dict[str, CappedCount]:
    """What waits for a second administrator, each counted up to COUNT_CAP."""
    return {
        "affiliations": count_up_to(retailer_selectors.pending_proposals(), COUNT_CAP),
        "password_resets": count_up_to(account_selectors.pending_password_resets(), COUNT_CAP),
    }


@method_decorator(login_not_required, name="dispatch")
class SignInView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True
    form_class = SignInForm

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["retail_site_url"] = settings.SHADAN_RETAIL_SITE_URL
        return context


class OwnPasswordChangeView(auth_views.PasswordChangeView):
    """The signed-in user's own password; also where a user whose password administrators
    reset is sent until they choose a new one (apps.web.middleware)."""

    form_class = OwnPasswordChangeForm

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["forced"] = acting_user(self.request).must_change_password
        return context

    def form_valid(self, form: Any) -> HttpResponse:
        try:
            user = user_change_own_password(
                acting_user=acting_user(self.request),
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password1"],
            )
        except (ValidationError, ServiceError) as refused:
            add_service_error(form, refused)
            return self.form_invalid(form)
        # This session stays signed in; every other session of the user ends (the hash
        # of the password is part of each session's auth hash).
        update_session_auth_hash(self.request, user)
        return HttpResponseRedirect(self.get_success_url())
