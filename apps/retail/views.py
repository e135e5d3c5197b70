"""The retail pages: masked projections only, through apps.retail.selectors.

Anything retail may not see answers 404, exactly like something that does not exist;
people outside retail are refused (403) by role_required.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from apps.accounts.models import RoleCode
from apps.applications.states import MaskingState
from apps.core.errors import NotFound
from apps.web.access import acting_user, role_required
from apps.web.templatetags.shadan import url_prefix

from .forms import RetailSearchForm
from .selectors import retail_application_open, retail_application_page
from .services import retail_record_not_found

# Retail only ever sees verified masking: the badge is constant, but it is still shown.
VERIFIED = MaskingState.VERIFIED.value


@role_required(RoleCode.RETAIL)
@require_safe
def application_list(request: HttpRequest) -> HttpResponse:
    form = RetailSearchForm(request.GET)
    search = form.cleaned_data["q"] if form.is_valid() else ""
    page = retail_application_page(
        user=request.user,
        search=search,
        page_number=request.GET.get("page"),
        after=request.GET.get("after"),
        before=request.GET.get("before"),
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


@role_required(RoleCode.RETAIL)
@require_safe
def application_detail(request: HttpRequest, reference: str) -> HttpResponse:
    try:
        application = retail_application_open(user=request.user, reference=reference)
    except NotFound as refused:
        retail_record_not_found(acting_user=acting_user(request), reference=reference)
        raise Http404 from refused
    return render(
        request,
        "retail/application_detail.html",
        {"application": application, "masking_state": VERIFIED},
    )
