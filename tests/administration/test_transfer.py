"""人事異動: a transfer takes effect at once and leaves nothing of the old division behind."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.test import Client
from guardian.shortcuts import assign_perm

from apps.accounts.models import DivisionMembership, User
from apps.administration.services import (
    user_create,
    user_grant_role,
    user_revoke_role,
    user_transfer,
)
from apps.audit.models import AuditAction, AuditEvent
from apps.core.errors import NotAllowed
from tests.conftest import PASSWORD, advance

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def test_transfer_closes_the_old_membership_and_opens_the_new_one(administrator, supervisor):
    user_transfer(acting_user=administrator, user_id=supervisor.pk, to_division="retail")

    rows = list(DivisionMembership.objects.filter(user=supervisor).order_by("valid_from"))
    assert [r.division_id for r in rows] == ["td", "retail"]
    assert rows[0].valid_until == rows[1].valid_from
    assert rows[1].valid_until is None
    assert supervisor.division_at() == "retail"
    assert supervisor.division_at(rows[0].valid_from) == "td"


def test_transfer_removes_roles_and_object_permissions_of_the_old_division(
    administrator, new_application, clerk, supervisor
):
    app = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)
    assign_perm("view_application", supervisor, app)  # a per-user grant of the old division

    user_transfer(acting_user=administrator, user_id=supervisor.pk, to_division="retail")

    supervisor = User.objects.get(pk=supervisor.pk)
    assert supervisor.role_codes() == []
    assert not supervisor.has_perm("applications.verify_application")
    assert not supervisor.has_perm("applications.view_application", app)
    event = AuditEvent.objects.filter(action=AuditAction.USER_TRANSFERRED).get()
    assert event.details["roles_removed"] == ["supervisor"]
    assert event.details["object_permissions_revoked"] == 1
    assert (event.details["from_division"], event.details["to_division"]) == ("td", "retail")


def test_transfer_ends_every_session_of_the_user(administrator, construction):
    browser = Client()
    assert browser.login(username=construction.username, password=PASSWORD)
    assert Session.objects.count() == 1

    user_transfer(acting_user=administrator, user_id=construction.pk, to_division="audit")

    assert Session.objects.count() == 0
    # and a session that survived elsewhere would fail the auth-hash check anyway
    response = browser.get("/admin/")
    assert response.status_code == 302


def test_rotated_stamp_alone_invalidates_a_stored_session(administrator, construction):
    browser = Client()
    browser.login(username=construction.username, password=PASSWORD)
    old_hash = construction.get_session_auth_hash()

    user_transfer(acting_user=administrator, user_id=construction.pk, to_division="audit")

    assert User.objects.get(pk=construction.pk).get_session_auth_hash() != old_hash


def test_transfer_takes_away_superuser_powers_outside_administration(administrator):
    root = user_create(
        acting_user=None, username="root2", password=PASSWORD, division="admin", is_superuser=True
    )
    user_transfer(acting_user=administrator, user_id=root.pk, to_division="td")

    root = User.objects.get(pk=root.pk)
    assert not root.is_superuser and not root.is_staff


def test_a_role_of_another_division_is_refused(administrator, retail_user):
    with pytest.raises(NotAllowed):
        user_grant_role(acting_user=administrator, user_id=retail_user.pk, role="supervisor")
    assert retail_user.role_codes() == ["retail"]


def test_user_create_refuses_roles_outside_the_division():
    with pytest.raises(ValidationError) as refused:
        user_create(
            acting_user=None, username="x", password=PASSWORD, division="retail", roles=["clerk"]
        )
    assert "roles" in refused.value.message_dict
    assert not User.objects.filter(username="x").exists()


def test_only_administrators_manage_people(clerk, supervisor):
    with pytest.raises(NotAllowed):
        user_transfer(acting_user=clerk, user_id=supervisor.pk, to_division="retail")
    with pytest.raises(NotAllowed):
        user_revoke_role(acting_user=clerk, user_id=supervisor.pk, role="supervisor")


def test_grant_and_revoke_are_audited(administrator, clerk):
    user_grant_role(acting_user=administrator, user_id=clerk.pk, role="supervisor")
    user_revoke_role(acting_user=administrator, user_id=clerk.pk, role="clerk")

    assert clerk.role_codes() == ["supervisor"]
    actions = list(AuditEvent.objects.filter(actor=administrator).values_list("action", "details"))
    assert actions == [
        (AuditAction.ROLE_GRANTED, {"role": "supervisor", "division": "td"}),
        (AuditAction.ROLE_REVOKED, {"role": "clerk"}),
    ]


def test_retail_role_carries_no_model_permission(retail_user):
    assert not retail_user.has_perm("applications.view_application")
    assert not Permission.objects.filter(group__role__code="retail").exists()


# --- every kind of permission a person can hold -------------------------------------------


def _every_grant(user: User, application) -> dict[str, object]:
    """Each way Django and guardian can give this person a permission, read afresh."""
    from django.apps import apps as django_apps
    from guardian.core import ObjectPermissionChecker
    from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

    user = User.objects.get(pk=user.pk)  # no cached permissions
    per_user = per_group = 0
    for model in django_apps.get_models():
        if issubclass(model, UserObjectPermissionBase):
            per_user += model.objects.filter(user=user).count()
        if issubclass(model, GroupObjectPermissionBase):
            per_group += model.objects.filter(group__user=user).count()
    return {
        "groups": list(user.groups.values_list("name", flat=True)),
        "model permissions of the person": list(user.user_permissions.all()),
        "every model permission": user.get_all_permissions(),
        "object permissions of the person": per_user,
        "object permissions through groups": per_group,
        "object permissions on the application": ObjectPermissionChecker(user).get_perms(
            application
        ),
        "superuser": user.is_superuser,
        "staff": user.is_staff,
    }


NOTHING = {
    "groups": [],
    "model permissions of the person": [],
    "every model permission": set(),
    "object permissions of the person": 0,
    "object permissions through groups": 0,
    "object permissions on the application": [],
    "superuser": False,
    "staff": False,
}


def _grant_everything(user: User, application) -> None:
    """One grant of every kind, as an administrator could give them in the admin or the
    database: a direct model permission, per-user and per-group object permissions, and
    superuser status (which the services refuse outside administration)."""
    from django.contrib.auth.models import Group

    user.user_permissions.add(
        Permission.objects.get(
            content_type__app_label="applications", codename="verify_application"
        )
    )
    assign_perm("applications.view_application", user, application)
    side_group = Group.objects.create(name="side-channel")
    user.groups.add(side_group)
    assign_perm("applications.change_application", side_group, application)
    User.objects.filter(pk=user.pk).update(is_superuser=True, is_staff=True)


def test_transfer_leaves_no_permission_of_any_kind(
    administrator, new_application, clerk, supervisor
):
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    _grant_everything(supervisor, app)

    user_transfer(acting_user=administrator, user_id=supervisor.pk, to_division="retail")

    assert _every_grant(supervisor, app) == NOTHING


def test_a_direct_model_permission_does_not_come_back_with_a_return_to_td(
    administrator, new_application, clerk, supervisor
):
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    _grant_everything(supervisor, app)

    user_transfer(acting_user=administrator, user_id=supervisor.pk, to_division="retail")
    user_transfer(acting_user=administrator, user_id=supervisor.pk, to_division="td")

    assert _every_grant(supervisor, app) == NOTHING
    # Given the role again, the person holds exactly what the role gives, nothing from before.
    user_grant_role(acting_user=administrator, user_id=supervisor.pk, role="clerk")
    returned = User.objects.get(pk=supervisor.pk)
    role_perms = {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Permission.objects.filter(group__role__code="clerk").select_related("content_type")
    }
    assert returned.get_all_permissions() == role_perms
    assert not returned.has_perm("applications.verify_application")


def test_the_transfer_records_the_model_permissions_and_superuser_status_it_removed(
    administrator, new_application, clerk, supervisor
):
    app = advance(new_application(), "entered", clerk=clerk, supervisor=supervisor)
    _grant_everything(supervisor, app)

    user_transfer(acting_user=administrator, user_id=supervisor.pk, to_division="audit")

    event = AuditEvent.objects.filter(action=AuditAction.USER_TRANSFERRED).get()
    assert event.details["model_permissions_removed"] == ["applications.verify_application"]
    assert event.details["superuser_removed"] is True
    assert event.details["object_permissions_revoked"] == 1
    assert event.details["roles_removed"] == ["supervisor"]


def test_a_transfer_into_administration_gives_staff_but_never_superuser_status(
    administrator, clerk
):
    User.objects.filter(pk=clerk.pk).update(is_superuser=True)  # as a database edit could

    user_transfer(acting_user=administrator, user_id=clerk.pk, to_division="admin")

    arrived = User.objects.get(pk=clerk.pk)
    assert arrived.is_staff and not arrived.is_superuser
