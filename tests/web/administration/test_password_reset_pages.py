"""The administrators' password-reset pages, the forced change at the next sign-in, and a
user's own password change through the page."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from apps.accounts.models import PasswordResetRequest, PasswordResetStatus, User
from apps.administration.password_reset import (
    user_decide_password_reset,
    user_propose_password_reset,
)
from apps.audit.models import AuditAction, AuditEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])

NEW_PASSWORD = "my own fresh passphrase 2026"


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _pending(administrator: User, target: User) -> PasswordResetRequest:
    return user_propose_password_reset(
        acting_user=administrator, user_id=target.pk, reason="ロックアウト"
    )


def _reset(administrator: User, administrator2: User, target: User) -> str:
    request = _pending(administrator, target)
    temporary = user_decide_password_reset(
        acting_user=administrator2, request_id=request.pk, approve=True
    ).temporary_password
    assert temporary is not None
    return temporary


# --- proposing and deciding ---------------------------------------------------------------


def test_an_administrator_proposes_a_reset_with_a_reason(administrator, clerk):
    client = _client(administrator)

    response = client.post(
        reverse("admin-password-reset-propose"), {"user": clerk.pk, "reason": "パスワード失念"}
    )

    request = PasswordResetRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin-password-reset", args=[request.pk])
    assert (request.user, request.proposed_by, request.reason) == (
        clerk,
        administrator,
        "パスワード失念",
    )


def test_a_proposal_without_a_reason_keeps_the_input_and_stores_nothing(administrator, clerk):
    client = _client(administrator)

    response = client.post(reverse("admin-password-reset-propose"), {"user": clerk.pk})

    assert response.status_code == 200
    assert 'class="field has-error" data-field="reason"' in response.content.decode()
    assert f'<option value="{clerk.pk}" selected>' in response.content.decode()
    assert not PasswordResetRequest.objects.exists()


def test_an_administrator_cannot_pick_themselves_on_the_proposal_page(administrator, clerk):
    page = _client(administrator).get(reverse("admin-password-reset-propose")).content.decode()

    assert f'<option value="{clerk.pk}">' in page
    assert f'value="{administrator.pk}"' not in page


def test_every_administrator_sees_the_pending_resets(administrator, administrator2, clerk):
    request = _pending(administrator, clerk)

    for admin in (administrator, administrator2):
        page = _client(admin).get(reverse("admin-password-resets")).content.decode()
        assert f'data-reset="{request.pk}"' in page
        assert clerk.username in page


def test_the_proposer_sees_no_approve_button(administrator, administrator2, clerk):
    request = _pending(administrator, clerk)
    url = reverse("admin-password-reset", args=[request.pk])

    own = _client(administrator).get(url).content.decode()
    other = _client(administrator2).get(url).content.decode()

    assert 'data-testid="approve-reset-form"' not in own
    assert 'data-testid="own-proposal"' in own
    assert 'data-testid="approve-reset-form"' in other


def test_a_forged_approval_by_the_proposer_is_refused(administrator, clerk):
    request = _pending(administrator, clerk)

    response = _client(administrator).post(
        reverse("admin-password-reset", args=[request.pk]), {"decision": "approve"}
    )

    assert response.status_code == 403
    clerk.refresh_from_db()
    assert clerk.check_password(PASSWORD)
    assert clerk.must_change_password is False
    assert PasswordResetRequest.objects.get(pk=request.pk).status == PasswordResetStatus.PENDING
    assert not AuditEvent.objects.filter(action=AuditAction.PASSWORD_RESET_APPROVED).exists()


@pytest.mark.parametrize("role", ["clerk", "supervisor", "auditor", "retail_user"])
def test_nobody_but_an_administrator_can_post_a_decision(request, role, administrator, clerk2):
    reset = _pending(administrator, clerk2)

    response = _client(request.getfixturevalue(role)).post(
        reverse("admin-password-reset", args=[reset.pk]), {"decision": "approve"}
    )

    assert response.status_code == (404 if role == "retail_user" else 403)
    assert PasswordResetRequest.objects.get(pk=reset.pk).status == PasswordResetStatus.PENDING


def test_the_approver_sees_the_temporary_password_once(administrator, administrator2, clerk):
    request = _pending(administrator, clerk)
    client = _client(administrator2)
    url = reverse("admin-password-reset", args=[request.pk])

    response = client.post(url, {"decision": "approve"})

    assert response.status_code == 200
    page = response.content.decode()
    shown = re.search(r'<code class="secret"[^>]*>([^<]+)</code>', page)
    assert shown is not None
    clerk.refresh_from_db()
    assert clerk.check_password(shown.group(1))
    assert "no-store" in response["Cache-Control"]
    # Reloading re-sends the POST: refused as decided, and the password is not shown again.
    again = client.post(url, {"decision": "approve"})
    assert again.status_code == 409
    assert shown.group(1) not in again.content.decode()
    assert shown.group(1) not in client.get(url).content.decode()
    assert shown.group(1) not in client.get(reverse("admin-password-resets")).content.decode()


def test_a_rejection_from_the_page_changes_nothing(administrator, administrator2, clerk):
    request = _pending(administrator, clerk)

    response = _client(administrator2).post(
        reverse("admin-password-reset", args=[request.pk]), {"decision": "reject"}
    )

    assert response.status_code == 302
    clerk.refresh_from_db()
    assert clerk.check_password(PASSWORD)
    assert PasswordResetRequest.objects.get(pk=request.pk).status == PasswordResetStatus.REJECTED


# --- the Django admin -----------------------------------------------------------------------


@pytest.fixture
def root(db):
    from tests.conftest import _person

    return _person("root", "admin", "administrator", is_superuser=True)


def test_the_admin_password_page_cannot_change_a_password(client, root, clerk):
    client.force_login(root)
    url = reverse("admin:auth_user_password_change", args=[clerk.pk])

    shown = client.get(url)
    posted = client.post(
        url, {"password1": "set by one admin 12345", "password2": "set by one admin 12345"}
    )

    for response in (shown, posted):
        assert response.status_code == 302
        assert response["Location"] == (
            f"{reverse('admin-password-reset-propose')}?user={clerk.pk}"
        )
    clerk.refresh_from_db()
    assert clerk.check_password(PASSWORD)


def test_the_admin_cannot_add_a_user_with_a_password(client, root):
    client.force_login(root)

    response = client.post(
        reverse("admin:accounts_user_add"),
        {"username": "ghost", "password1": "ghost pass 12345", "password2": "ghost pass 12345"},
    )

    assert response.status_code == 403
    assert not User.objects.filter(username="ghost").exists()


# --- the forced change at the next sign-in --------------------------------------------------


def test_after_a_reset_the_user_must_choose_a_new_password_before_anything_else(
    administrator, administrator2, clerk
):
    temporary = _reset(administrator, administrator2, clerk)
    client = Client()

    signed_in = client.post(
        reverse("login"), {"username": clerk.username, "password": temporary}, follow=True
    )

    assert signed_in.redirect_chain[-1] == (reverse("password_change"), 302)
    assert 'data-testid="forced-password-change"' in signed_in.content.decode()
    for url in (reverse("home"), reverse("clerk-list"), reverse("inbox"), "/admin/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == reverse("password_change"), url
    posted = client.post(reverse("clerk-create"), {})
    assert posted.status_code == 302
    assert posted["Location"] == reverse("password_change")

    changed = client.post(
        reverse("password_change"),
        {"old_password": temporary, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert changed.status_code == 302
    assert changed["Location"] == reverse("password_change_done")
    assert client.get(reverse("home")).status_code == 200
    clerk.refresh_from_db()
    assert clerk.must_change_password is False
    assert clerk.check_password(NEW_PASSWORD)


def test_the_temporary_password_cannot_be_kept(administrator, administrator2, clerk):
    temporary = _reset(administrator, administrator2, clerk)
    client = Client()
    client.login(username=clerk.username, password=temporary)

    response = client.post(
        reverse("password_change"),
        {"old_password": temporary, "new_password1": temporary, "new_password2": temporary},
    )

    assert response.status_code == 200
    clerk.refresh_from_db()
    assert clerk.must_change_password is True
    assert client.get(reverse("home"))["Location"] == reverse("password_change")


def test_a_reset_lifts_a_sign_in_lock_out(settings, administrator, administrator2, clerk):
    settings.AXES_ENABLED = True
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": clerk.username, "password": "forgotten"})
    assert (
        client.post(
            reverse("login"), {"username": clerk.username, "password": PASSWORD}
        ).status_code
        == settings.AXES_HTTP_RESPONSE_CODE
    )

    temporary = _reset(administrator, administrator2, clerk)
    response = client.post(reverse("login"), {"username": clerk.username, "password": temporary})

    assert response.status_code == 302
    assert client.get(reverse("home"))["Location"] == reverse("password_change")


# --- a user's own change --------------------------------------------------------------------


def test_a_users_own_password_change_on_the_page_is_an_audit_event(clerk):
    client = _client(clerk)

    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200  # this session stays signed in
    event = AuditEvent.objects.get(action=AuditAction.PASSWORD_CHANGED)
    assert (event.actor, event.object_id, event.details) == (
        clerk,
        str(clerk.pk),
        {"after_reset": False},
    )
    assert NEW_PASSWORD not in str(event.details) + event.reason


def test_a_wrong_current_password_on_the_page_changes_nothing(clerk):
    response = _client(clerk).post(
        reverse("password_change"),
        {"old_password": "not it", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 200
    assert 'class="field has-error" data-field="old_password"' in response.content.decode()
    clerk.refresh_from_db()
    assert clerk.check_password(PASSWORD)
    assert not AuditEvent.objects.filter(action=AuditAction.PASSWORD_CHANGED).exists()
