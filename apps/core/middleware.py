"""The idle clock of a signed-in session is renewed without a write on every request.

Sessions end after SESSION_COOKIE_AGE without activity. Saving the session on every
request (SESSION_SAVE_EVERY_REQUEST) keeps that clock exact but costs every page three
statements (a savepoint, the UPDATE and its release). Here a request renews the clock only
when the last renewal is at least SESSION_RENEW_SECONDS old, so the idle limit holds to
within that many seconds and most pages write nothing. Both sites use it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse

RENEWED_AT = "_shadan_idle_renewed_at"


class IdleSessionRenewalMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        if SESSION_KEY in session:
            now = int(time.time())
            if now - int(session.get(RENEWED_AT, 0)) >= settings.SESSION_RENEW_SECONDS:
                # Marks the session modified: SessionMiddleware saves it with a new expiry.
                session[RENEWED_AT] = now
        return self.get_response(request)
