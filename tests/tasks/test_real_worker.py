"""A task sent through a real Redis broker is run by a separately started worker process,
and its effect is visible in the database (PostgreSQL: the worker opens the very test
databases pytest-django created; an in-memory SQLite database cannot be shared).

Broker: CELERY_TEST_BROKER_URL, else redis://127.0.0.1:6379/15. Without a reachable
broker this skips with the reason; under SHADAN_REQUIRE_SERVICES=true it fails. The
worker listens on a queue of its own, so nothing else on that Redis interferes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from celery import Celery
from django.db import connections

from apps.audit.models import AuditEvent, AuditSeal
from apps.notifications.models import InboxEntry, OutboxMessage
from tests.conftest import _person, require_postgres

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, databases=["default", "vault"]),
]

ROOT = Path(__file__).resolve().parents[2]
BROKER_URL = os.environ.get("CELERY_TEST_BROKER_URL") or "redis://127.0.0.1:6379/15"


def _require_broker() -> None:
    import redis

    try:
        redis.Redis.from_url(BROKER_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        reason = f"needs a Redis broker at {BROKER_URL} (set CELERY_TEST_BROKER_URL): {exc}"
        if os.environ.get("SHADAN_REQUIRE_SERVICES") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def _database_url(alias: str) -> str:
    s = connections[alias].settings_dict
    auth = quote(s["USER"] or "", safe="")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"], safe="")
    host = f"{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}"
    return f"postgres://{auth}@{host}/{s['NAME']}"


def _wait_for(condition: Callable[[], bool], worker: subprocess.Popen[str], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        if worker.poll() is not None:
            break
        time.sleep(0.2)
    pytest.fail("the worker did not do the work in time (its output follows the test)")


@pytest.fixture
def worker(transactional_db: None, tmp_path: Any) -> Any:
    """A `celery -A config worker` process on a queue of its own; stopped (and its log
    shown) before the test's flush, so no worker holds the tables."""
    require_postgres()
    _require_broker()
    queue = f"shadan-test-{uuid.uuid4().hex[:12]}"
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": _database_url("default"),
        "VAULT_DATABASE_URL": _database_url("vault"),
        "CELERY_BROKER_URL": BROKER_URL,
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--pool=solo",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--loglevel=INFO",
        "-Q",
        queue,
        "-n",
        f"{queue}@%h",
    ]
    with log.open("w") as out:
        process = subprocess.Popen(  # noqa: S603
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, text=True
        )
    sender = Celery("shadan-test-sender", broker=BROKER_URL)
    sender.conf.update(task_serializer="json", accept_content=["json"])
    try:
        yield process, sender, queue
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        sys.stderr.write(log.read_text(errors="replace")[-4000:])
        # config.settings.test names the checkpoint directory after the process id.
        shutil.rmtree(
            Path(tempfile.gettempdir()) / f"shadan-test-audit-checkpoints-{process.pid}",
            ignore_errors=True,
        )


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

    _wait_for(
        lambda: OutboxMessage.objects.filter(pk=message.pk, delivered_at__isnull=False).exists(),
        process,
        seconds=60,
    )
    assert InboxEntry.objects.filter(user=person, message=message).count() == 1


def test_a_worker_process_seals_the_audit_chain(worker):
    process, sender, queue = worker
    _person("clerk_worker", "td", "clerk")
    events = AuditEvent.objects.count()
    assert events > 0 and not AuditSeal.objects.exists()

    sender.send_task("audit.seal", queue=queue)

    _wait_for(lambda: AuditSeal.objects.count() == events, process, seconds=60)
