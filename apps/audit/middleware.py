"""Binds the request id, client address and user agent for every audit event the
request writes, and returns the request id as X-Request-ID."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from .context import bound_request_context, request_context_from


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        context = request_context_from(request)
        request.request_id = context.request_id  # type: ignore[attr-defined]
        with bound_request_context(context):
            response = self.get_response(request)
        response["X-Request-ID"] = context.request_id
        return response
