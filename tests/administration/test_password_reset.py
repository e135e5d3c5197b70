"""Another user's password changes only with two administrators; a user's own change is
audited. The temporary password reaches the approving administrator once and nowhere else."""

from __future__ import annotations

import json
import logging

import pytest
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from apps.accounts.models import PasswordResetRequest, PasswordResetStatus, User
from apps.administration.password_reset import (
    NOTICE_KIND,
    user_change_own_password,
    user_decide_password_reset,
    user_propose_password_reset,
)
from apps.audit.models import AuditAction, AuditEvent
from apps.core.errors import FourEyesViolation, NotAllowed, WrongState
from apps.notifications.models import InboxEntry, OutboxMessage
from apps.notifications.services import relay_due
from tests.conftest import PASSWORD, _person, _superuser_outside_admin

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])

RESET_ACTIONS = {
    AuditAction.PASSWORD_RESET_PROPOSED,
    AuditAction.PASSWORD_RESET_APPROVED,
    AuditAction.PASSWORD_RESET_REJECTED,
    AuditAction.PASSWORD_RESET_APPLIED,
}


@pytest.fixture
def root(db):
    return _person("root", "admin", "administrator", is_superuser=True)


def _propose(by: User, target: User, reason: str = "パスワード失念") -> PasswordResetRequest:
    return user_propose_password_reset(acting_user=by, user_id=target.pk, reason=reason)


def _actions(user: User) -> list[str]:
    return [
        a
        for a in AuditEvent.objects.for_object(user).values_list("action", flat=True)
        if a in RESET_ACTIONS
    ]


def test_a_reset_needs_a_second_administrator(administrator, administrator2, clerk):
    request = _propose(administrator, clerk)

    with pytest.raises(FourEyesViolation):
        user_decide_password_reset(acting_user=administrator, request_id=request.pk, approve=True)
    clerk.refresh_from_db()
    assert clerk.check_password(PASSWORD)
    assert clerk.must_change_password is False

    decision = user_decide_password_reset(
        acting_user=administrator2, request_id=request.pk, approve=True
    )

    clerk.refresh_from_db()
    assert decision.temporary_password
    assert clerk.check_password(decision.temporary_password)
    assert not clerk.check_password(PASSWORD)
    assert clerk.must_change_password is True
    assert decision.request.status == PasswordResetStatus.APPROVED
    assert decision.request.decided_by == administrator2


def test_a_superuser_cannot_approve_their_own_proposal(root, clerk):
    request = _propose(root, clerk)

    with pytest.raises(FourEyesViolation):
        user_decide_password_reset(acting_user=root, request_id=request.pk, approve=True)

    clerk.refresh_from_db()
    assert clerk.check_password(PASSWORD)
    assert PasswordResetRequest.objects.get(pk=request.pk).status == PasswordResetStatus.PENDING


def test_the_user_whose_password_it_is_cannot_decide_on_it(administrator, administrator2):
    request = _propose(administrator, administrator2)

    with pytest.raises(FourEyesViolation):
        user_decide_password_reset(acting_user=administrator2, request_id=request.pk, approve=True)

    administrator2.refresh_from_db()
    assert administrator2.check_password(PASSWORD)


def test_an_administrator_cannot_propose_a_reset_of_their_own_password(administrator, root):
    with pytest.raises(FourEyesViolation):
        _propose(administrator, administrator)
    with pytest.raises(FourEyesViolation):
        _propose(root, root)

    assert not PasswordResetRequest.objects.exists()


def test_people_outside_administration_can_neither_propose_nor_decide(
    administrator, supervisor, clerk, auditor
):
    outside_root = _superuser_outside_admin("td_root", "td", "supervisor")
    for person in (supervisor, auditor, outside_root):
        with pytest.raises(NotAllowed):
            _propose(person, clerk)

    request = _propose(administrator, clerk)
    for person in (supervisor, auditor, outside_root):
        with pytest.raises(NotAllowed):
            user_decide_password_reset(acting_user=person, request_id=request.pk, approve=True)

    clerk.refresh_from_db()
    assert clerk.check_password(PASSWORD)


def test_approval_ends_every_session_of_the_user(administrator, administrator2, clerk):
    browser = Client()
    browser.force_login(clerk)
    assert browser.get(reverse("home")).status_code == 200
    request = _propose(administrator, clerk)

    user_decide_password_reset(acting_user=administrator2, request_id=request.pk, approve=True)

    assert [
        s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(clerk.pk)
    ] == []
    response = browser.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_user_is_told_in_the_inbox_without_the_password(administrator, administrator2):
    staff = _person(
        "clerk_canary", "td", "clerk", first_name="カナリア", email="canary-staff@example.invalid"
    )
    request = _propose(administrator, staff)
    decision = user_decide_password_reset(
        acting_user=administrator2, request_id=request.pk, approve=True
    )

    relay_due()

    assert decision.temporary_password is not None
    entry = InboxEntry.objects.select_related("message").get(user=staff)
    message = entry.message
    assert message.kind == NOTICE_KIND
    assert "パスワード" in message.subject
    text = message.subject + message.body
    assert str(request.pk) in message.body
    for secret in (decision.temporary_password, "カナリア", "canary-staff", staff.username):
        assert secret not in text
    assert OutboxMessage.objects.filter(recipient=staff).count() == 1


