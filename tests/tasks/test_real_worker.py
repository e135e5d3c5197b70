"""A task sent through a real Redis broker is run by a separately started worker process,
and its effect is visible in the database (PostgreSQL: the worker opens the very test
databases pytest-django created; an in-memory SQLite database cannot be shared).

Broker: CELERY_TEST_BROKER_URL, else redis://127.0.0.1:6379/15 (see tests/tasks/workers.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from apps.audit.models import AuditEvent, AuditSeal
from apps.notifications.models import InboxEntry, OutboxMessage
from tests.conftest import _person, require_postgres

from .workers import mails, wait_for, workers

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True, databases=["default", "vault", "retail"]),
]


@pytest.fixture
def worker(transactional_db: None, tmp_path: Any) -> Any:
    require_postgres()
    with workers(tmp_path) as (start, sender, queue):
        yield start(), sender, queue


def test_a_worker_process_relays_the_outbox(worker, monkeypatch):
    process, sender, queue = worker
    from apps.notifications import services

    monkeypatch.setattr(services, "request_relay", lambda: None)  # only the worker relays
    person = _person("super_worker", "td", "supervisor", email="w@example.test")
    services.outbox_write(
        recipient_ids=[person.pk],
        kind="test",
        subject="SLA: R-0001",
        body="",
        dedupe_key="worker:a1",
    )
    message = OutboxMessage.objects.get()
    assert message.delivered_at is None

    sender.send_task("notifications.relay", queue=queue)

    wait_for(
        lambda: OutboxMessage.objects.filter(pk=message.pk, delivered_at__isnull=False).exists(),
        process,
    )
    assert InboxEntry.objects.filter(user=person, message=message).count() == 1
    assert [m["to"] for m in mails(process.mail_log)] == [["w@example.test"]]


def test_a_worker_process_seals_the_audit_chain(worker):
    process, sender, queue = worker
    _person("clerk_worker", "td", "clerk")
    events = AuditEvent.objects.count()
    assert events > 0 and not AuditSeal.objects.exists()

    sender.send_task("audit.seal", queue=queue)

    wait_for(lambda: AuditSeal.objects.count() == events, process)
