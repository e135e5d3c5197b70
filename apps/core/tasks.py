"""Starting a task: in-process when tasks run eagerly, through the broker otherwise.

Celery's `apply_async` acquires a broker producer even with `task_always_eager` (to
round-trip the arguments through the serializer), so in the embedded default — no
broker configured — it tries the default `amqp://localhost` and, with nothing there,
fails or waits. Eagerly, `enqueue` runs the task in-process with `apply()` instead,
after the same JSON round trip of its arguments, so a task never receives what a real
broker could not carry.
"""

from __future__ import annotations

import json
from typing import Any

from celery import Task
from celery.result import EagerResult


def enqueue(task: Task, *args: Any, **options: Any) -> Any:
    if task.app.conf.task_always_eager:
        args = tuple(json.loads(json.dumps(args)))
        result: EagerResult = task.apply(args=args)
        return result
    return task.apply_async(args=args, **options)
