"""The one check every service makes before acting: the right division, now, and the
permission. Superusers pass has_perm, but not the division check: a superuser outside
T&D cannot do T&D work, and the four-eyes rules are checked separately."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from apps.core.errors import NotAllowed

from .models import DivisionCode, User
from .selectors import is_in_division


def require(user: User | None, perm: str, *, division: DivisionCode) -> User:
    if user is None or not user.is_authenticated or not user.is_active:
        raise NotAllowed(_("You must be signed in."))
    if not is_in_division(user, division):
        raise NotAllowed(
            _("Only members of the %(division)s division may do this.")
            % {"division": division.label}
        )
    if not user.has_perm(perm):
        raise NotAllowed()
    return user
