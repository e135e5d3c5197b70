"""After every migration, each role's group holds exactly the permissions of its table."""

from __future__ import annotations

import pytest

from apps.accounts.models import Role
from apps.accounts.roles import ROLE_PERMISSIONS

pytestmark = pytest.mark.django_db


def test_every_role_holds_exactly_its_permissions_after_the_migrations():
    held = {
        role.code: sorted(
            f"{p.content_type.app_label}.{p.codename}"
            for p in role.group.permissions.select_related("content_type")
        )
        for role in Role.objects.select_related("group")
    }

    assert held == {str(code): sorted(perms) for code, perms in ROLE_PERMISSIONS.items()}
