"""Group membership and permission changes are recorded however they are made: through
the admin's group pages, the administrators' user page, or code that bypasses the
services."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import models
from django.urls import reverse

from apps.accounts.models import User
from apps.audit.models import AuditAction, AuditEvent
from tests.conftest import _person

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


@pytest.fixture
def root(db):
    return _person("root", "admin", "administrator", is_superuser=True)


def _perm(dotted: str) -> Permission:
    app_label, codename = dotted.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def _events(action: str, obj: models.Model) -> list[AuditEvent]:
    return list(AuditEvent.objects.for_object(obj).filter(action=action).order_by("id"))


def test_a_groups_permissions_changed_in_the_admin_are_recorded_with_the_admin(client, root):
    group = Group.objects.get(name="shadan:retail")
    client.force_login(root)
    url = reverse("admin:auth_group_change", args=[group.pk])

    added = _perm("applications.view_application")
    response = client.post(url, {"name": group.name, "permissions": [str(added.pk)]})
    assert response.status_code == 302
    client.post(url, {"name": group.name, "permissions": []})

    granted = _events(AuditAction.PERMISSION_GRANTED, group)
    revoked = _events(AuditAction.PERMISSION_REVOKED, group)
    assert [e.details for e in granted] == [
        {"permissions": ["applications.view_application"], "holder": "group"}
    ]
    assert [e.details for e in revoked] == [
        {"permissions": ["applications.view_application"], "holder": "group"}
    ]
    for event in granted + revoked:
        assert event.actor_id == root.pk
        assert event.object_label == "shadan:retail"
        assert event.request_id  # written while the admin's request was handled


def test_roles_changed_on_the_administrators_user_page_record_the_membership_too(
    client, root, clerk
):
    client.force_login(root)

    client.post(reverse("admin-user", args=[clerk.pk]), {"roles": ["clerk", "supervisor"]})

    role = _events(AuditAction.ROLE_GRANTED, clerk)[-1]
    membership = _events(AuditAction.GROUPS_CHANGED, clerk)[-1]
    assert role.details["role"] == "supervisor"
    assert membership.details == {"added": ["shadan:supervisor"]}
    assert membership.actor_id == role.actor_id == root.pk


def test_membership_changed_behind_the_services_back_is_recorded(clerk):
    supervisors = Group.objects.get(name="shadan:supervisor")
    before = len(_events(AuditAction.GROUPS_CHANGED, clerk))

    clerk.groups.add(supervisors)
    clerk.groups.add(supervisors)  # already a member: nothing changes, nothing recorded
    supervisors.user_set.remove(clerk)  # from the other side
    clerk.groups.clear()

    changes = [e.details for e in _events(AuditAction.GROUPS_CHANGED, clerk)[before:]]
    assert changes == [
        {"added": ["shadan:supervisor"]},
        {"removed": ["shadan:supervisor"]},
        {"removed": ["shadan:clerk"]},
    ]
    last = _events(AuditAction.GROUPS_CHANGED, clerk)[-1]
    assert (last.actor_id, last.actor_username) == (None, "system")  # no request: the system


def test_clearing_a_group_records_every_member_who_left(clerk, clerk2):
    clerks = Group.objects.get(name="shadan:clerk")

    clerks.user_set.clear()

    for user in (clerk, clerk2):
        assert _events(AuditAction.GROUPS_CHANGED, user)[-1].details == {
            "removed": ["shadan:clerk"]
        }


def test_a_users_own_permissions_are_recorded(clerk):
    perm = _perm("applications.view_application")

    clerk.user_permissions.add(perm)
    perm.user_set.remove(clerk)

    [granted] = _events(AuditAction.PERMISSION_GRANTED, clerk)
    [revoked] = _events(AuditAction.PERMISSION_REVOKED, clerk)
    assert granted.details == {"permissions": ["applications.view_application"], "holder": "user"}
    assert revoked.details == granted.details
    assert User.objects.get(pk=clerk.pk).user_permissions.count() == 0
