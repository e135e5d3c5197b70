"""Who may open a page: the user's division *now* and the roles that division allows.

Retail users get 404 for every page that is not theirs (they must not even learn what
exists on the T&D side); everyone else gets 403 for a page of another role.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from apps.accounts.models import ROLE_DIVISION, DivisionCode, RoleCode, User

View = TypeVar("View", bound=Callable[..., HttpResponseBase])


@dataclass(frozen=True)
class Persona:
    """The signed-in person as the pages see them: one division, its roles only."""

    user: User | None
    division: str | None
    roles: frozenset[str]

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_retail(self) -> bool:
        return self.division == DivisionCode.RETAIL


def persona(request: HttpRequest) -> Persona:
    cached = getattr(request, "_shadan_persona", None)
    if cached is not None:
        return cast(Persona, cached)
    user = request.user
    if isinstance(user, AnonymousUser) or not user.is_authenticated:
        found = Persona(None, None, frozenset())
    else:
        assert isinstance(user, User)
        division = user.division_at()
        # A role left over from another division counts for nothing.
        roles = frozenset(r for r in user.role_codes() if ROLE_DIVISION.get(r) == division)
        found = Persona(user, division, roles)
    request._shadan_persona = found  # type: ignore[attr-defined]
    return found


def acting_user(request: HttpRequest) -> User:
    """The signed-in person, for a view behind role_required (which let only them through)."""
    user = persona(request).user
    if user is None:
        raise PermissionDenied
    return user


def role_required(*roles: RoleCode) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            me = persona(request)
            if not me.has(*roles):
                if me.is_retail:
                    raise Http404
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return cast(View, wrapped)

    return decorator


def personal_data(view: View) -> View:
    """For every view that shows customers' personal data or takes it (or a free-text
    reason that might hold it) in a POST: the response must not be stored by the browser
    or a proxy (`Cache-Control: no-store`, so Back after sign-out shows nothing), and an
    error report must not copy the POST parameters (Django's SafeExceptionReporterFilter
    masks all of them)."""
    return never_cache(sensitive_post_parameters()(view))
