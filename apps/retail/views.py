"""The retail site's pages: sign-in, sign-out, own password, the masked list with its
search, the masked detail, and the inbox. Nothing else is mounted (config/urls_retail.py).

Anything retail may not see answers 404, exactly like something that does not exist.
Every application shown is written to the view log (one row each, with the request's id,
address and agent); a detail request that finds nothing writes a NOT_FOUND row.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_POST, require_safe

from apps.core.errors import NotFound
from apps.core.templatetags.badges import url_prefix
from apps.publication.models import RetailAccount, RetailView
from apps.publication.selectors import (
    INBOX_PAGE_SIZE,
    inbox_entries,
    retail_application_page,
    retail_application_row,
)
from apps.vocabulary.projection import projection_from_values
from apps.vocabulary.states import MaskingState

from .forms import RetailPasswordChangeForm, RetailSearchForm
from .middleware import request_meta
from .services import (
    retail_account_change_password,
    retail_inbox_mark_read,
    retail_not_found_record,
    retail_views_record,
)

# Retail only ever sees verified masking: the badge is constant, but it is still shown.
VERIFIED = MaskingState.VERIFIED.value


def reader(request: HttpRequest) -> RetailAccount:
    """The signed-in retail account (LoginRequiredMiddleware turned everyone else away)."""
    user = request.user
    if not isinstance(user, RetailAccount):
        raise Http404
    return user


@require_safe
def application_list(request: HttpRequest) -> HttpResponse:
    account = reader(request)
    form = RetailSearchForm(request.GET)
    search = form.cleaned_data["q"] if form.is_valid() else ""
    page = retail_application_page(
        account=account,
        search=search,
        page_number=request.GET.get("page"),
        after=request.GET.get("after"),
        before=request.GET.get("before"),
    )
    # What retail was shown is recorded: the regulator's question is who could see what
    # and who actually looked.
    retail_views_record(
        account=account, view=RetailView.LIST, rows=page.rows, meta=request_meta(request)
    )
    return render(
        request,
        "retail/application_list.html",
        {
            "form": form,
            "search": search,
            "page": page,
            "masking_state": VERIFIED,
            "detail_prefix": url_prefix("retail-detail"),
        },
    )


@require_safe
def application_detail(request: HttpRequest, reference: str) -> HttpResponse:
    account = reader(request)
    meta = request_meta(request)
    try:
        row = retail_application_row(account=account, reference=reference)
    except NotFound as refused:
        retail_not_found_record(account=account, requested=reference, meta=meta)
        raise Http404 from refused
    retail_views_record(account=account, view=RetailView.DETAIL, rows=[row], meta=meta)
    return render(
        request,
        "retail/application_detail.html",
        {"application": projection_from_values(row), "masking_state": VERIFIED},
    )


@require_safe
def inbox(request: HttpRequest) -> HttpResponse:
    entries = list(inbox_entries(account=reader(request))[:INBOX_PAGE_SIZE])
    return render(request, "retail/inbox.html", {"entries": entries})


@require_POST
def inbox_read(request: HttpRequest, entry_id: int) -> HttpResponse:
    if not retail_inbox_mark_read(account=reader(request), entry_id=entry_id):
        raise Http404
    return redirect("retail-inbox")


@method_decorator(login_not_required, name="dispatch")
class SignInView(auth_views.LoginView):
    template_name = "retail/login.html"
    redirect_authenticated_user = True


class PasswordChangeView(auth_views.PasswordChangeView):
    """The signed-in person's own password (the retail database only); also where a person
    whose password administrators reset is sent until they choose one."""

    form_class = RetailPasswordChangeForm
    template_name = "retail/password_change_form.html"
    success_url = reverse_lazy("password_change_done")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["forced"] = reader(self.request).must_change_password
        return context

    def form_valid(self, form: Any) -> HttpResponse:
        try:
            account = retail_account_change_password(
                account=reader(self.request),
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password1"],
            )
        except ValidationError as refused:
            if hasattr(refused, "error_dict"):
                for field, errors in refused.error_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error("new_password2", refused.messages)
            return self.form_invalid(form)
        # This session stays signed in; every other session of the person ends.
        update_session_auth_hash(self.request, cast(Any, account))
        return HttpResponseRedirect(self.get_success_url())


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "retail/password_change_done.html"


@login_not_required
def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "retail/404.html", status=404)


@login_not_required
def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "retail/403.html", status=403)


@login_not_required
def server_error(request: HttpRequest) -> HttpResponse:
    return render(request, "500.html", status=500)
