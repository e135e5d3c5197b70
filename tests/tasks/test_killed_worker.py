"""A worker killed (SIGKILL) in the middle of a task: Redis gives the unacknowledged task
to another worker once the visibility timeout has passed (late acknowledgement), and the
task's effect happens once.

The task is the outbox relay. The first worker's mail backend (tests.tasks.mail_backend)
stops inside the delivery, with the outbox row locked and the transaction open; the test
kills it there. Nothing of the half-done delivery survives: the row stays undelivered,
no inbox entry, no mail. The second worker runs the same task (same id) and delivers the
message: one inbox entry, one mail.
"""

from __future__ import annotations

from typing import Any

import pytest

from apps.notifications import services
from apps.notifications.models import InboxEntry, OutboxMessage
from tests.conftest import _person, require_postgres

from .workers import mails, wait_for, workers

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True, databases=["default", "vault", "retail"]),
]

# A few seconds instead of an hour, so the test need not wait long for the redelivery.
FAST_REDELIVERY = {
    "CELERY_VISIBILITY_TIMEOUT": "3",
    "CELERY_UNACKED_RESTORE_INTERVAL": "1",
    "CELERY_UNACKED_RESTORE_THROTTLE": "1",
}


def test_a_task_killed_midway_is_delivered_again_and_takes_effect_once(
    transactional_db: None, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_postgres()
    monkeypatch.setattr(services, "request_relay", lambda: None)  # only the workers relay
    person = _person("super_killed", "td", "supervisor", email="k@example.test")
    services.outbox_write(
        recipient_ids=[person.pk], kind="test", subject="R-0001", body="", dedupe_key="kill:a1"
    )
    message = OutboxMessage.objects.get()
    paused = tmp_path / "paused"

    with workers(tmp_path) as (start, sender, queue):
        # prefork: the task runs in a pool process, the main process acknowledges. With
        # the solo pool this test passed with early acknowledgement too (checked), so it
        # could not tell early from late; with prefork it fails unless acks are late.
        # It never sweeps for unacknowledged tasks itself, so it cannot die holding the
        # sweep's lock in Redis (which would block the second worker's sweep).
        first = start(
            pool="prefork",
            SHADAN_TEST_MAIL_PAUSE=str(paused),
            CELERY_UNACKED_RESTORE_INTERVAL="3600",
        )
        task_id = sender.send_task("notifications.relay", queue=queue).id

        wait_for(paused.exists, first)  # inside the delivery, row locked
        first.kill()

        assert f"notifications.relay[{task_id}] received" in first.output()
        assert f"notifications.relay[{task_id}] succeeded" not in first.output()
        message.refresh_from_db()
        assert message.delivered_at is None and message.attempts == 0
        assert not InboxEntry.objects.exists() and mails(first.mail_log) == []

        second = start(**FAST_REDELIVERY)
        wait_for(lambda: f"notifications.relay[{task_id}] succeeded" in second.output(), second)

    assert f"notifications.relay[{task_id}] received" in second.output()  # the same task
    message.refresh_from_db()
    assert message.delivered_at is not None and message.attempts == 1
    assert InboxEntry.objects.filter(message=message, user=person).count() == 1
    assert InboxEntry.objects.count() == 1
    sent = mails(second.mail_log)
    assert [m["to"] for m in sent] == [["k@example.test"]]
    assert sent[0]["pid"] == second.process.pid
