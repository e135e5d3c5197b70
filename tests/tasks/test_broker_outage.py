"""With the broker unreachable (a closed port), every workflow transition still succeeds
at once and its notifications wait in the outbox; when the broker is back, a real worker
delivers every one of them exactly once (one inbox entry, one e-mail each), even when
the relay is asked twice.

"At once" is checked without a clock: publishing is tried after each commit, fails, and
makes at most two connection attempts (settings: one quick retry, a short connect
timeout), instead of kombu's default of retrying for seconds.
"""

from __future__ import annotations

import itertools
import socket
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import redis.connection
from django.utils import timezone
from kombu.exceptions import OperationalError

from apps.applications import services as app_services
from apps.notifications import services
from apps.notifications.models import InboxEntry, OutboxMessage
from apps.notifications.tasks import relay
from apps.replication import services as replication_services
from config.celery_app import app as celery_app
from tests.conftest import _person, require_postgres
from tests.factories import application_input, make_retailer

from .workers import mails, wait_for, workers

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True, databases=["default", "vault", "retail"]),
]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _forget_connections() -> None:
    """Drop the app's connection and producer pools, so the next publish connects to
    the broker configured now (an earlier test may have made them for another URL)."""
    app: Any = celery_app  # private attributes, not in the type stubs
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def broker_down() -> Iterator[dict[str, list[Any]]]:
    """This process publishes to a closed port (no eager execution); records each
    publish and each connection attempt."""
    saved = {key: celery_app.conf[key] for key in ("broker_url", "task_always_eager")}
    _forget_connections()
    celery_app.conf.update(
        broker_url=f"redis://127.0.0.1:{_closed_port()}/12", task_always_eager=False
    )
    seen: dict[str, list[Any]] = {"publish": [], "connect": [], "refused": []}
    real_publish = relay.apply_async
    real_connect = redis.connection.Connection._connect

    def publish(*args: Any, **kwargs: Any) -> Any:
        seen["publish"].append(len(seen["connect"]))
        try:
            return real_publish(*args, **kwargs)
        except OperationalError:
            seen["refused"].append(1)
            raise

    def connect(self: Any, *args: Any, **kwargs: Any) -> Any:
        seen["connect"].append(1)
        return real_connect(self, *args, **kwargs)

    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(relay, "apply_async", publish)
            patch.setattr(redis.connection.Connection, "_connect", connect)
            yield seen
    finally:
        _forget_connections()
        celery_app.conf.update(saved)


def test_transitions_go_on_without_the_broker_and_nothing_is_lost(
    transactional_db: None, tmp_path: Any, broker_down: dict[str, list[Any]], monkeypatch: Any
) -> None:
    require_postgres()
    clerk = _person("clerk_out", "td", "clerk", email="clerk@example.test")
    sup = _person("super_out", "td", "supervisor", email="sup@example.test")
    sup2 = _person("super_out2", "td", "supervisor", email="sup2@example.test")
    koji = _person("koji_out", "td", "construction", email="koji@example.test")
    retailer = make_retailer(code="A0009", name="停電新電力")
    today = timezone.localdate()
    commits_that_wrote = 0

    # Only the notification relay's broker attempts are counted here; the replication
    # relay has its own back-off (tests/replication/test_relay.py).
    monkeypatch.setattr(replication_services, "request_relay", lambda: None)

    def step(call: Any) -> Any:
        nonlocal commits_that_wrote
        before = OutboxMessage.objects.count()
        monkeypatch.setattr(services.request_relay, "down_until", 0.0)  # each commit tries
        result = call()
        commits_that_wrote += OutboxMessage.objects.count() > before
        return result

    app = step(
        lambda: app_services.application_create(acting_user=clerk, data=application_input(retailer))
    )
    pk = app.pk
    step(lambda: app_services.application_submit(acting_user=clerk, application_id=pk))
    step(lambda: app_services.application_encode(acting_user=clerk, application_id=pk))
    step(
        lambda: app_services.application_return(acting_user=sup, application_id=pk, reason="再確認")
    )
    app = step(lambda: app_services.application_encode(acting_user=clerk, application_id=pk))
    step(lambda: app_services.application_record_review_opened(acting_user=sup2, application_id=pk))
    step(
        lambda: app_services.application_verify(
            acting_user=sup2, application_id=pk, expected_version=app.version
        )
    )
    step(lambda: app_services.application_release(acting_user=sup, application_id=pk))
    step(
        lambda: app_services.application_complete(
            acting_user=koji, application_id=pk, completed_on=today
        )
    )
    app = step(
        lambda: app_services.application_energize(
            acting_user=koji, application_id=pk, energized_on=today
        )
    )

    # Every transition succeeded; each commit that wrote a message tried the broker once.
    assert app.state == "energized"
    assert commits_that_wrote == 5  # encode, return, encode, verify, release
    assert len(broker_down["publish"]) == len(broker_down["refused"]) == commits_that_wrote
    # ... and gave up after at most two connection attempts each (no long retry loop).
    marks = [*broker_down["publish"], len(broker_down["connect"])]
    assert all(0 < b - a <= 2 for a, b in itertools.pairwise(marks)), marks
    with pytest.raises(OperationalError):  # the broker really was unreachable
        relay.apply_async(retry=False)

    waiting = list(OutboxMessage.objects.all())
    assert len(waiting) == 7  # 2+2 encoded, 1 returned, 1 verified, 1 released
    assert all(m.delivered_at is None and m.attempts == 0 for m in waiting)
    assert not InboxEntry.objects.exists()
    # The broker is back: a worker relays on beat's behalf (twice, as two ticks would).
    with workers(tmp_path) as (start, sender, queue):
        worker = start()
        ids = [sender.send_task("notifications.relay", queue=queue).id for _ in range(2)]
        wait_for(
            lambda: all(f"notifications.relay[{i}] succeeded" in worker.output() for i in ids),
            worker,
        )

    delivered = list(OutboxMessage.objects.select_related("recipient"))
    assert all(m.delivered_at is not None and m.attempts == 1 for m in delivered)
    entries = list(InboxEntry.objects.values_list("message_id", "user_id"))
    assert sorted(entries) == sorted((m.pk, m.recipient_id) for m in delivered)
    sent = Counter((tuple(m["to"]), m["subject"]) for m in mails(worker.mail_log))
    expected = Counter(((m.recipient.email,), m.subject) for m in delivered)
    assert sent == expected and sum(sent.values()) == 7
