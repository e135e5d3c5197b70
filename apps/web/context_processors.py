from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from apps.accounts.models import DivisionCode, RoleCode

from .access import persona


def signed_in(request: HttpRequest) -> dict[str, Any]:
    """The header on every page: who is signed in, in which division and role."""
    me = persona(request)
    if me.user is None:
        return {"me": None}
    return {
        "me": me,
        "me_division": DivisionCode(me.division).label if me.division else "",
        "me_roles": [RoleCode(code).label for code in sorted(me.roles)],
    }
