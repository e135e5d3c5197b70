"""Who may open a page: the user's division *now* and the roles that division allows.

Retail users get 404 for every page that is not theirs (they must not even learn what
exists on the T&D side); everyone else gets 403 for a page of another role.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, wraps
from typing import Any, TypeVar, cast

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import connections, router
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from apps.accounts.backends import permissions_of, remember_permissions
from apps.accounts.models import (
    ROLE_DIVISION,
    DivisionCode,
    DivisionMembership,
    RoleCode,
    User,
)
from apps.accounts.sql import division_at_sql, role_codes_sql
from apps.core.prepared import prepared_cursor
from apps.core.statements import Statement
from apps.notifications.models import InboxEntry
from apps.notifications.selectors import UNREAD_SHOWN

View = TypeVar("View", bound=Callable[..., HttpResponseBase])


@dataclass(frozen=True)
class Persona:
    """The signed-in person as the pages see them: one division, its roles only."""

    user: User | None
    division: str | None
    roles: frozenset[str]
    # Unread inbox entries of the current division, counted up to UNREAD_SHOWN + 1.
    unread: int = 0

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_retail(self) -> bool:
        return self.division == DivisionCode.RETAIL


@cache
def _who_sql(quote: str) -> str:
    """One statement for who the person is now: what `User.division_at()` and
    `User.role_codes()` answer, and what `notifications.selectors.unread_count` answers
    for that division. The division of the membership valid now (first by valid_from)
    and the unread count on every row, beside each role code of the user's groups (one
    row with no code when there is none). Parameters: user id, now, now, user id, user id.

    Every page asks who the person is *now* (a transfer or a role taken away counts at
    the next request, nothing is cached between requests); as three ORM queries that was
    about a seventh of a list page's time (issue 17), most of it building the querysets.
    Built once per process from the models' metadata; the values are parameters."""

    def qn(name: str) -> str:
        return f"{quote}{name}{quote}"

    code, joined = role_codes_sql(quote)
    inbox = InboxEntry._meta
    i_user = qn(inbox.get_field("user").column)
    i_division = qn(inbox.get_field("division").column)
    i_read = qn(inbox.get_field("read_at").column)
    # The count reads at most UNREAD_SHOWN + 1 entries of the (user, division, read_at)
    # index, however many thousands someone leaves unread.
    unread = (
        f"(SELECT COUNT(*) FROM (SELECT 1 FROM {qn(inbox.db_table)} i"  # noqa: S608
        f" WHERE i.{i_user} = %s AND i.{i_division} = d.division AND i.{i_read} IS NULL"
        f" LIMIT {int(UNREAD_SHOWN) + 1}) u)"
    )
    return (
        f"SELECT d.division, c.code, {unread}, NULL FROM"  # noqa: S608
        f" (SELECT ({division_at_sql(quote)}) AS division) d"
        f" LEFT JOIN (SELECT {code} AS code {joined}) c ON 1 = 1"
    )


@cache
def _who_statement(alias: str) -> tuple[str, Statement]:
    """`_who_sql`, then one row for each permission the person holds ("app_label.codename"
    in the fourth column, the others empty): what `permission_strings` reads, in the same
    round trip, so a page that acts (the review page, every workflow POST) asks no query
    for its permission check. The text and the permissions' statement, whose parameters
    follow `_who_sql`'s."""
    qn = connections[alias].ops.quote_name
    permissions = permissions_of(alias)
    # The columns as `permissions_of`'s values_list names them.
    app_label, codename = qn("content_type__app_label"), qn("codename")
    sql = (
        f"{_who_sql(qn('x')[0])} UNION ALL SELECT NULL, NULL, NULL,"  # noqa: S608
        f" p.{app_label} || '.' || p.{codename} FROM ({permissions.sql}) p"
    )
    return sql, permissions


@dataclass(frozen=True)
class Who:
    division: str | None
    role_codes: list[str]  # sorted, every division's
    unread: int
    # What `permission_strings` answers (for a superuser only the ones held explicitly).
    permissions: frozenset[str]


def who(user: User) -> Who:
    """(`user.division_at()`, `user.role_codes()`, the unread count, the permissions) in
    one round trip."""
    connection = connections[router.db_for_read(DivisionMembership)]
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    sql, permissions = _who_statement(connection.alias)
    params = [user.pk, user.pk, now, now, user.pk]
    params += permissions.params(connection, {"user": user.pk})
    # Prepared on PostgreSQL: planning it cost five times running it.
    with prepared_cursor(connection) as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    held = frozenset(permission for *_who, permission in rows if permission is not None)
    rows = [row for row in rows if row[3] is None]
    if not rows:
        return Who(None, [], 0, held)
    division, _code, unread, _permission = rows[0]
    return Who(
        division,
        sorted(code for _division, code, _unread, _permission in rows if code is not None),
        int(unread) if division is not None else 0,
        held,
    )


def persona(request: HttpRequest) -> Persona:
    cached = getattr(request, "_shadan_persona", None)
    if cached is not None:
        return cast(Persona, cached)
    user = request.user
    if isinstance(user, AnonymousUser) or not user.is_authenticated:
        found = Persona(None, None, frozenset())
    else:
        assert isinstance(user, User)
        found_now = who(user)
        remember_permissions(user, set(found_now.permissions))
        division = found_now.division
        # A role left over from another division counts for nothing.
        roles = frozenset(r for r in found_now.role_codes if ROLE_DIVISION.get(r) == division)
        found = Persona(user, division, roles, found_now.unread)
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
