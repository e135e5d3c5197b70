"""The relay delivers in rounds: one transaction locks a batch of due messages, reads
their recipients, and writes their inbox entries and delivered marks in one statement
each, so a round costs the same statements for one message as for many."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.notifications import services
from apps.notifications.models import InboxEntry, OutboxMessage
from apps.notifications.services import outbox_write, relay_due
from tests.conftest import _person

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def _write(people, key: str) -> None:
    outbox_write(
        recipient_ids=[p.pk for p in people],
        kind="test",
        subject=f"[R-1] {key}",
        body="",
        dedupe_key=key,
        division="td",
        roles=["supervisor"],
    )


def _relayed() -> tuple[dict[str, int], int]:
    with CaptureQueriesContext(connection) as captured:
        counts = relay_due()
    return counts, len(captured)


def test_a_round_costs_the_same_statements_for_one_message_as_for_many():
    people = [_person(f"super_round{i}", "td", "supervisor") for i in range(3)]
    _write(people[:1], "one")
    one, alone = _relayed()
    for n in range(3):
        _write(people, f"many{n}")
    many, together = _relayed()

    assert one == {"delivered": 1, "failed": 0}
    assert many == {"delivered": 9, "failed": 0}
    assert together == alone
    assert InboxEntry.objects.count() == 10
    assert not OutboxMessage.objects.filter(delivered_at__isnull=True).exists()


def test_one_failing_mail_leaves_the_others_of_its_round_delivered(monkeypatch):
    people = [
        _person(f"super_mail{i}", "td", "supervisor", email=f"m{i}@example.test") for i in range(3)
    ]
    real = services.send_mail

    def refuses_one(message, address):
        if address == "m1@example.test":
            raise ConnectionRefusedError("mailbox unavailable")
        real(message, address)

    monkeypatch.setattr(services, "send_mail", refuses_one)
    _write(people, "mixed")

    assert relay_due() == {"delivered": 2, "failed": 1}
    failed = OutboxMessage.objects.get(recipient=people[1])
    assert failed.delivered_at is None and failed.attempts == 1
    assert failed.last_error == "ConnectionRefusedError: mailbox unavailable"
    assert set(InboxEntry.objects.values_list("user_id", flat=True)) == {
        people[0].pk,
        people[2].pk,
    }
    assert sorted(m.to[0] for m in mail.outbox) == ["m0@example.test", "m2@example.test"]
