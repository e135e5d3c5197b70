"""The retail site's header: who is signed in and how many inbox messages wait."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from apps.core.counting import CappedCount
from apps.publication.models import RetailAccount
from apps.publication.selectors import UNREAD_SHOWN, inbox_unread_count


def reader(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if not isinstance(user, RetailAccount):
        return {"reader": None}
    # Read with the account when the session loaded it (RetailAccountBackend.get_user);
    # otherwise counted only if a page shows it.
    unread = getattr(user, "inbox_unread", None)
    if unread is not None:
        return {"reader": user, "inbox_unread": CappedCount(unread, UNREAD_SHOWN)}
    return {
        "reader": user,
        "inbox_unread": SimpleLazyObject(lambda: inbox_unread_count(account=user)),
    }
