"""Who is asking, for the events written while a request is handled.

The audit middleware binds a RequestContext for the duration of one request;
`audit_record` reads it, so services need no request parameter. A context variable
(not a thread-local) so it is right under threads and asyncio alike, and unset outside
requests (management commands, tasks): those events carry no request id.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from apps.core.requests import client_ip, request_id, user_agent


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    client_ip: str | None
    user_agent: str
    # request.user (lazy): who acts, for events recorded from model signals, which
    # carry no acting user of their own (apps.audit.receivers).
    user: Any = None


_current: ContextVar[RequestContext | None] = ContextVar("audit_request_context", default=None)


def current_request_context() -> RequestContext | None:
    return _current.get()


@contextmanager
def bound_request_context(context: RequestContext) -> Iterator[RequestContext]:
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def request_context_from(request: HttpRequest) -> RequestContext:
    return RequestContext(
        request_id=request_id(request),
        client_ip=client_ip(request),
        user_agent=user_agent(request),
        user=getattr(request, "user", None),
    )
