from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import cached_property

from apps.accounts.models import DivisionCode, RoleCode, User
from apps.notifications.selectors import UNREAD_SHOWN, unread_count

from .access import persona


class InboxBadge:
    """The unread count, counted on first use only (pages without the header pay nothing);
    more than UNREAD_SHOWN shows as "99+"."""

    def __init__(self, user: User, division: str | None) -> None:
        self._user = user
        self._division = division

    @cached_property
    def unread(self) -> int:
        return unread_count(self._user, self._division)

    @property
    def label(self) -> str:
        return f"{UNREAD_SHOWN}+" if self.unread > UNREAD_SHOWN else str(self.unread)


def signed_in(request: HttpRequest) -> dict[str, Any]:
    """The header on every page: who is signed in, in which division and role, and how
    many inbox messages they have not read (one COUNT, run only if a page shows it)."""
    me = persona(request)
    if me.user is None:
        return {"me": None}
    return {
        "me": me,
        "me_division": DivisionCode(me.division).label if me.division else "",
        "me_roles": [RoleCode(code).label for code in sorted(me.roles)],
        "inbox": InboxBadge(me.user, me.division),
    }
