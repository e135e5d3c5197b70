"""The replication relay. Runs after every commit that wrote a message, and on beat."""

from __future__ import annotations

from celery import shared_task

from .services import relay_due


@shared_task(name="replication.relay")
def relay() -> dict[str, int]:
    return relay_due()
