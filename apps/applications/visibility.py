"""The barrier's two locks, kept in step.

Retail sees an application only when (1) the retail group holds the guardian object
permission `view_application` on it and (2) its masking is verified for its current
version. Services change both in one transaction; `barrier_check` finds and repairs any
disagreement (it should never find one).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import QuerySet, Subquery
from guardian.shortcuts import remove_perm

from apps.accounts.models import Role, RoleCode, User
from apps.audit.models import AuditAction
from apps.audit.services import audit_record

from .models import (
    Application,
    ApplicationGroupObjectPermission,
    ApplicationUserObjectPermission,
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
    removed, _ = _retail_view_rows(application).delete()
    if not removed:
        return False
    audit_record(
        actor=actor,
        action=AuditAction.PERMISSION_REVOKED,
        obj=application,
        details={"permission": VIEW_PERM, "group": RoleCode.RETAIL, "version": application.version},
    )
    return True


@dataclass(frozen=True)
class Disagreement:
    application_id: int
    permission_held: bool
    masking_verified: bool
    # Set when the stray permission was granted to one person instead of the group:
    # the product never does that, so such a row is always withdrawn.
    user_id: int | None = None


def barrier_check(*, repair: bool) -> list[Disagreement]:
    """Compare both locks for every application. A permission without verified masking is
    withdrawn; verified masking without a permission is reported (granting is a human
    decision and stays with the verify service); a per-person grant is always withdrawn."""
    group = retail_group()
    with_perm = set(
        ApplicationGroupObjectPermission.objects.filter(
            group=group, permission__codename=VIEW_PERM
        ).values_list("content_object_id", flat=True)
    )
    verified = set(Application.objects.retail_visible_state().values_list("id", flat=True))
    found = [
        Disagreement(pk, permission_held=pk in with_perm, masking_verified=pk in verified)
        for pk in sorted(with_perm ^ verified)
    ]
    user_grants = ApplicationUserObjectPermission.objects.filter(
        permission__codename=VIEW_PERM
    ).values_list("content_object_id", "user_id")
    found += [
        Disagreement(pk, permission_held=True, masking_verified=pk in verified, user_id=user_id)
        for pk, user_id in user_grants
    ]
    if repair:
        for item in found:
            if item.user_id is not None:
                with transaction.atomic():
                    application = Application.objects.select_for_update().get(
                        pk=item.application_id
                    )
                    user = User.objects.get(pk=item.user_id)
                    remove_perm(VIEW_PERM, user, application)
                    audit_record(
                        actor=None,
                        action=AuditAction.PERMISSION_REVOKED,
                        obj=application,
                        details={
                            "permission": VIEW_PERM,
                            "user": item.user_id,
                            "why": "barrier_check",
                        },
                    )
            elif item.permission_held and not item.masking_verified:
                with transaction.atomic():
                    application = Application.objects.select_for_update().get(
                        pk=item.application_id
                    )
                    if not application.is_retail_visible:
                        withdraw_retail_view(application, actor=None)
    return found
