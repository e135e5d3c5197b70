"""The retail site's request context.

Each request gets an id (a valid incoming X-Request-ID or a new one), the client's
address and its user agent, for the view log (apps.retail.services.RequestMeta); the id
goes back as X-Request-ID. The password change a reset forces is
apps.core.middleware's, shared with the T&D site.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from .services import USER_AGENT_MAX, RequestMeta

_REQUEST_ID_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._:-]{0,63}\Z")


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or behind our one trusted proxy (AUDIT_TRUST_X_FORWARDED_FOR) the last
    address of X-Forwarded-For, the one that proxy appended."""
    if settings.AUDIT_TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            found = _valid_ip(forwarded.split(",")[-1])
            if found:
                return found
    return _valid_ip(request.META.get("REMOTE_ADDR", "") or "")


def request_meta(request: HttpRequest) -> RequestMeta:
    meta = getattr(request, "retail_meta", None)
    if isinstance(meta, RequestMeta):
        return meta
    incoming = request.headers.get("X-Request-ID", "")
    return RequestMeta(
        request_id=incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex,
        client_ip=client_ip(request),
        user_agent=request.headers.get("User-Agent", "")[:USER_AGENT_MAX],
    )


class RetailRequestMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request_meta(request)
        request.retail_meta = meta  # type: ignore[attr-defined]
        response = self.get_response(request)
        response["X-Request-ID"] = meta.request_id
        return response
