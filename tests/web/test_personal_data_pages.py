"""Pages that show customers' personal data are never stored by a browser or proxy, and
the forms that carry it (or a reason that might) keep their POST out of error reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.views.debug import SafeExceptionReporterFilter

from apps.applications.models import Application
from tests.conftest import advance
from tests.factories import application_input

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])

CANARY = {
    "customer_name": "鳥井 加奈",
    "customer_name_kana": "トリイ カナ",
    "customer_phone": "090-7351-2468",
    "customer_email": "canary.torii@example.invalid",
}


@dataclass(frozen=True)
class Page:
    role: str  # the persona fixture
    state: str  # the application's state before the request
    url: str
    method: str = "get"
    data: Callable[[Application], dict[str, Any]] | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.url}"


def _edit_data(app: Application) -> dict[str, Any]:
    data = application_input(app.retailer, **CANARY)
    del data["retailer"]
    return {**data, "contract_capacity_kw": "1e999", "version": app.version}


PAGES = [
    Page("clerk", "draft", "clerk-create"),
    Page(
        "clerk",
        "draft",
        "clerk-create",
        "post",
        lambda app: application_input(app.retailer, **CANARY, contract_capacity_kw="80"),
    ),
    Page("clerk", "draft", "clerk-edit"),
    Page("clerk", "draft", "clerk-edit", "post", _edit_data),
    Page("clerk", "entered", "clerk-encode"),
    Page("clerk", "entered", "clerk-encode", "post", lambda app: {"version": "x"}),
    Page(
        "clerk",
        "draft",
        "clerk-change-retailer",
        "post",
        lambda app: {"reason": CANARY["customer_name"]},
    ),
    Page("supervisor", "encoded", "review-page"),
    Page("supervisor", "encoded", "review-verify", "post", lambda app: {"version": app.version}),
    Page(
        "supervisor",
        "encoded",
        "review-return",
        "post",
        lambda app: {"version": app.version, "reason": CANARY["customer_phone"]},
    ),
    Page(
        "supervisor",
        "encoded",
        "review-cancel",
        "post",
        lambda app: {"version": app.version, "reason": CANARY["customer_phone"]},
    ),
    Page("construction", "released", "construction-detail"),
    Page(
        "construction",
        "released",
        "construction-reveal",
        "post",
        lambda app: {"purpose": "other", "reason_text": CANARY["customer_name"]},
    ),
]


def _open(page: Page, request: pytest.FixtureRequest) -> Any:
    clerk, supervisor = request.getfixturevalue("clerk"), request.getfixturevalue("supervisor")
    app = request.getfixturevalue("new_application")(**CANARY)
    app = advance(app, page.state, clerk=clerk, supervisor=supervisor)
    client = Client()
    client.force_login(request.getfixturevalue(page.role))
    url = reverse(page.url) if page.url == "clerk-create" else reverse(page.url, args=[app.pk])
    if page.method == "get":
        return client.get(url)
    assert page.data is not None
    return client.post(url, page.data(app))


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_a_page_with_personal_data_tells_browsers_and_proxies_not_to_store_it(page, request):
    response = _open(page, request)

    assert response.status_code in (200, 302)
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


@pytest.mark.parametrize("page", [p for p in PAGES if p.method == "post"], ids=str)
def test_an_error_report_of_a_personal_data_form_shows_none_of_its_post(page, request):
    response = _open(page, request)

    posted = response.wsgi_request
    assert posted.sensitive_post_parameters == "__ALL__"
    reported = SafeExceptionReporterFilter().get_post_parameters(posted)
    assert reported  # the parameters are listed, with every value masked
    assert set(reported.values()) == {SafeExceptionReporterFilter.cleansed_substitute}
    assert not any(value in str(reported) for value in CANARY.values())


def test_the_page_shown_after_a_refused_create_holds_the_typed_personal_data(request):
    # The reason the create page needs the headers although it reveals nothing: the
    # refused form comes back with what the clerk typed.
    response = _open(PAGES[1], request)

    assert CANARY["customer_phone"] in response.content.decode()
    assert not Application.objects.filter(contract_capacity_kw=80).exists()
