"""Sign-in, sign-out and failed sign-in, from Django's auth signals.

Signals rather than service calls because Django's own login and logout views (and the
admin's) emit them; no business logic hangs on them, only the record.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from apps.accounts.models import User

from .context import bound_request_context, current_request_context, request_context_from
from .models import AuditAction
from .services import audit_record

UNKNOWN_USERNAME = "(unknown)"


@contextlib.contextmanager
def _request_context(request: HttpRequest | None) -> Iterator[None]:
    """Signals sent outside the middleware (the test client, a custom login path) still
    carry the request: take the context from it."""
    if current_request_context() is not None or request is None:
        yield
        return
    with bound_request_context(request_context_from(request)):
        yield


@receiver(user_logged_in, dispatch_uid="audit.user_logged_in")
def record_login(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    with _request_context(request):
        audit_record(actor=user, action=AuditAction.LOGIN, obj=user, object_label=user.username)


@receiver(user_logged_out, dispatch_uid="audit.user_logged_out")
def record_logout(
    sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any
) -> None:
    if user is None:  # an anonymous visitor "logged out": nothing happened
        return
    with _request_context(request):
        audit_record(actor=user, action=AuditAction.LOGOUT, obj=user, object_label=user.username)


@receiver(user_login_failed, dispatch_uid="audit.user_login_failed")
def record_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # What was typed as a user name is kept only if it is one: people type passwords or
    # their e-mail address into that field, and neither belongs in the trail.
    typed = credentials.get(User.USERNAME_FIELD)
    target = None
    if isinstance(typed, str) and typed:
        target = User._default_manager.filter(**{User.USERNAME_FIELD: typed}).first()
    with _request_context(request):
        audit_record(
            actor=None,
            actor_username="anonymous",
            action=AuditAction.LOGIN_FAILED,
            obj=target,
            object_label=target.username if target is not None else UNKNOWN_USERNAME,
            details={"username": target.username if target is not None else UNKNOWN_USERNAME},
        )
