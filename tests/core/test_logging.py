"""A path typed by a user never reaches the log as typed."""

from __future__ import annotations

import logging

import pytest
from django.test import override_settings

from apps.core.logging import RedactRequestPaths

CANARY_PHONE = "090-4417-2230"


@pytest.mark.django_db(databases=["default", "retail"])
def test_a_retail_probe_with_a_phone_number_in_the_path_logs_only_the_route(retail_user, caplog):
    from tests.retail.site import RetailSiteClient, account_of

    client = RetailSiteClient()
    client.force_login(account_of(retail_user))

    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get(f"/applications/{CANARY_PHONE}/?q={CANARY_PHONE}")

    assert response.status_code == 404
    messages = [r.getMessage() for r in caplog.records if r.name == "django.request"]
    assert messages == ["Not Found: /applications/<str:reference>/"]
    assert CANARY_PHONE.replace("-", "") not in caplog.text.replace("-", "")


@pytest.mark.django_db
def test_a_path_that_matches_no_page_is_logged_by_its_length(client, retail_user, caplog):
    client.force_login(retail_user)

    with caplog.at_level(logging.WARNING, logger="django.request"):
        client.get(f"/{CANARY_PHONE}/")

    assert CANARY_PHONE not in caplog.text
    assert "[unmatched path, 15 characters]" in caplog.text


@override_settings(ROOT_URLCONF="config.urls_retail")
def test_the_development_server_request_line_keeps_method_route_and_protocol():
    # The retail site's development server (`make run` serves it on 127.0.0.1:8001).
    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s %s',
        (f"GET /applications/{CANARY_PHONE}/?q=x HTTP/1.1", "404", "179"),
        None,
    )

    assert RedactRequestPaths().filter(record)

    assert record.getMessage() == '"GET /applications/<str:reference>/ HTTP/1.1" 404 179'


def test_other_loggers_are_left_alone():
    record = logging.LogRecord(
        "apps.retail", logging.INFO, __file__, 1, "%s", (f"/retail/{CANARY_PHONE}/",), None
    )

    RedactRequestPaths().filter(record)

    assert record.getMessage() == f"/retail/{CANARY_PHONE}/"
