"""A person's permissions in one statement instead of Django's two.

Django's ModelBackend reads a user's own permissions and their groups' permissions with
one query each, the first time `has_perm` is asked of a user object; every request has
a new user object, so every page that checks a permission (each workflow action, the
review page, a vault read) paid both. `PermissionBackend` reads the same set in one
statement and keeps it where ModelBackend keeps its own (`_perm_cache`), so the
ModelBackend after it in AUTHENTICATION_BACKENDS answers from it without a query.

It signs nobody in (`authenticate` returns None): sign-in stays ModelBackend's, and so
does the backend path each session stores, so deploying it ends no session. It loads a
session's user as ModelBackend does (Django's test client signs in with the first
backend that can). Its answers are ModelBackend's (a test compares them): nothing for
an inactive or anonymous user or for an object, every permission for a superuser, the
user's own and their groups' otherwise.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db import connections, router
from django.db.models import Q

from apps.core.statements import Slots, Statement, compile_statement

from .models import User


def permission_strings(user: User) -> set[str]:
    """ "app_label.codename" of every permission `user` has, in one statement: for a
    superuser every permission; for anyone else a statement built once per process
    (apps.core.statements), as building it through the ORM on every request that checks
    a permission cost more than running it."""
    if user.is_superuser:
        permissions = Permission.objects.values_list("content_type__app_label", "codename")
        return {f"{app_label}.{codename}" for app_label, codename in permissions}
    alias = router.db_for_read(Permission)
    connection = connections[alias]
    statement = permissions_of(alias)
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, statement.params(connection, {"user": user.pk}))
        return {f"{app_label}.{codename}" for app_label, codename in cursor.fetchall()}


def remember_permissions(user: User, found: set[str]) -> None:
    """Keeps `found`, the person's permissions as `permission_strings` reads them but read
    by another statement (apps.web.access.who reads them with who the person is), where
    this backend and ModelBackend look first: a `has_perm` later in the same request asks
    no query. Not for a superuser, who holds every permission (`permission_strings`)."""
    if not user.is_superuser:
        user._perm_cache = found  # type: ignore[attr-defined]


@cache
def permissions_of(alias: str) -> Statement:
    """The user's own permissions and their groups' (app label, codename), by the user's
    id (slot "user")."""
    slots = Slots()
    someone = slots.id("user")
    own = User.user_permissions.through.objects.filter(user_id=someone).values("permission")
    groups = Group.permissions.through.objects.filter(group__user=someone).values("permission")
    permissions = Permission.objects.filter(Q(pk__in=own) | Q(pk__in=groups)).values_list(
        "content_type__app_label", "codename"
    )
    statement, _compiler = compile_statement(permissions, slots, alias)
    return statement


class PermissionBackend(ModelBackend):
    def authenticate(
        self, request: Any, username: Any = None, password: Any = None, **kwargs: Any
    ) -> User | None:
        return None  # sign-in is ModelBackend's (see the module docstring)

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        # ModelBackend's own cache: it answers from it too.
        if not hasattr(user_obj, "_perm_cache"):
            user_obj._perm_cache = permission_strings(user_obj)
        cached: set[str] = user_obj._perm_cache
        return cached
