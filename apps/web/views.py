from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.decorators import method_decorator

from apps.accounts.models import RoleCode
from apps.applications import selectors as td
from apps.retail.selectors import retail_application_count

from .access import persona


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
    return render(
        request,
        "web/home.html",
        {
            "sections": sections,
            "retail_count": retail_application_count(user=me.user) if me.is_retail else None,
            "is_auditor": me.has(RoleCode.AUDITOR),
            "is_administrator": me.has(RoleCode.ADMINISTRATOR),
        },
    )


@method_decorator(login_not_required, name="dispatch")
class SignInView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True
