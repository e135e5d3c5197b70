"""The barrier's two locks, kept in step.

An application is published to retail (apps.publication) only while (1) the retail group
holds the guardian object permission `view_application` on it and (2) its masking is
verified for its current version. Services change both, and write the publication's
replication message, in one transaction; `barrier_check` (apps/applications/barrier.py)
finds and repairs any disagreement (it should never find one).
"""

from __future__ import annotations

from functools import cache, partial

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, router
from django.db.models import QuerySet

from apps.accounts.models import Role, RoleCode, User
from apps.audit.models import AuditAction
from apps.audit.services import Entry, audit_record
from apps.core.statements import Rider

from . import publishing
from .models import (
    Application,
    ApplicationGroupObjectPermission,
)

VIEW_PERM = "view_application"


def retail_group() -> Group:
    return Role.objects.select_related("group").get(code=RoleCode.RETAIL).group


@cache
def _grant_sql(vendor: str) -> str:
    """INSERT … SELECT of the retail group's view permission on one application, doing
    nothing when the row exists (the unique group/permission/object constraint). Both
    vendors accept `ON CONFLICT DO NOTHING` after a SELECT with a WHERE clause."""
    qn = connections[router.db_for_write(ApplicationGroupObjectPermission)].ops.quote_name
    grant, role = ApplicationGroupObjectPermission._meta.db_table, Role._meta.db_table
    permission, content_type = Permission._meta.db_table, ContentType._meta.db_table
    # Only table and column names go into the text, quoted; every value is a parameter.
    return (
        f"INSERT INTO {qn(grant)} ({qn('group_id')}, {qn('permission_id')}, "  # noqa: S608
        f"{qn('content_object_id')}) SELECT r.{qn('group_id')}, p.{qn('id')}, %s "
        f"FROM {qn(role)} r, {qn(permission)} p INNER JOIN {qn(content_type)} c "
        f"ON p.{qn('content_type_id')} = c.{qn('id')} WHERE r.{qn('code')} = %s "
        f"AND p.{qn('codename')} = %s AND c.{qn('app_label')} = %s ON CONFLICT DO NOTHING"
    )


def _retail_view_rows(application: Application) -> QuerySet[ApplicationGroupObjectPermission]:
    return ApplicationGroupObjectPermission.objects.filter(
        group__role__code=RoleCode.RETAIL,
        permission__codename=VIEW_PERM,
        permission__content_type__app_label=Application._meta.app_label,
        content_object=application,
    )


def grant_rider(application: Application) -> tuple[Rider, Entry]:
    """The row guardian's `assign_perm` would write, as one INSERT … SELECT that reads
    the group's and the permission's ids itself, instead of its seven statements, and
    its audit entry: the caller's audit statement writes both (the grant is on every
    verification's path). Nothing inserted means the row was there already or the retail
    role or permission is missing: only then is it read, once written, and refused if
    missing (the caller's transaction then rolls back)."""
    rider = Rider(
        _grant_sql(connections[router.db_for_write(ApplicationGroupObjectPermission)].vendor),
        [application.pk, RoleCode.RETAIL.value, VIEW_PERM, Application._meta.app_label],
        counted=True,
        then=partial(_granted_or_refused, application=application),
    )
    entry = Entry(
        action=AuditAction.PERMISSION_GRANTED,
        obj=application,
        details={"permission": VIEW_PERM, "group": RoleCode.RETAIL, "version": application.version},
    )
    return rider, entry


def _granted_or_refused(rider: Rider, *, application: Application) -> None:
    """Once the grant's rider is written: nothing written and no grant there means the
    retail role or its permission is missing."""
    if rider.written != 1 and not _retail_view_rows(application).exists():
        raise ImproperlyConfigured("The retail role or its view_application permission is missing.")


def withdraw_retail_view(application: Application, *, actor: User | None) -> bool:
    """Withdraws the publication with the grant, whether or not the grant was still there:
    no path can take the permission away and leave retail reading the row. An application
    never verified was never published: it sends no withdrawal unless it held a grant."""
    removed, _ = _retail_view_rows(application).delete()
    if removed or application.verified_at is not None:
        publishing.withdraw(application.pk)
    if not removed:
        return False
    audit_record(
        actor=actor,
        action=AuditAction.PERMISSION_REVOKED,
        obj=application,
        details={"permission": VIEW_PERM, "group": RoleCode.RETAIL, "version": application.version},
    )
    return True
