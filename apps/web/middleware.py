"""The idle clock of a signed-in session (apps.core.middleware, shared with the retail
site), and the password change a reset forces.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from apps.core.middleware import RENEWED_AT, IdleSessionRenewalMiddleware

__all__ = ["RENEWED_AT", "ForcedPasswordChangeMiddleware", "IdleSessionRenewalMiddleware"]


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
