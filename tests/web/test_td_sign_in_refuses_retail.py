"""The T&D site signs nobody of the retail division in: they read on the retail site,
whose address the refusal names (Japanese first)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def test_a_retail_person_is_refused_with_the_retail_sites_address(client, settings, retail_user):
    settings.SHADAN_RETAIL_SITE_URL = "https://retail.example.invalid/"

    response = client.post(
        reverse("login"), {"username": retail_user.username, "password": PASSWORD}
    )

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    html = response.content.decode()
    assert 'data-testid="retail-site-refusal"' in html
    assert 'href="https://retail.example.invalid/"' in html
    with translation.override("ja"):
        said = translation.gettext(
            "This is the transmission and distribution site. People of the retail "
            "division sign in on the retail site: %(url)s"
        )
    assert said.startswith("ここは送配電")
    assert said % {"url": "https://retail.example.invalid/"} in html


def test_a_wrong_password_of_a_retail_person_gets_the_ordinary_answer(client, retail_user):
    response = client.post(reverse("login"), {"username": retail_user.username, "password": "x"})

    assert 'data-testid="retail-site-refusal"' not in response.content.decode()


def test_people_of_the_t_and_d_division_still_sign_in(client, clerk):
    response = client.post(reverse("login"), {"username": clerk.username, "password": PASSWORD})

    assert response.status_code == 302
