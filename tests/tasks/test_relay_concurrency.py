"""Two relays running at once deliver every message exactly once (PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.core import mail
from django.db import connections

from apps.notifications import services
from apps.notifications.models import InboxEntry, OutboxMessage
from tests.conftest import _person, require_postgres

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, databases=["default", "vault", "retail"]),
]


def test_two_relays_at_once_deliver_each_message_once(monkeypatch):
    require_postgres()
    monkeypatch.setattr(services, "request_relay", lambda: None)  # only the two below relay
    people = [
        _person(f"super_{i}", "td", "supervisor", email=f"s{i}@example.test") for i in range(4)
    ]
    for n in range(10):
        services.outbox_write(
            recipient_ids=[p.pk for p in people],
            kind="test",
            subject=f"SLA: R-{n:04d}",
            body="",
            dedupe_key=f"test:a{n}",
        )
    assert OutboxMessage.objects.count() == 40

    start = threading.Barrier(2)
    results: list[dict[str, int]] = []

    def run() -> None:
        try:
            start.wait(timeout=10)
            results.append(services.relay_due())
        finally:
            for conn in connections.all():
                conn.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert sum(r["delivered"] for r in results) == 40
    assert sum(r["failed"] for r in results) == 0
    assert InboxEntry.objects.count() == 40
    assert len(mail.outbox) == 40
    assert not OutboxMessage.objects.filter(delivered_at__isnull=True).exists()
