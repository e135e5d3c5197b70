"""Starting a task: in-process when tasks run eagerly, through the broker otherwise.

A service names the task it starts (`enqueue("notifications.relay")`) and never imports
the task module: the task module imports the service, so importing it back would be an
import circle (docs/architecture.md).

Celery's `apply_async` acquires a broker producer even with `task_always_eager` (to
round-trip the arguments through the serializer), so in the embedded default — no
broker configured — it tries the default `amqp://localhost` and, with nothing there,
fails or waits. Eagerly, `enqueue` runs the task in-process instead, after the same
JSON round trip of its arguments, so a task never receives what a real broker could not
carry. It calls the task as a function (Celery's direct call: the task's request is
pushed, `run` runs) rather than through `apply()`, whose tracer, request and states,
built anew for every call, cost 0.7 ms that nothing here reads — a sixth of an
in-process relay, which runs after every commit that gives it work. An exception
propagates either way (CELERY_TASK_EAGER_PROPAGATES); were that setting off, `apply()`
is used, which keeps the exception in the result.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from celery import Task, current_app, states
from celery.result import EagerResult

logger = logging.getLogger(__name__)


def task_named(name: str) -> Task:
    """The registered task `name`. The tasks modules are imported on first use (Celery's
    autodiscovery runs when the worker starts, not in the web process)."""
    if name not in current_app.tasks:
        current_app.loader.import_default_modules()
    task: Task = current_app.tasks[name]
    return task


def enqueue(task: Task | str, *args: Any, **options: Any) -> Any:
    if isinstance(task, str):
        task = task_named(task)
    if task.app.conf.task_always_eager:
        args = tuple(json.loads(json.dumps(args)))
        if task.app.conf.task_eager_propagates:
            return EagerResult(str(uuid.uuid4()), task(*args), states.SUCCESS, name=task.name)
        result: EagerResult = task.apply(args=args)
        return result
    return task.apply_async(args=args, **options)


class Nudge:
    """Ask a worker to run a periodic task now, after a commit that gave it work.

    Beat runs the task anyway, so a broker outage only delays the work to the next beat:
    after a failed attempt, nudges stop for `backoff_seconds` (each attempt costs seconds
    of connection attempts while the broker is down, inside someone's request).
    """

    def __init__(self, task_name: str, *, backoff_seconds: float = 60.0) -> None:
        self.task_name = task_name
        self.backoff_seconds = backoff_seconds
        self.down_until = 0.0

    def __call__(self) -> None:
        if time.monotonic() < self.down_until:
            return
        try:
            enqueue(self.task_name, retry=False)
        except Exception:
            self.down_until = time.monotonic() + self.backoff_seconds
            logger.warning("%s not enqueued (broker unreachable?): waits for beat", self.task_name)
