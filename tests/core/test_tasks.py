"""Eager tasks (the embedded default, the tests) run in-process and never touch a broker:
Celery's own eager `apply_async` would still open a producer on amqp://localhost."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from celery import Task

from apps.core.tasks import enqueue
from apps.notifications import services
from apps.notifications.models import InboxEntry, OutboxMessage
from apps.notifications.tasks import relay
from tests.conftest import _person

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


@pytest.fixture
def no_broker(monkeypatch):
    def publish(*args, **kwargs):
        raise AssertionError("an eager task was published to a broker")

    monkeypatch.setattr(Task, "apply_async", publish)
    monkeypatch.setattr(services.request_relay, "down_until", 0.0)


def test_an_outbox_row_is_delivered_in_process_when_tasks_run_eagerly(
    no_broker, django_capture_on_commit_callbacks
):
    person = _person("eager_sato", "td", "clerk", email="eager@example.invalid")
    with django_capture_on_commit_callbacks(execute=True):
        services.outbox_write(
            recipient_ids=[person.pk], kind="test", subject="R-1", body="", dedupe_key="eager:1"
        )

    message = OutboxMessage.objects.get()
    assert message.delivered_at is not None
    assert InboxEntry.objects.filter(user=person, message=message).count() == 1


def test_eager_arguments_go_through_json_as_a_broker_would_carry_them(no_broker):
    assert enqueue(relay).successful()
    with pytest.raises(TypeError):
        enqueue(relay, dt.date(2026, 1, 1))


def test_eagerly_a_task_runs_as_a_function_and_its_exception_propagates(no_broker, monkeypatch):
    """Celery's eager `apply()` builds a tracer, a request and a result for each call;
    `enqueue` calls the task directly and keeps its answer."""
    monkeypatch.setattr(Task, "apply", mock.Mock(side_effect=AssertionError("apply() used")))
    assert enqueue(relay).get() == {"delivered": 0, "failed": 0}

    down = mock.Mock(side_effect=RuntimeError("down"))
    monkeypatch.setattr("apps.notifications.tasks.relay_due", down)
    with pytest.raises(RuntimeError, match="down"):
        enqueue("notifications.relay")


def test_with_eager_exceptions_kept_the_result_holds_the_exception(no_broker, monkeypatch):
    monkeypatch.setitem(relay.app.conf, "task_eager_propagates", False)
    monkeypatch.setattr("apps.notifications.tasks.relay_due", mock.Mock(side_effect=KeyError))

    result = enqueue(relay)

    assert result.failed() and isinstance(result.result, KeyError)
