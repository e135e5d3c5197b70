"""Creating a user without a password of one administrator's choosing, transferring with
the new roles in one step, and deactivating."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.test import Client

from apps.accounts.models import DivisionMembership, User
from apps.accounts.selectors import transfer_preview, user_rows
from apps.administration.password_reset import (
    user_decide_password_reset,
    user_propose_password_reset,
)
from apps.administration.services import user_create, user_deactivate, user_transfer
from apps.audit.models import AuditAction, AuditEvent
from apps.core.errors import NotAllowed, WrongState
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def _new_clerk(administrator: User, **extra) -> User:
    return user_create(
        acting_user=administrator,
        username="uketsuke_hanako",
        password=None,
        division="td",
        roles=["clerk"],
        first_name="花子",
        last_name="受付",
        email="hanako@example.invalid",
        **extra,
    )


# --- creation -----------------------------------------------------------------------------


def test_a_user_created_without_a_password_cannot_sign_in_until_two_administrators_reset_it(
    administrator, administrator2
):
    user = _new_clerk(administrator)

    assert not user.has_usable_password()
    assert user.must_change_password is True
    assert user.display_name == "受付 花子"
    created = AuditEvent.objects.filter(action=AuditAction.USER_CREATED, object_id=str(user.pk))
    assert created.get().details["usable_password"] is False

    request = user_propose_password_reset(
        acting_user=administrator, user_id=user.pk, reason="新規アカウント"
    )
    temporary = user_decide_password_reset(
        acting_user=administrator2, request_id=request.pk, approve=True
    ).temporary_password
    assert temporary is not None
    assert Client().login(username="uketsuke_hanako", password=temporary)


def test_a_role_of_another_division_is_refused_at_creation_and_nothing_is_stored(administrator):
    with pytest.raises(ValidationError) as refused:
        user_create(
            acting_user=administrator,
            username="kouri_taro",
            password=None,
            division="retail",
            roles=["clerk"],
        )

    assert "roles" in refused.value.error_dict
    assert not User.objects.filter(username="kouri_taro").exists()


def test_a_malformed_e_mail_is_refused_at_creation(administrator):
    with pytest.raises(ValidationError) as refused:
        _new_clerk_with_email(administrator, "not an address")

    assert "email" in refused.value.error_dict
    assert not User.objects.filter(username="uketsuke_hanako").exists()


def _new_clerk_with_email(administrator: User, email: str) -> User:
    return user_create(
        acting_user=administrator,
        username="uketsuke_hanako",
        password=None,
        division="td",
        email=email,
    )


def test_people_outside_administration_cannot_create_users(supervisor):
    with pytest.raises(NotAllowed):
        _new_clerk(supervisor)


def test_the_user_list_shows_division_and_roles_and_filters_by_division(
    administrator, clerk, retail_user
):
    rows = {row.user.username: row for row in user_rows()}
    td_only = [row.user.username for row in user_rows(division="td")]

    assert (rows["clerk_sato"].division, rows["clerk_sato"].roles) == ("td", ["clerk"])
    assert rows["kouri_watanabe"].division == "retail"
    assert td_only == ["clerk_sato"]


# --- transfer with the new roles ----------------------------------------------------------


def test_a_transfer_gives_the_new_divisions_roles_in_the_same_step(administrator, clerk):
    user_transfer(
        acting_user=administrator, user_id=clerk.pk, to_division="audit", roles=["auditor"]
    )

    moved = User.objects.get(pk=clerk.pk)
    assert moved.division_at() == "audit"
    assert moved.role_codes() == ["auditor"]
    event = AuditEvent.objects.filter(action=AuditAction.USER_TRANSFERRED).get()
    assert event.details["roles_granted"] == ["auditor"]
    assert event.details["roles_removed"] == ["clerk"]


def test_a_transfer_with_a_role_of_another_division_changes_nothing(administrator, clerk):
    with pytest.raises(ValidationError):
        user_transfer(
            acting_user=administrator, user_id=clerk.pk, to_division="audit", roles=["retail"]
        )

    assert clerk.division_at() == "td"
    assert clerk.role_codes() == ["clerk"]
    assert DivisionMembership.objects.filter(user=clerk).count() == 1


def test_the_transfer_preview_names_what_a_transfer_removes(administrator, supervisor):
    browser = Client()
    assert browser.login(username=supervisor.username, password=PASSWORD)

    preview = transfer_preview(supervisor)

    assert preview.roles == ["supervisor"]
    assert preview.sessions == 1
    assert preview.object_permissions == 0


# --- deactivation -------------------------------------------------------------------------


def test_deactivation_ends_every_session_refuses_sign_in_and_is_recorded(administrator, clerk):
    browser = Client()
    assert browser.login(username=clerk.username, password=PASSWORD)

    user_deactivate(acting_user=administrator, user_id=clerk.pk)

    assert Session.objects.count() == 0
    assert not Client().login(username=clerk.username, password=PASSWORD)
    event = AuditEvent.objects.filter(
        action=AuditAction.CONFIGURATION_CHANGED, object_id=str(clerk.pk)
    ).get()
    assert event.changed_fields == ["is_active"]
    assert event.actor_id == administrator.pk


def test_an_administrator_cannot_deactivate_themselves(administrator):
    with pytest.raises(NotAllowed):
        user_deactivate(acting_user=administrator, user_id=administrator.pk)

    assert User.objects.get(pk=administrator.pk).is_active


def test_deactivating_twice_is_refused(administrator, clerk):
    user_deactivate(acting_user=administrator, user_id=clerk.pk)

    with pytest.raises(WrongState):
        user_deactivate(acting_user=administrator, user_id=clerk.pk)


def test_people_outside_administration_cannot_deactivate(supervisor, clerk):
    with pytest.raises(NotAllowed):
        user_deactivate(acting_user=supervisor, user_id=clerk.pk)

    assert User.objects.get(pk=clerk.pk).is_active
