"""The retail site's request context.

Each request gets an id (a valid incoming X-Request-ID or a new one), the client's
address and its user agent (apps.core.requests, as the T&D site's audit context), for
the view log (apps.retail.services.RequestMeta); the id goes back as X-Request-ID. The
password change a reset forces is apps.core.middleware's, shared with the T&D site.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from apps.core.requests import client_ip, request_id, user_agent

from .services import RequestMeta


def request_meta(request: HttpRequest) -> RequestMeta:
    meta = getattr(request, "retail_meta", None)
    if isinstance(meta, RequestMeta):
        return meta
    return RequestMeta(
        request_id=request_id(request), client_ip=client_ip(request), user_agent=user_agent(request)
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
