"""Every event written while a request is handled carries its id, address and agent."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.test import RequestFactory

from apps.audit.context import current_request_context
from apps.audit.middleware import AuditContextMiddleware
from apps.audit.models import AuditAction, AuditEvent
from apps.audit.services import audit_record

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def _view(request: HttpRequest) -> HttpResponse:
    audit_record(actor=None, action=AuditAction.EXPORT)
    return HttpResponse("ok")


def _through_middleware(**headers: Any) -> tuple[HttpResponseBase, AuditEvent]:
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.10", **headers)
    response = AuditContextMiddleware(_view)(request)
    return response, AuditEvent.objects.latest("id")


def test_an_event_written_in_a_request_carries_its_id_address_and_user_agent():
    response, event = _through_middleware(HTTP_USER_AGENT="Mozilla/5.0 (shadan test)")

    assert len(event.request_id) == 32
    assert response["X-Request-ID"] == event.request_id
    assert event.client_ip == "192.0.2.10"
    assert event.user_agent == "Mozilla/5.0 (shadan test)"


def test_a_sane_incoming_request_id_is_kept():
    response, event = _through_middleware(HTTP_X_REQUEST_ID="lb-7f3a.91c2:0001")

    assert event.request_id == "lb-7f3a.91c2:0001"
    assert response["X-Request-ID"] == "lb-7f3a.91c2:0001"


@pytest.mark.parametrize(
    "incoming", ["", "has space", "x" * 65, "<script>", "-starts-with-dash", "名前"]
)
def test_an_odd_incoming_request_id_is_replaced(incoming):
    response, event = _through_middleware(HTTP_X_REQUEST_ID=incoming)

    assert event.request_id != incoming
    assert len(event.request_id) == 32
    assert response["X-Request-ID"] == event.request_id


def test_x_forwarded_for_is_ignored_unless_the_proxy_is_trusted(settings):
    settings.AUDIT_TRUST_X_FORWARDED_FOR = False

    _, event = _through_middleware(HTTP_X_FORWARDED_FOR="203.0.113.5")

    assert event.client_ip == "192.0.2.10"


def test_behind_a_trusted_proxy_the_address_it_appended_is_recorded(settings):
    settings.AUDIT_TRUST_X_FORWARDED_FOR = True

    _, event = _through_middleware(HTTP_X_FORWARDED_FOR="10.9.9.9, 203.0.113.5")
    _, garbage = _through_middleware(HTTP_X_FORWARDED_FOR="not-an-address")

    assert event.client_ip == "203.0.113.5"  # the first entry is whatever the client sent
    assert garbage.client_ip == "192.0.2.10"


def test_a_long_user_agent_is_cut_to_256_characters():
    _, event = _through_middleware(HTTP_USER_AGENT="A" * 1000)

    assert event.user_agent == "A" * 256


def test_the_context_ends_with_the_response_even_when_the_view_fails():
    def failing(request: HttpRequest) -> HttpResponse:
        assert current_request_context() is not None
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        AuditContextMiddleware(failing)(RequestFactory().get("/"))
    AuditContextMiddleware(_view)(RequestFactory().get("/"))

    assert current_request_context() is None
    outside = audit_record(actor=None, action=AuditAction.EXPORT)
    assert (outside.request_id, outside.client_ip, outside.user_agent) == ("", None, "")


def test_the_middleware_is_installed_after_authentication(settings):
    middleware = list(settings.MIDDLEWARE)
    position = middleware.index("apps.audit.middleware.AuditContextMiddleware")

    assert middleware[position - 1] == "django.contrib.auth.middleware.AuthenticationMiddleware"
