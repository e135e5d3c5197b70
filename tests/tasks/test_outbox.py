"""The transactional outbox: written in the caller's transaction, delivered once, retried."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from apps.core.tasks import enqueue
from apps.notifications import services
from apps.notifications.models import InboxEntry, OutboxMessage
from apps.notifications.tasks import relay

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def _write(users, key="test:a1:v1"):
    return services.outbox_write(
        recipient_ids=[u.pk for u in users],
        kind="test",
        subject="SLA: R-0001",
        body="Application R-0001 (id 1)",
        dedupe_key=key,
    )


def test_a_message_is_written_once_per_recipient_and_key(supervisor, supervisor2):
    assert _write([supervisor, supervisor2]) == 2
    assert _write([supervisor, supervisor2]) == 0
    assert OutboxMessage.objects.count() == 2


def test_the_row_rolls_back_with_the_callers_transaction(supervisor):
    with pytest.raises(RuntimeError), transaction.atomic():
        _write([supervisor])
        raise RuntimeError
    assert not OutboxMessage.objects.exists()


def test_the_relay_delivers_mail_and_inbox_once(supervisor, supervisor2):
    supervisor.email = "super@example.test"
    supervisor.save()
    _write([supervisor, supervisor2])  # supervisor2 has no e-mail: inbox only

    assert enqueue(relay).get() == {"delivered": 2, "failed": 0}
    assert enqueue(relay).get() == {"delivered": 0, "failed": 0}

    assert [m.to for m in mail.outbox] == [["super@example.test"]]
    assert mail.outbox[0].subject == "SLA: R-0001"
    assert InboxEntry.objects.filter(user=supervisor).count() == 1
    assert InboxEntry.objects.filter(user=supervisor2).count() == 1
    assert not OutboxMessage.objects.filter(delivered_at__isnull=True).exists()


def test_commit_triggers_the_relay(supervisor, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        _write([supervisor])
    assert len(callbacks) == 1
    assert OutboxMessage.objects.get().delivered_at is not None
    assert InboxEntry.objects.filter(user=supervisor).count() == 1


def test_a_broker_outage_leaves_the_message_waiting(
    supervisor, monkeypatch, django_capture_on_commit_callbacks
):
    attempts = []

    def broker_down(*args, **kwargs):
        attempts.append(1)
        raise OperationalError("connection refused")

    monkeypatch.setattr(services.request_relay, "down_until", 0.0)
    monkeypatch.setitem(relay.app.conf, "task_always_eager", False)  # a broker is configured
    monkeypatch.setattr(relay, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        assert _write([supervisor]) == 1  # the caller's work commits regardless
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        assert _write([supervisor], key="test:a2:v1") == 1
    assert OutboxMessage.objects.filter(delivered_at__isnull=True).count() == 2
    assert len(attempts) == 1  # the second commit did not wait for the broker again

    monkeypatch.undo()
    assert enqueue(relay).get()["delivered"] == 2  # the next beat run delivers them


def test_a_failed_delivery_retries_with_back_off(supervisor, monkeypatch):
    supervisor.email = "super@example.test"
    supervisor.save()
    _write([supervisor])

    def smtp_down(*args, **kwargs):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr(services, "send_mail", smtp_down)
    assert enqueue(relay).get() == {"delivered": 0, "failed": 1}
    message = OutboxMessage.objects.get()
    assert message.attempts == 1 and "ConnectionRefusedError" in message.last_error
    first_delay = message.next_attempt_at - timezone.now()
    assert dt.timedelta(seconds=20) < first_delay <= dt.timedelta(seconds=30)
    assert not InboxEntry.objects.exists()
    # Not due yet: a relay run now leaves it alone.
    assert enqueue(relay).get() == {"delivered": 0, "failed": 0}

    OutboxMessage.objects.update(next_attempt_at=timezone.now())
    assert enqueue(relay).get() == {"delivered": 0, "failed": 1}
    message.refresh_from_db()
    second_delay = message.next_attempt_at - timezone.now()
    assert dt.timedelta(seconds=50) < second_delay <= dt.timedelta(seconds=60)

    monkeypatch.undo()
    OutboxMessage.objects.update(next_attempt_at=timezone.now())
    assert enqueue(relay).get() == {"delivered": 1, "failed": 0}
    message.refresh_from_db()
    assert message.delivered_at is not None and message.last_error == ""
    assert len(mail.outbox) == 1
    assert InboxEntry.objects.count() == 1
