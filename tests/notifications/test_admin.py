"""Administrators see failed deliveries (attempts, last error, next attempt) and can make
them due at once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import AuditAction, AuditEvent
from apps.notifications import services
from apps.notifications.models import InboxEntry, OutboxMessage
from tests.conftest import _person

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


@pytest.fixture
def root(db):
    return _person("root", "admin", "administrator", is_superuser=True)


@pytest.fixture
def three(supervisor, monkeypatch):
    """One delivered, one failed (SMTP down), one waiting for its first attempt."""
    supervisor.email = "s@example.test"
    supervisor.save()
    for key in ("ok", "bad"):
        services.outbox_write(
            recipient_ids=[supervisor.pk], kind="test", subject=key, body="", dedupe_key=key
        )
    services.relay_due(limit=1)  # "ok" is delivered

    def smtp_down(*args, **kwargs):
        raise ConnectionRefusedError("smtp down")

    with monkeypatch.context() as patched:
        patched.setattr(services, "send_mail", smtp_down)
        services.relay_due()
    services.outbox_write(
        recipient_ids=[supervisor.pk], kind="test", subject="later", body="", dedupe_key="later"
    )
    OutboxMessage.objects.filter(subject="later").update(
        next_attempt_at=timezone.now() + dt.timedelta(hours=1)
    )
    return {m.subject: m for m in OutboxMessage.objects.all()}


def _listed(response):
    return {m.subject for m in response.context["cl"].result_list}


def test_the_failed_filter_shows_failed_deliveries_with_their_error(client, root, three):
    client.force_login(root)
    url = reverse("admin:notifications_outboxmessage_changelist")

    failed = client.get(url, {"delivery": "failed"})
    waiting = client.get(url, {"delivery": "waiting"})
    delivered = client.get(url, {"delivery": "delivered"})

    assert failed.status_code == 200
    assert _listed(failed) == {"bad"}
    assert "ConnectionRefusedError" in failed.content.decode()
    assert _listed(waiting) == {"bad", "later"}
    assert _listed(delivered) == {"ok"}


def test_retry_now_makes_undelivered_messages_due_and_relays_them(client, root, three):
    client.force_login(root)
    url = reverse("admin:notifications_outboxmessage_changelist")
    chosen = [three["bad"].pk, three["later"].pk, three["ok"].pk]

    response = client.post(url, {"action": "retry_now", "_selected_action": chosen})

    assert response.status_code == 302
    # No broker in tests: the relay ran in-process at once and delivered both.
    assert not OutboxMessage.objects.filter(delivered_at__isnull=True).exists()
    bad = OutboxMessage.objects.get(pk=three["bad"].pk)
    assert bad.attempts == 2 and bad.last_error == ""
    assert InboxEntry.objects.filter(message__in=chosen).count() == 3  # one each
    retried = AuditEvent.objects.get(action=AuditAction.NOTIFICATION_RETRIED)
    assert retried.actor == root
    assert sorted(retried.details["messages"]) == sorted([three["bad"].pk, three["later"].pk])


def test_the_outbox_admin_changes_nothing_else(client, root, three):
    client.force_login(root)
    message = three["bad"]
    change = reverse("admin:notifications_outboxmessage_change", args=[message.pk])

    client.post(change, {"subject": "changed"})

    message.refresh_from_db()
    assert message.subject == "bad"
    assert client.get(reverse("admin:notifications_outboxmessage_add")).status_code == 403
