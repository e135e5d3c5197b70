"""6. Replication lag: with a real Celery worker on Redis, how long until a verification
is readable in the retail database and a withdrawal is gone, and the relay's rate.

The worker is `celery -A config worker` on a queue of this run's own, with the bench's
databases; this process sends through the same broker (SHADAN_BENCH_BROKER_URL, default
redis://127.0.0.1:6379/5), as a T&D site with a broker does: each commit that wrote a
replication message enqueues `replication.relay`. Without a reachable broker the rows are
reported as not measured.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any
from unittest import mock

from django.db import connection, transaction

from apps.applications import publishing, services
from apps.applications.models import Application
from apps.publication.models import PublishedApplication
from apps.replication import services as replication
from apps.replication.models import ReplicationMessage
from apps.vocabulary.states import MaskingState as M
from config.celery_app import app as celery_app
from tests.factories import application_input

from .data import Cast, log
from .stats import Figure, ms

ROOT = Path(__file__).resolve().parent.parent
BROKER_URL = os.environ.get("SHADAN_BENCH_BROKER_URL", "redis://127.0.0.1:6379/5")
LAG_GOAL_MS = 2000.0
POLL_SECONDS = 0.005
WAIT_SECONDS = 60.0
RATE_MESSAGES = 500


def _broker_problem() -> str | None:
    import redis

    try:
        redis.Redis.from_url(BROKER_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        return f"no Redis broker at {BROKER_URL} (SHADAN_BENCH_BROKER_URL): {exc}"
    return None


def _wait(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"replication bench: {what} not seen within {WAIT_SECONDS} s")
        time.sleep(POLL_SECONDS)


@contextmanager
def _worker() -> Iterator[None]:
    """A worker process on a queue of its own, and this process sending to it."""
    queue = f"shadan-bench-{uuid.uuid4().hex[:10]}"
    log_path = Path(tempfile.mkdtemp(prefix="shadan-bench-worker-")) / "worker.log"
    env = {**os.environ, "CELERY_BROKER_URL": BROKER_URL}
    command = [
        sys.executable,
        *("-m", "celery", "-A", "config", "worker", "--pool=solo", "--concurrency=1"),
        *("--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"),
        *("-Q", queue, "-n", f"{queue}@%h"),
    ]
    with log_path.open("w") as out:
        process = subprocess.Popen(  # noqa: S603
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, text=True
        )
    saved = {
        key: celery_app.conf[key]
        for key in ("task_always_eager", "broker_url", "task_default_queue")
    }
    try:
        _wait(lambda: " ready." in log_path.read_text(errors="replace"), "the worker ready")
        celery_app.conf.update(
            task_always_eager=False, broker_url=BROKER_URL, task_default_queue=queue
        )
        replication.request_relay.down_until = 0.0
        yield
    finally:
        celery_app.conf.update(saved)
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _published(pk: int) -> bool:
    return PublishedApplication.objects.filter(application_id=pk).exists()


def _gone(pk: int) -> bool:
    return not _published(pk)


def _lags(cast: Cast, repeat: int) -> tuple[list[float], list[float]]:
    clerk, supervisor, retailer = cast.clerk, cast.supervisor, cast.retailer
    publication: list[float] = []
    withdrawal: list[float] = []
    for _ in range(repeat + 1):  # the first is a warm-up
        app = services.application_create(acting_user=clerk, data=application_input(retailer))
        services.application_submit(acting_user=clerk, application_id=app.pk)
        app = services.application_encode(acting_user=clerk, application_id=app.pk)
        services.application_record_review_opened(acting_user=supervisor, application_id=app.pk)
        # From the call (its own time included) to the row readable in the retail database.
        started = time.perf_counter()
        app = services.application_verify(
            acting_user=supervisor, application_id=app.pk, expected_version=app.version
        )
        _wait(partial(_published, app.pk), "a publication")
        publication.append(time.perf_counter() - started)
        started = time.perf_counter()
        services.application_update(
            acting_user=clerk,
            application_id=app.pk,
            expected_version=app.version,
            changes={"remarks": f"工事日程は別途調整。{uuid.uuid4().hex[:6]}"},
        )
        _wait(partial(_gone, app.pk), "a withdrawal")
        withdrawal.append(time.perf_counter() - started)
    return publication[1:], withdrawal[1:]


def _rate() -> tuple[int, float]:
    """RATE_MESSAGES upserts written with no relay asked for, then one relay task: the
    seconds until all are applied."""
    ids = list(
        Application.objects.filter(masking_state=M.VERIFIED).values_list("pk", flat=True)[
            :RATE_MESSAGES
        ]
    )
    asked: list[Any] = []
    with (
        mock.patch.object(replication, "request_relay", new=lambda: asked.append(1)),
        transaction.atomic(),
    ):
        for application in Application.objects.select_related("retailer").filter(pk__in=ids):
            if application.is_retail_visible:
                publishing.publish(application)
    pending = ReplicationMessage.objects.filter(applied_at__isnull=True)
    count = pending.count()
    started = time.perf_counter()
    replication.request_relay()
    _wait(lambda: not pending.exists(), "the relay's batch")
    return count, time.perf_counter() - started


def replication_lag(cast: Cast, repeat: int) -> list[Figure]:
    problem = _broker_problem()
    if connection.vendor == "sqlite":
        # Two processes writing one SQLite file: a transaction that read before the
        # worker's commit cannot write after it (SQLITE_BUSY at once, no waiting). A
        # deployment with a worker runs PostgreSQL.
        problem = "needs PostgreSQL (a worker process and this one write the same database)"
    if problem is not None:
        log(f"  not measured: {problem}")
        return [
            Figure("6. publication lag (verify → retail row)", "ms", None, None, note=problem),
            Figure("6. withdrawal lag (edit → retail row gone)", "ms", None, None, note=problem),
        ]
    with _worker():
        publication, withdrawal = _lags(cast, repeat)
        count, seconds = _rate()
    figures = []
    for name, samples in (
        ("6. publication lag (verify → retail row)", publication),
        ("6. withdrawal lag (edit → retail row gone)", withdrawal),
    ):
        median, p95 = ms(samples)
        figures.append(
            Figure(
                name,
                "ms",
                median,
                p95,
                goal=f"p95 < {LAG_GOAL_MS:.0f} ms",
                met=p95 < LAG_GOAL_MS,
                samples=len(samples),
                note="real worker (solo pool) on Redis; from the service call, its own time "
                "included, to the retail database's answer (polled every 5 ms)",
            )
        )
    rate = count / seconds if seconds else None
    figures.append(
        Figure(
            "6. replication relay rate",
            "messages/s",
            rate,
            None,
            samples=count,
            note=f"{count} upserts applied by one relay task in {seconds:.2f} s",
        )
    )
    return figures
