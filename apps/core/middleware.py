"""The middleware both sites share: the idle clock of a signed-in session, and the
password change a reset forces.

The idle clock is renewed without a write on every request.

Sessions end after SESSION_COOKIE_AGE without activity. Saving the session on every
request (SESSION_SAVE_EVERY_REQUEST) keeps that clock exact but costs every page three
statements (a savepoint, the UPDATE and its release). Here a request renews the clock only
when the last renewal is at least SESSION_RENEW_SECONDS old, so the idle limit holds to
within that many seconds and most pages write nothing.

After administrators reset a password (apps.administration.password_reset on the T&D
side; provisioned retail accounts too) the person must choose their own before anything
else: an administrator saw the temporary one.
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


class ForcedPasswordChangeMiddleware:
    """While `user.must_change_password` is set, every page but `allowed_views` (GET or
    POST, the admin's included) redirects to `redirect_to`. Both sites name their pages
    alike, so both use this class as it is; a site naming them otherwise subclasses it."""

    # The change itself, signing out, and the language switch.
    allowed_views: frozenset[str] = frozenset(
        {"password_change", "password_change_done", "logout", "set_language"}
    )
    redirect_to = "password_change"

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
        if match is not None and match.view_name in self.allowed_views:
            return None
        return HttpResponseRedirect(reverse(self.redirect_to))
