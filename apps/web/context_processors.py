from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from apps.accounts.models import DivisionCode, RoleCode
from apps.notifications.selectors import UNREAD_SHOWN

from .access import persona


class InboxBadge:
    """The unread count (read with the person's division and roles: apps.web.access.who);
    more than UNREAD_SHOWN shows as "99+"."""

    def __init__(self, unread: int) -> None:
        self.unread = unread

    @property
    def label(self) -> str:
        return f"{UNREAD_SHOWN}+" if self.unread > UNREAD_SHOWN else str(self.unread)


def signed_in(request: HttpRequest) -> dict[str, Any]:
    """The header on every page: who is signed in, in which division and role, and how
    many inbox messages they have not read (counted in the statement that reads who
    they are)."""
    me = persona(request)
    if me.user is None:
        return {"me": None}
    return {
        "me": me,
        "me_division": DivisionCode(me.division).label if me.division else "",
        "me_roles": [RoleCode(code).label for code in sorted(me.roles)],
        "inbox": InboxBadge(me.unread),
    }
