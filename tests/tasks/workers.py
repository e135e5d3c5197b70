"""Real `celery -A config worker` processes for the tests that need one (PostgreSQL +
Redis): started on a queue of their own, with the test databases and a recording mail
backend (tests.tasks.mail_backend), stopped or killed by the test.

Broker: CELERY_TEST_BROKER_URL, else redis://127.0.0.1:6379/15. Without a reachable
broker the test skips with the reason; under SHADAN_REQUIRE_SERVICES=true it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from celery import Celery
from django.db import connections

ROOT = Path(__file__).resolve().parents[2]
BROKER_URL = os.environ.get("CELERY_TEST_BROKER_URL") or "redis://127.0.0.1:6379/15"


def require_broker() -> None:
    import redis

    try:
        redis.Redis.from_url(BROKER_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        reason = f"needs a Redis broker at {BROKER_URL} (set CELERY_TEST_BROKER_URL): {exc}"
        if os.environ.get("SHADAN_REQUIRE_SERVICES") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def database_url(alias: str) -> str:
    s = connections[alias].settings_dict
    auth = quote(s["USER"] or "", safe="")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"], safe="")
    host = f"{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}"
    return f"postgres://{auth}@{host}/{s['NAME']}"


@dataclass
class Worker:
    process: subprocess.Popen[str]
    queue: str
    log: Path
    mail_log: Path
    outputs: list[str] = field(default_factory=list)

    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL to the worker and its pool processes (its own process group): no warm
        shutdown, no acknowledgement, no message given back."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        sys.stderr.write(f"--- worker {self.process.pid} ---\n{self.output()[-4000:]}\n")
        # config.settings.test names the checkpoint directory after the process id.
        shutil.rmtree(
            Path(tempfile.gettempdir()) / f"shadan-test-audit-checkpoints-{self.process.pid}",
            ignore_errors=True,
        )


def mails(path: Path) -> list[dict[str, Any]]:
    """What the recording backend sent: one JSON object per message."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


@contextmanager
def workers(tmp_path: Path) -> Iterator[tuple[Callable[..., Worker], Celery, str]]:
    """A factory of worker processes sharing one queue and one mail log, and a sender.
    Every worker is stopped (and its log shown) on exit, before the test's flush."""
    require_broker()
    queue = f"shadan-test-{uuid.uuid4().hex[:12]}"
    mail_log = tmp_path / "mail.jsonl"
    started: list[Worker] = []

    def start(pool: str = "solo", **extra_env: str) -> Worker:
        n = len(started) + 1
        log = tmp_path / f"worker{n}.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.tasks.worker_settings",
            "DATABASE_URL": database_url("default"),
            "VAULT_DATABASE_URL": database_url("vault"),
            "CELERY_BROKER_URL": BROKER_URL,
            "SHADAN_TEST_MAIL_LOG": str(mail_log),
            **extra_env,
        }
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            f"--pool={pool}",
            "--concurrency=1",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
            "-Q",
            queue,
            "-n",
            f"{queue}-{n}@%h",
        ]
        with log.open("w") as out:
            process = subprocess.Popen(  # noqa: S603
                command,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,  # its own process group, for kill()
            )
        worker = Worker(process=process, queue=queue, log=log, mail_log=mail_log)
        started.append(worker)
        return worker

    # Not the current app: shared tasks (apps.*.tasks) must keep resolving to config's.
    sender = Celery("shadan-test-sender", broker=BROKER_URL, set_as_current=False)
    sender.conf.update(task_serializer="json", accept_content=["json"])
    try:
        yield start, sender, queue
    finally:
        for worker in started:
            worker.stop()
        sender.close()


def wait_for(condition: Callable[[], bool], worker: Worker, seconds: float = 60) -> None:
    """Poll until `condition` holds; fail (pointing at the worker's log) if the worker
    dies or the generous limit passes. The limit only stops a broken test from hanging."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        if not worker.alive():
            break
        time.sleep(0.2)
    pytest.fail("the worker did not do the work in time (its output follows the test)")
