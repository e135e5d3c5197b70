"""The barrier's two locks, kept in step.

Retail sees an application only when (1) the retail group holds the guardian object
permission `view_application` on it and (2) its masking is verified for its current
version. Services change both in one transaction; `barrier_check` finds and repairs any
disagreement (it should never find one).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.db import transaction
from guardian.shortcuts import assign_perm, remove_perm

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


def grant_retail_view(application: Application, *, actor: User | None) -> None:
    assign_perm(VIEW_PERM, retail_group(), application)
    audit_record(
        actor=actor,
        action=AuditAction.PERMISSION_GRANTED,
        obj=application,
        details={"permission": VIEW_PERM, "group": RoleCode.RETAIL, "version": application.version},
    )


def withdraw_retail_view(application: Application, *, actor: User | None) -> bool:
    group = retail_group()
    held = ApplicationGroupObjectPermission.objects.filter(
        group=group, content_object=application, permission__codename=VIEW_PERM
    ).exists()
    if not held:
        return False
    remove_perm(VIEW_PERM, group, application)
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
