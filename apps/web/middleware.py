"""The idle clock of a signed-in session, and the password change a reset forces.

The idle clock of a signed-in session is renewed without a write on every request.

Sessions end after SESSION_COOKIE_AGE without activity. Saving the session on every
request (SESSION_SAVE_EVERY_REQUEST) keeps that clock exact but costs every page three
statements (a savepoint, the UPDATE and its release). Here a request renews the clock only
when the last renewal is at least SESSION_RENEW_SECONDS old, so the idle limit holds to
within that many seconds and most pages write nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

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


# What a user who must change their password may still open: the change itself, signing
# out, and the language switch.
FORCED_CHANGE_ALLOWED = frozenset(
    {"password_change", "password_change_done", "logout", "set_language"}
)


class ForcedPasswordChangeMiddleware:
    """After administrators reset a password (apps.accounts.password_reset) the user must
    choose their own before anything else: an administrator saw the temporary one. Every
    other page, GET or POST, the admin's included, redirects to the password change."""

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
