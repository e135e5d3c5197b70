"""The permissions each role carries. Applied by data migrations through sync_roles(),
so changing this table means adding a migration that calls sync_roles() again."""

from __future__ import annotations

from typing import Any

from .models import ROLE_DIVISION, RoleCode

ROLE_PERMISSIONS: dict[str, list[str]] = {
    RoleCode.CLERK: [
        "applications.view_application",
        "applications.add_application",
        "applications.change_application",
        "applications.submit_application",
        "applications.encode_application",
        "applications.reveal_customer",
        "retailers.view_retailer",
    ],
    RoleCode.SUPERVISOR: [
        "applications.view_application",
        "applications.verify_application",
        "applications.return_application",
        "applications.release_application",
        "applications.cancel_application",
        "applications.reveal_customer",
        "retailers.view_retailer",
    ],
    RoleCode.CONSTRUCTION: [
        "applications.view_application",
        "applications.record_construction",
        "applications.reveal_customer",
        "retailers.view_retailer",
    ],
    # Retail gets nothing model-wide: what it may see is granted per application as a
    # django-guardian object permission, and only once the masking is verified.
    RoleCode.RETAIL: [],
    RoleCode.AUDITOR: [
        "audit.view_auditevent",
        "access_review.view_reviewitem",
        "access_review.review_reviewitem",
    ],
    RoleCode.ADMINISTRATOR: [
        "accounts.view_user",
        "accounts.add_user",
        "accounts.change_user",
        "accounts.view_division",
        "accounts.change_division",
        "accounts.view_divisionmembership",
        "accounts.view_passwordresetrequest",
        "accounts.propose_password_reset",
        "accounts.decide_password_reset",
        "retailers.view_retailer",
        "retailers.add_retailer",
        "retailers.change_retailer",
        "retailers.propose_affiliation",
        "retailers.decide_affiliation",
    ],
}


def _has_models(apps: Any, app_label: str) -> bool:
    try:
        return bool(list(apps.get_app_config(app_label).get_models()))
    except LookupError:
        return False


def sync_roles(apps: Any, schema_editor: Any = None) -> None:
    """Create the divisions, one Group per role, and set each group's permissions exactly."""
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations; roles need them now.
    for app_config in apps.get_app_configs():
        original = getattr(app_config, "models_module", None)
        app_config.models_module = original or True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = original

    Division = apps.get_model("accounts", "Division")
    Role = apps.get_model("accounts", "Role")
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    for code in {str(d) for d in ROLE_DIVISION.values()}:
        Division.objects.get_or_create(code=code)
    for role_code, division_code in ROLE_DIVISION.items():
        group, _ = Group.objects.get_or_create(name=f"shadan:{role_code}")
        Role.objects.update_or_create(
            code=str(role_code), defaults={"group": group, "division_id": str(division_code)}
        )
        wanted = []
        for dotted in ROLE_PERMISSIONS[role_code]:
            app_label, codename = dotted.split(".")
            if not _has_models(apps, app_label):
                # An app whose first migration has not run yet at this point of the
                # migration graph: its own later migration calls sync_roles() again.
                continue
            found = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if found is None:
                # A model a later migration of the app creates (e.g. accounts 0003's
                # password reset requests); that migration calls sync_roles() again, and
                # tests/accounts/test_roles.py checks the end state is complete.
                continue
            wanted.append(found)
        group.permissions.set(wanted)
