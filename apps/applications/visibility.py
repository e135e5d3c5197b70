"""The barrier's two locks, kept in step.

An application is published to retail (apps.publication) only while (1) the retail group
holds the guardian object permission `view_application` on it and (2) its masking is
verified for its current version. Services change both, and write the publication's
replication message, in one transaction; `barrier_check` (apps/applications/barrier.py)
finds and repairs any disagreement (it should never find one).
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db.models import QuerySet, Subquery

from apps.accounts.models import Role, RoleCode, User
from apps.audit.models import AuditAction
from apps.audit.services import audit_record

from . import publishing
from .models import (
    Application,
    ApplicationGroupObjectPermission,
)

VIEW_PERM = "view_application"


def retail_group() -> Group:
    return Role.objects.select_related("group").get(code=RoleCode.RETAIL).group


def _retail_view_row() -> ApplicationGroupObjectPermission:
    """An unsaved row of the retail group's view permission (one query for both ids)."""
    view = Permission.objects.filter(
        codename=VIEW_PERM, content_type__app_label=Application._meta.app_label
    ).values("id")[:1]
    group_id, permission_id = (
        Role.objects.filter(code=RoleCode.RETAIL)
        .annotate(permission_id=Subquery(view))
        .values_list("group_id", "permission_id")
        .get()
    )
    return ApplicationGroupObjectPermission(group_id=group_id, permission_id=permission_id)


def _retail_view_rows(application: Application) -> QuerySet[ApplicationGroupObjectPermission]:
    return ApplicationGroupObjectPermission.objects.filter(
        group__role__code=RoleCode.RETAIL,
        permission__codename=VIEW_PERM,
        permission__content_type__app_label=Application._meta.app_label,
        content_object=application,
    )


def grant_retail_view(application: Application, *, actor: User | None) -> None:
    """The row guardian's `assign_perm` would write, in one INSERT that does nothing when it
    exists (the unique group/permission/object constraint), instead of its seven
    statements: the grant is on every verification's path."""
    row = _retail_view_row()
    row.content_object = application
    ApplicationGroupObjectPermission.objects.bulk_create([row], ignore_conflicts=True)
    audit_record(
        actor=actor,
        action=AuditAction.PERMISSION_GRANTED,
        obj=application,
        details={"permission": VIEW_PERM, "group": RoleCode.RETAIL, "version": application.version},
    )


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
