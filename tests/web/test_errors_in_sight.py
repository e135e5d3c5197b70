"""Errors in sight: long forms that come back with errors open on one summary (the shared
partial) that names each error and links to its field; the script that focuses it is a
static file, as the CSP forbids inline scripts. Also the encode refusal: each leak named
once, the leaking text marked."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from apps.accounts.models import User
from tests.conftest import advance
from tests.factories import application_input

pytestmark = pytest.mark.django_db(databases=["default", "vault"])


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _summary(response: Any, above: str = 'class="field') -> str:
    html = response.content.decode()
    assert html.count('data-testid="error-summary"') == 1, "one summary per page"
    summary = html.split('data-testid="error-summary"')[1].split("</div>")[0]
    # At the top: before the first form field (or what else the page is about).
    assert html.index('data-testid="error-summary"') < html.index(above)
    return summary


def _links(summary: str) -> set[str]:
    return set(re.findall(r'href="#([^"]+)"', summary))


def _ids(response: Any) -> set[str]:
    return set(re.findall(r'\sid="([^"]+)"', response.content.decode()))


def test_the_application_form_summarises_each_error_with_a_link_to_its_field(clerk, retailer):
    data = application_input(retailer, supply_point_id="12", customer_phone="")

    response = _client(clerk).post(reverse("clerk-create"), data)

    summary = _summary(response)
    assert {"id_supply_point_id", "id_customer_phone"} <= _links(summary)
    assert _links(summary) <= _ids(response), "every link lands on a field"
    assert re.search(
        r'data-error-summary[^>]*data-testid="error-summary"', response.content.decode()
    )


def test_a_form_without_errors_shows_no_summary(clerk):
    html = _client(clerk).get(reverse("clerk-create")).content.decode()

    assert 'data-testid="error-summary"' not in html


def test_a_return_without_a_reason_links_from_the_top_to_the_reason(
    new_application, clerk, supervisor
):
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    client = _client(supervisor)
    client.get(reverse("review-page", args=[app.pk]))

    response = client.post(
        reverse("review-return", args=[app.pk]), {"version": app.version, "reason": ""}
    )

    summary = _summary(response)
    assert _links(summary) == {"id_reason"}
    form = response.content.decode().split('data-testid="return-form"')[1].split("</form>")[0]
    reason = form.split('data-field="reason"')[1]
    assert 'id="id_reason"' in reason and 'class="error"' in reason


def test_user_creation_links_a_missing_role_choice_to_the_first_check_box(administrator):
    response = _client(administrator).post(
        reverse("admin-user-create"),
        {
            "username": "kouri_taro",
            "last_name": "小売",
            "first_name": "太郎",
            "division": "retail",
            "roles": ["clerk"],
        },
    )

    summary = _summary(response)
    assert "id_roles_0" in _links(summary)
    assert _links(summary) <= _ids(response)


def test_a_transfer_without_a_division_links_to_the_division(administrator, clerk):
    response = _client(administrator).post(
        reverse("admin-user-transfer", args=[clerk.pk]), {"to_division": ""}
    )

    summary = _summary(response)
    assert "id_to_division" in _links(summary)
    assert _links(summary) <= _ids(response)


def test_the_focus_moves_to_the_summary_from_a_static_script():
    script = Path(settings.BASE_DIR, "static", "js", "shadan.js").read_text()

    assert "[data-error-summary]" in script and ".focus(" in script


# --- the encode refusal -------------------------------------------------------------------


def test_the_encode_refusal_names_each_leak_once_and_marks_the_text(
    client, clerk, supervisor, new_application
):
    # The customer's own number is also "a phone number": one leak, named once.
    remarks = "連絡は <b>携帯</b> ０９０ー７３５１ー２４６８ まで"
    app = new_application(customer_phone="090-7351-2468", remarks=remarks)
    app = advance(app, "entered", clerk=clerk, supervisor=supervisor)
    client.force_login(clerk)

    response = client.post(reverse("clerk-encode", args=[app.pk]), {"version": app.version})

    summary = _summary(response, above='data-testid="td-data"')
    assert summary.count('data-error-field="remarks"') == 1
    assert _links(summary) == {"leak-remarks"}
    html = response.content.decode()
    marked = html.split('id="leak-remarks"')[1].split("</div>")[0]
    assert '<mark data-testid="leak-mark">０９０ー７３５１ー２４６８</mark>' in marked
    # what was typed is shown as text, never as markup
    assert "&lt;b&gt;携帯&lt;/b&gt;" in marked and "<b>" not in marked
    assert html.count('data-testid="leak-mark"') == 1