def test_every_step_is_an_audit_event_with_ids_and_the_reason_only(
    administrator, administrator2, clerk, caplog
):
    caplog.set_level(logging.DEBUG)
    request = _propose(administrator, clerk, reason="本人から失念の申告")

    decision = user_decide_password_reset(
        acting_user=administrator2, request_id=request.pk, approve=True
    )

    assert _actions(clerk) == [
        AuditAction.PASSWORD_RESET_PROPOSED,
        AuditAction.PASSWORD_RESET_APPROVED,
        AuditAction.PASSWORD_RESET_APPLIED,
    ]
    proposed, approved, applied = (
        AuditEvent.objects.for_object(clerk).filter(action=a).get()
        for a in (
            AuditAction.PASSWORD_RESET_PROPOSED,
            AuditAction.PASSWORD_RESET_APPROVED,
            AuditAction.PASSWORD_RESET_APPLIED,
        )
    )
    assert (proposed.actor, proposed.reason, proposed.details) == (
        administrator,
        "本人から失念の申告",
        {"request": request.pk},
    )
    assert approved.actor == administrator2
    assert approved.details == {"request": request.pk, "proposed_by": administrator.pk}
    assert applied.actor == administrator2
    assert sorted(applied.changed_fields) == ["must_change_password", "password"]
    # The temporary password is nowhere but in the decision handed back.
    secret = decision.temporary_password
    assert secret
    everything = json.dumps(list(AuditEvent.objects.values()), default=str, ensure_ascii=False)
    everything += json.dumps(list(OutboxMessage.objects.values()), default=str)
    everything += json.dumps(list(PasswordResetRequest.objects.values()), default=str)
    everything += json.dumps(list(User.objects.values()), default=str)
    assert secret not in everything
    assert secret not in caplog.text
    assert secret not in repr(decision)


def test_a_rejected_reset_changes_nothing_and_cannot_be_approved_later(
    administrator, administrator2, clerk
):
    request = _propose(administrator, clerk)

    decision = user_decide_password_reset(
        acting_user=administrator2, request_id=request.pk, approve=False
    )

    clerk.refresh_from_db()
    assert decision.temporary_password is None
    assert clerk.check_password(PASSWORD)
    assert clerk.must_change_password is False
    assert _actions(clerk) == [
        AuditAction.PASSWORD_RESET_PROPOSED,
        AuditAction.PASSWORD_RESET_REJECTED,
    ]
    assert not OutboxMessage.objects.filter(recipient=clerk).exists()
    with pytest.raises(WrongState):
        user_decide_password_reset(acting_user=administrator2, request_id=request.pk, approve=True)


def test_only_one_pending_reset_per_user(administrator, administrator2, clerk):
    _propose(administrator, clerk)

    with pytest.raises(WrongState):
        _propose(administrator2, clerk)


def test_a_reset_needs_a_reason(administrator, clerk):
    with pytest.raises(ValidationError) as refused:
        _propose(administrator, clerk, reason="   ")

    assert "reason" in refused.value.message_dict
    assert not PasswordResetRequest.objects.exists()
    assert _actions(clerk) == []


def test_temporary_passwords_are_random_and_pass_the_validators(
    administrator, administrator2, clerk, clerk2
):
    secrets = []
    for user in (clerk, clerk2):
        request = _propose(administrator, user)
        decision = user_decide_password_reset(
            acting_user=administrator2, request_id=request.pk, approve=True
        )
        assert decision.temporary_password is not None
        validate_password(decision.temporary_password, user)
        secrets.append(decision.temporary_password)

    assert secrets[0] != secrets[1]
    assert all(len(s) >= 16 for s in secrets)


def test_the_database_refuses_a_decision_by_the_proposer(administrator, clerk):
    request = _propose(administrator, clerk)

    with pytest.raises(IntegrityError), transaction.atomic():
        PasswordResetRequest.objects.filter(pk=request.pk).update(
            status=PasswordResetStatus.APPROVED, decided_by=administrator
        )


def test_a_users_own_password_change_is_audited_and_clears_the_forced_change(
    administrator, administrator2, clerk
):
    request = _propose(administrator, clerk)
    temporary = user_decide_password_reset(
        acting_user=administrator2, request_id=request.pk, approve=True
    ).temporary_password
    assert temporary is not None

    user_change_own_password(
        acting_user=clerk, old_password=temporary, new_password="a brand new passphrase 7"
    )

    clerk.refresh_from_db()
    assert clerk.check_password("a brand new passphrase 7")
    assert clerk.must_change_password is False
    event = AuditEvent.objects.for_object(clerk).get(action=AuditAction.PASSWORD_CHANGED)
    assert (event.actor, event.details) == (clerk, {"after_reset": True})
    assert "brand new" not in json.dumps(list(AuditEvent.objects.values()), default=str)


def test_an_own_password_change_with_a_wrong_current_password_changes_nothing(clerk):
    with pytest.raises(ValidationError) as refused:
        user_change_own_password(
            acting_user=clerk, old_password="not it", new_password="a brand new passphrase 7"
        )

    assert "old_password" in refused.value.message_dict
    clerk.refresh_from_db()
    assert clerk.check_password(PASSWORD)
    assert not AuditEvent.objects.filter(action=AuditAction.PASSWORD_CHANGED).exists()


def test_the_new_password_must_differ_from_the_current_one(clerk):
    with pytest.raises(ValidationError) as refused:
        user_change_own_password(acting_user=clerk, old_password=PASSWORD, new_password=PASSWORD)

    assert "new_password2" in refused.value.message_dict
