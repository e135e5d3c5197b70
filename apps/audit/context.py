"""Who is asking, for the events written while a request is handled.

The audit middleware binds a RequestContext for the duration of one request;
`audit_record` reads it, so services need no request parameter. A context variable
(not a thread-local) so it is right under threads and asyncio alike, and unset outside
requests (management commands, tasks): those events carry no request id.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest

USER_AGENT_MAX = 256
_REQUEST_ID_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._:-]{0,63}\Z")


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


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or, behind a proxy we trust (AUDIT_TRUST_X_FORWARDED_FOR), the last
    address in X-Forwarded-For: the one our proxy appended. Earlier entries are
    whatever the client chose to send and prove nothing."""
    if settings.AUDIT_TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            found = _valid_ip(forwarded.split(",")[-1])
            if found:
                return found
    return _valid_ip(request.META.get("REMOTE_ADDR", "") or "")


def request_context_from(request: HttpRequest) -> RequestContext:
    incoming = request.headers.get("X-Request-ID", "")
    request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
    return RequestContext(
        request_id=request_id,
        client_ip=client_ip(request),
        user_agent=request.headers.get("User-Agent", "")[:USER_AGENT_MAX],
        user=getattr(request, "user", None),
    )
