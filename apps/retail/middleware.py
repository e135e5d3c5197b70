"""The retail site's request context and its forced password change.

Each request gets an id (a valid incoming X-Request-ID or a new one), the client's
address and its user agent, for the view log (apps.retail.services.RequestMeta); the id
goes back as X-Request-ID. After administrators reset a password (provisioned as
`must_change_password`), nothing but the password change, signing out and the language
switch opens until the person has chosen their own.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from .services import USER_AGENT_MAX, RequestMeta

_REQUEST_ID_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._:-]{0,63}\Z")
FORCED_CHANGE_ALLOWED = frozenset(
    {"password_change", "password_change_done", "logout", "set_language"}
)


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


class RetailForcedPasswordChangeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: Any,
        view_kwargs: Any,
    ) -> HttpResponse | None:
        user = request.user
        if not user.is_authenticated or not getattr(user, "must_change_password", False):
            return None
        match = request.resolver_match
        if match is not None and match.view_name in FORCED_CHANGE_ALLOWED:
            return None
        return HttpResponseRedirect(reverse("password_change"))
