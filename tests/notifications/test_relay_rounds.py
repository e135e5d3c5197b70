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


def _relayed() -> tuple[dict[str, int], list[dict[str, str]]]:
    with CaptureQueriesContext(connection) as captured:
        counts = relay_due()
    return counts, captured.captured_queries


def test_a_round_costs_the_same_statements_for_one_message_as_for_many():
    people = [_person(f"super_round{i}", "td", "supervisor") for i in range(3)]
    _write(people[:1], "one")
    one, alone = _relayed()
    for n in range(3):
        _write(people, f"many{n}")
    many, together = _relayed()

    assert one == {"delivered": 1, "failed": 0}
    assert many == {"delivered": 9, "failed": 0}
    assert len(together) == len(alone)
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


def test_the_round_reads_each_recipients_roles_with_the_messages():
    """The recipients' role codes come with the locked messages (one statement): one
    holding the role among others is delivered to, one holding none of them, or no role
    at all, is not."""
    both = _person("super_and_clerk", "td", "clerk", "supervisor")
    clerk_only = _person("clerk_round", "td", "clerk")
    nobody = _person("no_role_round", "td")
    _write([both, clerk_only, nobody], "roles")
    counts, statements = _relayed()

    assert counts == {"delivered": 1, "failed": 0}
    assert list(InboxEntry.objects.values_list("user_id", flat=True)) == [both.pk]
    dropped = OutboxMessage.objects.filter(dropped_at__isnull=False)
    assert set(dropped.values_list("recipient_id", flat=True)) == {clerk_only.pk, nobody.pk}
    # The roles are read by the statement that locks the messages, and by no other.
    reads = [q["sql"] for q in statements if "accounts_role" in q["sql"]]
    assert len(reads) == 1 and reads[0].startswith('SELECT "notifications_outboxmessage"')


def test_the_inbox_entries_and_the_delivered_marks_are_one_statement_on_postgresql():
    people = [_person(f"super_joined{i}", "td", "supervisor") for i in range(2)]
    _write(people, "joined")

    counts, queries = _relayed()

    writes = [q["sql"] for q in queries if q["sql"].startswith(("INSERT", "UPDATE", "WITH"))]
    if connection.vendor == "postgresql":
        assert len(writes) == 1 and writes[0].startswith("WITH")
        assert 'INSERT INTO "notifications_inboxentry"' in writes[0]
        assert 'UPDATE "notifications_outboxmessage"' in writes[0]
    else:
        assert [w.split()[0] for w in writes] == ["INSERT", "UPDATE"]
    assert counts == {"delivered": 2, "failed": 0}
    entries = InboxEntry.objects.filter(user__in=people)
    assert sorted(e.user_id for e in entries) == sorted(p.pk for p in people)
    assert not OutboxMessage.objects.filter(delivered_at__isnull=True).exists()
