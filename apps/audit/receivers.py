"""Sign-in, sign-out and failed sign-in, from Django's auth signals; changes of group
membership and of permissions, from m2m_changed.

Signals rather than service calls because Django's own login and logout views (and the
admin's) emit them; no business logic hangs on them, only the record.

Group membership and model permissions can change outside the services: the admin's
group pages (a group's permissions), a shell, a future form. Every such change is
recorded here, whoever makes it: `user.groups_changed` for membership (next to the
services' own `user.role_granted`/`user.role_revoked`, which say why), and
`permission.granted`/`permission.revoked` for a group's or a user's permissions. The
actor is the signed-in user of the request being handled, else the system.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import models
from django.db.models.signals import m2m_changed
from django.dispatch import receiver
from django.http import HttpRequest

from apps.accounts.models import User

from .context import bound_request_context, current_request_context, request_context_from
from .models import AuditAction
from .services import audit_record

UNKNOWN_USERNAME = "(unknown)"
# What an m2m change records, once per owner whose set changed: (owner, "added" or
# "removed", the labels of what changed).
Record = Callable[[Any, str, list[str]], None]


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
    if not isinstance(user, User):  # a retail site account (tests serve it in-process)
        return
    with _request_context(request):
        audit_record(actor=user, action=AuditAction.LOGIN, obj=user, object_label=user.username)


@receiver(user_logged_out, dispatch_uid="audit.user_logged_out")
def record_logout(
    sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any
) -> None:
    if not isinstance(user, User):  # an anonymous visitor, or a retail site account
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


def _acting_user() -> User | None:
    context = current_request_context()
    user = context.user if context is not None else None
    if user is not None and user.is_authenticated and isinstance(user, User):
        return user
    return None


def _labels(model: type[models.Model], pks: set[Any]) -> list[str]:
    """Names safe for the trail: group names, permission codes, user names."""
    rows = model._default_manager.filter(pk__in=pks)
    if model is Permission:
        found = rows.values_list("content_type__app_label", "codename")
        return sorted(f"{app}.{code}" for app, code in found)
    field = "username" if model is User else "name"
    return sorted(rows.values_list(field, flat=True))


def _m2m_change(
    *,
    instance: models.Model,
    action: str,
    reverse: bool,
    model: type[models.Model],
    pk_set: set[Any] | None,
    owner: type[models.Model],
    record: Record,
) -> None:
    """Turn one m2m_changed into one event per owner (the user or group whose set
    changed): `record(owner_obj, change, labels)`. A clear is seen before it happens
    (pre_clear) to know what it removes, and recorded after (post_clear)."""
    if action == "pre_clear":
        related = getattr(instance, "_audit_m2m_clearing", {})
        if reverse:  # e.g. group.user_set.clear(): every user loses this group
            accessor = {f.related_model: f.name for f in model._meta.many_to_many}
            owners = model._default_manager.filter(**{accessor[type(instance)]: instance})
            related[model] = set(owners.values_list("pk", flat=True))
        else:
            field = next(f for f in owner._meta.many_to_many if f.related_model is model)
            related[model] = set(getattr(instance, field.name).values_list("pk", flat=True))
        instance._audit_m2m_clearing = related  # type: ignore[attr-defined]
        return
    if action == "post_clear":
        pk_set = getattr(instance, "_audit_m2m_clearing", {}).pop(model, set())
        change = "removed"
    elif action in ("post_add", "post_remove"):
        change = "added" if action == "post_add" else "removed"
    else:
        return
    if not pk_set:
        return
    if reverse:  # instance is the related object; each owner in pk_set changed
        label = _labels(type(instance), {instance.pk})
        for owner_obj in owner._default_manager.filter(pk__in=pk_set):
            record(owner_obj, change, label)
    else:
        record(instance, change, _labels(model, pk_set))


def _m2m_receiver(owner: type[models.Model], record: Record) -> Callable[..., None]:
    """An m2m_changed receiver for `owner`'s set (a user's groups or permissions, a
    group's permissions): each change becomes `record(owner_obj, change, labels)`."""

    def receive(
        sender: Any,
        instance: models.Model,
        action: str,
        reverse: bool,
        model: type[models.Model],
        pk_set: set[Any] | None,
        **kwargs: Any,
    ) -> None:
        _m2m_change(
            instance=instance,
            action=action,
            reverse=reverse,
            model=model,
            pk_set=pk_set,
            owner=owner,
            record=record,
        )

    return receive


def _record_groups(user: User, change: str, groups: list[str]) -> None:
    audit_record(
        actor=_acting_user(),
        action=AuditAction.GROUPS_CHANGED,
        obj=user,
        object_label=user.username,
        details={change: groups},
    )


def _record_permissions(holder: models.Model, change: str, permissions: list[str]) -> None:
    audit_record(
        actor=_acting_user(),
        action=AuditAction.PERMISSION_GRANTED
        if change == "added"
        else AuditAction.PERMISSION_REVOKED,
        obj=holder,
        object_label=str(holder)[:64],
        details={"permissions": permissions, "holder": holder._meta.model_name},
    )


record_group_membership = _m2m_receiver(User, _record_groups)
m2m_changed.connect(
    record_group_membership,
    sender=User.groups.through,
    dispatch_uid="audit.user_groups_changed",
)
record_group_permissions = _m2m_receiver(Group, _record_permissions)
record_user_permissions = _m2m_receiver(User, _record_permissions)
m2m_changed.connect(
    record_group_permissions,
    sender=Group.permissions.through,
    dispatch_uid="audit.group_permissions_changed",
)
m2m_changed.connect(
    record_user_permissions,
    sender=User.user_permissions.through,
    dispatch_uid="audit.user_permissions_changed",
)
