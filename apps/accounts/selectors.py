from __future__ import annotations

from django.contrib.auth.models import AnonymousUser

from .models import DivisionCode, Role, User


def is_in_division(user: User | AnonymousUser, division: DivisionCode) -> bool:
    """Asked at the moment of use: a transfer takes effect on the next request."""
    if not user.is_authenticated or not user.is_active:
        return False
    assert isinstance(user, User)
    return user.division_at() == division


def roles_of(user: User) -> list[Role]:
    return list(Role.objects.filter(group__user=user).select_related("division"))
