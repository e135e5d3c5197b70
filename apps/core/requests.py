"""Who is asking, as both sites record it: the request id, the client's address and its
user agent. The T&D site binds them for the audit trail (apps.audit.context), the
retail site writes them into its view log (apps.retail.middleware)."""

from __future__ import annotations

import ipaddress
import re
import uuid

from django.conf import settings
from django.http import HttpRequest

USER_AGENT_MAX = 256
_REQUEST_ID_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._:-]{0,63}\Z")


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


def request_id(request: HttpRequest) -> str:
    """A valid incoming X-Request-ID (a proxy's, to join its log to ours), or a new one."""
    incoming = request.headers.get("X-Request-ID", "")
    return incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex


def user_agent(request: HttpRequest) -> str:
    return request.headers.get("User-Agent", "")[:USER_AGENT_MAX]
