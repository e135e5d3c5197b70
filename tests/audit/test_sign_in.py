"""Sign-in, sign-out and failed sign-in leave their events (with the request's context)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from apps.audit.models import AuditAction, AuditEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def _sign_in(client: Client, username: str, password: str) -> None:
    client.post(
        reverse("admin:login"),
        {"username": username, "password": password},
        REMOTE_ADDR="198.51.100.7",
        HTTP_USER_AGENT="pytest-browser",
    )


def test_signing_in_is_recorded_with_the_request_context(administrator):
    _sign_in(Client(), administrator.username, PASSWORD)

    event = AuditEvent.objects.get(action=AuditAction.LOGIN)
    assert event.actor == administrator
    assert event.actor_division == "admin"
    assert event.object_label == administrator.username
    assert event.client_ip == "198.51.100.7"
    assert event.user_agent == "pytest-browser"
    assert len(event.request_id) == 32


def test_signing_out_is_recorded(administrator):
    client = Client()
    client.force_login(administrator)

    client.post(reverse("admin:logout"))

    event = AuditEvent.objects.get(action=AuditAction.LOGOUT)
    assert event.actor == administrator


def test_a_failed_sign_in_names_the_account_it_tried(administrator):
    _sign_in(Client(), administrator.username, "wrong password 123")

    event = AuditEvent.objects.get(action=AuditAction.LOGIN_FAILED)
    assert event.actor is None
    assert event.actor_username == "anonymous"
    assert event.object_id == str(administrator.pk)
    assert event.details == {"username": administrator.username}
    assert event.client_ip == "198.51.100.7"
    assert not AuditEvent.objects.filter(action=AuditAction.LOGIN).exists()


def test_a_failed_sign_in_for_no_such_user_does_not_keep_what_was_typed(db):
    # People type their password or e-mail address into the user name field.
    typed = "Hunter2-my-password"

    _sign_in(Client(), typed, "wrong password 123")

    event = AuditEvent.objects.get(action=AuditAction.LOGIN_FAILED)
    assert event.details == {"username": "(unknown)"}
    assert event.object_label == "(unknown)"
    stored = str(AuditEvent.objects.filter(pk=event.pk).values().get())
    assert typed not in stored
    assert "wrong password" not in stored
