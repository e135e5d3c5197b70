"""The idle clock of a signed-in session and the password change a reset forces
(apps.core.middleware, shared with the retail site), and one retry of a read whose
database connection was lost.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError, connections
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from apps.core.middleware import (
    RENEWED_AT,
    ForcedPasswordChangeMiddleware,
    IdleSessionRenewalMiddleware,
)

__all__ = [
    "RENEWED_AT",
    "ForcedPasswordChangeMiddleware",
    "IdleSessionRenewalMiddleware",
    "LostConnectionRetryMiddleware",
]


# --- a lost database connection ------------------------------------------------------------

logger = logging.getLogger(__name__)

# Reads only: running one again changes nothing (a read of personal data is audited
# again, which over-reports, never under-reports).
RETRIED_METHODS = frozenset({"GET", "HEAD"})
_DATABASE_ERROR = "_shadan_database_error"


@receiver(got_request_exception)
def _note_database_error(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    """Django turns a view's exception into the 500 page before any outer middleware sees
    it; this signal is sent while the exception is being handled, so it can be noted."""
    error = sys.exc_info()[1]
    if request is not None and isinstance(error, OperationalError | InterfaceError):
        setattr(request, _DATABASE_ERROR, type(error).__name__)


class LostConnectionRetryMiddleware:
    """A GET or HEAD that failed on the database (PostgreSQL killed the backend, a
    failover, a restart) is run once more on a fresh connection instead of showing the
    user a 500. Not when a transaction spans the request (nothing could be retried inside
    it), never for other methods: a POST is made safe to repeat by the services instead
    (apps.applications.services: a transition already done by the same user returns its
    result)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        error = getattr(request, _DATABASE_ERROR, None)
        if error is None or request.method not in RETRIED_METHODS:
            return response
        opened = connections.all(initialized_only=True)
        if any(connection.in_atomic_block for connection in opened):
            return response
        delattr(request, _DATABASE_ERROR)
        for connection in opened:
            # Closes a connection that no longer answers; a live one is kept.
            connection.close_if_unusable_or_obsolete()
        # The path may hold an id, never personal data (apps.core.logging redacts paths).
        logger.warning("%s on %s: retried once on a fresh connection", error, request.method)
        return self.get_response(request)
