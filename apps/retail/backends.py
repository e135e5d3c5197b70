"""Signing in to the retail site: RetailAccount, named explicitly rather than through
AUTH_USER_MODEL, so the same backend serves the retail site (where RetailAccount is the
user model) and in-process tests that run with the T&D settings."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import BaseBackend
from django.http import HttpRequest

from apps.publication.models import RetailAccount
from apps.publication.selectors import signed_in_account


class RetailAccountBackend(BaseBackend):
    def authenticate(  # type: ignore[override]  # the stubs' user is AUTH_USER_MODEL
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> RetailAccount | None:
        if username is None or password is None:
            return None
        account = RetailAccount.objects.filter(username=username).first()
        if account is None:
            # Hash anyway, so an unknown name takes as long as a wrong password.
            RetailAccount().set_password(password)
            return None
        if account.check_password(password) and account.is_active:
            return account
        return None

    def get_user(self, user_id: Any) -> RetailAccount | None:  # type: ignore[override]
        # With the header's unread count riding along (one query for both).
        account = signed_in_account(user_id)
        return account if account is not None and account.is_active else None
