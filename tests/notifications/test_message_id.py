"""E-mail delivery is at least once; every attempt of one outbox row carries the same
Message-ID, so a retried delivery is recognisable as the same message (issue 15 item 12)."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.db import OperationalError
from django.utils import timezone

from apps.notifications import services
from apps.notifications.models import OutboxMessage
from apps.notifications.services import outbox_write, relay_due

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def _write(user, key: str) -> OutboxMessage:
    outbox_write(
        recipient_ids=[user.pk], kind="test", subject="[R-1] test", body="", dedupe_key=key
    )
    return OutboxMessage.objects.get(dedupe_key=f"{key}:u{user.pk}")


def test_a_retried_delivery_carries_the_same_message_id(supervisor, settings, monkeypatch):
    # given: the e-mail goes out, then the database connection is lost before the row's
    # delivered mark commits (the inbox entry is written after the send)
    settings.DEFAULT_FROM_EMAIL = "shadan@example.jp"
    supervisor.email = "super@example.test"
    supervisor.save()
    message = _write(supervisor, "test:retry")
    real = services._inbox_insert
    calls = {"n": 0}

    def lost_once(alias, count):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(alias, count)

    monkeypatch.setattr(services, "_inbox_insert", lost_once)
    assert relay_due() == {"delivered": 0, "failed": 1}
    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())

    # when: the relay tries again
    assert relay_due() == {"delivered": 1, "failed": 0}

    # then: two e-mails went out, both the same message to a mail system
    assert len(mail.outbox) == 2
    ids = [sent.extra_headers["Message-ID"] for sent in mail.outbox]
    assert ids[0] == ids[1]
    assert re.fullmatch(rf"<outbox-{message.pk}\.[0-9a-f]{{16}}@example\.jp>", ids[0])
    assert mail.outbox[0].message()["Message-ID"] == ids[0]


def test_each_outbox_row_has_its_own_message_id(supervisor, clerk):
    first, second = _write(supervisor, "test:a"), _write(clerk, "test:a")

    assert services.outbox_message_id(first) != services.outbox_message_id(second)
    assert services.outbox_message_id(first) == services.outbox_message_id(
        OutboxMessage.objects.get(pk=first.pk)
    )
